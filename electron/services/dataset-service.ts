// The dataset service: the contract's DatasetService over native-models/data's store, formats and
// audio. Electron-free (the Electron main process, web mode and tests all host this same class).
// Hosts validate argument shapes; this class still checks ids and values and fails with a clear
// DatasetError (its `name` and `message` cross the wire) rather than crashing.

import fs from 'node:fs';
import type {
  BlobLocation, CaptionPatch, Dataset, DatasetBlobAccess, DatasetService, DatasetsChange, ExportReport, ExportRequest,
  HistoryState, ImportReport, ImportRequest, Item, ItemPage, ItemPatch, ItemQuery, ItemsChange, JobKind, JobProgress,
  RegionInput, RegionPatch, RegionsForItem, SpokenRecording, UndoResult,
} from '../common';
import { speechWavFromPcm } from '../../native-models/data/audio';
import { exportDataset, importDataset } from '../../native-models/data/formats';
import { DatasetError, Library, isBlobRef, type DatasetStore, type Progress } from '../../native-models/data/store';
import { Emitter } from './emitter';

const FORMATS = new Set(['folder', 'coco', 'localized-narratives', 'imagefolder']);
const PROGRESS_INTERVAL_MS = 100;

/** Content type of a blob from its first bytes (blobs have no names). */
export function sniffMime(head: Uint8Array): string {
  const s = Buffer.from(head.buffer, head.byteOffset, Math.min(head.length, 16)).toString('latin1');
  if (s.startsWith('\x89PNG')) return 'image/png';
  if (s.startsWith('\xff\xd8\xff')) return 'image/jpeg';
  if (s.startsWith('GIF8')) return 'image/gif';
  if (s.startsWith('RIFF') && s.slice(8, 12) === 'WEBP') return 'image/webp';
  if (s.startsWith('RIFF') && s.slice(8, 12) === 'WAVE') return 'audio/wav';
  if (s.startsWith('OggS')) return 'audio/ogg';
  if (s.startsWith('\x1a\x45\xdf\xa3')) return 'audio/webm';
  if (s.slice(4, 8) === 'ftyp') return 'audio/mp4';
  return 'application/octet-stream';
}

export interface DatasetServiceOptions {
  /** Library root; default $OPT_STUDIO_HOME/datasets or ~/.opt-studio/datasets. */
  root?: string;
  /** Least time between two forwarded progress events of a job (default 100 ms; 0 forwards every one). */
  progressIntervalMs?: number;
}

export class LocalDatasetService implements DatasetService, DatasetBlobAccess {
  readonly library: Library;
  private readonly jobs = new Map<string, { controller: AbortController; datasetId: string; kind: 'import' | 'export' }>();
  private readonly datasetsEmitter = new Emitter<DatasetsChange>();
  private readonly itemsEmitter = new Emitter<ItemsChange>();
  private readonly progressEmitter = new Emitter<JobProgress>();

  readonly onDidChangeDatasets = this.datasetsEmitter.event;
  readonly onDidChangeItems = this.itemsEmitter.event;
  readonly onDidChangeJobProgress = this.progressEmitter.event;

  private readonly progressIntervalMs: number;

  constructor(options: DatasetServiceOptions | Library = {}) {
    this.library = options instanceof Library ? options : new Library(options.root);
    this.progressIntervalMs = options instanceof Library ? PROGRESS_INTERVAL_MS : options.progressIntervalMs ?? PROGRESS_INTERVAL_MS;
  }

  /** Stops running jobs and closes every open dataset. */
  dispose(): void {
    for (const j of this.jobs.values()) j.controller.abort();
    this.library.closeAll();
    this.datasetsEmitter.dispose();
    this.itemsEmitter.dispose();
    this.progressEmitter.dispose();
  }

  private store(datasetId: string): DatasetStore {
    return this.library.get(datasetId);
  }

  private changed(datasetId: string, itemIds?: string[], deletedIds?: string[]): void {
    this.itemsEmitter.fire({ datasetId, ...(itemIds ? { itemIds } : {}), ...(deletedIds ? { deletedIds } : {}) });
  }

