// Plain folder of images, recursive. A caption file beside an image with the same stem
// (cat.png + cat.txt) gives its captions, one per non-empty line. A top-level folder named
// train/val/test (or validation...) sets the split. Export writes the same layout:
// <out>/<split>/<name>.<ext> + <name>.txt.

import fs from 'node:fs';
import path from 'node:path';
import { extensionOf } from '../image';
import type { DatasetStore } from '../store/dataset-store';
import { DatasetError } from '../store/errors';
import type { ExportReport, ImportReport } from '../store/types';
import {
  NameAllocator, decodeUtf8, forEachItem, isImageFile, runImport, splitFromName, writeFileAtomic,
  type ImportRecord, type JobOptions,
} from './common';
import { walk } from './walk';

export async function importFolder(store: DatasetStore, root: string, opts: JobOptions = {}): Promise<ImportReport> {
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) throw new DatasetError('NOT_FOUND', `${root} is not a folder`);
  opts.onProgress?.({ phase: 'scan', done: 0 });
  const files = walk(root);
  const images = files.filter(isImageFile);
  const skipped: ImportReport['skipped'] = [];
  const stems = new Set(images.map((f) => f.slice(0, f.length - path.extname(f).length)));
  for (const f of files) {
    if (isImageFile(f)) continue;
    const ext = path.extname(f).toLowerCase();
    if (ext === '.txt' && stems.has(f.slice(0, -4))) continue;
    skipped.push({ file: f, reason: ext === '.txt' ? 'caption file without an image of the same name' : `unsupported file type '${ext || '(none)'}'` });
  }
  function* records(): Generator<ImportRecord> {
    for (const f of images) {
      const txt = path.join(root, `${f.slice(0, f.length - path.extname(f).length)}.txt`);
      let captions: string[] = [];
      if (fs.existsSync(txt)) {
        try {
          captions = decodeUtf8(fs.readFileSync(txt), path.relative(root, txt)).split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
        } catch (e) {
          skipped.push({ file: path.relative(root, txt), reason: (e as Error).message });
          continue;
        }
      }
      const top = f.split(path.sep).length > 1 ? f.split(path.sep)[0] : '';
      yield { source: { file: f }, imagePath: path.join(root, f), fileName: path.basename(f), split: (top && splitFromName(top)) || opts.split, captions };
    }
  }
  return runImport(store, { total: images.length, records: records(), skipped }, root, opts);
}

export async function exportFolder(store: DatasetStore, outDir: string, opts: JobOptions = {}): Promise<ExportReport> {
  const names = new Map<string, NameAllocator>();
  const splits = new Set<string>();
  const r = await forEachItem(store, opts, (item, format) => {
    const alloc = names.get(item.split) ?? new NameAllocator();
    names.set(item.split, alloc);
    splits.add(item.split);
    const stem = item.fileName ? path.basename(item.fileName, path.extname(item.fileName)) : item.id;
    const name = alloc.take(stem, extensionOf(format));
    const dir = path.join(outDir, item.split);
    writeFileAtomic(path.join(dir, name), store.getBlob(item.image));
    if (item.captions.length) writeFileAtomic(path.join(dir, `${name.slice(0, -extensionOf(format).length)}.txt`), `${item.captions.map((c) => c.text.replace(/\r?\n/g, ' ')).join('\n')}\n`);
  });
  return { exported: r.exported, path: outDir, files: [...splits].sort(), ...(r.cancelled ? { cancelled: true } : {}) };
}
