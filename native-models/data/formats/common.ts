// The import pipeline every format shares. A format reader turns its input into ImportRecords
// (and SkippedEntries for what it cannot parse); runImport decodes media, drops duplicates and
// commits items in batches, each batch ONE transaction after its blobs are durable. A bad record
// is reported with its file (and line) and skipped; the rest import. Cancelling (AbortSignal)
// stops between batches: what was committed stays, and the report says `cancelled`.

import fs from 'node:fs';
import path from 'node:path';
import { decodeAudio, speechWav } from '../audio';
import { IMAGE_EXTENSIONS } from '../image';
import { sha256Hex } from '../store/blob-store';
import { checkBox, checkSplit, settleAll, type DatasetStore, type ImportUndo, type PreparedImage, type PreparedItem, type PreparedSpoken } from '../store/dataset-store';
import { DatasetError } from '../store/errors';
import { walk } from './walk';
import type { ImageFormat } from '../image';
import type { ImportReport, Item, NewRegion, Progress, SkippedEntry, TimedUtterance, TracePoint } from '../store/types';

/** Options every importer and exporter takes. */
export interface JobOptions {
  /** Split for items whose input does not name one (default 'train'). */
  split?: string;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
}

/** A spoken caption as found in an input: an audio file to decode plus its trace and timing. */
export interface RecordSpoken {
  audioPath: string;
  trace?: TracePoint[][];
  timedCaption?: TimedUtterance[];
  transcript?: string;
}

/** One image with its annotations, as a format reader found it. */
export interface ImportRecord {
  /** Where it came from, for error messages: the file (relative to the import root) and 1-based line. */
  source: { file: string; line?: number };
  imagePath: string;
  /** Records with the same key (e.g. Localized Narratives' image_id) merge into one item. */
  key?: string;
  fileName?: string;
  split?: string;
  /** Caption texts as found; a DatasetError stands for a caption the reader already found bad. */
  captions?: unknown[];
  spoken?: RecordSpoken[];
  regions?: NewRegion[];
}

export interface RecordSource {
  /** Number of records, once known (for progress). */
  total?: number;
  records: Iterable<ImportRecord> | AsyncIterable<ImportRecord>;
  /** Parse problems found by the reader (malformed lines...). Readers may push while records are consumed. */
  skipped: SkippedEntry[];
}

const BATCH = 32;
const MIME: Record<string, string> = { '.ogg': 'audio/ogg', '.oga': 'audio/ogg', '.opus': 'audio/ogg', '.wav': 'audio/wav' };

/** Decodes UTF-8 strictly: non-UTF-8 bytes are an error naming the file rather than U+FFFD in a caption. */
export function decodeUtf8(bytes: Uint8Array, file: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes).replace(/^\uFEFF/, '');
  } catch {
    throw new DatasetError('BAD_FORMAT', `${file}: not valid UTF-8 text`, { file });
  }
}

/** A caption as it may be stored: a well-formed, non-empty string (trimmed). Throws otherwise. */
export function cleanCaption(text: unknown, where: string): string {
  if (text instanceof DatasetError) throw text; // a reader's verdict on this caption (e.g. invalid UTF-8)
  if (typeof text !== 'string') throw new DatasetError('BAD_FORMAT', `${where}: caption is not a string`);
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text)) throw new DatasetError('BAD_FORMAT', `${where}: caption is not valid Unicode (lone surrogate)`);
  const t = text.trim();
  if (!t) throw new DatasetError('BAD_FORMAT', `${where}: empty caption`);
  if (t.length > 20_000) throw new DatasetError('BAD_FORMAT', `${where}: caption is ${t.length} characters, over 20000`);
  return t;
}

/** Split name from a path segment or file name that says train/val/test (validation -> val). */
export function splitFromName(name: string): string | undefined {
  const m = /(?:^|[^a-z])(train|training|val|valid|validation|dev|test|testing)(?:[^a-z]|$)/i.exec(name);
  if (!m) return undefined;
  const s = m[1].toLowerCase();
  return s.startsWith('train') ? 'train' : s.startsWith('test') ? 'test' : 'val';
}

