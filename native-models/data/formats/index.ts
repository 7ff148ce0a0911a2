// Import/export entry points by format name (the contract's DatasetFormat).

import type { DatasetStore } from '../store/dataset-store';
import { DatasetError } from '../store/errors';
import type { DatasetFormat, ExportReport, ImportReport } from '../store/types';
import type { JobOptions } from './common';
import { exportCoco, importCoco } from './coco';
import { exportFolder, importFolder } from './folder';
import { exportImagefolder, importImagefolder } from './imagefolder';
import { exportLocalizedNarratives, importLocalizedNarratives } from './localized-narratives';

export type { JobOptions, ImportRecord, RecordSource } from './common';
export { runImport } from './common';
export { importFolder, exportFolder, importCoco, exportCoco, importLocalizedNarratives, exportLocalizedNarratives, importImagefolder, exportImagefolder };

const IMPORTERS: Record<DatasetFormat, (s: DatasetStore, p: string, o?: JobOptions) => Promise<ImportReport>> = {
  folder: importFolder,
  coco: importCoco,
  'localized-narratives': importLocalizedNarratives,
  imagefolder: importImagefolder,
};
const EXPORTERS: Record<DatasetFormat, (s: DatasetStore, p: string, o?: JobOptions) => Promise<ExportReport>> = {
  folder: exportFolder,
  coco: exportCoco,
  'localized-narratives': exportLocalizedNarratives,
  imagefolder: exportImagefolder,
};

/** Imports `input` (file or folder) in `format` into the store. */
export function importDataset(store: DatasetStore, format: DatasetFormat, input: string, opts: JobOptions = {}): Promise<ImportReport> {
  const f = IMPORTERS[format];
  if (!f) throw new DatasetError('INVALID', `unknown import format ${JSON.stringify(format)}`);
  return f(store, input, opts);
}

/** Exports the store to `outDir` in `format`. */
export function exportDataset(store: DatasetStore, format: DatasetFormat, outDir: string, opts: JobOptions = {}): Promise<ExportReport> {
  const f = EXPORTERS[format];
  if (!f) throw new DatasetError('INVALID', `unknown export format ${JSON.stringify(format)}`);
  return f(store, outDir, opts);
}
