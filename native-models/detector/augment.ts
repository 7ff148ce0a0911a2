// Crop mosaics (a form of YOLOv4's mosaic augmentation): a training image made of a grid of crops, each
// centred on one ground-truth object of some training image with random context and jitter. With 2.5
// objects per EmojiScenes image and ~850 classes, the classifier is starved for examples; a 3x3 mosaic
// shows 9 objects for the price of one backbone pass, at the smaller object sizes the data also has.
import type { Rng } from '../train/rng';
import { PAD_VALUE } from './preprocess';
import type { GroundTruth } from './targets';

/** A decoded square training image with its ground truth in its own pixels. */
export interface DecodedImage {
  rgba: Uint8Array;
  size: number;
  gt: GroundTruth;
}

/**
 * Share of an object's area that must fall inside a crop for it to be labelled there. Near 1: the test
 * images never cut objects, and labelling cut-off fragments (this was 0.6 up to the shipped run's step 15,208) taught the
 * detector that part of an object is an object — its worst class errors were on boxes covering 50-80 %
 * of an object (val: 64 % class accuracy at IoU 0.5-0.7 vs 97 % at IoU >= 0.8).
 */
const INSIDE = 0.9;

/**
 * A size x size RGBA mosaic of grid x grid cells from `sources`, one object per cell (objects drawn at
 * random), with the ground truth of every object mostly inside its crop.
 */
export function cropMosaic(sources: readonly DecodedImage[], size: number, grid: number, rng: Rng): DecodedImage {
  const out = new Uint8Array(size * size * 4);
  for (let i = 0; i < out.length; i += 4) {
    out[i] = out[i + 1] = out[i + 2] = PAD_VALUE;
    out[i + 3] = 255;
  }
  const objects: [number, number][] = [];
  sources.forEach((s, i) => s.gt.classes.forEach((_, j) => objects.push([i, j])));
  rng.shuffle(objects);
  const cell = Math.floor(size / grid);
  const boxes: number[] = [];
  const classes: number[] = [];
  for (let k = 0; k < grid * grid && k < objects.length; k++) {
    const [si, oi] = objects[k];
    const src = sources[si];
    const b = src.gt.boxes;
    const w = b[4 * oi + 2] - b[4 * oi];
    const h = b[4 * oi + 3] - b[4 * oi + 1];
    const side = Math.max(w, h) * (1.1 + 0.5 * rng.next());
    // Jitter the object off centre, but never across the crop's edge: the cell's own object is whole.
    const cx = (b[4 * oi] + b[4 * oi + 2]) / 2 + (rng.next() - 0.5) * Math.min(0.2 * side, side - w);
    const cy = (b[4 * oi + 1] + b[4 * oi + 3]) / 2 + (rng.next() - 0.5) * Math.min(0.2 * side, side - h);
    const x0 = cx - side / 2;
    const y0 = cy - side / 2;
    const scale = side / cell; // source pixels per mosaic pixel
    const ox = (k % grid) * cell;
    const oy = Math.floor(k / grid) * cell;
    for (let y = 0; y < cell; y++) {
      const sy = y0 + (y + 0.5) * scale - 0.5;
      for (let x = 0; x < cell; x++) {
        const sx = x0 + (x + 0.5) * scale - 0.5;
        const o = ((oy + y) * size + ox + x) * 4;
        if (sx < -0.5 || sy < -0.5 || sx > src.size - 0.5 || sy > src.size - 0.5) continue; // outside: padding grey
        const xl = Math.max(0, Math.min(src.size - 1, Math.floor(sx)));
        const yl = Math.max(0, Math.min(src.size - 1, Math.floor(sy)));
        const xh = Math.min(src.size - 1, xl + 1);
        const yh = Math.min(src.size - 1, yl + 1);
        const fx = Math.max(0, Math.min(1, sx - xl));
        const fy = Math.max(0, Math.min(1, sy - yl));
        for (let c = 0; c < 4; c++) {
          const p = (yy: number, xx: number) => src.rgba[(yy * src.size + xx) * 4 + c];
          out[o + c] = Math.round((p(yl, xl) * (1 - fx) + p(yl, xh) * fx) * (1 - fy) + (p(yh, xl) * (1 - fx) + p(yh, xh) * fx) * fy);
        }
      }
    }
    // Every object of the source mostly inside this crop is labelled, clipped to the cell.
    for (let j = 0; j < src.gt.classes.length; j++) {
      const bx0 = b[4 * j], by0 = b[4 * j + 1], bx1 = b[4 * j + 2], by1 = b[4 * j + 3];
      const ix0 = Math.max(bx0, x0), iy0 = Math.max(by0, y0), ix1 = Math.min(bx1, x0 + side), iy1 = Math.min(by1, y0 + side);
      if (ix1 <= ix0 || iy1 <= iy0) continue;
      if ((ix1 - ix0) * (iy1 - iy0) < INSIDE * (bx1 - bx0) * (by1 - by0)) continue;
      const m = [ox + (ix0 - x0) / scale, oy + (iy0 - y0) / scale, ox + (ix1 - x0) / scale, oy + (iy1 - y0) / scale];
      if (m[2] - m[0] < 2 || m[3] - m[1] < 2) continue;
      boxes.push(...m);
      classes.push(src.gt.classes[j]);
    }
  }
  return { rgba: out, size, gt: { boxes: Float32Array.from(boxes), classes: Int32Array.from(classes) } };
}