export function isImageFile(name: string): boolean {
  return IMAGE_EXTENSIONS.has(path.extname(name).toLowerCase());
}

/** 1-based line of a character offset in text (for JSON parse errors). */
export function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/**
 * Offset of the first JSON syntax error in text (undefined if it parses). Node's JSON.parse does not
 * always say where it failed; this small scanner does, so reports can name the line.
 */
export function jsonErrorOffset(text: string): number | undefined {
  let i = 0;
  const ws = () => { while (i < text.length && ' \t\n\r'.includes(text[i])) i++; };
  const fail = (): never => { throw i; };
  const lit = (w: string) => { if (text.startsWith(w, i)) i += w.length; else fail(); };
  const str = () => {
    i++;
    for (;;) {
      if (i >= text.length) fail();
      const c = text.charCodeAt(i);
      if (c === 34) { i++; return; }
      if (c < 32) fail();
      if (c === 92) {
        i++;
        if (text[i] === 'u') { if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail(); i += 5; }
        else if ('"\\/bfnrt'.includes(text[i] ?? 'x')) i++;
        else fail();
      } else i++;
    }
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++; ws();
      if (text[i] === '}') { i++; return; }
      for (;;) {
        ws(); if (text[i] !== '"') fail(); str(); ws();
        if (text[i] !== ':') fail(); i++; value(); ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === '}') { i++; return; }
        fail();
      }
    } else if (c === '[') {
      i++; ws();
      if (text[i] === ']') { i++; return; }
      for (;;) {
        value(); ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === ']') { i++; return; }
        fail();
      }
    } else if (c === '"') str();
    else if (c === 't') lit('true');
    else if (c === 'f') lit('false');
    else if (c === 'n') lit('null');
    else {
      const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
      if (!m || m[0] === '' || m[0] === '-') fail();
      i += m![0].length;
    }
  };
  try {
    value(); ws();
    if (i < text.length) fail();
    return undefined;
  } catch (at) {
    if (typeof at === 'number') return at;
    throw at;
  }
}

/**
 * Reads and parses a JSON file; a syntax error names the file and line. Invalid UTF-8 bytes do not
 * sink the file: they become U+FFFD and `invalidUtf8` is set, so the caller can skip only the
 * strings that hold them (see INVALID_UTF8_MARK).
 */
export function readJsonFile(file: string, shown: string): { value: unknown; invalidUtf8: boolean } {
  const bytes = fs.readFileSync(file);
  let text: string;
  let invalidUtf8 = false;
  try {
    text = decodeUtf8(bytes, shown);
  } catch {
    text = new TextDecoder('utf-8').decode(bytes).replace(/^\uFEFF/, '');
    invalidUtf8 = true;
  }
  return { value: parseJsonText(text, shown), invalidUtf8 };
}

/** The replacement character invalid UTF-8 decodes to. */
export const INVALID_UTF8_MARK = '\uFFFD';

function parseJsonText(text: string, shown: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const m = /position (\d+)/.exec((e as Error).message);
    const at = m ? Number(m[1]) : jsonErrorOffset(text);
    const line = at === undefined ? undefined : lineOf(text, at);
    throw new DatasetError('BAD_FORMAT', `${shown}${line ? `:${line}` : ''}: malformed JSON (${(e as Error).message})`, { file: shown, line });
  }
}

/** Throws CANCELLED if the signal fired. */
export function checkAbort(signal?: AbortSignal): void {
  if (signal?.aborted) throw new DatasetError('CANCELLED', 'cancelled');
}

function skipOf(e: unknown, source: { file: string; line?: number }): SkippedEntry {
  const reason = e instanceof Error ? e.message : String(e);
  return { file: source.file, ...(source.line ? { line: source.line } : {}), reason };
}

