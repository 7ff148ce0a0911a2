// The dVAE's training and evaluation images: one split of a dataset folder, read through the store API and
// decoded by pixels.ts (with a byte cache for the next run).
import { existsSync, readFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { readImage64 } from '../data/demo/create';
import { DatasetStore } from '../data/store/index';
import { writeFileAtomic } from '../train/atomic';
import { imageToRgb, type ImageSet } from './pixels';

/**
 * The images of one split of a dataset folder (at most `limit`, in the store's order), at size x size.
 * With `cache`, the decoded bytes are kept in that file and reused when the same split/limit is asked again.
 */
export async function loadSplit(datasetDir: string, split: string, o: { size?: number; limit?: number; cache?: string; onProgress?: (done: number, total: number) => void } = {}): Promise<ImageSet> {
  const size = o.size ?? 64;
  const limit = o.limit ?? Number.POSITIVE_INFINITY;
  if (o.cache && existsSync(o.cache) && existsSync(`${o.cache}.json`)) {
    const meta = JSON.parse(readFileSync(`${o.cache}.json`, 'utf8')) as { dataset: string; split: string; limit: number; size: number; ids: string[] };
    if (meta.dataset === datasetDir && meta.split === split && meta.limit === (Number.isFinite(limit) ? limit : -1) && meta.size === size) {
      const rgb = new Uint8Array(readFileSync(o.cache));
      if (rgb.length === meta.ids.length * size * size * 3) return { size, count: meta.ids.length, rgb, ids: meta.ids };
    }
  }
  const store = DatasetStore.open(datasetDir);
  try {
    const splits = store.splits();
    const have = splits.find((s) => s.split === split);
    if (!have) throw new Error(`${datasetDir}: no split "${split}" (splits: ${splits.map((s) => `${s.split} (${s.count})`).join(', ') || 'none'})`);
    const total = Math.min(limit, have.count);
    const ids: string[] = [];
    for (let offset = 0; ids.length < total; offset += 1000) {
      const page = store.query({ split, offset, limit: Math.min(1000, total - ids.length) });
      if (page.items.length === 0) break;
      for (const it of page.items) ids.push(it.id);
    }
    // EmojiScenes keeps each image's 64x64 box-filtered version as its own blob; other datasets are downscaled here.
    const small = size === 64 ? readImage64(datasetDir) : new Map<string, string>();
    const rgb = new Uint8Array(ids.length * size * size * 3);
    for (let i = 0; i < ids.length; i++) {
      const item = store.getItem(ids[i]);
      const blob = small.get(item.image) ?? item.image;
      const px = await imageToRgb(store.getBlob(blob), size, `${datasetDir} item ${ids[i]}`);
      rgb.set(px, i * size * size * 3);
      if (o.onProgress && (i % 1000 === 999 || i === ids.length - 1)) o.onProgress(i + 1, ids.length);
    }
    const set = { size, count: ids.length, rgb, ids };
    if (o.cache) {
      mkdirSync(dirname(o.cache), { recursive: true });
      writeFileAtomic(o.cache, [rgb]);
      writeFileAtomic(`${o.cache}.json`, [JSON.stringify({ dataset: datasetDir, split, limit: Number.isFinite(limit) ? limit : -1, size, ids })]);
    }
    return set;
  } finally {
    store.close();
  }
}
