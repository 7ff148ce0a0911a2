// Domain types of a dataset. Structurally identical to the DTOs in electron/common (see
// /work/coord/DATA-MODEL.md): the service passes these objects across the contract unchanged.

/** sha256 hex of content in the dataset's content-addressed blob store. */
export type BlobRef = string;

/** A dataset in the library; `id` is also its folder name under the library root. */
export interface Dataset {
  id: string;
  name: string;
  createdAt: string;
  itemCount: number;
  path?: string;
}

export type CaptionSource = 'user' | 'import' | 'generated' | 'transcript';
export interface Caption {
  id: string;
  text: string;
  source: CaptionSource;
}

/** One mouse-trace point: x, y normalised to the image ([0,1]); t seconds from the recording's start. */
export interface TracePoint {
  x: number;
  y: number;
  t: number;
}

export interface TimedUtterance {
  utterance: string;
  startTime: number;
  endTime: number;
}

/** A spoken caption: 16 kHz mono PCM16 WAV (what the audio encoder reads) plus the original recording. */
export interface SpokenCaption {
  id: string;
  wav: BlobRef;
  original?: BlobRef;
  originalMime?: string;
  durationS: number;
  sampleRate: 16000;
  trace: TracePoint[][];
  timedCaption?: TimedUtterance[];
  transcript?: string;
}

export type RegionSource = 'user' | 'import' | 'generated' | 'detector';
/** A box normalised to [0,1] of the image: [x0, y0, x1, y1], x0 <= x1, y0 <= y1 (the detector's format). */
export interface Region {
  id: string;
  box: [number, number, number, number];
  label: string;
  score?: number;
  source: RegionSource;
}

export type Split = 'train' | 'val' | 'test' | (string & {});

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

/** One grid cell: enough to draw a thumbnail and its badges without loading the item. */
export interface ItemSummary {
  id: string;
  split: string;
  /** The full image (what the region detector reads). */
  image: BlobRef;
  thumb: BlobRef;
  width: number;
  height: number;
  caption: string;
  hasSpoken: boolean;
  hasRegions: boolean;
}

export interface Query {
  /** Case-insensitive substring of any caption (FTS5 trigram index; 1-2 characters scan). */
  text?: string;
  split?: string;
  hasSpoken?: boolean;
  hasRegions?: boolean;
  offset: number;
  limit: number;
}

export interface QueryResult {
  total: number;
  items: ItemSummary[];
}

export interface SkippedEntry {
  file: string;
  line?: number;
  reason: string;
}

export interface ImportReport {
  imported: number;
  skipped: SkippedEntry[];
  duplicates: number;
  /** True when the import stopped on its AbortSignal; everything counted in `imported` is committed. */
  cancelled?: boolean;
}

export interface ExportReport {
  exported: number;
  /** Folder written. */
  path: string;
  /** Main files written, relative to path (not every image). */
  files: string[];
  cancelled?: boolean;
}

/** Progress of a long import or export; `total` is unknown (undefined) while still scanning. */
export interface Progress {
  phase: 'scan' | 'import' | 'export';
  done: number;
  total?: number;
  file?: string;
}

/** What a new item is made of, before it has ids. */
export interface NewItem {
  image: Uint8Array;
  fileName?: string;
  split?: Split;
  captions?: { text: string; source?: CaptionSource }[];
  spoken?: NewSpoken[];
  regions?: NewRegion[];
}

export interface NewRegion {
  box: [number, number, number, number];
  label: string;
  score?: number;
  source?: RegionSource;
}

/** Audio as the store receives it: 16 kHz mono samples, already converted (see ../audio). */
export interface NewSpoken {
  /** 16 kHz mono WAV bytes (PCM16). */
  wav: Uint8Array;
  durationS: number;
  original?: Uint8Array;
  originalMime?: string;
  trace?: TracePoint[][];
  timedCaption?: TimedUtterance[];
  transcript?: string;
}

export type DatasetFormat = 'folder' | 'coco' | 'localized-narratives' | 'imagefolder';

/** Same shapes under the contract's names (electron/common/dto.ts). */
export type ItemQuery = Query;
export type ItemPage = QueryResult;

/** The longest region label the store takes (characters); the IPC schemas check the same bound. */
export const MAX_REGION_LABEL = 200;
