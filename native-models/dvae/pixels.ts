// 64x64 RGB images for the dVAE: any image file's bytes decoded to the model's square RGB (images whose side is a
// multiple of 64 are box-filtered down exactly as the EmojiScenes generator makes its 64x64 targets
// (raster.downscaleRgb); other sizes are resized by sharp), and their conversion to and from the model's planar
// float layout. No dataset store here (data.ts reads splits), so inference needs none.
import { decodeImage } from '../data/image';
import { downscaleRgb } from '../data/demo/raster';
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
