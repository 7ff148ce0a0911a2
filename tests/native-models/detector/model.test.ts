// The Faster R-CNN graphs at a tiny config: they build, type-check and run through the runtime; a few
// end-to-end training steps (RPN + proposals in TS + RoIAlign gather + head) reduce the loss.
import { describe, expect, it } from 'vitest';
import { initParams, toOnnx, typecheck } from '../../../native-models/graph/index';
import { shapesOf, tinyConfig } from '../../../native-models/detector/config';
import { headGraph, rpnGraph, trainingGraph } from '../../../native-models/detector/model';
import { trainDetector } from '../../../native-models/detector/train';
import { InThreadRuntime, Session, tensor } from '../../../native-models/runtime/index';
import { emojiExamples } from './fixtures';

describe('detector graphs (tiny config)', () => {
  it('rpn and head graphs build, type-check and run with the shapes of the contract', async () => {
    const c = tinyConfig(5);
    const { numAnchors, roiSide, numScores, featureDim } = shapesOf(c);
    const rg = rpnGraph(c);
    const hg = headGraph(c);
    typecheck(rg);
    typecheck(hg);
    const values = new Map([...initParams(rg, 1), ...initParams(hg, 2)]);
    const rpn = await Session.create(toOnnx(rg, { params: { kind: 'initializers', values } }).model, { providers: [] });
    const head = await Session.create(toOnnx(hg, { params: { kind: 'initializers', values, storage: 'float16' } }).model, { providers: [] });
    const s = c.inputSize;
    const r = await rpn.run({ image: tensor('float32', [1, 3, s, s], new Float32Array(3 * s * s).fill(0.3)) });
    expect(r.objectness.dims).toEqual([1, numAnchors]);
    expect(r.rpn_deltas.dims).toEqual([1, numAnchors, 4]);
    expect(r.features.dims).toEqual([1, c.roiChannels, roiSide, roiSide]);
    const P = c.proposals;
    const h = await head.run({
      features: r.features, rois: tensor('float32', [P, 4], Float32Array.from({ length: P * 4 }, (_, i) => (i % 4 < 2 ? 4 : 40))),
      batch_indices: tensor('int64', [P], new BigInt64Array(P)),
    });
    expect(h.class_probs.dims).toEqual([P, numScores]);
    expect(h.region_features.dims).toEqual([P, featureDim]);
    const probs = h.class_probs.data as Float32Array;
    expect(probs.slice(0, numScores).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    await rpn.dispose();
    await head.dispose();
  });

  it('the imprinted-prototype head keeps p(background) and picks the class whose prototype matches the feature', async () => {
    const c = tinyConfig(4);
    const { roiSide, featureDim: d } = shapesOf(c);
    const plain = headGraph(c);
    const proto = headGraph({ ...c, prototypes: true, protoTemperature: 50 });
    const values = initParams(plain, 3);
    const P = c.proposals;
    const feeds = {
      features: tensor('float32', [1, c.roiChannels, roiSide, roiSide], Float32Array.from({ length: c.roiChannels * roiSide * roiSide }, (_, i) => Math.sin(i))),
      rois: tensor('float32', [P, 4], Float32Array.from({ length: P * 4 }, (_, i) => [2, 3, 30, 40][i % 4] + (i >> 2))),
      batch_indices: tensor('int64', [P], new BigInt64Array(P)),
    };
    const a = await Session.create(toOnnx(plain, { params: { kind: 'initializers', values } }).model, { providers: [] });
    const ra = await a.run(feeds);
    const f = ra.region_features.data as Float32Array;
    // class 2's prototype is roi 0's feature direction; the others are orthogonal-ish random
    const pw = new Float32Array(d * 4);
    const n0 = Math.hypot(...f.subarray(0, d));
    for (let j = 0; j < d; j++) pw[j * 4 + 2] = f[j] / n0;
    const b = await Session.create(toOnnx(proto, { params: { kind: 'initializers', values: new Map([...values, ['head.proto.weight', pw]]) } }).model, { providers: [] });
    const rb = await b.run(feeds);
    const pa = ra.class_probs.data as Float32Array;
    const pb = rb.class_probs.data as Float32Array;
    expect(pb[0]).toBeCloseTo(pa[0], 5); // same p(background)
    expect(pb.slice(0, 5).reduce((x, y) => x + y, 0)).toBeCloseTo(1, 5);
    expect(Array.from(pb.slice(1, 5)).indexOf(Math.max(...pb.slice(1, 5)))).toBe(2);
    await a.dispose();
    await b.dispose();
  });

  it('the training graph type-checks and names its losses', () => {
    const tg = trainingGraph(tinyConfig(5), 2);
    typecheck(tg.graph);
    const outs = tg.graph.outputs.map((o) => o.name);
    for (const m of ['loss', 'metric:rpn_cls', 'metric:rpn_box', 'metric:head_cls', 'metric:head_box', 'grad_norm']) expect(outs).toContain(m);
    expect(tg.batchInputs).toContain('roi_index');
  });

  it('a few end-to-end training steps reduce the loss', async () => {
    const fx = await emojiExamples(6);
    const c = tinyConfig(fx.vocabulary.length);
    const rt = new InThreadRuntime();
    try {
      const res = await trainDetector({ runtime: rt, config: c, examples: fx.examples, batch: 2, steps: 30, schedule: { kind: 'constant', peak: 3e-3, warmup: 3 }, seed: 1, mosaic: 0 });
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      expect(res.losses.every(Number.isFinite)).toBe(true);
      expect(mean(res.losses.slice(-5))).toBeLessThan(0.8 * mean(res.losses.slice(0, 3)));
      expect(Object.keys(res.params)).toContain('head.cls.weight');
    } finally {
      await rt.close();
    }
  });
});