/** An item waiting for its batch: media are being prepared concurrently (see PREPARE_CONCURRENCY). */
interface Pending {
  key: string;
  source: { file: string; line?: number };
  image: Promise<PreparedImage>;
  spoken: Promise<PreparedSpoken>[];
  item: Omit<PreparedItem, 'image' | 'spoken'> & { captions: NonNullable<PreparedItem['captions']>; regions: NewRegion[] };
  extraSpoken: PreparedSpoken[];
}

/** Media prepared at once: decoding and fsyncs overlap (about 3x faster than one at a time). */
const PREPARE_CONCURRENCY = 4;

/** Runs at most `n` tasks at a time. */
function limiter(n: number) {
  let active = 0;
  const queue: (() => void)[] = [];
  return <T>(task: () => Promise<T>): Promise<T> => new Promise<T>((resolve, reject) => {
    const run = () => {
      active++;
      task().then(resolve, reject).finally(() => {
        active--;
        queue.shift()?.();
      });
    };
    if (active < n) run();
    else queue.push(run);
  });
}

function isFatal(e: unknown): boolean {
  return e instanceof DatasetError && (e.code === 'DATASET_MISSING' || e.code === 'DISK_FULL');
}

/** Decodes a record's audio into the stored form, keeping the original file. */
async function prepareSpoken(store: DatasetStore, s: RecordSpoken, shown: string): Promise<PreparedSpoken> {
  let bytes: Buffer;
  try {
    bytes = await fs.promises.readFile(s.audioPath);
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'voice file not found' : `cannot read voice file (${(e as Error).message})`;
    throw new DatasetError('BAD_MEDIA', `${shown}: ${why}`, { file: shown });
  }
  const { wav, durationS } = speechWav(await decodeAudio(bytes, shown));
  const [wavRef, originalRef] = await settleAll([store.putBlobAsync(wav), store.putBlobAsync(bytes)]);
  return {
    wav: wavRef, durationS, original: originalRef, originalMime: MIME[path.extname(s.audioPath).toLowerCase()] ?? 'application/octet-stream',
    trace: s.trace, timedCaption: s.timedCaption, transcript: s.transcript,
  };
}

/**
 * Imports records into a store. `root` makes file names in reports relative. Returns the report;
 * DatasetErrors that concern the whole dataset (folder gone, disk full) stop the import and throw.
 *
 * Records are read in order (duplicates and merges decided in order); each new item's media are
 * prepared concurrently; a batch is inserted in one transaction once all its media are durable.
 */
