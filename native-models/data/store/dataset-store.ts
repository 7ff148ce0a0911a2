// One dataset on disk: <dir>/dataset.sqlite (WAL, migrations) + <dir>/blobs (content-addressed).
//
// Write order is what makes a crash harmless: media go to the blob store first (durable, atomic
// rename), then the rows that reference them are inserted in ONE transaction. A kill at any point
// leaves either the whole item or none of it (at worst an unreferenced blob).
//
// Undo/redo: every user edit (captions, regions, spoken captions, split, delete) is recorded in the
// `journal` table as the before/after rows it touched, in the same transaction as the edit. undo()
// writes the before rows back, redo() the after rows; the journal survives restarts. An import is one
// entry whose items are listed in `journal_items` (appended in each batch's transaction while the entry is
// the newest); undoing it moves their rows into `journal_rows` and deletes them, redoing puts them back.

import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { makeThumbnail, type ImageFormat } from '../image';
import { BlobStore } from './blob-store';
import { DatasetError, toDatasetError } from './errors';
import { migrate } from './migrations';
import type {
  BlobRef, Caption, CaptionSource, Dataset, Item, ItemSummary, NewItem, NewRegion, NewSpoken, Query, QueryResult,
  Region, SpokenCaption, TimedUtterance, TracePoint,
} from './types';
import { MAX_REGION_LABEL } from './types';

export const DB_FILE = 'dataset.sqlite';
const SUMMARY_CAPTION_CHARS = 200;
const MAX_CAPTION_CHARS = 20_000;
const JOURNAL_LIMIT = 2000;

/** An image already in the blob store, decoded once to learn its size and make its thumbnail. */
export interface PreparedImage {
  image: BlobRef;
  thumb: BlobRef;
  format: ImageFormat;
  width: number;
  height: number;
}

/** A spoken caption whose audio is already in the blob store. */
export interface PreparedSpoken {
  wav: BlobRef;
  durationS: number;
  original?: BlobRef;
  originalMime?: string;
  trace?: TracePoint[][];
  timedCaption?: TimedUtterance[];
  transcript?: string;
}

/** Everything insertItems needs; blobs must already be stored (see prepareImage / putBlob). */
export interface PreparedItem {
  image: PreparedImage;
  fileName?: string;
  split?: string;
  captions?: { text: string; source?: CaptionSource }[];
  spoken?: PreparedSpoken[];
  regions?: NewRegion[];
}

export interface OpenOptions {
  /**
   * Caps the database at this many pages (SQLite max_page_count): a size quota. Past it, writes fail
   * with SQLITE_FULL exactly as on a full disk, which is also how tests exercise that path.
   */
  maxPageCount?: number;
}

/** What undo()/redo() did, so a UI can refresh the items it touched. */
export interface EditResult {
  label: string;
  itemIds: string[];
}

export interface UndoState {
  canUndo: boolean;
  canRedo: boolean;
  undoLabel?: string;
  redoLabel?: string;
}

type Table = 'items' | 'captions' | 'spoken' | 'regions';
type Row = Record<string, unknown> & { id: string };
interface Change {
  table: Table;
  before: Row | null;
  after: Row | null;
}

/** An import's journal entry has this as its `changes` (an edit's are its Change[]): its items and rows live in
 * journal_items / journal_rows, so a 100,000-item import is never one JSON string. */
const IMPORT_MARKER = JSON.stringify({ import: true });

/**
 * Where one import stands in the undo journal: pass the same object to each of its insertItems calls.
 * `seq` is the entry its batches extend (set by the first batch).
 */
export interface ImportUndo {
  seq?: number;
}

/** The rows a change records (counters are maintained by triggers, never journaled). */
function stripCounters(r: Row): Row {
  const { spoken_count: _s, region_count: _r, ...rest } = r;
  return rest as Row;
}

/** The tables an import writes, parents first (undo journals and redo restores them in this order). */
const IMPORT_TABLES = ['items', 'captions', 'spoken', 'regions'] as const;

/** Columns written back by undo/redo (counters are maintained by triggers, never restored). */
const COLUMNS: Record<Table, string[]> = {
  items: ['seq', 'id', 'split', 'image', 'image_format', 'thumb', 'width', 'height', 'file_name', 'created_at', 'updated_at'],
  captions: ['seq', 'id', 'item_id', 'text', 'source'],
  spoken: ['seq', 'id', 'item_id', 'wav', 'original', 'original_mime', 'duration_s', 'trace', 'timed_caption', 'transcript'],
  regions: ['seq', 'id', 'item_id', 'x0', 'y0', 'x1', 'y1', 'label', 'score', 'source'],
};

interface ItemRow {
  seq: number; id: string; split: string; image: string; image_format: string; thumb: string; width: number; height: number;
  file_name: string | null; created_at: string; updated_at: string; spoken_count: number; region_count: number;
}
interface CaptionRow { seq: number; id: string; item_id: string; text: string; source: string }
interface SpokenRow {
  seq: number; id: string; item_id: string; wav: string; original: string | null; original_mime: string | null;
  duration_s: number; trace: string; timed_caption: string | null; transcript: string | null;
}
interface RegionRow {
  seq: number; id: string; item_id: string; x0: number; y0: number; x1: number; y1: number; label: string; score: number | null; source: string;
}

const CAPTION_SOURCES = new Set(['user', 'import', 'generated', 'transcript']);
const REGION_SOURCES = new Set(['user', 'import', 'generated', 'detector']);

/** Validates a split name: short, printable, no path separators (it becomes a folder on export). */
export function checkSplit(split: unknown): string {
  if (typeof split !== 'string' || !/^[A-Za-z0-9_.-]{1,32}$/.test(split) || split === '.' || split === '..') {
    throw new DatasetError('INVALID', `invalid split name ${JSON.stringify(split)} (letters, digits, _ . -, at most 32)`);
  }
  return split;
}

/** Validates a normalised box [x0,y0,x1,y1] in [0,1] with x0<=x1, y0<=y1. */
export function checkBox(box: unknown): [number, number, number, number] {
  if (!Array.isArray(box) || box.length !== 4 || !box.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new DatasetError('INVALID', `a region box is [x0, y0, x1, y1] of 4 finite numbers, got ${JSON.stringify(box)}`);
  }
  const [x0, y0, x1, y1] = box as number[];
  const eps = 1e-6;
  if (x0 < -eps || y0 < -eps || x1 > 1 + eps || y1 > 1 + eps || x0 > x1 || y0 > y1) {
    throw new DatasetError('INVALID', `region box ${JSON.stringify(box)} must be normalised to [0,1] with x0<=x1 and y0<=y1`);
  }
  const c = (v: number) => Math.min(1, Math.max(0, v));
  return [c(x0), c(y0), c(x1), c(y1)];
}

