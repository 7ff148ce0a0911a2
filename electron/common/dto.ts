// Plain-data shapes that cross process boundaries (renderer <-> host <-> service host).
// Keep structurally identical to native-models/data/store's domain types (see /work/coord/DATA-MODEL.md).

/** sha256 hex of the content in a dataset's content-addressed blob store. */
export type BlobRef = string;

/** A dataset in the library (a folder with dataset.sqlite + blobs/). */
export interface Dataset {
  id: string;
  name: string;
  /** ISO 8601. */
  createdAt: string;
  itemCount: number;
  /** Folder on the host's disk, where the host chooses to reveal it. */
  path?: string;
}

export type Split = 'train' | 'val' | 'test' | (string & {});

export type CaptionSource = 'user' | 'import' | 'generated' | 'transcript';

export interface Caption {
  id: string;
  text: string;
  source: CaptionSource;
}

/** One mouse sample over the image while speaking: x, y in [0,1] of the image, t in seconds from recording start. */
export interface TracePoint {
  x: number;
  y: number;
  t: number;
}

/** Localized-Narratives style word timing. */
export interface TimedUtterance {
  utterance: string;
  startTime: number;
  endTime: number;
}

export interface SpokenCaption {
  id: string;
  /** 16 kHz mono PCM16 WAV. */
  wav: BlobRef;
  /** The recording as captured (e.g. webm/opus from MediaRecorder, or an imported .ogg). */
  original?: BlobRef;
  originalMime?: string;
  durationS: number;
  sampleRate: 16000;
  /** Segments of mouse samples (a segment ends when the pointer leaves the image). */
  trace: TracePoint[][];
  timedCaption?: TimedUtterance[];
  transcript?: string;
}

export type RegionSource = 'user' | 'import' | 'generated' | 'detector';

/** [x0, y0, x1, y1] normalised to [0,1] of the image, x0 <= x1, y0 <= y1. */
export type Box = [number, number, number, number];

export interface Region {
  id: string;
  box: Box;
  label: string;
  score?: number;
  source: RegionSource;
}

export interface Item {
  id: string;
  datasetId: string;
  split: Split;
  image: BlobRef;
  width: number;
  height: number;
  fileName?: string;
  captions: Caption[];
  spoken: SpokenCaption[];
  regions: Region[];
  createdAt: string;
  updatedAt: string;
}

/** One grid cell: just enough to draw a thumbnail and badges. */
export interface ItemSummary {
  id: string;
  split: Split;
  /** The full image (what the region detector reads). */
  image: BlobRef;
  thumb: BlobRef;
  width: number;
  height: number;
  /** First caption, truncated. */
  caption: string;
  hasSpoken: boolean;
  hasRegions: boolean;
}

/** Grid query: filters plus an offset window, so a 50,000-item grid fetches only visible pages. */
export interface ItemQuery {
  /** Case-insensitive substring of any caption. */
  text?: string;
  split?: string;
  hasSpoken?: boolean;
  hasRegions?: boolean;
  offset: number;
  limit: number;
}

export interface ItemPage {
  total: number;
  items: ItemSummary[];
}

/** On-disk formats a dataset can be imported from and exported to. */
export type DatasetFormat = 'folder' | 'coco' | 'localized-narratives' | 'imagefolder';

export const DATASET_FORMATS: readonly DatasetFormat[] = ['folder', 'coco', 'localized-narratives', 'imagefolder'];

export interface SkippedEntry {
  /** Path of the offending file, relative to the import root where possible. */
  file: string;
  /** 1-based line for JSON Lines / JSON inputs. */
  line?: number;
  reason: string;
}

export interface ImportRequest {
  /** Chosen by the caller so it can cancel and match progress events before the promise settles. */
  jobId: string;
  datasetId: string;
  format: DatasetFormat;
  /**
   * Host path: a folder (folder, imagefolder, localized-narratives) or a file (coco JSON,
   * localized-narratives JSONL). Web mode uploads land in a host folder first.
   */
  path: string;
  /** Split for items whose format does not say (default 'train'). */
  split?: string;
}

export interface ImportReport {
  imported: number;
  skipped: SkippedEntry[];
  duplicates: number;
  /** True when cancelled; what was imported before the cancel stays (each item is one transaction). */
  cancelled?: boolean;
}

export interface ExportRequest {
  jobId: string;
  datasetId: string;
  format: DatasetFormat;
  /** Host folder to write into (created if missing). */
  path: string;
}