export async function runImport(store: DatasetStore, src: RecordSource, root: string, opts: JobOptions = {}): Promise<ImportReport> {
  const report: ImportReport = { imported: 0, skipped: src.skipped, duplicates: 0 };
  const rel = (p: string) => path.relative(root, p) || path.basename(p);
  // Per key: the inserted item id, the item pending in this batch, or DUPLICATE (counted once, rest dropped).
  const DUPLICATE = 0;
  const keyToItem = new Map<string, string | Pending | typeof DUPLICATE>();
  const seenImages = new Set<string>();
  const limit = limiter(PREPARE_CONCURRENCY);
  // One undo step for the whole import (each batch's transaction extends it; see DatasetStore.insertItems).
  const undo: ImportUndo = {};
  let pending: Pending[] = [];
  let done = 0;
  const emit = (file?: string) => opts.onProgress?.({ phase: 'import', done, total: src.total, file });

  const flush = async () => {
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    const ready: PreparedItem[] = [];
    const keys: string[] = [];
    // Settle the whole batch first: nothing may still be writing when this returns or throws.
    const settled = await Promise.all(batch.map((p) => Promise.allSettled([p.image, ...p.spoken])));
    const fatal = settled.flat().find((r) => r.status === 'rejected' && isFatal(r.reason));
    if (fatal) throw (fatal as PromiseRejectedResult).reason;
    batch.forEach((p, i) => {
      const failed = settled[i].find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) {
        report.skipped.push(skipOf(failed.reason, p.source));
        keyToItem.delete(p.key);
        return;
      }
      const [image, ...spoken] = settled[i].map((r) => (r as PromiseFulfilledResult<unknown>).value) as [PreparedImage, ...PreparedSpoken[]];
      ready.push({ ...p.item, image, spoken: [...spoken, ...p.extraSpoken] });
      keys.push(p.key);
    });
    if (ready.length === 0) return;
    const ids = store.insertItems(ready, undo);
    keys.forEach((k, i) => keyToItem.set(k, ids[i]));
    report.imported += ready.length;
  };

  const one = async (r: ImportRecord): Promise<void> => {
    const shown = r.source.file;
    const captions: string[] = [];
    for (const c of r.captions ?? []) {
      try {
        captions.push(cleanCaption(c, `${shown}${r.source.line ? `:${r.source.line}` : ''}`));
      } catch (e) {
        if ((r.captions ?? []).length === 1 && !(r.spoken?.length)) throw e;
        report.skipped.push(skipOf(e, r.source)); // this caption only; the item keeps its others
      }
    }
    // Validate everything here, per record, so a bad value skips this record and never fails a batch.
    const split = checkSplit(r.split ?? opts.split ?? 'train');
    const regions: NewRegion[] = (r.regions ?? []).map((g) => {
      if (typeof g.label !== 'string' || g.label.length > 200) throw new DatasetError('BAD_FORMAT', 'a region label is a string of at most 200 characters');
      if (g.score !== undefined && !Number.isFinite(g.score)) throw new DatasetError('BAD_FORMAT', 'a region score is a finite number');
      return { ...g, box: checkBox(g.box) };
    });
    const key = r.key ?? `path:${r.imagePath}`;
    const existing = keyToItem.get(key);
    if (existing === DUPLICATE) return;
    if (existing !== undefined) {
      // Another record for an image this import already has: add its annotations to that item.
      // Its audio is prepared right here, so a bad voice file skips this record only.
      const spoken: PreparedSpoken[] = [];
      for (const s of r.spoken ?? []) spoken.push(await prepareSpoken(store, s, rel(s.audioPath)));
      if (typeof existing === 'string') store.appendImported(existing, { captions, spoken, regions });
      else {
        existing.item.captions.push(...captions.map((text) => ({ text, source: 'import' as const })));
        existing.extraSpoken.push(...spoken);
        existing.item.regions.push(...regions);
      }
      return;
    }
    let bytes: Buffer;
    try {
      bytes = await fs.promises.readFile(r.imagePath);
    } catch (e) {
      const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'image file not found' : `cannot read image (${(e as Error).message})`;
      throw new DatasetError('BAD_MEDIA', `${rel(r.imagePath)}: ${why}`, { file: rel(r.imagePath) });
    }
    const sha = sha256Hex(bytes);
    if (seenImages.has(sha) || store.findByImage(sha) !== undefined) {
      keyToItem.set(key, DUPLICATE);
      report.duplicates++;
      return;
    }
    seenImages.add(sha);
    const p: Pending = {
      key,
      source: r.source,
      image: limit(() => store.prepareImage(bytes, rel(r.imagePath))),
      spoken: (r.spoken ?? []).map((s) => limit(() => prepareSpoken(store, s, rel(s.audioPath)))),
      item: {
        fileName: r.fileName ?? path.basename(r.imagePath), split,
        captions: captions.map((text) => ({ text, source: 'import' as const })), regions,
      },
      extraSpoken: [],
    };
    // Rejections are collected by flush; this keeps an early failure from being "unhandled" meanwhile.
    for (const pr of [p.image, ...p.spoken]) pr.catch(() => {});
    keyToItem.set(key, p);
    pending.push(p);
  };

  emit();
  try {
    for await (const r of src.records) {
      if (opts.signal?.aborted) break;
      try {
        await one(r);
      } catch (e) {
        if (isFatal(e)) throw e;
        report.skipped.push(skipOf(e, r.source));
      }
      done++;
      if (pending.length >= BATCH) {
        await flush();
        emit(r.source.file);
      }
    }
    if (!opts.signal?.aborted) await flush();
  } finally {
    // A batch not committed when cancelled (or failed) is dropped, never half-written; its media
    // work is awaited so nothing keeps writing into the dataset after we return.
    await Promise.allSettled(pending.flatMap((p) => [p.image, ...p.spoken]));
    if (opts.signal?.aborted) report.cancelled = true;
  }
  // Records the reader skipped itself count as done once the import finishes.
  if (!report.cancelled && src.total !== undefined) done = Math.max(done, src.total);
  emit();
  return report;
}

