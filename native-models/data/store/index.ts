// Public API of the dataset store: import from here.
export * from './types';
export { DatasetError, isDiskFull, toDatasetError, type DatasetErrorCode } from './errors';
export { BlobStore, sha256Hex, isBlobRef } from './blob-store';
export {
  DatasetStore, DB_FILE, checkBox, checkSplit, ftsQuery,
  type PreparedImage, type PreparedItem, type PreparedSpoken, type EditResult, type UndoState, type OpenOptions, type ImportUndo,
} from './dataset-store';
export { Library, defaultLibraryRoot, checkDatasetId } from './library';
export { MIGRATIONS, SCHEMA_VERSION } from './migrations';
