// Service interfaces: Promise methods plus onDid* events, nothing else. Every host (Electron IPC,
// web mode's WebSocket, the in-memory test transport) carries exactly these.
import type { Event } from './event';
import type {
  AppInfo, CaptionPatch, HostCommand, Dataset, DatasetsChange, DemoAvailability, DemoDataset, DemoProgress, DemoRequest, ExportReport, ExportRequest, HistoryState, ImportReport,
  ImportRequest, Item, ItemPage, ItemPatch, ItemQuery, ItemsChange, JobProgress, PickPathOptions, RegionInput,
  RegionPatch, RegionsForItem, SpokenRecording, UndoResult, BlobLocation, DetectDatasetReport, DetectDatasetRequest, DetectRegionsOptions, DetectRegionsResult, ImageTokens, ModelInfo, SpeechTokens,
} from './dto';

/**
 * Datasets and their curation. Implemented by electron/services' dataset service; every edit that
 * changes an item returns the item as stored, so the renderer never guesses.
 */
export interface DatasetService {
  listDatasets(): Promise<Dataset[]>;
  createDataset(name: string): Promise<Dataset>;
  renameDataset(datasetId: string, name: string): Promise<Dataset>;
  deleteDataset(datasetId: string): Promise<void>;

  /** Long: reports onDidChangeJobProgress; resolves with the summary (also when cancelled). */
  importDataset(request: ImportRequest): Promise<ImportReport>;
  exportDataset(request: ExportRequest): Promise<ExportReport>;
  /**
   * Long: runs the region detector (the inference service's) over every item without regions, reporting
   * onDidChangeJobProgress (kind 'detect'); adds what it found as ONE undo step, also when cancelled. A failure of
   * the detector other than an unreadable image ends the job, keeping what was found, and rejects with its message.
   */
  detectDatasetRegions(request: DetectDatasetRequest): Promise<DetectDatasetReport>;
  /** Cancel an import/export/detection by its jobId; a no-op for a finished or unknown job. */
  cancelJob(jobId: string): Promise<void>;
  /** The jobs running now, each with its latest progress (a page that opens while one runs shows it at once). */
  listJobs(): Promise<JobProgress[]>;

  queryItems(datasetId: string, query: ItemQuery): Promise<ItemPage>;
  getItem(datasetId: string, itemId: string): Promise<Item>;
  updateItem(datasetId: string, itemId: string, patch: ItemPatch): Promise<Item>;
  deleteItem(datasetId: string, itemId: string): Promise<void>;

  addCaption(datasetId: string, itemId: string, text: string): Promise<Item>;
  updateCaption(datasetId: string, itemId: string, captionId: string, patch: CaptionPatch): Promise<Item>;
  deleteCaption(datasetId: string, itemId: string, captionId: string): Promise<Item>;
  /** Curation's "accept": every caption of the item becomes the user's (source 'user'), one undo step. */
  acceptCaptions(datasetId: string, itemId: string): Promise<Item>;

  /** Undo/redo of caption, region, split, spoken-caption and item edits, and of whole imports (one step each), per dataset. */
  undo(datasetId: string): Promise<UndoResult>;
  redo(datasetId: string): Promise<UndoResult>;
  getHistory(datasetId: string): Promise<HistoryState>;

  addSpokenCaption(datasetId: string, itemId: string, recording: SpokenRecording): Promise<Item>;
  deleteSpokenCaption(datasetId: string, itemId: string, spokenId: string): Promise<Item>;

  addRegion(datasetId: string, itemId: string, region: RegionInput): Promise<Item>;
  /** Several regions at once (a detector's accepted proposals, say): one undo step. Source 'user' unless given. */
  addRegions(datasetId: string, itemId: string, regions: RegionInput[]): Promise<Item>;
  /**
   * Regions for many items at once (a detector run over the dataset): ONE undo step, "<label> in N items" when a
   * label ("Detect regions") is given.
   * Items deleted meanwhile are skipped and counted.
   */
  addRegionsToItems(datasetId: string, entries: RegionsForItem[], label?: string): Promise<{ items: number; regions: number; skipped: number }>;
  updateRegion(datasetId: string, itemId: string, regionId: string, patch: RegionPatch): Promise<Item>;
  deleteRegion(datasetId: string, itemId: string, regionId: string): Promise<Item>;

