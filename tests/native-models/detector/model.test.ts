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