/** Unique, filesystem-safe file names for exports. */
export class NameAllocator {
  private readonly used = new Set<string>();
  /**
   * `base` without extension; adds -2, -3... when the STEM is taken (case-insensitively), so
   * cat.png and cat.webp never share a sidecar cat.txt or an image_id.
   */
  take(base: string, ext: string): string {
    const clean = base.replace(/[^\p{L}\p{N}_.-]+/gu, '_').replace(/^\.+/, '').slice(0, 100) || 'item';
    let stem = clean;
    for (let i = 2; this.used.has(stem.toLowerCase()); i++) stem = `${clean}-${i}`;
    this.used.add(stem.toLowerCase());
    return `${stem}${ext}`;
  }
}

/** Writes a file atomically (temp + rename) so an export never leaves a half-written main file. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

/**
 * Streams a text file's lines as raw bytes with 1-based numbers, so each line is decoded (and
 * rejected) on its own: one non-UTF-8 or malformed line never sinks the file.
 */
export async function* readLines(file: string): AsyncGenerator<{ bytes: Buffer; line: number }> {
  let rest: Buffer = Buffer.alloc(0);
  let line = 0;
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) {
    let buf = rest.length ? Buffer.concat([rest, chunk as Buffer]) : (chunk as Buffer);
    let nl: number;
    while ((nl = buf.indexOf(10)) >= 0) {
      line++;
      yield { bytes: buf.subarray(0, nl), line };
      buf = buf.subarray(nl + 1);
    }
    rest = Buffer.from(buf);
  }
  if (rest.length) yield { bytes: rest, line: line + 1 };
}

/** Parses one JSON Lines line into an object; undefined for a blank line. Errors name file:line. */
export function parseJsonLine(bytes: Buffer, shown: string, line: number): Record<string, unknown> | undefined {
  const text = decodeUtf8(bytes, `${shown}:${line}`).trim();
  if (!text) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new DatasetError('BAD_FORMAT', `${shown}:${line}: malformed JSON (${(e as Error).message})`, { file: shown, line });
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new DatasetError('BAD_FORMAT', `${shown}:${line}: expected a JSON object`, { file: shown, line });
  return v as Record<string, unknown>;
}

/** Index of files under a root by lowercase stem (first one wins), for formats that name images by id. */
export function stemIndex(root: string, accept: (name: string) => boolean, maxDepth = 4): Map<string, string> {
  const m = new Map<string, string>();
  if (!fs.existsSync(root)) return m;
  for (const rel of walk(root, maxDepth)) {
    if (!accept(rel)) continue;
    const stem = path.basename(rel, path.extname(rel)).toLowerCase();
    if (!m.has(stem)) m.set(stem, path.join(root, rel));
  }
  return m;
}

/** Shared export loop: walks items, reports progress, stops on the signal. */
export async function forEachItem(
  store: DatasetStore,
  opts: JobOptions,
  fn: (item: Item, format: ImageFormat) => void | Promise<void>,
): Promise<{ exported: number; cancelled: boolean }> {
  const total = store.info().itemCount;
  let done = 0;
  opts.onProgress?.({ phase: 'export', done, total });
  for (const item of store.iterateItems()) {
    if (opts.signal?.aborted) return { exported: done, cancelled: true };
    await fn(item, store.imageFormat(item.id));
    done++;
    if (done % 32 === 0) opts.onProgress?.({ phase: 'export', done, total, file: item.fileName });
  }
  opts.onProgress?.({ phase: 'export', done, total });
  return { exported: done, cancelled: false };
}