  /** Checks that a caption/region/spoken caption belongs to the item named in the call. */
  private owned(store: DatasetStore, kind: 'caption' | 'region' | 'spoken', itemId: string, id: string): void {
    if (store.ownerOf(kind, id) !== itemId) {
      const what = kind === 'spoken' ? 'spoken caption' : kind;
      throw new DatasetError('NOT_FOUND', `no ${what} ${JSON.stringify(id)} on item ${JSON.stringify(itemId)}`);
    }
  }

  // ------------------------------------------------------------ datasets

  async listDatasets(): Promise<Dataset[]> {
    return this.library.list();
  }

  async createDataset(name: string): Promise<Dataset> {
    const d = this.library.create(name);
    this.datasetsEmitter.fire({ kind: 'created', datasetId: d.id });
    return d;
  }

  async renameDataset(datasetId: string, name: string): Promise<Dataset> {
    const d = this.library.rename(datasetId, name);
    this.datasetsEmitter.fire({ kind: 'renamed', datasetId });
    return d;
  }

  async deleteDataset(datasetId: string): Promise<void> {
    for (const j of this.jobs.values()) if (j.datasetId === datasetId) j.controller.abort();
    this.library.delete(datasetId);
    this.datasetsEmitter.fire({ kind: 'deleted', datasetId });
  }

  // ------------------------------------------------------------ jobs

  private startJob(jobId: string, datasetId: string, kind: 'import' | 'export'): AbortController {
    if (typeof jobId !== 'string' || !jobId) throw new DatasetError('INVALID', 'a job needs a jobId');
    if (this.jobs.has(jobId)) throw new DatasetError('EXISTS', `job ${jobId} is already running`);
    const c = new AbortController();
    this.jobs.set(jobId, { controller: c, datasetId, kind });
    return c;
  }

  /** Undo/redo wait for a running import into the dataset: its batches are joining the undo history. */
  private requireNoImport(datasetId: string): void {
    for (const j of this.jobs.values()) {
      if (j.datasetId === datasetId && j.kind === 'import') throw new DatasetError('BUSY', 'an import into this dataset is running: undo and redo are available once it finishes or is cancelled');
    }
  }

  /**
   * Progress callback that forwards at most every progressIntervalMs (plus the first); `finish`
   * sends the last state unthrottled, with total = done, so a progress bar always completes.
   */
  private progress(jobId: string, kind: JobKind, datasetId: string) {
    let last = 0;
    let latest: Progress = { phase: kind, done: 0 };
    const send = (p: Progress, message?: string) =>
      this.progressEmitter.fire({ jobId, kind, datasetId, done: p.done, ...(p.total !== undefined ? { total: p.total } : {}), message: message ?? p.file ?? p.phase });
    return {
      onProgress: (p: Progress) => {
        latest = p;
        const t = Date.now();
        if (p.done !== 0 && t - last < this.progressIntervalMs) return;
        last = t;
        send(p);
      },
      finish: (message: string) => send({ ...latest, total: latest.done }, message),
    };
  }

  async importDataset(request: ImportRequest): Promise<ImportReport> {
    const { jobId, datasetId, format, path: input, split } = request;
    if (!FORMATS.has(format)) throw new DatasetError('INVALID', `unknown import format ${JSON.stringify(format)}`);
    const store = this.store(datasetId);
    const c = this.startJob(jobId, datasetId, 'import');
    const progress = this.progress(jobId, 'import', datasetId);
    try {
      const report = await importDataset(store, format, input, { split, signal: c.signal, onProgress: progress.onProgress });
      progress.finish(report.cancelled ? 'cancelled' : 'done');
      return report;
    } finally {
      this.jobs.delete(jobId);
      this.changed(datasetId);
      this.datasetsEmitter.fire({ kind: 'items', datasetId });
    }
  }

