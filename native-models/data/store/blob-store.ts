// Content-addressed blob store: blobs/<2 hex>/<62 hex>, named by the sha256 of the bytes.
// A blob is written to blobs/tmp, fsynced, then renamed into place, so a reader (or a crash)
// never sees a partial blob; the same bytes are stored once. Items reference blobs only after
// the blob is durable, so a kill between the two leaves at worst an unreferenced blob.

import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DatasetError, toDatasetError } from './errors';
import type { BlobRef } from './types';

const SHA_RE = /^[0-9a-f]{64}$/;

/** sha256 hex of bytes: the blob's name. */
export function sha256Hex(bytes: Uint8Array): BlobRef {
  return createHash('sha256').update(bytes).digest('hex');
}

/** True when `s` looks like a blob ref (64 lowercase hex); guards paths built from untrusted ids. */
export function isBlobRef(s: unknown): s is BlobRef {
  return typeof s === 'string' && SHA_RE.test(s);
}

export class BlobStore {
  readonly dir: string;
  private readonly tmpDir: string;

  constructor(dir: string) {
    this.dir = dir;
    this.tmpDir = path.join(dir, 'tmp');
    fs.mkdirSync(this.tmpDir, { recursive: true });
  }

  /** Path of a blob (whether or not it exists). Throws on a malformed ref, so no path escapes the store. */
  pathOf(sha: BlobRef): string {
    if (!isBlobRef(sha)) throw new DatasetError('INVALID', `not a blob id: ${String(sha).slice(0, 80)}`);
    return path.join(this.dir, sha.slice(0, 2), sha.slice(2));
  }

  has(sha: BlobRef): boolean {
    return isBlobRef(sha) && fs.existsSync(this.pathOf(sha));
  }

  /** Stores bytes durably and returns their sha256; storing the same bytes again is free. */
  put(bytes: Uint8Array): BlobRef {
    const sha = sha256Hex(bytes);
    const dest = this.pathOf(sha);
    if (fs.existsSync(dest)) return sha;
    const tmp = path.join(this.tmpDir, `${sha.slice(0, 16)}-${randomBytes(6).toString('hex')}`);
    let fd: number | undefined;
    try {
      fd = fs.openSync(tmp, 'wx');
      let off = 0;
      while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off);
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      fd = undefined;
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      fs.renameSync(tmp, dest);
      fsyncDir(path.dirname(dest));
    } catch (e) {
      if (fd !== undefined) fs.closeSync(fd);
      fs.rmSync(tmp, { force: true });
      throw toDatasetError(e, `writing blob ${sha.slice(0, 12)}`);
    }
    return sha;
  }

  /** put() without blocking the event loop; concurrent calls overlap their fsyncs. */
  async putAsync(bytes: Uint8Array): Promise<BlobRef> {
    const sha = sha256Hex(bytes);
    const dest = this.pathOf(sha);
    if (fs.existsSync(dest)) return sha;
    const tmp = path.join(this.tmpDir, `${sha.slice(0, 16)}-${randomBytes(6).toString('hex')}`);
    let fh: fs.promises.FileHandle | undefined;
    try {
      fh = await fs.promises.open(tmp, 'wx');
      await fh.writeFile(bytes);
      await fh.sync();
      await fh.close();
      fh = undefined;
      await fs.promises.mkdir(path.dirname(dest), { recursive: true });
      await fs.promises.rename(tmp, dest);
      await fsyncDirAsync(path.dirname(dest));
    } catch (e) {
      await fh?.close().catch(() => {});
      await fs.promises.rm(tmp, { force: true });
      throw toDatasetError(e, `writing blob ${sha.slice(0, 12)}`);
    }
    return sha;
  }

  /** Reads a whole blob; NOT_FOUND names the missing ref. */
  get(sha: BlobRef): Buffer {
    const p = this.pathOf(sha);
    try {
      return fs.readFileSync(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new DatasetError('NOT_FOUND', `blob ${sha} is not in ${this.dir}`);
      }
      throw toDatasetError(e, `reading blob ${sha.slice(0, 12)}`);
    }
  }

  /** Every stored blob with its modification time (ms). */
  *list(): Generator<{ sha: BlobRef; mtimeMs: number }> {
    for (const shard of fs.readdirSync(this.dir)) {
      if (!/^[0-9a-f]{2}$/.test(shard)) continue;
      for (const rest of fs.readdirSync(path.join(this.dir, shard))) {
        const sha = shard + rest;
        if (!isBlobRef(sha)) continue;
        const st = fs.statSync(path.join(this.dir, shard, rest), { throwIfNoEntry: false });
        if (st) yield { sha, mtimeMs: st.mtimeMs };
      }
    }
  }

  /** Deletes one blob (no error if it is already gone). */
  remove(sha: BlobRef): void {
    fs.rmSync(this.pathOf(sha), { force: true });
  }

  /**
   * Removes temp files a killed writer left behind (called on open). Only stale ones: another process may
   * have the same dataset open and be writing right now (the generator while the studio browses it), and a
   * live write goes from temp file to rename in well under STALE_TEMP_MS.
   */
  cleanTemp(now = Date.now()): void {
    for (const f of fs.readdirSync(this.tmpDir)) {
      const p = path.join(this.tmpDir, f);
      const st = fs.statSync(p, { throwIfNoEntry: false });
      if (st && now - st.mtimeMs > STALE_TEMP_MS) fs.rmSync(p, { force: true });
    }
  }
}

/** Age after which a temp file in blobs/tmp is taken as left behind by a killed writer. */
export const STALE_TEMP_MS = 10 * 60_000;

async function fsyncDirAsync(dir: string): Promise<void> {
  try {
    const fh = await fs.promises.open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // As fsyncDir.
  }
}

function fsyncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // Directories cannot be fsynced on every platform (Windows); the rename is still atomic.
  }
}
