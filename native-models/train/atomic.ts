// Crash-safe file writes: write a temp file beside the target, fsync it, rename it over the target,
// fsync the directory. A crash at any point leaves either the old file or the new one, never a mix.
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** fsync a directory so a rename inside it is durable (a no-op where directories cannot be opened, e.g. Windows). */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Windows cannot fsync a directory; its rename is already as durable as it gets.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** A fresh temp name beside path, ignored by checkpoint discovery (leading dot, .tmp suffix). */
export function tempBeside(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** Writes chunks to path atomically (see file comment). */
export function writeFileAtomic(path: string, chunks: readonly (Uint8Array | string)[]): void {
  const tmp = tempBeside(path);
  const fd = openSync(tmp, 'w');
  try {
    for (const c of chunks) {
      const b = typeof c === 'string' ? Buffer.from(c, 'utf8') : c;
      let done = 0;
      while (done < b.byteLength) done += writeSync(fd, b, done, b.byteLength - done);
    }
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  fsyncDir(dirname(path));
}
