// The dataset service: the contract's DatasetService over native-models/data's store, formats and
// audio. Electron-free (the Electron main process, web mode and tests all host this same class).
// Hosts validate argument shapes; this class still checks ids and values and fails with a clear
// DatasetError (its `name` and `message` cross the wire) rather than crashing.

import fs from 'node:fs';
import {
  MAX_INFERENCE_FILE_BYTES, UNREADABLE_INPUT_ERROR,
  type BlobLocation, type CaptionPatch, type Dataset, type DatasetBlobAccess, type DatasetService, type DatasetsChange, type DetectDatasetReport,
  type DetectDatasetRequest, type Detector, type ExportReport, type ExportRequest, type HistoryState, type ImportReport, type ImportRequest, type Item,
  type ItemPage, type ItemPatch, type ItemQuery, type ItemsChange, type JobEnd, type JobKind, type JobProgress, type RegionInput, type RegionPatch, type RegionsForItem,
  type SpokenRecording, type UndoResult,
} from '../common';
import { speechWavFromPcm } from '../../native-models/data/audio';
import { exportDataset, importDataset } from '../../native-models/data/formats';
import { DatasetError, Library, isBlobRef, type DatasetStore, type Progress } from '../../native-models/data/store';
import { Emitter } from './emitter';

const FORMATS = new Set(['folder', 'coco', 'localized-narratives', 'imagefolder']);
const PROGRESS_INTERVAL_MS = 100;
/** Why a job was stopped when its dataset was deleted, or the service closed: it writes nothing more. */
const DATASET_DELETED = 'dataset-deleted';
const SERVICE_DISPOSED = 'service-disposed';

/** "1 region", "2 regions". */
const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

/** `p`, or a rejection as soon as `signal` aborts (a result arriving later is dropped). */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new DatasetError('CANCELLED', 'cancelled'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

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
  /**
   * The region detector dataset-wide detection runs (the inference service, in its own process, reached over a
   * port). Without one, detectDatasetRegions says no detector is connected.
   */
  detector?: Detector;
}

export class LocalDatasetService implements DatasetService, DatasetBlobAccess {
  readonly library: Library;
  /** Running jobs: how to cancel them and, for listJobs, their latest progress (sent or throttled). */
  private readonly jobs = new Map<string, { controller: AbortController; datasetId: string; kind: JobKind; latest?: JobProgress }>();
  private readonly datasetsEmitter = new Emitter<DatasetsChange>();
  private readonly itemsEmitter = new Emitter<ItemsChange>();
  private readonly progressEmitter = new Emitter<JobProgress>();

  readonly onDidChangeDatasets = this.datasetsEmitter.event;
  readonly onDidChangeItems = this.itemsEmitter.event;
  readonly onDidChangeJobProgress = this.progressEmitter.event;

  private readonly progressIntervalMs: number;
  private readonly detector: Detector | undefined;

  /** Set by dispose(): no dataset is opened again. */
  private disposed = false;

  constructor(options: DatasetServiceOptions | Library = {}) {
    this.library = options instanceof Library ? options : new Library(options.root);
    this.progressIntervalMs = options instanceof Library ? PROGRESS_INTERVAL_MS : options.progressIntervalMs ?? PROGRESS_INTERVAL_MS;
    this.detector = options instanceof Library ? undefined : options.detector;
  }

  /** Stops running jobs and closes every open dataset. */
  dispose(): void {
    this.disposed = true;
    for (const j of this.jobs.values()) j.controller.abort(SERVICE_DISPOSED);
    this.library.closeAll();
    this.datasetsEmitter.dispose();
    this.itemsEmitter.dispose();
    this.progressEmitter.dispose();
  }

  private store(datasetId: string): DatasetStore {
    // A job unwinding after dispose() must not reopen a dataset that would then stay open.
    if (this.disposed) throw new DatasetError('UNAVAILABLE', 'the dataset service has stopped');
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
    for (const j of this.jobs.values()) if (j.datasetId === datasetId) j.controller.abort(DATASET_DELETED);
    this.library.delete(datasetId);
    this.datasetsEmitter.fire({ kind: 'deleted', datasetId });
  }

  // ------------------------------------------------------------ jobs