  async exportDataset(request: ExportRequest): Promise<ExportReport> {
    const { jobId, datasetId, format, path: out } = request;
    if (!FORMATS.has(format)) throw new DatasetError('INVALID', `unknown export format ${JSON.stringify(format)}`);
    if (typeof out !== 'string' || !out) throw new DatasetError('INVALID', 'an export needs a destination folder');
    const store = this.store(datasetId);
    const c = this.startJob(jobId, datasetId, 'export');
    const progress = this.progress(jobId, 'export', datasetId);
    try {
      const report = await exportDataset(store, format, out, { signal: c.signal, onProgress: progress.onProgress });
      progress.finish(report.cancelled ? 'cancelled' : 'done');
      return report;
    } finally {
      this.jobs.delete(jobId);
    }
  }

  async cancelJob(jobId: string): Promise<void> {
    this.jobs.get(jobId)?.controller.abort();
  }

  // ------------------------------------------------------------ items

  async queryItems(datasetId: string, query: ItemQuery): Promise<ItemPage> {
    return this.store(datasetId).query(query);
  }

  async getItem(datasetId: string, itemId: string): Promise<Item> {
    return this.store(datasetId).getItem(itemId);
  }

  async updateItem(datasetId: string, itemId: string, patch: ItemPatch): Promise<Item> {
    const store = this.store(datasetId);
    if (patch?.split !== undefined) store.setSplit([itemId], patch.split);
    const item = store.getItem(itemId);
    this.changed(datasetId, [itemId]);
    return item;
  }

  async deleteItem(datasetId: string, itemId: string): Promise<void> {
    this.store(datasetId).deleteItems([itemId]);
    this.changed(datasetId, undefined, [itemId]);
    this.datasetsEmitter.fire({ kind: 'items', datasetId });
  }

  private edited(datasetId: string, store: DatasetStore, itemId: string): Item {
    const item = store.getItem(itemId);
    this.changed(datasetId, [itemId]);
    return item;
  }

  async addCaption(datasetId: string, itemId: string, text: string): Promise<Item> {
    const store = this.store(datasetId);
    store.addCaption(itemId, text, 'user');
    return this.edited(datasetId, store, itemId);
  }

  async updateCaption(datasetId: string, itemId: string, captionId: string, patch: CaptionPatch): Promise<Item> {
    const store = this.store(datasetId);
    this.owned(store, 'caption', itemId, captionId);
    store.updateCaption(captionId, patch ?? {});
    return this.edited(datasetId, store, itemId);
  }

  async acceptCaptions(datasetId: string, itemId: string): Promise<Item> {
    const store = this.store(datasetId);
    store.acceptCaptions(itemId);
    return this.edited(datasetId, store, itemId);
  }

  async deleteCaption(datasetId: string, itemId: string, captionId: string): Promise<Item> {
    const store = this.store(datasetId);
    this.owned(store, 'caption', itemId, captionId);
    store.deleteCaption(captionId);
    return this.edited(datasetId, store, itemId);
  }

  // ------------------------------------------------------------ undo / redo

  private undoResult(store: DatasetStore, datasetId: string, r: { itemIds: string[] } | null): UndoResult {
    const state = store.undoState();
    if (!r) return state;
    const itemId = r.itemIds[0];
    const alive = r.itemIds.filter((id) => store.hasItem(id));
    const gone = r.itemIds.filter((id) => !store.hasItem(id));
    this.changed(datasetId, alive, gone.length ? gone : undefined);
    if (gone.length || r.itemIds.length > 1) this.datasetsEmitter.fire({ kind: 'items', datasetId });
    return { ...state, itemId, ...(store.hasItem(itemId) ? { item: store.getItem(itemId) } : {}) };
  }

  async undo(datasetId: string): Promise<UndoResult> {
    const store = this.store(datasetId);
    this.requireNoImport(datasetId);
    return this.undoResult(store, datasetId, store.undo());
  }

  async redo(datasetId: string): Promise<UndoResult> {
    const store = this.store(datasetId);
    this.requireNoImport(datasetId);
    return this.undoResult(store, datasetId, store.redo());
  }

  async getHistory(datasetId: string): Promise<HistoryState> {
    return this.store(datasetId).undoState();
  }

  // ------------------------------------------------------------ spoken captions