export interface ExportReport {
  exported: number;
  /** Folder written. */
  path: string;
  /** Files written, relative to path (main files only, not every image). */
  files: string[];
  cancelled?: boolean;
}

/** Detect regions over a dataset: every item without regions yet goes through the region detector. */
export interface DetectDatasetRequest {
  jobId: string;
  datasetId: string;
}

/** What a dataset-wide detection did. Everything found went in as ONE undo step ("Detect regions in N items"). */
export interface DetectDatasetReport {
  /** Items that got regions, and how many regions in all. */
  items: number;
  regions: number;
  /** Items the detector looked at (those without regions when the job started, up to a cancel). */
  looked: number;
  /** Items whose image could not be read (a missing file, or one the detector cannot decode). */
  unreadable: number;
  /** Items deleted while the job ran (not looked at, or their regions dropped). */
  deleted: number;
  /** True when cancelled; what was found before the cancel was added. */
  cancelled?: boolean;
}

export type JobKind = 'import' | 'export' | 'detect';

export interface JobProgress {
  jobId: string;
  kind: JobKind;
  datasetId: string;
  done: number;
  /** Unknown until the input is scanned. */
  total?: number;
  /** Short human text: the current file or phase. */
  message?: string;
  /** Only on a job's last event: how it ended (a page that did not start the job learns it from this). */
  ended?: JobEnd;
}

export type JobEnd = 'finished' | 'cancelled' | 'failed';

/** Default size of the first-start demo: a populated studio in about a minute on 2 cores. */
export const DEMO_DEFAULT_SIZE = 300;

/** The first-start demo: generate a small EmojiScenes dataset into the library (see DemoService). */
export interface DemoRequest {
  jobId: string;
  /** Items (default 300, at most 5000). */
  size?: number;
  seed?: number;
  /** Spoken captions (eSpeak): true (error where it is missing), false (faster), default when available. */
  speech?: boolean;
}

export interface DemoProgress {
  jobId: string;
  done: number;
  total: number;
  /** Items per second and estimated seconds left. */
  rate: number;
  etaS: number;
}

/** Whether this installation can make the demo, and with speech (the packaged app ships the emoji catalog, not eSpeak). */
export interface DemoAvailability {
  available: boolean;
  speech: boolean;
}

/** The dataset a demo job made (or found already complete), with its content digest. */
export interface DemoDataset extends Dataset {
  digest: string;
  spoken: boolean;
}

/** What changed, so every open view can refresh only what it shows. */
export interface DatasetsChange {
  kind: 'created' | 'renamed' | 'deleted' | 'items';
  datasetId: string;
}

export interface ItemsChange {
  datasetId: string;
  /** Changed or added items; absent when many changed (e.g. after an import): refetch. */
  itemIds?: string[];
  deletedIds?: string[];
}

/** A new spoken caption as captured by the renderer; the service writes 16 kHz mono WAV + keeps the original. */
export interface SpokenRecording {
  /** Mono float samples in [-1, 1] at sampleRate. */
  pcm: Float32Array;
  sampleRate: number;
  /** The MediaRecorder output, kept as recorded. */
  original?: Uint8Array;
  originalMime?: string;
  trace: TracePoint[][];
  /** Re-record: replace this spoken caption (deleted in the same transaction). */
  replaces?: string;
}

export interface RegionInput {
  box: Box;
  label: string;
  score?: number;
  source?: RegionSource;
}

/** Regions for one item, in a call that adds to several at once. */
export interface RegionsForItem {
  itemId: string;
  regions: RegionInput[];
}

export interface RegionPatch {
  box?: Box;
  label?: string;
}

export interface CaptionPatch {
  text?: string;
  source?: CaptionSource;
}

export interface ItemPatch {
  split?: string;
}

/** Undo/redo availability for one dataset's edit history. */
export interface HistoryState {
  canUndo: boolean;
  canRedo: boolean;
  /** e.g. "Edit caption". */
  undoLabel?: string;
  redoLabel?: string;
}

export interface UndoResult extends HistoryState {
  /** The item the undone/redone edit touched, as it is now (absent if deleted or nothing to do). */
  item?: Item;
  itemId?: string;
}

/** Where a host serves a blob from (host-side only, never crosses to the renderer). */
export interface BlobLocation {
  path: string;
  mime: string;
  size: number;
}

