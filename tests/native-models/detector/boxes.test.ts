import { describe, expect, it } from 'vitest';
import { decodeBox, encodeBox, HEAD_CODE_WEIGHTS, iou, makeAnchors, nms, RPN_CODE_WEIGHTS, topK } from '../../../native-models/detector/boxes';

describe('detector box maths', () => {
  it('anchors are in (y, x, anchor) order, centred on cells, with area size^2 and h/w = ratio', () => {
    const a = makeAnchors(2, 3, 16, [32, 64], [0.5, 2]);
    expect(a.length).toBe(2 * 3 * 4 * 4);
    // cell (y=1, x=2), anchor (size 64, ratio 2) is the last one
    const i = ((1 * 3 + 2) * 4 + 3) * 4;
    const [x0, y0, x1, y1] = a.subarray(i, i + 4);
    expect((x0 + x1) / 2).toBeCloseTo(40);
    expect((y0 + y1) / 2).toBeCloseTo(24);
    expect((x1 - x0) * (y1 - y0)).toBeCloseTo(64 * 64, 3);
    expect((y1 - y0) / (x1 - x0)).toBeCloseTo(2);
  });

  it('decode inverts encode for both code weightings', () => {
    const ref = new Float32Array([10, 20, 50, 40]);
    const gt = new Float32Array([14, 18, 70, 52]);
    for (const w of [RPN_CODE_WEIGHTS, HEAD_CODE_WEIGHTS]) {
      const d = new Float32Array(4);
      encodeBox(ref, 0, gt, 0, w, d, 0);
      const back = new Float32Array(4);
      decodeBox(ref, 0, d, 0, w, back, 0);
      for (let k = 0; k < 4; k++) expect(back[k]).toBeCloseTo(gt[k], 3);
    }
  });

  it('decoding clamps huge log-scales instead of overflowing', () => {
    const out = new Float32Array(4);
    decodeBox([0, 0, 10, 10], 0, [0, 0, 1e6, 1e6], 0, RPN_CODE_WEIGHTS, out, 0);
    expect(out.every(Number.isFinite)).toBe(true);
    expect(out[2] - out[0]).toBeCloseTo(10 * (1000 / 16), 1);
  });

  it('IoU of identical, disjoint, half-overlapping and empty boxes', () => {
    expect(iou([0, 0, 10, 10], 0, [0, 0, 10, 10], 0)).toBe(1);
    expect(iou([0, 0, 10, 10], 0, [20, 20, 30, 30], 0)).toBe(0);
    expect(iou([0, 0, 10, 10], 0, [5, 0, 15, 10], 0)).toBeCloseTo(50 / 150);
    expect(iou([0, 0, 0, 10], 0, [0, 0, 0, 10], 0)).toBe(0);
  });

  it('NMS keeps the best box of each overlapping group, by score, up to maxKeep', () => {
    const boxes = [0, 0, 10, 10, 1, 1, 11, 11, 50, 50, 60, 60, 0, 0, 9, 10];
    const scores = [0.8, 0.9, 0.5, 0.7];
    expect(nms(boxes, scores, 0.5)).toEqual([1, 2]);
    expect(nms(boxes, scores, 0.95)).toEqual([1, 0, 3, 2]);
    expect(nms(boxes, scores, 0.5, 1)).toEqual([1]);
    expect(nms(boxes, scores, 0.5, 10, [0, 2, 3])).toEqual([0, 2]);
  });

  it('topK orders by value, ties by index', () => {
    expect(topK([0.1, 0.5, 0.5, 0.9], 3)).toEqual([3, 1, 2]);
  });
});