  private startJob(jobId: string, datasetId: string, kind: JobKind): AbortController {
    if (typeof jobId !== 'string' || !jobId) throw new DatasetError('INVALID', 'a job needs a jobId');
    if (this.jobs.has(jobId)) throw new DatasetError('EXISTS', `job ${jobId} is already running`);
    const c = new AbortController();
    this.jobs.set(jobId, { controller: c, datasetId, kind });
    return c;
  }

  /**
   * Undo/redo wait for a running import into the dataset (its batches are joining the undo history) and for a
   * detection job (it adds to the items it listed: an undo meanwhile could give an item regions twice).
   */
  private requireNoEditingJob(datasetId: string): void {
    const kind = this.runningJobKind(datasetId, ['import', 'detect']);
    if (!kind) return;
    const what = kind === 'import' ? 'an import into this dataset' : 'region detection in this dataset';
    throw new DatasetError('BUSY', `${what} is running: undo and redo are available once it finishes or is cancelled`);
  }

  async listJobs(): Promise<JobProgress[]> {
    return [...this.jobs.entries()].map(([jobId, j]) => j.latest ?? { jobId, kind: j.kind, datasetId: j.datasetId, done: 0, message: 'starting' });
  }

  /** The kind of a job of one of `kinds` running on the dataset, if any. */
  private runningJobKind(datasetId: string, kinds: readonly JobKind[]): JobKind | undefined {
    for (const j of this.jobs.values()) if (j.datasetId === datasetId && kinds.includes(j.kind)) return j.kind;
    return undefined;
  }

  /**
   * Progress callback that forwards at most every progressIntervalMs (plus the first); `finish`
   * sends the last state unthrottled, with total = done, so a progress bar always completes.
   */
  private progress(jobId: string, kind: JobKind, datasetId: string) {
    let last = 0;
    let latest = 0; // the last `done` given, sent or not
    const job = this.jobs.get(jobId); // registered by startJob; listJobs reads its latest progress
    const update = (p: { done: number; total?: number; message: string }) => {
      latest = p.done;
      const event: JobProgress = { jobId, kind, datasetId, done: p.done, ...(p.total !== undefined ? { total: p.total } : {}), message: p.message };
      if (job) job.latest = event;
      const t = Date.now();
      if (p.done !== 0 && t - last < this.progressIntervalMs) return;
      last = t;
      this.progressEmitter.fire(event);
    };
    return {
      update,
      onProgress: (p: Progress) => update({ done: p.done, ...(p.total !== undefined ? { total: p.total } : {}), message: p.file ?? p.phase }),
      finish: (message: string, ended: JobEnd) => this.progressEmitter.fire({ jobId, kind, datasetId, done: latest, total: latest, message, ended }),
    };
  }

  /**
   * Runs a job: registered for cancelJob, its progress forwarded, and its end always announced (`ended` on the last
   * progress event: finished, cancelled, or failed with the error's message), so a page that did not start it can follow it.
   */
  private async runJob<T extends { cancelled?: boolean }>(
    jobId: string, datasetId: string, kind: JobKind,
    run: (signal: AbortSignal, progress: ReturnType<LocalDatasetService['progress']>) => Promise<T>, summary: (r: T) => string,
  ): Promise<T> {
    const c = this.startJob(jobId, datasetId, kind);
    const progress = this.progress(jobId, kind, datasetId);
    try {
      const report = await run(c.signal, progress);
      progress.finish(summary(report), report.cancelled ? 'cancelled' : 'finished');
      return report;
    } catch (e) {
      progress.finish((e as Error).message, 'failed');
      throw e;
    } finally {
      this.jobs.delete(jobId);
    }
  }

  async importDataset(request: ImportRequest): Promise<ImportReport> {
    const { jobId, datasetId, format, path: input, split } = request;
    if (!FORMATS.has(format)) throw new DatasetError('INVALID', `unknown import format ${JSON.stringify(format)}`);
    const store = this.store(datasetId);
    try {
      return await this.runJob(jobId, datasetId, 'import',
        (signal, progress) => importDataset(store, format, input, { split, signal, onProgress: progress.onProgress }),
        (r) => `${r.imported} imported`);
    } finally {
      this.changed(datasetId);
      this.datasetsEmitter.fire({ kind: 'items', datasetId });
    }
  }