export type HostMode = 'electron' | 'web';

/** What a host's menu asks the window to do (the window owns the dialogs). */
export type HostCommand = 'new-dataset' | 'import' | 'export' | 'help';

export interface AppInfo {
  mode: HostMode;
  version: string;
  /** Library root folder holding the datasets. */
  libraryRoot: string;
  /** Electron: native open/save dialogs. */
  canPickPaths: boolean;
  /** Web mode: files can be uploaded from the browser. */
  canUpload: boolean;
}

export interface PickPathOptions {
  kind: 'folder' | 'file' | 'save-folder';
  title?: string;
  /** File extensions without dot, e.g. ['json', 'jsonl']. */
  extensions?: string[];
}

/** The largest file (an encoded image or audio file) the inference service takes. */
export const MAX_INFERENCE_FILE_BYTES = 64 * 1024 * 1024;

/** One component of the model package the inference service runs. */
export interface ModelComponentInfo {
  name: string;
  kind: string;
  /** Quality and speed figures from the manifest (e.g. map50, psnr). */
  metrics: Record<string, number | string>;
}

/** The model package in use, or why none could be read. */
export interface ModelInfo {
  packageDir: string;
  name?: string;
  version?: string;
  components: ModelComponentInfo[];
  /** Set when the package is missing or broken (every model feature is then unavailable, with this reason). */
  error?: string;
}

/** A region the detector proposes: nothing is stored until the user adds it (as a region with source 'detector'). */
export interface RegionProposal {
  box: Box;
  /** The most probable class. */
  label: string;
  /** Its probability. */
  score: number;
  /** 1 - p(background): how sure the detector is that the box holds an object; proposals are ranked by it. */
  objectness: number;
  /** The next most probable classes, most probable first. */
  alternatives: { label: string; score: number }[];
}

export interface DetectRegionsOptions {
  /** Most proposals returned (default 10). */
  maxRegions?: number;
  /** Smallest objectness kept (default 0.5). */
  minObjectness?: number;
  /** Boxes the item already has: a proposal overlapping one of them (IoU >= SAME_REGION_IOU) is left out. */
  exclude?: Box[];
}

/**
 * The name of the error an inference call rejects with when its input cannot be used (an undecodable image, an
 * unusable recording): the file's fault, not the model's (a dataset-wide job counts it and goes on).
 */
export const UNREADABLE_INPUT_ERROR = 'UnreadableInputError';

/** A proposal this close (IoU) to a box in DetectRegionsOptions.exclude is that box: not proposed again. */
export const SAME_REGION_IOU = 0.7;

export interface DetectRegionsResult {
  proposals: RegionProposal[];
  /** How many proposals were left out as boxes the item already has. */
  excluded: number;
  /** Time the detector took, in milliseconds (decode, both stages, post-processing). */
  ms: number;
}

/** An image as OPT's image tokenizer (the dVAE) sees it: its code grid, and what those codes decode back to. */
export interface ImageTokens {
  /** Codes per side (8: 64 tokens). */
  grid: number;
  codebookSize: number;
  /** grid * grid codebook ids, row by row. */
  codes: number[];
  /** Side of the images below, in pixels (64). */
  size: number;
  /** The image as the tokenizer saw it (downscaled to size x size), PNG. */
  input: Uint8Array;
  /** The image decoded from the codes alone, PNG. */
  reconstruction: Uint8Array;
  /** PSNR of the reconstruction against the input, dB. */
  psnr: number;
  /** Time taken (decode, encode, decode back), ms. */
  ms: number;
}

/** A recording as OPT's audio encoder (the package's wav2vec 2.0) sees it. */
export interface SpeechTokens {
  /** Frames per second (50: one per 20 ms). */
  frameRate: number;
  /** Speech tokens, one per frame: the quantiser's code, in [0, vocab). */
  tokens: number[];
  vocab: number;
  /** Seconds of audio encoded (after conversion to 16 kHz mono). */
  durationS: number;
  /** OPT's audio tokens: the frame vectors mean-pooled over windows of `window` frames, `pooled` of them (at most 64). */
  pooled: number;
  window: number;
  /** What the front end noticed: near silence, clipping, and the loudness gain it applied (dB). */
  silent: boolean;
  clipped: boolean;
  gainDb: number;
  /** Time taken (decode, resample, encode), ms. */
  ms: number;
}
