// detect-regions: the shared post-processing (box decoding, thresholds, NMS, coordinates of
// letterboxed non-square images) and the whole task on odd inputs and broken packages.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initParams } from '../../../native-models/graph/index';
import { tinyConfig } from '../../../native-models/detector/config';
import { writeDetector, DETECTOR_FILES } from '../../../native-models/detector/export';
import { headGraph, rpnGraph } from '../../../native-models/detector/model';
import { letterboxOf, toImageBox, toInputBox } from '../../../native-models/detector/preprocess';
import { loadPackage, writeComponent } from '../../../native-models/packages/format';
import type { Tensor } from '../../../native-models/runtime/index';
import { postprocess, RegionDetector, type HeadOutputs } from '../../../native-models/tasks/detect-regions';

process.env.OPT_PROVIDERS = 'cpu';
const CLASSES = ['apple', 'banana', 'cherry', 'dog', 'egg', 'fish'];

/** Head outputs for given rois (input px) and per-roi probability rows (background first). */
function head(rois: number[][], probs: number[][], deltas?: number[][]): HeadOutputs {
  const dim = 3;
  return {
    rois: Float32Array.from(rois.flat()), count: rois.length, probs: Float32Array.from(probs.flat()),
    deltas: Float32Array.from((deltas ?? rois.map(() => [0, 0, 0, 0])).flat()),
    features: Float32Array.from({ length: rois.length * dim }, (_, i) => i),
  };
}
const p = (cls: number, score: number) => {
  // the class gets `score`, the other classes 0.01 each, background the rest
  const row = new Array(CLASSES.length + 1).fill(0.01);
  row[cls + 1] = score;
  row[0] = 1 - score - 0.01 * (CLASSES.length - 1);
  return row;
};

describe('letterbox coordinates', () => {
  it('a 200x100 image in a 64 input sits at rows 16..48 and boxes map back to the image', () => {
    const lb = letterboxOf(200, 100, 64);
    expect(lb).toMatchObject({ innerWidth: 64, innerHeight: 32, padX: 0, padY: 16 });
    expect(toImageBox(lb, [16, 24, 48, 40])).toEqual([0.25, 0.25, 0.75, 0.75]);
    expect(toInputBox(lb, [0.25, 0.25, 0.75, 0.75])).toEqual([16, 24, 48, 40]);
  });
  it('a tall 10x1000 image and a 1x1 image still get at least one input pixel', () => {
    const tall = letterboxOf(10, 1000, 256);
    expect(tall.innerHeight).toBe(256);
    expect(tall.innerWidth).toBe(3);
    expect(tall.padX).toBe(126);
    expect(letterboxOf(1, 1, 256)).toMatchObject({ innerWidth: 256, innerHeight: 256, padX: 0, padY: 0 });
  });
});