function checkText(text: unknown, what: string): string {
  if (typeof text !== 'string') throw new DatasetError('INVALID', `${what} must be a string`);
  if (text.length > MAX_CAPTION_CHARS) throw new DatasetError('INVALID', `${what} is ${text.length} characters, over ${MAX_CAPTION_CHARS}`);
  return text;
}

function checkTrace(trace: unknown): TracePoint[][] {
  if (trace === undefined) return [];
  const ok = Array.isArray(trace) && trace.every((seg) => Array.isArray(seg) && seg.every((p) =>
    p && typeof p === 'object' && Number.isFinite(p.x) && Number.isFinite(p.y) && Number.isFinite(p.t)));
  if (!ok) throw new DatasetError('INVALID', 'a mouse trace is a list of segments of {x, y, t} numbers');
  return (trace as TracePoint[][]).map((seg) => seg.map((p) => ({ x: p.x, y: p.y, t: p.t })));
}

/**
 * Turns free text into an FTS5 trigram phrase: matches the text as a case-insensitive substring of
 * a caption. Undefined for text under 3 characters, which trigrams cannot index (callers scan).
 */
export function ftsQuery(text: string): string | undefined {
  const t = text.normalize('NFC').trim();
  if ([...t].length < 3) return undefined;
  return `"${t.replace(/"/g, '""')}"`;
}

/**
 * Promise.all that waits for every promise before rejecting, so no write is still running (and
 * leaving temp files) after a failure has been reported.
 */
export async function settleAll<T>(promises: Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}

function now(): string {
  return new Date().toISOString();
}

export class DatasetStore {
  readonly dir: string;
  readonly blobs: BlobStore;
  private readonly db: Database.Database;
  private readonly dbPath: string;
  private closed = false;
  /** Bumped by every write; caches derived from the data (text hits) check it. */
  private version = 0;
  private hits?: { text: string; version: string };
  private readonly stmts: ReturnType<DatasetStore['prepareStatements']>;
  /** Statements built from a table's name (restore, undo/redo of imports): prepared once each, not once per row. */
  private readonly tableStmts = new Map<string, Database.Statement>();

  private constructor(dir: string, db: Database.Database) {
    this.dir = dir;
    this.dbPath = path.join(dir, DB_FILE);
    this.db = db;
    this.blobs = new BlobStore(path.join(dir, 'blobs'));
    this.stmts = this.prepareStatements();
  }

