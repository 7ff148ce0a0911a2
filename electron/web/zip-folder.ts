// Streams a folder as a ZIP (web mode's export download): files are read one at a time and written as
// they are zipped, so memory stays flat whatever the export's size. Media that is already compressed is
// stored; text (JSON, JSONL, CSV) is deflated.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { once } from 'node:events';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { Zip, ZipDeflate, ZipPassThrough } from 'fflate';
import { walk } from '../../native-models/data/formats/walk';

/** Plain ZIP (no ZIP64, as written by fflate): at most this many entries and bytes. */
export const ZIP_LIMITS = { entries: 65_535, bytes: 0xffff_ffff - 1 };

const STORED = /\.(png|jpe?g|gif|webp|ogg|opus|webm|m4a|mp3|flac|zip|gz)$/i;

/** Every file under `dir` (the importers' walker: sorted, dot-files skipped; '/' separators) and their total size. */
export async function listFolder(dir: string): Promise<{ files: { rel: string; size: number }[]; bytes: number }> {
  const files = await Promise.all(walk(dir).map(async (rel) => ({ rel: rel.split(path.sep).join('/'), size: (await stat(path.join(dir, rel))).size })));
  return { files, bytes: files.reduce((n, f) => n + f.size, 0) };
}

/**
 * Writes `files` of `dir` into `out` as one ZIP under the folder name `root`, honouring back-pressure.
 * Throws (and destroys nothing: the caller decides) when a file cannot be read.
 */
export async function writeZip(out: Writable, dir: string, root: string, files: readonly { rel: string }[]): Promise<void> {
  let failure: Error | undefined;
  const zip = new Zip((err, chunk, final) => {
    if (err) failure = err;
    else {
      out.write(chunk);
      if (final) out.end();
    }
  });
  for (const { rel } of files) {
    const name = `${root}/${rel}`;
    const entry = STORED.test(rel) ? new ZipPassThrough(name) : new ZipDeflate(name, { level: 6 });
    zip.add(entry);
    for await (const chunk of createReadStream(path.join(dir, rel))) {
      entry.push(chunk as Uint8Array);
      if (failure) throw failure;
      if (out.writableNeedDrain) await once(out, 'drain');
    }
    entry.push(new Uint8Array(0), true);
  }
  zip.end();
  if (failure) throw failure;
}
