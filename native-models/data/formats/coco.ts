// COCO captions JSON: { images: [{id, file_name, width, height}], annotations: [{id, image_id, caption}] }.
// Import takes a captions JSON file, or a folder searched for them; the split comes from the file
// name (captions_train2017.json -> train). Images are looked up beside the JSON, in images/, and in
// the folder the file name suggests (train2017/). Export writes annotations/captions_<split>.json and
// the images under <split>/. Regions are not part of COCO captions and are not exported.

import fs from 'node:fs';
import path from 'node:path';
import { extensionOf } from '../image';
import type { DatasetStore } from '../store/dataset-store';
import { DatasetError } from '../store/errors';
import type { ExportReport, ImportReport, SkippedEntry } from '../store/types';
import {
  INVALID_UTF8_MARK, NameAllocator, forEachItem, readJsonFile, runImport, splitFromName, writeFileAtomic,
  type ImportRecord, type JobOptions,
} from './common';
import { walk } from './walk';

interface CocoFile {
  images: { id: number | string; file_name: string; width?: number; height?: number }[];
  annotations: { id?: number | string; image_id: number | string; caption: unknown }[];
}

function imageDirs(jsonFile: string, split: string | undefined): string[] {
  const dir = path.dirname(jsonFile);
  const parent = path.dirname(dir);
  const stem = path.basename(jsonFile, '.json').replace(/^captions_/, '');
  const c = [dir, path.join(dir, 'images'), path.join(dir, stem), path.join(parent, stem), parent, path.join(parent, 'images')];
  if (split) c.push(path.join(dir, split), path.join(parent, split), path.join(parent, 'images', split));
  return [...new Set(c)];
}

export async function importCoco(store: DatasetStore, input: string, opts: JobOptions = {}): Promise<ImportReport> {
  if (!fs.existsSync(input)) throw new DatasetError('NOT_FOUND', `${input} does not exist`);
  const isDir = fs.statSync(input).isDirectory();
  const root = isDir ? input : path.dirname(input);
  const files = isDir ? walk(input).filter((f) => f.toLowerCase().endsWith('.json')).map((f) => path.join(input, f)) : [input];
  const skipped: SkippedEntry[] = [];
  const records: ImportRecord[] = [];
  if (files.length === 0) skipped.push({ file: path.basename(input), reason: 'no COCO captions .json file found' });
  opts.onProgress?.({ phase: 'scan', done: 0 });
  for (const file of files) {
    const shown = path.relative(root, file) || path.basename(file);
    let data: CocoFile;
    let invalidUtf8 = false;
    try {
      const read = readJsonFile(file, shown);
      invalidUtf8 = read.invalidUtf8;
      const v = read.value as Partial<CocoFile> | null;
      if (!v || !Array.isArray(v.images) || !Array.isArray(v.annotations)) {
        throw new DatasetError('BAD_FORMAT', `${shown}: not a COCO captions file (needs "images" and "annotations" arrays)`);
      }
      data = v as CocoFile;
    } catch (e) {
      skipped.push({ file: shown, ...((e as DatasetError).line ? { line: (e as DatasetError).line } : {}), reason: (e as Error).message });
      continue;
    }
    const split = splitFromName(path.basename(file)) ?? opts.split;
    const dirs = imageDirs(file, split);
    const byId = new Map<string, { img: CocoFile['images'][number]; captions: unknown[] }>();
    data.images.forEach((img, i) => {
      if (!img || (typeof img.id !== 'number' && typeof img.id !== 'string') || typeof img.file_name !== 'string' || !img.file_name) {
        skipped.push({ file: shown, reason: `images[${i}]: needs an id and a file_name` });
        return;
      }
      byId.set(String(img.id), { img, captions: [] });
    });
    data.annotations.forEach((a, i) => {
      const entry = a && byId.get(String(a.image_id));
      if (!entry) {
        skipped.push({ file: shown, reason: `annotations[${i}]: image_id ${JSON.stringify(a?.image_id)} is not in "images"` });
        return;
      }
      if (invalidUtf8 && typeof a.caption === 'string' && a.caption.includes(INVALID_UTF8_MARK)) {
        entry.captions.push(new DatasetError('BAD_FORMAT', `${shown}: annotations[${i}]: caption is not valid UTF-8`));
      } else {
        entry.captions.push(a.caption);
      }
    });
    for (const { img, captions } of byId.values()) {
      const rel = img.file_name.replace(/\\/g, '/');
      if (rel.split('/').includes('..') || path.isAbsolute(rel)) {
        skipped.push({ file: shown, reason: `image ${img.id}: file_name ${JSON.stringify(rel)} must be a relative path inside the dataset` });
        continue;
      }
      const found = dirs.map((d) => path.join(d, rel)).find((p) => fs.existsSync(p));
      records.push({
        source: { file: shown },
        imagePath: found ?? path.join(dirs[0], rel),
        key: `${file}#${img.id}`,
        fileName: path.basename(rel),
        split,
        captions,
      });
    }
  }
  return runImport(store, { total: records.length, records, skipped }, root, opts);
}

export async function exportCoco(store: DatasetStore, outDir: string, opts: JobOptions = {}): Promise<ExportReport> {
  const perSplit = new Map<string, { names: NameAllocator; json: CocoFile & { info: object } }>();
  let annId = 1;
  let imgId = 1;
  const r = await forEachItem(store, opts, (item, format) => {
    let s = perSplit.get(item.split);
    if (!s) {
      s = { names: new NameAllocator(), json: { info: { description: `${store.info().name} (${item.split})`, source: 'OPT Studio' }, images: [], annotations: [] } };
      perSplit.set(item.split, s);
    }
    const stem = item.fileName ? path.basename(item.fileName, path.extname(item.fileName)) : item.id;
    const name = s.names.take(stem, extensionOf(format));
    writeFileAtomic(path.join(outDir, item.split, name), store.getBlob(item.image));
    const id = imgId++;
    s.json.images.push({ id, file_name: name, width: item.width, height: item.height });
    for (const c of item.captions) s.json.annotations.push({ id: annId++, image_id: id, caption: c.text });
  });
  const files: string[] = [];
  if (!r.cancelled) {
    for (const [split, s] of perSplit) {
      const rel = path.join('annotations', `captions_${split}.json`);
      writeFileAtomic(path.join(outDir, rel), JSON.stringify(s.json));
      files.push(rel);
    }
  }
  return { exported: r.exported, path: outDir, files: files.sort(), ...(r.cancelled ? { cancelled: true } : {}) };
}