  /** Creates a new dataset folder (it must not already hold a dataset). */
  static create(dir: string, opts: { id?: string; name: string }): DatasetStore {
    const name = opts.name.trim();
    if (!name) throw new DatasetError('INVALID', 'a dataset needs a name');
    if (fs.existsSync(path.join(dir, DB_FILE))) throw new DatasetError('EXISTS', `${dir} already holds a dataset`);
    fs.mkdirSync(dir, { recursive: true });
    const store = DatasetStore.openDb(dir, true);
    const meta = store.db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)');
    store.db.transaction(() => {
      meta.run('id', opts.id ?? path.basename(dir));
      meta.run('name', name);
      meta.run('createdAt', now());
    })();
    return store;
  }

  /** Opens an existing dataset folder, migrating its schema if needed. */
  static open(dir: string, opts: OpenOptions = {}): DatasetStore {
    if (!fs.existsSync(path.join(dir, DB_FILE))) throw new DatasetError('NOT_FOUND', `${dir} is not a dataset (no ${DB_FILE})`);
    return DatasetStore.openDb(dir, false, opts);
  }

  private static openDb(dir: string, create: boolean, opts: OpenOptions = {}): DatasetStore {
    const file = path.join(dir, DB_FILE);
    let db: Database.Database;
    try {
      db = new Database(file, { fileMustExist: !create });
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = ON');
      db.pragma('busy_timeout = 5000');
      migrate(db, file);
      if (opts.maxPageCount) db.pragma(`max_page_count = ${Math.floor(opts.maxPageCount)}`);
    } catch (e) {
      throw toDatasetError(e, `opening ${file}`);
    }
    const store = new DatasetStore(dir, db);
    store.blobs.cleanTemp();
    return store;
  }

  private prepareStatements() {
    const db = this.db;
    return {
      meta: db.prepare('SELECT value FROM meta WHERE key = ?').pluck(),
      setMeta: db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)'),
      count: db.prepare('SELECT COUNT(*) FROM items').pluck(),
      insertItem: db.prepare(`INSERT INTO items (id, split, image, image_format, thumb, width, height, file_name, created_at, updated_at)
        VALUES (@id, @split, @image, @image_format, @thumb, @width, @height, @file_name, @created_at, @updated_at)`),
      insertCaption: db.prepare('INSERT INTO captions (id, item_id, text, source) VALUES (?, ?, ?, ?)'),
      insertSpoken: db.prepare(`INSERT INTO spoken (id, item_id, wav, original, original_mime, duration_s, trace, timed_caption, transcript)
        VALUES (@id, @item_id, @wav, @original, @original_mime, @duration_s, @trace, @timed_caption, @transcript)`),
      insertRegion: db.prepare(`INSERT INTO regions (id, item_id, x0, y0, x1, y1, label, score, source)
        VALUES (@id, @item_id, @x0, @y0, @x1, @y1, @label, @score, @source)`),
      item: db.prepare('SELECT * FROM items WHERE id = ?'),
      itemByImage: db.prepare('SELECT id FROM items WHERE image = ? LIMIT 1').pluck(),
      captionsOf: db.prepare('SELECT * FROM captions WHERE item_id = ? ORDER BY seq'),
      spokenOf: db.prepare('SELECT * FROM spoken WHERE item_id = ? ORDER BY seq'),
      regionsOf: db.prepare('SELECT * FROM regions WHERE item_id = ? ORDER BY seq'),
      touch: db.prepare('UPDATE items SET updated_at = ? WHERE id = ?'),
      itemsAfter: db.prepare('SELECT id FROM items WHERE seq > ? ORDER BY seq LIMIT ?').pluck(),
      seqOf: db.prepare('SELECT seq FROM items WHERE id = ?').pluck(),
    };
  }

  /** A statement over one of the fixed tables, prepared on first use (the SQL varies only by table and columns). */
  private tableStmt(sql: string): Database.Statement {
    let st = this.tableStmts.get(sql);
    if (!st) this.tableStmts.set(sql, (st = this.db.prepare(sql)));
    return st;
  }

  /** Throws DATASET_MISSING when the folder was deleted or unmounted under us; called by every public method. */
  private ensure(): void {
    if (this.closed) throw new DatasetError('INVALID', `dataset ${this.dir} is closed`);
    if (!fs.existsSync(this.dbPath)) {
      throw new DatasetError('DATASET_MISSING', `the dataset folder ${this.dir} disappeared (moved, deleted or unmounted); reopen it from the library`);
    }
  }

  /** Runs fn in one transaction, turning SQLite/disk failures into DatasetError (the transaction is rolled back). */
  private tx<T>(what: string, fn: () => T): T {
    this.ensure();
    this.version++;
    try {
      return this.db.transaction(fn)();
    } catch (e) {
      throw toDatasetError(e, what);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.db.close();
    } catch {
      // The folder may be gone; nothing left to flush.
    }
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  // ---------------------------------------------------------------- dataset

  info(): Dataset {
    this.ensure();
    return {
      id: this.stmts.meta.get('id') as string,
      name: this.stmts.meta.get('name') as string,
      createdAt: this.stmts.meta.get('createdAt') as string,
      itemCount: this.stmts.count.get() as number,
      path: this.dir,
    };
  }

  rename(name: string): void {
    const n = typeof name === 'string' ? name.trim() : '';
    if (!n || n.length > 200) throw new DatasetError('INVALID', 'a dataset name is 1 to 200 characters');
    this.tx('renaming dataset', () => this.stmts.setMeta.run('name', n));
  }

  /** Split names with their item counts. */
  splits(): { split: string; count: number }[] {
    this.ensure();
    return this.db.prepare('SELECT split, COUNT(*) AS count FROM items GROUP BY split ORDER BY split').all() as { split: string; count: number }[];
  }

  /** `PRAGMA integrity_check` plus the FTS index's own check: 'ok' when both are sound. */
  integrityCheck(): string {
    this.ensure();
    const result = (this.db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check).join('; ');
    try {
      this.db.prepare("INSERT INTO captions_fts (captions_fts) VALUES ('integrity-check')").run();
    } catch (e) {
      return `${result === 'ok' ? '' : `${result}; `}caption search index: ${(e as Error).message}`;
    }
    return result;
  }

  // ---------------------------------------------------------------- blobs

  putBlob(bytes: Uint8Array): BlobRef {
    this.ensure();
    return this.blobs.put(bytes);
  }

  getBlob(sha: BlobRef): Buffer {
    this.ensure();
    return this.blobs.get(sha);
  }

  /** File path of a blob, for hosts that stream it (custom protocol, HTTP). */
  blobPath(sha: BlobRef): string {
    this.ensure();
    const p = this.blobs.pathOf(sha);
    if (!fs.existsSync(p)) throw new DatasetError('NOT_FOUND', `blob ${sha} is not in this dataset`);
    return p;
  }

  /** putBlob without blocking the event loop (imports run several at once). */
  async putBlobAsync(bytes: Uint8Array): Promise<BlobRef> {
    this.ensure();
    return this.blobs.putAsync(bytes);
  }

  /**
   * Deletes blobs nothing references: not an item's image or thumbnail, not a spoken caption's
   * audio, not a row the undo journal could restore. Only blobs older than `olderThanMs` (default
   * one hour) go, so media written by an import still in flight (in this process or another) are
   * never taken. Returns how many blobs and bytes were freed.
   */
  collectGarbage(olderThanMs = 3_600_000): { removed: number; bytes: number } {
    this.ensure();
    const keep = new Set<string>();
    const add = (v: unknown) => { if (typeof v === 'string') keep.add(v); };
    const addRefs = (row: Row) => { for (const k of ['image', 'thumb', 'wav', 'original']) add(row[k]); };
    for (const r of this.db.prepare('SELECT image, thumb FROM items').raw().iterate() as Iterable<unknown[]>) r.forEach(add);
    for (const r of this.db.prepare('SELECT wav, original FROM spoken').raw().iterate() as Iterable<unknown[]>) r.forEach(add);
    for (const changes of this.db.prepare('SELECT changes FROM journal').pluck().iterate() as Iterable<string>) {
      if (changes === IMPORT_MARKER) continue; // its undone rows are in journal_rows, below
      for (const c of JSON.parse(changes) as Change[]) for (const row of [c.before, c.after]) if (row) addRefs(row);
    }
    for (const json of this.db.prepare("SELECT row FROM journal_rows WHERE tbl IN ('items', 'spoken')").pluck().iterate() as Iterable<string>) {
      addRefs(JSON.parse(json) as Row);
    }
    const cutoff = Date.now() - olderThanMs;
    let removed = 0;
    let bytes = 0;
    for (const b of this.blobs.list()) {
      if (keep.has(b.sha) || b.mtimeMs > cutoff) continue;
      bytes += fs.statSync(this.blobs.pathOf(b.sha), { throwIfNoEntry: false })?.size ?? 0;
      this.blobs.remove(b.sha);
      removed++;
    }
    return { removed, bytes };
  }

  /** Checks and stores an image and its thumbnail. Throws BAD_MEDIA / TOO_LARGE naming `file`. */
  async prepareImage(bytes: Uint8Array, file?: string): Promise<PreparedImage> {
    this.ensure();
    const { info, thumb } = await makeThumbnail(bytes, file);
    const [image, thumbRef] = await settleAll([this.blobs.putAsync(bytes), this.blobs.putAsync(thumb)]);
    return { image, thumb: thumbRef, format: info.format, width: info.width, height: info.height };
  }

  /** Stores a spoken caption's audio (already 16 kHz mono WAV) and original. */
  prepareSpoken(s: NewSpoken): PreparedSpoken {
    this.ensure();
    return {
      wav: this.blobs.put(s.wav),
      durationS: s.durationS,
      original: s.original ? this.blobs.put(s.original) : undefined,
      originalMime: s.originalMime,
      trace: s.trace,
      timedCaption: s.timedCaption,
      transcript: s.transcript,
    };
  }

  // ---------------------------------------------------------------- items

  /** The id of an item whose image has these exact bytes, if any (duplicate detection). */
  findByImage(sha: BlobRef): string | undefined {
    this.ensure();
    return this.stmts.itemByImage.get(sha) as string | undefined;
  }

  /**
   * Inserts prepared items in ONE transaction: all of them or none. Returns their ids in order. With `undo`
   * (one object per import), the same transaction journals them as the import's undo step: the entry the
   * import's earlier batches made while it is still the newest and not undone, else a new one (so entries stay
   * in the order their rows were written, and undo never meets an item an older entry expects).
   */
  insertItems(items: PreparedItem[], undo?: ImportUndo): string[] {
    const rows = items.map((it) => ({
      item: it,
      split: checkSplit(it.split ?? 'train'),
      regions: (it.regions ?? []).map((r) => this.regionRow('', r)),
      captions: (it.captions ?? []).map((c) => ({ text: checkText(c.text, 'caption'), source: this.captionSource(c.source ?? 'import') })),
      spoken: (it.spoken ?? []).map((s) => this.spokenRow('', s)),
    }));
    const done = this.tx('inserting items', () => {
      const ids: string[] = [];
      const t = now();
      for (const r of rows) {
        const id = randomUUID();
        const im = r.item.image;
        this.stmts.insertItem.run({
          id, split: r.split, image: im.image, image_format: im.format, thumb: im.thumb, width: im.width, height: im.height,
          file_name: r.item.fileName ?? null, created_at: t, updated_at: t,
        });
        for (const c of r.captions) this.stmts.insertCaption.run(randomUUID(), id, c.text, c.source);
        for (const s of r.spoken) this.stmts.insertSpoken.run({ ...s, item_id: id });
        for (const g of r.regions) this.stmts.insertRegion.run({ ...g, item_id: id });
        ids.push(id);
      }
      const seq = undo && ids.length ? this.journalImport(undo, ids, t) : undefined;
      return { ids, seq };
    });
    // Only once committed: a rolled-back entry's seq could be reused by another edit.
    if (undo && done.seq !== undefined) undo.seq = done.seq;
    return done.ids;
  }

  /** Adds created items to the import's journal entry (see insertItems), inside its transaction; returns the entry. */
  private journalImport(undo: ImportUndo, ids: string[], t: string): number {
    const label = (n: number) => (n === 1 ? 'Import 1 item' : `Import ${n} items`);
    const addItems = (seq: number) => {
      const ins = this.db.prepare('INSERT INTO journal_items (seq, item_id) VALUES (?, ?)');
      for (const id of ids) ins.run(seq, id);
      const n = this.db.prepare('SELECT COUNT(*) FROM journal_items WHERE seq = ?').pluck().get(seq) as number;
      this.db.prepare('UPDATE journal SET label = ? WHERE seq = ?').run(label(n), seq);
    };
    const newest = this.db.prepare('SELECT seq, changes, undone FROM journal ORDER BY seq DESC LIMIT 1').get() as Pick<JournalRow, 'seq' | 'changes' | 'undone'> | undefined;
    if (undo.seq !== undefined && newest?.seq === undo.seq && newest.undone === 0 && newest.changes === IMPORT_MARKER) {
      addItems(undo.seq);
      return undo.seq;
    }
    const seq = this.newJournalEntry(label(ids.length), [], IMPORT_MARKER, t);
    addItems(seq);
    return seq;
  }

  /** Journals a new step (inside the step's transaction): clears the redo steps, keeps the newest JOURNAL_LIMIT. */
  private newJournalEntry(label: string, itemIds: string[], changes: string, t: string): number {
    this.db.prepare('DELETE FROM journal WHERE undone = 1').run();
    const r = this.db.prepare('INSERT INTO journal (label, item_ids, changes, created_at) VALUES (?, ?, ?, ?)').run(label, JSON.stringify(itemIds), changes, t);
    this.db.prepare('DELETE FROM journal WHERE seq <= (SELECT MAX(seq) FROM journal) - ?').run(JOURNAL_LIMIT);
    return Number(r.lastInsertRowid);
  }

  /** The items an import entry created, in order. */
  private importedItems(seq: number): string[] {
    return this.db.prepare('SELECT item_id FROM journal_items WHERE seq = ? ORDER BY rowid').pluck().all(seq) as string[];
  }

  /**
   * Adds imported annotations to an item the same import created, in one transaction (not journaled on their own:
   * the import's entry lists the item, and undoing it removes the item with everything it then has).
   */
  appendImported(itemId: string, add: { captions?: string[]; spoken?: PreparedSpoken[]; regions?: NewRegion[] }): void {
    const captions = (add.captions ?? []).map((t) => checkText(t, 'caption'));
    const spoken = (add.spoken ?? []).map((s) => this.spokenRow('', s));
    const regions = (add.regions ?? []).map((r) => this.regionRow('', r));
    this.tx('adding imported annotations', () => {
      this.requireItem(itemId);
      for (const t of captions) this.stmts.insertCaption.run(randomUUID(), itemId, t, 'import');
      for (const s of spoken) this.stmts.insertSpoken.run({ ...s, item_id: itemId });
      for (const g of regions) this.stmts.insertRegion.run({ ...g, item_id: itemId });
      this.stmts.touch.run(now(), itemId);
    });
  }

  /** Convenience for callers with raw bytes: prepares media then inserts, all items in one transaction. */
  async addItems(items: NewItem[]): Promise<string[]> {
    const prepared: PreparedItem[] = [];
    for (const it of items) {
      prepared.push({
        image: await this.prepareImage(it.image, it.fileName),
        fileName: it.fileName,
        split: it.split,
        captions: it.captions,
        regions: it.regions,
        spoken: (it.spoken ?? []).map((s) => this.prepareSpoken(s)),
      });
    }
    return this.insertItems(prepared);
  }

  /** Adds one item from raw bytes and returns it. */
  async addItem(item: NewItem): Promise<Item> {
    const [id] = await this.addItems([item]);
    return this.getItem(id);
  }

  getItem(id: string): Item {
    this.ensure();
    const row = this.stmts.item.get(id) as ItemRow | undefined;
    if (!row) throw new DatasetError('NOT_FOUND', `no item ${JSON.stringify(id)} in this dataset`);
    return this.toItem(row);
  }

  hasItem(id: string): boolean {
    this.ensure();
    return this.stmts.item.get(id) !== undefined;
  }

  /** Image format of an item's image blob, so exporters can name files. */
  imageFormat(id: string): ImageFormat {
    this.ensure();
    const row = this.stmts.item.get(id) as ItemRow | undefined;
    if (!row) throw new DatasetError('NOT_FOUND', `no item ${JSON.stringify(id)} in this dataset`);
    return row.image_format as ImageFormat;
  }

  /** Walks all items in insertion order, `batch` rows per read (exports). */
  *iterateItems(batch = 256): Generator<Item> {
    let after = 0;
    for (;;) {
      this.ensure();
      const ids = this.stmts.itemsAfter.all(after, batch) as string[];
      if (ids.length === 0) return;
      for (const id of ids) {
        const row = this.stmts.item.get(id) as ItemRow | undefined;
        if (row) {
          after = row.seq;
          yield this.toItem(row);
        }
      }
    }
  }

  /** The grid query: filters, total count and one page of summaries, in insertion order. */
  query(q: Query): QueryResult {
    this.ensure();
    const offset = Math.max(0, Math.floor(Number(q.offset) || 0));
    const limit = Math.min(1000, Math.max(0, Math.floor(Number(q.limit) || 0)));
    const where: string[] = [];
    const params: Record<string, unknown> = { limit, offset };
    if (q.split !== undefined && q.split !== '') {
      where.push('i.split = @split');
      params.split = q.split;
    }
    if (q.hasSpoken !== undefined) where.push(q.hasSpoken ? 'i.spoken_count > 0' : 'i.spoken_count = 0');
    if (q.hasRegions !== undefined) where.push(q.hasRegions ? 'i.region_count > 0' : 'i.region_count = 0');
    const text = typeof q.text === 'string' ? q.text.trim() : '';
    const w = () => (where.length ? `WHERE ${where.join(' AND ')}` : '');
    try {
      // With a text filter, walk the (cached) hits in order and join items to them: cheaper than
      // probing the hit set for each of 50,000 items.
      let from = 'items i';
      if (text) {
        this.textHits(text);
        from = 'temp.text_hits h CROSS JOIN items i ON i.seq = h.seq';
      }
      const total = this.db.prepare(`SELECT COUNT(*) FROM ${from} ${w()}`).pluck().get(params) as number;
      const rows = this.db.prepare(`SELECT i.id, i.split, i.image, i.thumb, i.width, i.height, i.spoken_count, i.region_count,
          (SELECT c.text FROM captions c WHERE c.item_id = i.id ORDER BY c.seq LIMIT 1) AS caption
        FROM ${from} ${w()} ORDER BY ${text ? 'h.seq' : 'i.seq'} LIMIT @limit OFFSET @offset`).all(params) as
        { id: string; split: string; image: string; thumb: string; width: number; height: number; spoken_count: number; region_count: number; caption: string | null }[];
      const items: ItemSummary[] = rows.map((r) => ({
        id: r.id, split: r.split, image: r.image, thumb: r.thumb, width: r.width, height: r.height,
        caption: (r.caption ?? '').slice(0, SUMMARY_CAPTION_CHARS),
        hasSpoken: r.spoken_count > 0, hasRegions: r.region_count > 0,
      }));
      return { total, items };
    } catch (e) {
      throw toDatasetError(e, 'querying items');
    }
  }

  /**
   * Fills temp.text_hits with the seqs of items whose captions contain `text`, once per text and
   * data version: a grid scrolling through a filter re-asks the same question for every page, and
   * the answer for a common word (thousands of items) is the expensive part.
   */
  private textHits(text: string): void {
    // data_version changes when ANOTHER connection commits (e.g. the demo generator writing meanwhile).
    const version = `${this.version}:${this.db.pragma('data_version', { simple: true })}`;
    if (this.hits && this.hits.text === text && this.hits.version === version) return;
    this.db.exec('CREATE TEMP TABLE IF NOT EXISTS text_hits (seq INTEGER PRIMARY KEY)');
    const match = ftsQuery(text);
    this.db.transaction(() => {
      this.db.exec('DELETE FROM temp.text_hits');
      if (match) {
        this.db.prepare(`INSERT OR IGNORE INTO temp.text_hits (seq) SELECT i.seq FROM captions c JOIN items i ON i.id = c.item_id
          WHERE c.seq IN (SELECT rowid FROM captions_fts WHERE captions_fts MATCH ?)`).run(match);
      } else {
        const like = `%${text.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;
        this.db.prepare(`INSERT OR IGNORE INTO temp.text_hits (seq) SELECT i.seq FROM captions c JOIN items i ON i.id = c.item_id
          WHERE c.text LIKE ? ESCAPE '\\'`).run(like);
      }
    })();
    this.hits = { text, version };
  }

  /** Position of an item in a query's order (for next/previous navigation); -1 when filtered out. */
  indexOf(id: string): number {
    this.ensure();
    const seq = this.stmts.seqOf.get(id) as number | undefined;
    if (seq === undefined) return -1;
    return this.db.prepare('SELECT COUNT(*) FROM items WHERE seq < ?').pluck().get(seq) as number;
  }

  // ---------------------------------------------------------------- journaled edits

  addCaption(itemId: string, text: string, source: CaptionSource = 'user'): Caption {
    const t = checkText(text, 'caption');
    const src = this.captionSource(source);
    const id = randomUUID();
    this.edit('Add caption', [itemId], () => {
      this.requireItem(itemId);
      this.stmts.insertCaption.run(id, itemId, t, src);
    });
    return { id, text: t, source: src };
  }

  /** Edits a caption's text and/or source (accepting a generated caption sets source 'user'). */
  updateCaption(captionId: string, patch: { text?: string; source?: CaptionSource }): Caption {
    const t = patch?.text === undefined ? undefined : checkText(patch.text, 'caption');
    const src = patch?.source === undefined ? undefined : this.captionSource(patch.source);
    let out!: Caption;
    this.editRow('captions', captionId, t !== undefined ? 'Edit caption' : 'Accept caption', (row) => {
      const text = t ?? (row.text as string);
      const source = src ?? (row.source as CaptionSource);
      this.db.prepare('UPDATE captions SET text = ?, source = ? WHERE id = ?').run(text, source, captionId);
      out = { id: captionId, text, source };
    });
    return out;
  }

  /**
   * Curation's "accept": every caption of the item that is not yet the user's becomes so (source
   * 'user'), as one undo step. Returns how many changed; 0 (and no undo step) when none had to.
   */
  acceptCaptions(itemId: string): number {
    let changed = 0;
    this.edit('Accept captions', [itemId], () => {
      this.requireItem(itemId);
      changed = this.db.prepare("UPDATE captions SET source = 'user' WHERE item_id = ? AND source != 'user'").run(itemId).changes;
    }, () => (changed === 1 ? 'Accept caption' : `Accept ${changed} captions`));
    return changed;
  }

  /** The item a caption, region or spoken caption belongs to (undefined if no such row). */
  ownerOf(kind: 'caption' | 'region' | 'spoken', id: string): string | undefined {
    this.ensure();
    const table = kind === 'caption' ? 'captions' : kind === 'region' ? 'regions' : 'spoken';
    return this.db.prepare(`SELECT item_id FROM ${table} WHERE id = ?`).pluck().get(String(id)) as string | undefined;
  }

  deleteCaption(captionId: string): void {
    this.editRow('captions', captionId, 'Delete caption', () => {
      this.db.prepare('DELETE FROM captions WHERE id = ?').run(captionId);
    });
  }

  addRegion(itemId: string, region: NewRegion): Region {
    return this.addRegions(itemId, [region])[0];
  }

  /** Adds several regions to one item as one undo step (accepting a detector's proposals, say). */
  addRegions(itemId: string, regions: NewRegion[]): Region[] {
    return this.addRegionsToItems([{ itemId, regions }])[0];
  }

  /**
   * Adds regions to one or more items as ONE undo step (a detector run over a dataset); source 'user' unless given.
   * Every region and item is checked before anything is written. `label` names what the step did ("Detect
   * regions"); the step is called "<label> in N items" (default: "Add N regions to M items").
   */
  addRegionsToItems(entries: { itemId: string; regions: NewRegion[] }[], label?: string): Region[][] {
    if (!Array.isArray(entries) || entries.length === 0) throw new DatasetError('INVALID', 'no items given');
    const ids = entries.map((e) => e?.itemId);
    if (new Set(ids).size !== ids.length) throw new DatasetError('INVALID', 'an item is listed twice');
    const rows = entries.map((e) => {
      if (!Array.isArray(e.regions) || e.regions.length === 0) throw new DatasetError('INVALID', 'no regions given');
      return e.regions.map((r) => this.regionRow(randomUUID(), { source: 'user', ...r }));
    });
    const n = rows.reduce((sum, r) => sum + r.length, 0);
    const named = label ? `${label} in ${entries.length} item${entries.length === 1 ? '' : 's'}`
      : entries.length > 1 ? `Add ${n} regions to ${entries.length} items` : n === 1 ? 'Add region' : `Add ${n} regions`;
    // Pure inserts: the undo step is the new rows themselves (no before/after snapshot of every item, which for a
    // detection run over a large dataset would hold and diff all of its rows).
    this.ensure();
    this.tx(named, () => {
      const changes: Change[] = [];
      entries.forEach((e, k) => {
        this.requireItem(e.itemId);
        for (const row of rows[k]) {
          const seq = Number(this.stmts.insertRegion.run({ ...row, item_id: e.itemId }).lastInsertRowid);
          changes.push({ table: 'regions', before: null, after: { seq, ...row, item_id: e.itemId } });
        }
      });
      this.journalChanges(named, ids, changes);
    });
    return rows.map((r) => r.map((row) => this.toRegion(row as unknown as RegionRow)));
  }

  /** Moves/resizes (box) and/or relabels a region. */
  updateRegion(regionId: string, patch: { box?: [number, number, number, number]; label?: string; score?: number | null }): Region {
    const box = patch.box === undefined ? undefined : checkBox(patch.box);
    const label = patch.label === undefined ? undefined : this.checkLabel(patch.label);
    let out!: Region;
    this.editRow('regions', regionId, box ? 'Move region' : 'Label region', (row) => {
      const r = row as unknown as RegionRow;
      const next: RegionRow = {
        ...r,
        ...(box ? { x0: box[0], y0: box[1], x1: box[2], y1: box[3] } : {}),
        ...(label !== undefined ? { label } : {}),
        ...(patch.score !== undefined ? { score: patch.score } : {}),
      };
      this.db.prepare('UPDATE regions SET x0 = @x0, y0 = @y0, x1 = @x1, y1 = @y1, label = @label, score = @score WHERE id = @id').run(next);
      out = this.toRegion(next);
    });
    return out;
  }

  deleteRegion(regionId: string): void {
    this.editRow('regions', regionId, 'Delete region', () => {
      this.db.prepare('DELETE FROM regions WHERE id = ?').run(regionId);
    });
  }

  /**
   * Adds a spoken caption whose audio is already prepared (see prepareSpoken). With `replaces`, the
   * old spoken caption is deleted in the same transaction (re-record), as one undoable edit.
   */
  addSpoken(itemId: string, s: PreparedSpoken, replaces?: string): SpokenCaption {
    const row = this.spokenRow(randomUUID(), s);
    this.edit(replaces ? 'Re-record spoken caption' : 'Record spoken caption', [itemId], () => {
      this.requireItem(itemId);
      if (replaces !== undefined) {
        const del = this.db.prepare('DELETE FROM spoken WHERE id = ? AND item_id = ?').run(replaces, itemId);
        if (del.changes === 0) throw new DatasetError('NOT_FOUND', `no spoken caption ${JSON.stringify(replaces)} on item ${itemId}`);
      }
      this.stmts.insertSpoken.run({ ...row, item_id: itemId });
    });
    return this.toSpoken(row as unknown as SpokenRow);
  }

  deleteSpoken(spokenId: string): void {
    this.editRow('spoken', spokenId, 'Delete spoken caption', () => {
      this.db.prepare('DELETE FROM spoken WHERE id = ?').run(spokenId);
    });
  }

  setSplit(itemIds: string[], split: string): void {
    const s = checkSplit(split);
    this.edit(`Move to ${s}`, itemIds, () => {
      const upd = this.db.prepare('UPDATE items SET split = ? WHERE id = ?');
      for (const id of itemIds) {
        this.requireItem(id);
        upd.run(s, id);
      }
    });
  }

  /** Deletes items with their captions, spoken captions and regions (undoable; blobs are kept). */
  deleteItems(itemIds: string[]): void {
    this.edit(itemIds.length === 1 ? 'Delete item' : `Delete ${itemIds.length} items`, itemIds, () => {
      const del = this.db.prepare('DELETE FROM items WHERE id = ?');
      for (const id of itemIds) {
        this.requireItem(id);
        del.run(id);
      }
    });
  }

  // ---------------------------------------------------------------- undo / redo

  undoState(): UndoState {
    this.ensure();
    const u = this.db.prepare('SELECT label FROM journal WHERE undone = 0 ORDER BY seq DESC LIMIT 1').pluck().get() as string | undefined;
    const r = this.db.prepare('SELECT label FROM journal WHERE undone = 1 ORDER BY seq ASC LIMIT 1').pluck().get() as string | undefined;
    return { canUndo: u !== undefined, canRedo: r !== undefined, undoLabel: u, redoLabel: r };
  }

  /** Reverts the latest edit not yet undone; null when there is nothing to undo. */
  undo(): EditResult | null {
    return this.tx('undo', () => {
      const e = this.db.prepare('SELECT * FROM journal WHERE undone = 0 ORDER BY seq DESC LIMIT 1').get() as JournalRow | undefined;
      if (!e) return null;
      this.db.prepare('UPDATE journal SET undone = 1 WHERE seq = ?').run(e.seq);
      if (e.changes === IMPORT_MARKER) return { label: e.label, itemIds: this.undoImport(e.seq) };
      const changes = JSON.parse(e.changes) as Change[];
      for (let i = changes.length - 1; i >= 0; i--) this.restore(changes[i].table, changes[i].before, changes[i].after);
      return this.reapplied(e, changes);
    });
  }

  /** Re-applies the earliest undone edit; null when there is nothing to redo. */
  redo(): EditResult | null {
    return this.tx('redo', () => {
      const e = this.db.prepare('SELECT * FROM journal WHERE undone = 1 ORDER BY seq ASC LIMIT 1').get() as JournalRow | undefined;
      if (!e) return null;
      this.db.prepare('UPDATE journal SET undone = 0 WHERE seq = ?').run(e.seq);
      if (e.changes === IMPORT_MARKER) return { label: e.label, itemIds: this.redoImport(e.seq) };
      const changes = JSON.parse(e.changes) as Change[];
      for (const c of changes) this.restore(c.table, c.after, c.before);
      return this.reapplied(e, changes);
    });
  }

  /** After an undo or redo of edit `e`: its items' new updatedAt, and what it did. */
  private reapplied(e: JournalRow, changes: Change[]): EditResult {
    this.touchChanged(changes, now());
    return { label: e.label, itemIds: JSON.parse(e.item_ids) as string[] };
  }

  /** Sets updatedAt = t on the items whose rows these changes touch (an item row's own id, a child row's item_id). */
  private touchChanged(changes: Change[], t: string): void {
    const ids = new Set(changes.map((c) => { const r = (c.after ?? c.before)!; return (c.table === 'items' ? r.id : r.item_id) as string; }));
    for (const id of ids) this.stmts.touch.run(t, id);
  }

  /** Writes `target` back (insert or update), or deletes `other` when target is null. */
  private restore(table: Table, target: Row | null, other: Row | null): void {
    if (target === null) {
      if (other) this.tableStmt(`DELETE FROM ${table} WHERE id = ?`).run(other.id);
      return;
    }
    const cols = COLUMNS[table];
    const exists = this.tableStmt(`SELECT 1 FROM ${table} WHERE id = ?`).get(target.id) !== undefined;
    const vals = Object.fromEntries(cols.map((c) => [c, target[c] ?? null]));
    if (exists) {
      const set = cols.filter((c) => c !== 'id' && c !== 'seq').map((c) => `${c} = @${c}`).join(', ');
      this.tableStmt(`UPDATE ${table} SET ${set} WHERE id = @id`).run(vals);
    } else {
      this.tableStmt(`INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map((c) => `@${c}`).join(', ')})`).run(vals);
    }
  }

  /** Snapshot of every row an edit on these items could touch, keyed by table+id. */
  private snapshot(itemIds: string[]): Map<string, { table: Table; row: Row }> {
    const m = new Map<string, { table: Table; row: Row }>();
    for (const id of itemIds) {
      const item = this.stmts.item.get(id) as Row | undefined;
      if (!item) continue;
      m.set(`items:${id}`, { table: 'items', row: item });
      for (const [table, stmt] of [['captions', this.stmts.captionsOf], ['spoken', this.stmts.spokenOf], ['regions', this.stmts.regionsOf]] as const) {
        for (const r of stmt.all(id) as Row[]) m.set(`${table}:${r.id}`, { table, row: r });
      }
    }
    return m;
  }

  /**
   * Undoes an import: its items' rows as they are now (later edits to them are undone already) go to journal_rows,
   * table by table with the items first, then the items are deleted (their rows cascade). Set-based SQL: rows are
   * written as JSON by SQLite itself (REALs round-trip exactly), so 100,000 items take seconds, not tens of them.
   */
  private undoImport(seq: number): string[] {
    const ids = this.importedItems(seq);
    let pos = 0;
    for (const table of IMPORT_TABLES) {
      const owner = table === 'items' ? 'id' : 'item_id';
      const row = `json_object(${COLUMNS[table].map((c) => `'${c}', t.${c}`).join(', ')})`;
      pos += this.tableStmt(`INSERT INTO journal_rows (seq, pos, tbl, row) SELECT j.seq, ? + ROW_NUMBER() OVER (ORDER BY t.rowid) - 1, '${table}', ${row}
        FROM ${table} t JOIN journal_items j ON j.item_id = t.${owner} WHERE j.seq = ?`).run(pos, seq).changes;
    }
    this.db.prepare('DELETE FROM items WHERE id IN (SELECT item_id FROM journal_items WHERE seq = ?)').run(seq);
    return ids;
  }

  /**
   * Redoes an import: its rows back from journal_rows, table by table (items before the rows that point at them),
   * each table in one INSERT ... SELECT.
   */
  private redoImport(seq: number): string[] {
    for (const table of IMPORT_TABLES) {
      const cols = COLUMNS[table];
      this.tableStmt(`INSERT INTO ${table} (${cols.join(', ')}) SELECT ${cols.map((c) => `json_extract(row, '$.${c}')`).join(', ')}
        FROM journal_rows WHERE seq = ? AND tbl = '${table}' ORDER BY pos`).run(seq);
    }
    this.db.prepare('DELETE FROM journal_rows WHERE seq = ?').run(seq);
    return this.importedItems(seq);
  }

  /**
   * Runs a user edit in one transaction and journals the rows it changed (diffing a snapshot of the
   * affected items before and after), so undo/redo are exact whatever the edit did. `journalLabel`, when
   * given, names the undo step from what `fn` did (called after it, in the transaction).
   */
  private edit(label: string, itemIds: string[], fn: () => void, journalLabel?: () => string): void {
    if (!Array.isArray(itemIds) || itemIds.length === 0) throw new DatasetError('INVALID', `${label}: no items given`);
    this.tx(label, () => {
      const before = this.snapshot(itemIds);
      fn();
      const after = this.snapshot(itemIds);
      const changes: Change[] = [];
      // Children first for deletions, so undo (applied in reverse) re-creates the item before its children.
      const order = (k: string) => (k.startsWith('items:') ? 1 : 0);
      const keys = [...new Set([...before.keys(), ...after.keys()])];
      const removed = keys.filter((k) => !after.has(k)).sort((a, b) => order(a) - order(b));
      const rest = keys.filter((k) => after.has(k)).sort((a, b) => order(b) - order(a));
      for (const k of [...rest, ...removed]) {
        const b = before.get(k);
        const a = after.get(k);
        const bs = b ? stripCounters(b.row) : null;
        const as = a ? stripCounters(a.row) : null;
        if (JSON.stringify(bs) === JSON.stringify(as)) continue;
        changes.push({ table: (a ?? b)!.table, before: bs, after: as });
      }
      if (changes.length === 0) return; // an edit that changed nothing leaves no step and no new updatedAt
      this.journalChanges(journalLabel?.() ?? label, itemIds, changes);
    });
  }

  /** Inside an edit's transaction: touches the items the changes reach and journals them as one undo step. */
  private journalChanges(label: string, itemIds: string[], changes: Change[]): void {
    const t = now();
    this.touchChanged(changes, t);
    this.newJournalEntry(label, itemIds, JSON.stringify(changes), t);
  }

  /** An edit of one child row (caption/region/spoken), found by id. */
  private editRow(table: 'captions' | 'regions' | 'spoken', id: string, label: string, fn: (row: Row) => void): void {
    this.ensure();
    const row = (typeof id === 'string' ? this.db.prepare(`SELECT * FROM ${table} WHERE id = ?`).get(id) : undefined) as Row | undefined;
    const what = table === 'captions' ? 'caption' : table === 'regions' ? 'region' : 'spoken caption';
    if (!row) throw new DatasetError('NOT_FOUND', `no ${what} ${JSON.stringify(id)} in this dataset`);
    this.edit(label, [row.item_id as string], () => fn(row));
  }

  private requireItem(id: string): void {
    if (typeof id !== 'string' || !this.stmts.item.get(id)) throw new DatasetError('NOT_FOUND', `no item ${JSON.stringify(id)} in this dataset`);
  }

  // ---------------------------------------------------------------- row mapping

  private captionSource(s: unknown): CaptionSource {
    if (typeof s !== 'string' || !CAPTION_SOURCES.has(s)) throw new DatasetError('INVALID', `unknown caption source ${JSON.stringify(s)}`);
    return s as CaptionSource;
  }

  private checkLabel(label: unknown): string {
    if (typeof label !== 'string' || label.length > MAX_REGION_LABEL) throw new DatasetError('INVALID', `a region label is a string of at most ${MAX_REGION_LABEL} characters`);
    return label;
  }

  private regionRow(id: string, r: NewRegion) {
    const box = checkBox(r?.box);
    const source = r.source ?? 'import';
    if (!REGION_SOURCES.has(source)) throw new DatasetError('INVALID', `unknown region source ${JSON.stringify(source)}`);
    if (r.score !== undefined && r.score !== null && !Number.isFinite(r.score)) throw new DatasetError('INVALID', 'a region score is a finite number');
    return { id: id || randomUUID(), x0: box[0], y0: box[1], x1: box[2], y1: box[3], label: this.checkLabel(r.label ?? ''), score: r.score ?? null, source };
  }

  private spokenRow(id: string, s: PreparedSpoken) {
    if (!s || typeof s.wav !== 'string' || !this.blobs.has(s.wav)) throw new DatasetError('INVALID', 'a spoken caption needs its WAV stored first (prepareSpoken)');
    if (!Number.isFinite(s.durationS) || s.durationS < 0) throw new DatasetError('INVALID', 'a spoken caption needs a duration in seconds');
    return {
      id: id || randomUUID(), wav: s.wav, original: s.original ?? null, original_mime: s.originalMime ?? null, duration_s: s.durationS,
      trace: JSON.stringify(checkTrace(s.trace)), timed_caption: s.timedCaption ? JSON.stringify(s.timedCaption) : null, transcript: s.transcript ?? null,
    };
  }

  private toItem(row: ItemRow): Item {
    return {
      id: row.id,
      datasetId: this.stmts.meta.get('id') as string,
      split: row.split,
      image: row.image,
      width: row.width,
      height: row.height,
      ...(row.file_name !== null ? { fileName: row.file_name } : {}),
      captions: (this.stmts.captionsOf.all(row.id) as CaptionRow[]).map((c) => ({ id: c.id, text: c.text, source: c.source as CaptionSource })),
      spoken: (this.stmts.spokenOf.all(row.id) as SpokenRow[]).map((s) => this.toSpoken(s)),
      regions: (this.stmts.regionsOf.all(row.id) as RegionRow[]).map((r) => this.toRegion(r)),
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
  }

  private toSpoken(s: SpokenRow): SpokenCaption {
    return {
      id: s.id,
      wav: s.wav,
      ...(s.original !== null ? { original: s.original } : {}),
      ...(s.original_mime !== null ? { originalMime: s.original_mime } : {}),
      durationS: s.duration_s,
      sampleRate: 16000,
      trace: JSON.parse(s.trace) as TracePoint[][],
      ...(s.timed_caption !== null ? { timedCaption: JSON.parse(s.timed_caption) as TimedUtterance[] } : {}),
      ...(s.transcript !== null ? { transcript: s.transcript } : {}),
    };
  }

  private toRegion(r: RegionRow): Region {
    return {
      id: r.id,
      box: [r.x0, r.y0, r.x1, r.y1],
      label: r.label,
      ...(r.score !== null && r.score !== undefined ? { score: r.score } : {}),
      source: r.source as Region['source'],
    };
  }
}

interface JournalRow {
  seq: number;
  label: string;
  item_ids: string;
  changes: string;
  undone: number;
}