describe('postprocess', () => {
  const lb = letterboxOf(200, 100, 64); // padY 16
  it('decodes boxes, normalises them to the non-square image and clips them to it (not the padding)', () => {
    const r = postprocess(head([[16, 24, 48, 40], [0, 0, 64, 64]], [p(1, 0.9), p(3, 0.6)]), lb, CLASSES, { minObjectness: 0.5 });
    expect(r.map((x) => x.label)).toEqual(['banana', 'dog']);
    expect(r[0].box.map((v) => +v.toFixed(4))).toEqual([0.25, 0.25, 0.75, 0.75]);
    expect(r[1].box).toEqual([0, 0, 1, 1]);
    expect(r[0].score).toBeCloseTo(0.9);
    expect(r[0].feature).toEqual(Float32Array.from([0, 1, 2]));
    expect(r[1].feature).toEqual(Float32Array.from([3, 4, 5]));
  });
  it('applies the head box deltas (weights 10,10,5,5)', () => {
    // dx = 0.5 of the width (delta 5 with weight 10) moves a 16-wide box 8 px right
    const r = postprocess(head([[16, 24, 32, 40]], [p(0, 0.9)], [[5, 0, 0, 0]]), lb, CLASSES);
    expect(r[0].box.map((v) => +v.toFixed(4))).toEqual([0.375, 0.25, 0.625, 0.75]);
  });
  it('drops low objectness or class scores, suppresses overlaps (class-agnostic, by objectness) and keeps the top K', () => {
    const rois = [[10, 20, 30, 40], [11, 20, 31, 40], [40, 20, 60, 40], [0, 16, 5, 20]];
    const probs = [p(0, 0.5), p(2, 0.8), p(4, 0.7), p(5, 0.04)]; // objectness = score + 0.05
    const all = postprocess(head(rois, probs), lb, CLASSES, { minObjectness: 0.5 });
    expect(all.map((x) => x.label)).toEqual(['cherry', 'egg']);
    expect(all[0].objectness).toBeCloseTo(0.85);
    expect(postprocess(head(rois, probs), lb, CLASSES, { minObjectness: 0.5, maxRegions: 1 }).map((x) => x.label)).toEqual(['cherry']);
    expect(postprocess(head(rois, probs), lb, CLASSES, { minObjectness: 0, nmsIou: 1 })).toHaveLength(4);
    expect(postprocess(head(rois, probs), lb, CLASSES, { minObjectness: 0, scoreThreshold: 0.75 }).map((x) => x.label)).toEqual(['cherry']);
  });
  it('ranks by objectness: an object whose class mass is spread still comes first', () => {
    const spread = [0.1, ...new Array(CLASSES.length).fill(0.9 / CLASSES.length)];
    const r = postprocess(head([[10, 20, 30, 40], [40, 20, 60, 40]], [p(1, 0.3), spread]), lb, CLASSES, { minObjectness: 0 });
    expect(r[0].objectness).toBeCloseTo(0.9);
    expect(r[0].score).toBeCloseTo(0.15);
    expect(r[1].label).toBe('banana');
  });
  it('gives the top-5 classes in order, the first being the region class', () => {
    const row = [0.05, 0.1, 0.3, 0.05, 0.2, 0.25, 0.05];
    const [r] = postprocess(head([[10, 20, 30, 40]], [row]), lb, CLASSES);
    expect(r.top5.map((t) => t.label)).toEqual(['banana', 'egg', 'dog', 'apple', 'cherry']);
    expect(r.top5[0].classId).toBe(r.classId);
  });
  it('ignores padding rows beyond count', () => {
    const h = head([[10, 20, 30, 40], [40, 20, 60, 40]], [p(0, 0.9), p(1, 0.9)]);
    expect(postprocess({ ...h, count: 1 }, lb, CLASSES)).toHaveLength(1);
  });
});

