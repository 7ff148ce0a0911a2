import { describe, expect, it } from 'vitest';
import { cropMosaic, type DecodedImage } from '../../../native-models/detector/augment';
import { Rng } from '../../../native-models/train/rng';

/** A 64x64 image, grey, with one solid square object per box (colour = 40 * (class + 1)). */
function image(boxes: number[][], classes: number[]): DecodedImage {
  const size = 64;
  const rgba = new Uint8Array(size * size * 4).fill(200);
  boxes.forEach(([x0, y0, x1, y1], k) => {
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) rgba.fill(40 * (classes[k] + 1), (y * size + x) * 4, (y * size + x) * 4 + 3);
  });
  return { rgba, size, gt: { boxes: Float32Array.from(boxes.flat()), classes: Int32Array.from(classes) } };
}

describe('crop mosaic', () => {
  it('puts one object per cell with its box around the object pixels', () => {
    const srcs = [image([[10, 10, 30, 30], [40, 36, 60, 60]], [0, 1]), image([[20, 5, 44, 25]], [2]), image([[0, 0, 16, 16]], [3])];
    const m = cropMosaic(srcs, 64, 2, new Rng(1));
    expect(m.gt.classes.length).toBeGreaterThanOrEqual(4);
    expect([...new Set(m.gt.classes)].sort()).toEqual([0, 1, 2, 3]);
    for (let i = 0; i < m.gt.classes.length; i++) {
      const [x0, y0, x1, y1] = m.gt.boxes.subarray(4 * i, 4 * i + 4);
      // each box lies in one 32x32 cell and its centre pixel has the object's colour
      expect(Math.floor(x0 / 32)).toBe(Math.floor((x1 - 1e-3) / 32));
      expect(Math.floor(y0 / 32)).toBe(Math.floor((y1 - 1e-3) / 32));
      const cx = Math.floor((x0 + x1) / 2);
      const cy = Math.floor((y0 + y1) / 2);
      expect(Math.abs(m.rgba[(cy * 64 + cx) * 4] - 40 * (m.gt.classes[i] + 1))).toBeLessThan(25);
    }
  });

  it('labels whole objects only: no cut-off fragment becomes a box', () => {
    // The last source has a small object next to a big one: crops of the big one cut the small one.
    const boxes = [[[4, 4, 34, 24], [30, 28, 60, 60]], [[20, 5, 44, 25], [2, 40, 20, 62]], [[0, 0, 16, 16]], [[10, 10, 40, 40], [36, 14, 46, 24]]];
    const srcs = [image(boxes[0], [0, 1]), image(boxes[1], [2, 3]), image(boxes[2], [4]), image(boxes[3], [5, 6])];
    const aspect = boxes.flat().map(([x0, y0, x1, y1]) => (x1 - x0) / (y1 - y0));
    let labelled = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const m = cropMosaic(srcs, 96, 3, new Rng(seed));
      for (let i = 0; i < m.gt.classes.length; i++) {
        const [x0, y0, x1, y1] = m.gt.boxes.subarray(4 * i, 4 * i + 4);
        // A fragment cut by its crop would change shape; at most 10 % of an object may be cut off.
        const r = (x1 - x0) / (y1 - y0) / aspect[m.gt.classes[i]];
        expect(r).toBeGreaterThan(0.88);
        expect(r).toBeLessThan(1 / 0.88);
        labelled++;
      }
      // every cell shows its own object whole, so each mosaic labels at least the 7 objects drawn
      expect(m.gt.classes.length).toBeGreaterThanOrEqual(7);
    }
    expect(labelled).toBeGreaterThanOrEqual(280);
  });
});