  /** Stores the recording as 16 kHz mono PCM16 WAV (windowed-sinc resampled) and keeps the original bytes. */
  async addSpokenCaption(datasetId: string, itemId: string, recording: SpokenRecording): Promise<Item> {
    const store = this.store(datasetId);
    if (!store.hasItem(itemId)) throw new DatasetError('NOT_FOUND', `no item ${JSON.stringify(itemId)} in this dataset`);
    if (recording?.replaces !== undefined) this.owned(store, 'spoken', itemId, recording.replaces);
    const pcm = recording?.pcm instanceof Float32Array ? recording.pcm
      : Array.isArray(recording?.pcm) ? Float32Array.from(recording.pcm as number[]) : undefined;
    if (!pcm) throw new DatasetError('INVALID', 'a recording needs its samples (pcm: Float32Array)');
    const { wav, durationS } = speechWavFromPcm(pcm, recording.sampleRate);
    const original = recording.original instanceof Uint8Array && recording.original.length > 0 ? recording.original : undefined;
    const prepared = store.prepareSpoken({
      wav, durationS, original, originalMime: original ? recording.originalMime : undefined, trace: recording.trace,
    });
    store.addSpoken(itemId, prepared, recording.replaces);
    return this.edited(datasetId, store, itemId);
  }

  async deleteSpokenCaption(datasetId: string, itemId: string, spokenId: string): Promise<Item> {
    const store = this.store(datasetId);
    this.owned(store, 'spoken', itemId, spokenId);
    store.deleteSpoken(spokenId);
    return this.edited(datasetId, store, itemId);
  }

  // ------------------------------------------------------------ regions

  async addRegion(datasetId: string, itemId: string, region: RegionInput): Promise<Item> {
    return this.addRegions(datasetId, itemId, [region]);
  }

  async addRegions(datasetId: string, itemId: string, regions: RegionInput[]): Promise<Item> {
    const store = this.store(datasetId);
    store.addRegions(itemId, regions);
    return this.edited(datasetId, store, itemId);
  }

  /** Items deleted since the caller listed them are skipped (and counted), so a long detection run loses nothing. */
  async addRegionsToItems(datasetId: string, entries: RegionsForItem[], label?: string): Promise<{ items: number; regions: number; skipped: number }> {
    const store = this.store(datasetId);
    const alive = entries.filter((e) => store.hasItem(e.itemId));
    const skipped = entries.length - alive.length;
    if (alive.length === 0) return { items: 0, regions: 0, skipped };
    const added = store.addRegionsToItems(alive, label);
    this.changed(datasetId, alive.map((e) => e.itemId));
    this.datasetsEmitter.fire({ kind: 'items', datasetId });
    return { items: added.length, regions: added.reduce((sum, r) => sum + r.length, 0), skipped };
  }

  async updateRegion(datasetId: string, itemId: string, regionId: string, patch: RegionPatch): Promise<Item> {
    const store = this.store(datasetId);
    this.owned(store, 'region', itemId, regionId);
    store.updateRegion(regionId, patch ?? {});
    return this.edited(datasetId, store, itemId);
  }

  async deleteRegion(datasetId: string, itemId: string, regionId: string): Promise<Item> {
    const store = this.store(datasetId);
    this.owned(store, 'region', itemId, regionId);
    store.deleteRegion(regionId);
    return this.edited(datasetId, store, itemId);
  }

  // ------------------------------------------------------------ blobs (host side only)

  /** Where a host streams a blob from; undefined for an unknown dataset or blob (never throws). */
  async resolveBlob(datasetId: string, sha: string): Promise<BlobLocation | undefined> {
    if (!isBlobRef(sha)) return undefined;
    let file: string;
    try {
      file = this.store(datasetId).blobPath(sha);
    } catch {
      return undefined;
    }
    const fd = fs.openSync(file, 'r');
    try {
      const head = Buffer.alloc(16);
      fs.readSync(fd, head, 0, 16, 0);
      return { path: file, mime: sniffMime(head), size: fs.fstatSync(fd).size };
    } finally {
      fs.closeSync(fd);
    }
  }
}
