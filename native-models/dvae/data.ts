// 64x64 RGB images for the dVAE, read from a dataset through the store API, and their conversion to the
// model's planar float layout. Images whose side is a multiple of 64 are box-filtered down exactly as the
// EmojiScenes generator makes its 64x64 targets (raster.downscaleRgb); other sizes are resized by sharp.
import { existsSync, readFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { decodeImage } from '../data/image';
import { readImage64 } from '../data/demo/create';
import { downscaleRgb } from '../data/demo/raster';
import { DatasetStore } from '../data/store/index';
import { writeFileAtomic } from '../train/atomic';
import { PIXEL_OFFSET } from './model';

/** A set of square RGB images, interleaved (HWC) 8-bit, one after another. */
export interface ImageSet {
  size: number;
  count: number;
  /** count * size * size * 3 bytes. */
  rgb: Uint8Array;
  /** Item id of each image (for reports). */
  ids: string[];
}

/** RGBA -> RGB (alpha dropped). */
export function rgbaToRgb(rgba: Uint8Array): Uint8Array {
  const n = rgba.length / 4;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    out[i * 3] = rgba[i * 4];
    out[i * 3 + 1] = rgba[i * 4 + 1];
    out[i * 3 + 2] = rgba[i * 4 + 2];
  }
  return out;
}

/**
 * Decodes any image file's bytes to size x size RGB: square images whose side is a multiple of `size` are
 * box-filtered (EmojiScenes' own 256 -> 64 downscale), anything else is resized (stretched) by sharp.
 * Transparent pixels are composited onto black, as the RGB the model sees.
 */
export async function imageToRgb(bytes: Uint8Array, size: number, file = '<image>'): Promise<Uint8Array> {
  const img = await decodeImage(bytes, file);
  if (img.width === img.height && img.width % size === 0) return downscaleRgb(premultiplied(img.rgba), img.width, img.width / size);
  const r = await decodeImage(bytes, file, { width: size, height: size });
  return premultiplied(r.rgba);
}

function premultiplied(rgba: Uint8Array): Uint8Array {
  const out = rgbaToRgb(rgba);
  for (let i = 0; i < rgba.length / 4; i++) {
    const a = rgba[i * 4 + 3];
    if (a !== 255) for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.round((out[i * 3 + c] * a) / 255);
  }
  return out;
}

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

/**
 * Images `indices` of a set as the model's input: f32 [n,3,S,S] planar, in [0,1] minus `offset`
 * (PIXEL_OFFSET for training graphs, 0 for the exported encode graph, which centres inside).
 */
export function toPlanar(set: ImageSet, indices: readonly number[], offset = PIXEL_OFFSET): Float32Array {
  const s = set.size;
  const hw = s * s;
  const out = new Float32Array(indices.length * 3 * hw);
  indices.forEach((idx, n) => {
    const src = idx * hw * 3;
    const dst = n * 3 * hw;
    for (let p = 0; p < hw; p++) {
      for (let c = 0; c < 3; c++) out[dst + c * hw + p] = set.rgb[src + p * 3 + c] / 255 - offset;
    }
  });
  return out;
}

/** Planar floats [3,S,S] in [0,1] (one image) -> interleaved 8-bit RGB. */
export function planarToRgb(planar: ArrayLike<number>, size: number, at = 0): Uint8Array {
  const hw = size * size;
  const out = new Uint8Array(hw * 3);
  for (let p = 0; p < hw; p++) {
    for (let c = 0; c < 3; c++) out[p * 3 + c] = Math.round(Math.min(1, Math.max(0, planar[at + c * hw + p])) * 255);
  }
  return out;
}
