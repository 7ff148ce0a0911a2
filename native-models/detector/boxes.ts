// Box maths shared by training (anchor targets, proposals) and inference (tasks/detect-regions.ts):
// anchors, the Faster R-CNN box coding, IoU, clipping and greedy NMS. Boxes are [x0, y0, x1, y1] in
// pixels of the network input unless a name says "normalised". Plain Float32Array rows of 4.

/** A box: [x0, y0, x1, y1]. */
export type Box = [number, number, number, number];

/** Weights of the box coding (torchvision's defaults: 1 for the RPN, 10/10/5/5 for the box head). */
export type CodeWeights = readonly [number, number, number, number];
export const RPN_CODE_WEIGHTS: CodeWeights = [1, 1, 1, 1];
export const HEAD_CODE_WEIGHTS: CodeWeights = [10, 10, 5, 5];
/** Largest log-scale a decoded delta may take (torchvision: log(1000/16)), so exp() cannot overflow. */
export const MAX_LOG_SCALE = Math.log(1000 / 16);

/**
 * Anchors of a feature map, in row-major (y, x, anchor) order: for each cell, one anchor per
 * (size, ratio) with area size^2 and height/width = ratio, centred on the cell centre.
 */
export function makeAnchors(fh: number, fw: number, stride: number, sizes: readonly number[], ratios: readonly number[]): Float32Array {
  const a = sizes.length * ratios.length;
  const out = new Float32Array(fh * fw * a * 4);
  let o = 0;
  for (let y = 0; y < fh; y++) {
    for (let x = 0; x < fw; x++) {
      const cx = (x + 0.5) * stride;
      const cy = (y + 0.5) * stride;
      for (const s of sizes) {
        for (const r of ratios) {
          const w = s / Math.sqrt(r);
          const h = s * Math.sqrt(r);
          out[o++] = cx - w / 2;
          out[o++] = cy - h / 2;
          out[o++] = cx + w / 2;
          out[o++] = cy + h / 2;
        }
      }
    }
  }
  return out;
}

/** Regression target of box g relative to reference box r: (dx, dy, dw, dh) times the code weights. */
export function encodeBox(r: ArrayLike<number>, ri: number, g: ArrayLike<number>, gi: number, w: CodeWeights, out: Float32Array, oi: number): void {
  const rw = r[ri + 2] - r[ri];
  const rh = r[ri + 3] - r[ri + 1];
  const rx = r[ri] + 0.5 * rw;
  const ry = r[ri + 1] + 0.5 * rh;
  const gw = g[gi + 2] - g[gi];
  const gh = g[gi + 3] - g[gi + 1];
  const gx = g[gi] + 0.5 * gw;
  const gy = g[gi + 1] + 0.5 * gh;
  out[oi] = (w[0] * (gx - rx)) / rw;
  out[oi + 1] = (w[1] * (gy - ry)) / rh;
  out[oi + 2] = w[2] * Math.log(gw / rw);
  out[oi + 3] = w[3] * Math.log(gh / rh);
}

/** Inverse of encodeBox: applies deltas d (row di) to reference boxes r (row ri); writes out row oi. */
export function decodeBox(r: ArrayLike<number>, ri: number, d: ArrayLike<number>, di: number, w: CodeWeights, out: Float32Array, oi: number): void {
  const rw = r[ri + 2] - r[ri];
  const rh = r[ri + 3] - r[ri + 1];
  const rx = r[ri] + 0.5 * rw;
  const ry = r[ri + 1] + 0.5 * rh;
  const dx = d[di] / w[0];
  const dy = d[di + 1] / w[1];
  const dw = Math.min(d[di + 2] / w[2], MAX_LOG_SCALE);
  const dh = Math.min(d[di + 3] / w[3], MAX_LOG_SCALE);
  const cx = dx * rw + rx;
  const cy = dy * rh + ry;
  const pw = Math.exp(dw) * rw;
  const ph = Math.exp(dh) * rh;
  out[oi] = cx - 0.5 * pw;
  out[oi + 1] = cy - 0.5 * ph;
  out[oi + 2] = cx + 0.5 * pw;
  out[oi + 3] = cy + 0.5 * ph;
}

/** Intersection over union of row i of a and row j of b (0 for empty boxes). */
export function iou(a: ArrayLike<number>, i: number, b: ArrayLike<number>, j: number): number {
  const iw = Math.min(a[i + 2], b[j + 2]) - Math.max(a[i], b[j]);
  const ih = Math.min(a[i + 3], b[j + 3]) - Math.max(a[i + 1], b[j + 1]);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const ua = (a[i + 2] - a[i]) * (a[i + 3] - a[i + 1]) + (b[j + 2] - b[j]) * (b[j + 3] - b[j + 1]) - inter;
  return ua > 0 ? inter / ua : 0;
}

/** Clips row i of boxes to [0, width] x [0, height] in place. */
export function clipBox(boxes: Float32Array, i: number, width: number, height: number): void {
  boxes[i] = Math.min(Math.max(boxes[i], 0), width);
  boxes[i + 1] = Math.min(Math.max(boxes[i + 1], 0), height);
  boxes[i + 2] = Math.min(Math.max(boxes[i + 2], 0), width);
  boxes[i + 3] = Math.min(Math.max(boxes[i + 3], 0), height);
}

/**
 * Greedy non-maximum suppression: indices (into the rows of boxes) of the kept boxes, by descending
 * score; a box is dropped when its IoU with an already kept box exceeds `iouThreshold`.
 * `candidates` limits the input rows (default: all); at most `maxKeep` are kept.
 */
export function nms(boxes: ArrayLike<number>, scores: ArrayLike<number>, iouThreshold: number, maxKeep = Infinity, candidates?: readonly number[]): number[] {
  const order = candidates ? [...candidates] : Array.from({ length: scores.length }, (_, i) => i);
  order.sort((p, q) => scores[q] - scores[p] || p - q);
  const keep: number[] = [];
  for (const i of order) {
    if (keep.length >= maxKeep) break;
    let ok = true;
    for (const k of keep) {
      if (iou(boxes, 4 * i, boxes, 4 * k) > iouThreshold) {
        ok = false;
        break;
      }
    }
    if (ok) keep.push(i);
  }
  return keep;
}

/** Indices of the k largest values (ties by index), for pre-NMS top-k. */
export function topK(values: ArrayLike<number>, k: number): number[] {
  const idx = Array.from({ length: values.length }, (_, i) => i);
  idx.sort((p, q) => values[q] - values[p] || p - q);
  return idx.slice(0, Math.min(k, idx.length));
}