describe('RegionDetector on a (tiny, untrained) package', () => {
  const c = tinyConfig(CLASSES.length);
  let dir: string;
  let params: Record<string, Tensor>;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'det-pkg-'));
    const values = new Map([...initParams(rpnGraph(c), 1), ...initParams(headGraph(c), 2)]);
    params = Object.fromEntries([...values].map(([k, v]) => [k, { dtype: 'float32', dims: [v.length], data: v } as Tensor]));
    writeDetector(dir, c, CLASSES, params);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const check = (regions: Awaited<ReturnType<RegionDetector['detect']>>, dim: number) => {
    expect(regions.length).toBeGreaterThan(0);
    expect(regions.length).toBeLessThanOrEqual(4);
    for (const r of regions) {
      const [x0, y0, x1, y1] = r.box;
      expect(0 <= x0 && x0 <= x1 && x1 <= 1 && 0 <= y0 && y0 <= y1 && y1 <= 1).toBe(true);
      expect(r.feature).toHaveLength(dim);
      expect(CLASSES[r.classId]).toBe(r.label);
      expect(r.top5).toHaveLength(5);
    }
  };

  it('handles greyscale, alpha, tiny, non-square JPEG and raw RGBA images', async () => {
    const det = await RegionDetector.load(dir);
    try {
      const opts = { minObjectness: 0, maxRegions: 4 };
      const grey = await sharp(Buffer.alloc(90 * 40, 100), { raw: { width: 90, height: 40, channels: 1 } }).png().toBuffer();
      const alpha = await sharp(Buffer.alloc(30 * 30 * 4, 200), { raw: { width: 30, height: 30, channels: 4 } }).png().toBuffer();
      const tiny = await sharp(Buffer.from([255, 0, 0]), { raw: { width: 1, height: 1, channels: 3 } }).png().toBuffer();
      const wide = await sharp(Buffer.alloc(300 * 50 * 3, 60), { raw: { width: 300, height: 50, channels: 3 } }).jpeg().toBuffer();
      for (const img of [grey, alpha, tiny, wide]) check(await det.detect(img, opts), det.featureDim);
      check(await det.detect({ rgba: new Uint8Array(7 * 5 * 4).fill(90), width: 7, height: 5 }, opts), det.featureDim);
      // a non-square image's padding is never inside a box: boxes of the wide image stay in [0,1] of IT
      await expect(det.detect(new Uint8Array([1, 2, 3, 4]), {}, 'broken.png')).rejects.toThrow(/broken\.png/);
      await expect(det.detect({ rgba: new Uint8Array(10), width: 2, height: 2 })).rejects.toThrow(/needs 16 bytes/);
    } finally {
      await det.dispose();
    }
  });

  it('gives the same regions for the same image (file bytes or RGBA)', async () => {
    const det = await RegionDetector.load(dir);
    try {
      const raw = Buffer.alloc(64 * 64 * 4);
      for (let i = 0; i < raw.length; i++) raw[i] = i % 4 === 3 ? 255 : (i * 37) % 251;
      const png = await sharp(raw, { raw: { width: 64, height: 64, channels: 4 } }).png().toBuffer();
      const a = await det.detect(png, { minObjectness: 0 });
      const b = await det.detect({ rgba: new Uint8Array(raw), width: 64, height: 64 }, { scoreThreshold: 0 });
      expect(b.map((r) => r.box)).toEqual(a.map((r) => r.box));
    } finally {
      await det.dispose();
    }
  });

  it('refuses a package whose class list does not match its config or its graph', async () => {
    const pkg = loadPackage(dir);
    const entry = pkg.component('detector', 'detector');
    const files = (classes: string[]) => ({
      rpn: { name: DETECTOR_FILES.rpn, bytes: readFileSync(pkg.file('detector', 'rpn')) },
      head: { name: DETECTOR_FILES.head, bytes: readFileSync(pkg.file('detector', 'head')) },
      classes: { name: DETECTOR_FILES.classes, bytes: JSON.stringify(classes) },
    });
    const bad = mkdtempSync(join(tmpdir(), 'det-bad-'));
    try {
      writeComponent(bad, 'detector', { kind: 'detector', config: entry.config, metrics: {}, training: {} }, files(CLASSES.slice(0, 4)));
      await expect(RegionDetector.load(bad)).rejects.toThrow(/lists 4 classes but config.numClasses is 6/);
      writeComponent(bad, 'detector', { kind: 'detector', config: { ...entry.config, numClasses: 4 }, metrics: {}, training: {} }, files(CLASSES.slice(0, 4)));
      await expect(RegionDetector.load(bad)).rejects.toThrow(/class_probs' is \[8,7\], the config and class list expect \[8,5\]/);
      writeComponent(bad, 'detector', { kind: 'detector', config: entry.config, metrics: {}, training: {} }, files(CLASSES));
      writeFileSync(join(bad, DETECTOR_FILES.classes), '["apple", ');
      await expect(RegionDetector.load(bad)).rejects.toThrow(/does not match its sha256/);
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });
});