  async exportDataset(request: ExportRequest): Promise<ExportReport> {
    const { jobId, datasetId, format, path: out } = request;
    if (!FORMATS.has(format)) throw new DatasetError('INVALID', `unknown export format ${JSON.stringify(format)}`);
    if (typeof out !== 'string' || !out) throw new DatasetError('INVALID', 'an export needs a destination folder');
    const store = this.store(datasetId);
    return this.runJob(jobId, datasetId, 'export',
      (signal, progress) => exportDataset(store, format, out, { signal, onProgress: progress.onProgress }),
      (r) => `${r.exported} exported`);
  }

  async detectDatasetRegions(request: DetectDatasetRequest): Promise<DetectDatasetReport> {
    const { jobId, datasetId } = request;
    if (!this.detector) throw new DatasetError('UNAVAILABLE', 'no region detector is connected to the dataset service');
    const detector = this.detector;
    const store = this.store(datasetId);
    if (this.runningJobKind(datasetId, ['detect'])) throw new DatasetError('BUSY', 'regions are already being detected in this dataset');
    // The items without regions, listed at once (the store is synchronous): edits meanwhile do not shift the list.
    const todo: { id: string; image: string }[] = [];
    for (let offset = 0; ; offset += 1000) {
      const page = store.query({ hasRegions: false, offset, limit: 1000 });
      for (const i of page.items) todo.push({ id: i.id, image: i.image });
      if (page.items.length < 1000) break;
    }
    return this.runJob(jobId, datasetId, 'detect', async (signal, progress) => {
      const report: DetectDatasetReport = { items: 0, regions: 0, looked: 0, unreadable: 0, deleted: 0 };
      const found: RegionsForItem[] = [];
      let failure: Error | undefined;
      const t0 = Date.now();
      progress.update({ done: 0, total: todo.length, message: 'detecting' });
      for (const { id, image } of todo) {
        if (signal.aborted) break;
        if (!store.hasItem(id)) {
          report.deleted++;
          continue;
        }
        try {
          const bytes = store.getBlob(image);
          if (bytes.length === 0 || bytes.length > MAX_INFERENCE_FILE_BYTES) throw new DatasetError('BAD_MEDIA', `an image of ${bytes.length} bytes cannot go to the detector`);
          // Cancel (or the dataset's deletion) does not wait for the detector: its late answer is dropped.
          const { proposals } = await untilAborted(detector.detectRegions(bytes, {}), signal);
          if (proposals.length) found.push({ itemId: id, regions: proposals.map((p) => ({ box: p.box, label: p.label, score: p.score, source: 'detector' as const })) });
        } catch (e) {
          if (signal.aborted) break; // not looked at
          // A missing blob file, an empty or oversized one, or an image the detector cannot decode is the item's
          // fault: counted, and the job goes on.
          if ((e as Error).name === UNREADABLE_INPUT_ERROR || (e instanceof DatasetError && (e.code === 'NOT_FOUND' || e.code === 'BAD_MEDIA'))) report.unreadable++;
          else {
            failure = e as Error;
            break;
          }
        }
        report.looked++;
        const rate = report.looked / Math.max(0.001, (Date.now() - t0) / 1000);
        progress.update({ done: report.looked, total: todo.length, message: `${rate.toFixed(1)} items/s · ${found.length} with regions` });
      }
      const cancelled = signal.aborted;
      // What was found goes in as one undo step: at the end, on cancel, and when the detector failed part-way.
      if (found.length && signal.reason !== DATASET_DELETED && signal.reason !== SERVICE_DISPOSED) {
        const added = await this.addRegionsToItems(datasetId, found, 'Detect regions');
        Object.assign(report, { items: added.items, regions: added.regions, deleted: report.deleted + added.skipped });
      }
      if (failure) {
        const kept = report.regions ? ` (the ${count(report.regions, 'region')} found before it ${report.regions === 1 ? 'was' : 'were'} added, one undo step)` : '';
        throw new Error(`Region detection stopped after ${report.looked} of ${todo.length} items: ${failure.message}${kept}`);
      }
      return cancelled ? { ...report, cancelled } : report;
    }, (r) => `${count(r.regions, 'region')} added to ${r.items} of ${count(r.looked, 'item')}`);
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
    this.requireNoEditingJob(datasetId);
    return this.undoResult(store, datasetId, store.undo());
  }

  async redo(datasetId: string): Promise<UndoResult> {
    const store = this.store(datasetId);
    this.requireNoEditingJob(datasetId);
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