  readonly onDidChangeDatasets: Event<DatasetsChange>;
  readonly onDidChangeItems: Event<ItemsChange>;
  readonly onDidChangeJobProgress: Event<JobProgress>;
}

/** What dataset-wide detection (DatasetService.detectDatasetRegions) needs of the inference service. */
export type Detector = Pick<InferenceService, 'detectRegions'>;

/**
 * The first-start "create a demo dataset" offer: generates EmojiScenes into the same library as the
 * dataset service (electron/services/demo-service.ts), so the new dataset opens like any other.
 */
export interface DemoService {
  getDemoAvailability(): Promise<DemoAvailability>;
  /** Long: reports onDidChangeDemoProgress; resolves with the new (or already present) dataset. */
  createDemoDataset(request: DemoRequest): Promise<DemoDataset>;
  /** Cancels a running demo job; its half-made dataset is removed and createDemoDataset rejects. */
  cancelDemo(jobId: string): Promise<void>;
  readonly onDidChangeDemoProgress: Event<DemoProgress>;
}

/**
 * Host-side only (never exposed to the renderer): lets a host serve blobs by URL
 * (web mode `GET /blob/<sha>?dataset=<id>&token=`, Electron `opt-blob://<datasetId>/<sha>`).
 */
export interface DatasetBlobAccess {
  /** undefined when the dataset or blob does not exist. */
  resolveBlob(datasetId: string, sha: string): Promise<BlobLocation | undefined>;
}

/** What the host process itself offers: app facts and native dialogs (Electron only). */
export interface HostService {
  getAppInfo(): Promise<AppInfo>;
  /** Native dialog; null when the user cancels. Rejects in web mode (AppInfo.canPickPaths is false). */
  pickPath(options: PickPathOptions): Promise<string | null>;
  /** Menu commands (Electron's File/Help menus); never fires in web mode. */
  readonly onDidRequestCommand: Event<HostCommand>;
}

/**
 * Runs the model package's components on data the renderer sends (electron/services/inference-service.ts), in a
 * process of its own: onnxruntime's run() blocks the thread it runs on. Calls are answered one at a time.
 */
export interface InferenceService {
  /** The model package in use and its components (or why it cannot be read). */
  getModelInfo(): Promise<ModelInfo>;
  /**
   * The regions the package's detector finds in an image (encoded file bytes: PNG, JPEG, WebP, GIF, ...).
   * Rejects with a clear message for an unreadable image or a package without a working detector.
   */
  detectRegions(image: Uint8Array, options: DetectRegionsOptions): Promise<DetectRegionsResult>;
  /** The image's tokens as the package's dVAE makes them (OPT's image vocabulary) and the image they decode to. */
  tokenizeImage(image: Uint8Array): Promise<ImageTokens>;
  /** A recording's speech tokens as the package's audio encoder makes them (WAV, Ogg Opus/Vorbis; any rate, channels). */
  encodeSpeech(audio: Uint8Array): Promise<SpeechTokens>;
}

/** Every service the renderer can reach, by contract name. Later: training (same pattern). */
export interface ServiceMap {
  dataset: DatasetService;
  demo: DemoService;
  inference: InferenceService;
  host: HostService;
}

export type ServiceName = keyof ServiceMap;

/**
 * What Electron's preload exposes as `window.optStudio`: one function per contract method
 * (generated from SERVICE_CHANNELS), each event as a subscribe function, plus the blob URL scheme.
 */
export type PreloadApi = { [S in ServiceName]: ServiceMap[S] } & {
  blobUrl(datasetId: string, sha: string): string;
};
