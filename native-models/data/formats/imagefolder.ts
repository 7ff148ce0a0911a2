// Hugging Face `imagefolder` with metadata: <root>/<split>/metadata.jsonl, one row per image:
// { "file_name": "x.png", "text": "first caption", "captions": [...], "regions": [{box, label, score?}] }.
// `text` is what HF's loaders use; `captions` and `regions` (boxes normalised [x0,y0,x1,y1]) carry
// the rest for a lossless round trip. The split is the folder name (train/validation/test); rows
// are read line by line so a malformed line skips only that image. Spoken captions are not part
// of this format (use Localized Narratives for them).

import fs from 'node:fs';
import path from 'node:path';
import { extensionOf } from '../image';
import type { DatasetStore } from '../store/dataset-store';
import { DatasetError } from '../store/errors';
import type { ExportReport, ImportReport, NewRegion, SkippedEntry } from '../store/types';
import {
  NameAllocator, forEachItem, parseJsonLine, readLines, runImport, splitFromName, writeFileAtomic,
  type ImportRecord, type JobOptions,
} from './common';
import { walk } from './walk';

function parseRegions(v: unknown, where: string): NewRegion[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new DatasetError('BAD_FORMAT', `${where}: "regions" must be a list`);
  return v.map((r: { box?: unknown; label?: unknown; score?: unknown }, i) => {
    if (!r || !Array.isArray(r.box) || r.box.length !== 4) throw new DatasetError('BAD_FORMAT', `${where}: regions[${i}] needs a box [x0, y0, x1, y1]`);
    return {
      box: r.box as [number, number, number, number],
      label: typeof r.label === 'string' ? r.label : '',
      ...(typeof r.score === 'number' ? { score: r.score } : {}),
      source: 'import' as const,
    };
  });
}

export async function importImagefolder(store: DatasetStore, root: string, opts: JobOptions = {}): Promise<ImportReport> {
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) throw new DatasetError('NOT_FOUND', `${root} is not a folder`);
  opts.onProgress?.({ phase: 'scan', done: 0 });
  const metas = walk(root).filter((f) => path.basename(f) === 'metadata.jsonl');
  const skipped: SkippedEntry[] = [];
  if (metas.length === 0) skipped.push({ file: path.basename(root), reason: 'no metadata.jsonl found (not an imagefolder dataset)' });
  async function* records(): AsyncGenerator<ImportRecord> {
    for (const meta of metas) {
      const dir = path.join(root, path.dirname(meta));
      const split = path.dirname(meta).split(path.sep).map((s) => splitFromName(s)).find(Boolean) ?? opts.split;
      for await (const { bytes, line } of readLines(path.join(root, meta))) {
        const where = `${meta}:${line}`;
        try {
          const o = parseJsonLine(bytes, meta, line);
          if (!o) continue;
          const fileName = o.file_name;
          if (typeof fileName !== 'string' || !fileName || fileName.split(/[\\/]/).includes('..') || path.isAbsolute(fileName)) {
            throw new DatasetError('BAD_FORMAT', `${where}: "file_name" must be a relative path`);
          }
          let captions: unknown[] = [];
          if (Array.isArray(o.captions)) captions = o.captions;
          else if (o.text !== undefined) captions = [o.text];
          else if (o.caption !== undefined) captions = [o.caption];
          yield {
            source: { file: meta, line },
            imagePath: path.join(dir, fileName),
            fileName: path.basename(fileName),
            split,
            captions: captions as string[],
            regions: parseRegions(o.regions, where),
          };
        } catch (e) {
          skipped.push({ file: meta, line, reason: (e as Error).message });
        }
      }
    }
  }
  return runImport(store, { records: records(), skipped }, root, opts);
}

export async function exportImagefolder(store: DatasetStore, outDir: string, opts: JobOptions = {}): Promise<ExportReport> {
  const perSplit = new Map<string, { names: NameAllocator; rows: string[] }>();
  const r = await forEachItem(store, opts, (item, format) => {
    let s = perSplit.get(item.split);
    if (!s) perSplit.set(item.split, (s = { names: new NameAllocator(), rows: [] }));
    const stem = item.fileName ? path.basename(item.fileName, path.extname(item.fileName)) : item.id;
    const name = s.names.take(stem, extensionOf(format));
    writeFileAtomic(path.join(outDir, item.split, name), store.getBlob(item.image));
    s.rows.push(JSON.stringify({
      file_name: name,
      text: item.captions[0]?.text ?? '',
      captions: item.captions.map((c) => c.text),
      regions: item.regions.map((g) => ({ box: g.box, label: g.label, ...(g.score !== undefined ? { score: g.score } : {}) })),
    }));
  });
  const files: string[] = [];
  if (!r.cancelled) {
    for (const [split, s] of perSplit) {
      const rel = path.join(split, 'metadata.jsonl');
      writeFileAtomic(path.join(outDir, rel), `${s.rows.join('\n')}\n`);
      files.push(rel);
    }
  }
  return { exported: r.exported, path: outDir, files: files.sort(), ...(r.cancelled ? { cancelled: true } : {}) };
}
