import { describe, expect, it } from 'vitest';
import { buildGraph, buildTrainingGraph, initParams, toOnnx, typecheck } from '../../../native-models/graph';
import { TINY_CONFIG, framesFor, samplesFor } from '../../../native-models/audio/config';
import { allFrameTaps, AUDIO_GROW_RULE, frameDim, inferenceGraph, parseFrameLayer, pretrainModel } from '../../../native-models/audio/model';
import { growParams } from '../../../native-models/train/grow';
import { makePretrainFeeds } from '../../../native-models/audio/data';
import { contrastiveEvalModel } from '../../../native-models/audio/evaluate';
import { spanMask, sampleNegatives } from '../../../native-models/audio/masking';
import { trainStepSpec, initialParams } from '../../../native-models/train/graph-spec';
import { train } from '../../../native-models/train/trainer';
import { InThreadRuntime } from '../../../native-models/runtime';
import { Rng } from '../../../native-models/train/rng';

const cfg = TINY_CONFIG;

/** Speech-like test signal: a few harmonics with a moving pitch and an amplitude envelope. */
function voice(seconds: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const n = Math.round(16000 * seconds);
  const x = new Float32Array(n);
  let ph = 0;
  for (let i = 0; i < n; i++) {
    const f0 = 120 + 60 * Math.sin(i / 3000 + seed);
    ph += (2 * Math.PI * f0) / 16000;
    const env = 0.5 + 0.5 * Math.sin(i / 900 + seed * 2);
    x[i] = env * (0.3 * Math.sin(ph) + 0.15 * Math.sin(3 * ph) + 0.08 * Math.sin(7 * ph)) + 0.01 * rng.normal();
  }
  return x;
}

/** A graph's initial params (by default the inference graph's) with their shapes, as a checkpoint holds them. */
function initial(c: typeof cfg, seed: number, g = inferenceGraph(c, 32)) {
  const dims = new Map(g.params.map((p) => [p.value.name!, [...p.value.shape]]));
  return Object.fromEntries([...initParams(g, seed)].map(([k, v]) => [k, { dtype: 'float32' as const, dims: dims.get(k)!, data: v }]));
}

/** Params by name, as toOnnx takes them. */
const values = (p: Record<string, { data: unknown }>) => new Map(Object.entries(p).map(([k, t]) => [k, t.data as Float32Array]));

/** Inference feeds of one unpadded 32-frame utterance. */
function utterance(seed: number) {
  const x = voice(1, seed).subarray(0, samplesFor(cfg, 32));
  return { audio: { dtype: 'float32' as const, dims: [1, x.length], data: x }, padding: { dtype: 'float32' as const, dims: [1, 32], data: new Float32Array(32).fill(1) } };
}

describe('audio encoder graphs (tiny config)', () => {
  it('frame arithmetic: samplesFor and framesFor invert each other (20 ms hop)', () => {
    for (const t of [1, 7, 64, 1024]) {
      expect(framesFor(cfg, samplesFor(cfg, t))).toBe(t);
      expect(framesFor(cfg, samplesFor(cfg, t) - 1)).toBe(t - 1);
      expect(framesFor(cfg, samplesFor(cfg, t) + 319)).toBe(t);
    }
    expect(framesFor(cfg, 1600)).toBe(4); // 0.1 s
  });

  it('span masks and distractors stay inside each utterance and never pick the frame itself', () => {
    const rng = new Rng(1);
    const m = spanMask(rng, 40, 30, 0.065, 8);
    expect(m.slice(30).every((v) => v === 0)).toBe(true);
    expect(m.reduce((a, v) => a + v, 0)).toBeGreaterThanOrEqual(8);
    const neg = sampleNegatives(rng, [30, 12], 40, 5);
    for (let b = 0; b < 2; b++) {
      for (let t = 0; t < [30, 12][b]; t++) {
        for (let j = 0; j < 5; j++) {
          const u = Number(neg[(b * 40 + t) * 5 + j]) - b * 40;
          expect(u).toBeGreaterThanOrEqual(0);
          expect(u).toBeLessThan([30, 12][b]);
          expect(u).not.toBe(t);
        }
      }
    }
  });

  it('builds and typechecks the training and inference graphs', () => {
    const tg = buildTrainingGraph(pretrainModel(cfg, 2, 32, true), { clipNorm: 5 });
    typecheck(tg.graph);
    expect(tg.usesSeed).toBe(true);
    expect(tg.batchInputs).toEqual(['audio', 'padding', 'mask', 'negatives', 'tau']);
    const names = tg.params.map((p) => p.name);
    for (const n of ['fe.0.weight', 'pos_conv.weight', 'ctx.0.attn.qkv.weight', 'quant.codebook', 'quant.logits.weight', 'mask_emb', 'final_proj.weight']) expect(names).toContain(n);
    const g = inferenceGraph(cfg, 32);
    typecheck(g);
    expect(g.outputs.map((o) => [o.name, o.value.dtype, o.value.shape])).toEqual([['frames', 'float32', [1, 32, cfg.dim]], ['codes', 'int64', [1, 32, cfg.codebookGroups]]]);
  });

  it('can give an inner context layer, the Transformer input, or several concatenated as its frames (same codes); other layers are refused', async () => {
    const g = inferenceGraph(cfg, 32);
    const params = Object.fromEntries(initParams(g, 4));
    const rt = new InThreadRuntime();
    const feeds = utterance(2);
    await rt.load('final', toOnnx(g, { params: { kind: 'initializers', values: params } }).model);
    await rt.load('inner', toOnnx(inferenceGraph(cfg, 32, 1, 0), { params: { kind: 'initializers', values: params } }).model);
    await rt.load('input', toOnnx(inferenceGraph(cfg, 32, 1, 'input'), { params: { kind: 'initializers', values: params } }).model);
    await rt.load('concat', toOnnx(inferenceGraph(cfg, 32, 1, parseFrameLayer(cfg, '0+input+final')), { params: { kind: 'initializers', values: params } }).model);
    const a = await rt.run('final', feeds);
    const b = await rt.run('inner', feeds);
    const i = await rt.run('input', feeds);
    const cat = await rt.run('concat', feeds);
    await rt.close();
    // Concatenated taps: each frame is [layer 0 | input | final], in the order asked for.
    const D = cfg.dim;
    expect(cat.frames.dims).toEqual([1, 32, 3 * D]);
    const row = (t: { data: unknown }, f: number, w: number) => [...(t.data as Float32Array).subarray(f * w, (f + 1) * w)];
    for (const f of [0, 17, 31]) {
      const want = [...row(b.frames, f, D), ...row(i.frames, f, D), ...row(a.frames, f, D)];
      const got = row(cat.frames, f, 3 * D);
      // Same values up to float rounding (ORT fuses the two graphs differently).
      expect(Math.max(...got.map((v, k) => Math.abs(v - want[k])))).toBeLessThan(1e-5);
    }
    // Distinct taps: layer 0's output is not the Transformer's input, nor the final output.
    expect(row(b.frames, 5, D)).not.toEqual(row(i.frames, 5, D));
    expect(row(i.frames, 5, D)).not.toEqual(row(a.frames, 5, D));
    expect(frameDim(cfg, parseFrameLayer(cfg, '0+input+final'))).toBe(3 * D);
    expect(() => parseFrameLayer(cfg, '0+0')).toThrow(/twice/);
    expect(() => parseFrameLayer(cfg, 'last')).toThrow(/frameLayer/);
    expect([...(b.codes.data as BigInt64Array)]).toEqual([...(a.codes.data as BigInt64Array)]);
    expect(b.frames.dims).toEqual(a.frames.dims);
    expect([...(b.frames.data as Float32Array)]).not.toEqual([...(a.frames.data as Float32Array)]);
    expect(() => inferenceGraph(cfg, 32, 1, cfg.layers)).toThrow(/frameLayer/);
  });

  it('grows deeper from a checkpoint (--init-from with more layers): the added layers start as the identity', async () => {
    const deep = { ...cfg, layers: cfg.layers + 2 };
    const from = initial(cfg, 4);
    const { params, added } = growParams(initial(deep, 9), from, AUDIO_GROW_RULE);
    expect(added.length).toBe(2 * 12);
    expect(added.every((k) => k.startsWith(`ctx.${cfg.layers}.`) || k.startsWith(`ctx.${cfg.layers + 1}.`))).toBe(true);
    expect(params[`ctx.${cfg.layers}.ffn2.weight`].data.every((v) => v === 0)).toBe(true);
    expect(params[`ctx.${cfg.layers}.ffn1.weight`].data.some((v) => v !== 0)).toBe(true);
    const rt = new InThreadRuntime();
    const feeds = utterance(5);
    await rt.load('small', toOnnx(inferenceGraph(cfg, 32, 1, parseFrameLayer(cfg, `input+${cfg.layers - 1}+final`)), { params: { kind: 'initializers', values: values(from) } }).model);
    await rt.load('deep', toOnnx(inferenceGraph(deep, 32, 1, parseFrameLayer(deep, `input+${deep.layers - 1}+final`)), { params: { kind: 'initializers', values: values(params) } }).model);
    const a = await rt.run('small', feeds);
    const b = await rt.run('deep', feeds);
    await rt.close();
    // Same taps (the new last layer passes the old last layer's output through), same codes.
    expect([...(b.frames.data as Float32Array)]).toEqual([...(a.frames.data as Float32Array)]);
    expect([...(b.codes.data as BigInt64Array)]).toEqual([...(a.codes.data as BigInt64Array)]);
    expect(() => growParams(initial({ ...cfg, dim: cfg.dim + cfg.dim / 2 }, 1), from, AUDIO_GROW_RULE)).toThrow(/width can only grow by a whole factor \(checkpoint dim 16, this config 24\)/);
    expect(() => growParams(initial({ ...cfg, codebookEntries: 2 * cfg.codebookEntries }, 1), from, AUDIO_GROW_RULE)).toThrow(/only the widths of the feed-forward layers/);
    // Same number of values in another shape: refused too.
    const w = from['ctx.0.ffn1.weight'];
    expect(() => growParams(initial(deep, 9), { ...from, 'ctx.0.ffn1.weight': { ...w, dims: [...w.dims].reverse() } }, AUDIO_GROW_RULE)).toThrow(/'ctx.0.ffn1.weight' is \[/);
    expect(() => growParams(from, params, AUDIO_GROW_RULE)).toThrow(/has no 'ctx\.\d\./);
  });

  it('grows wider feed-forward layers from a checkpoint (--set ffn=N with --init-from): same frames and codes at first', async () => {
    const wide = { ...cfg, ffn: cfg.ffn + 24 };
    const from = initial(cfg, 4);
    const fresh = initial(wide, 9);
    const { params, added, widened } = growParams(fresh, from, AUDIO_GROW_RULE);
    expect(added).toEqual([]);
    expect(widened.sort()).toEqual([...Array(cfg.layers).keys()].flatMap((i) => [`ctx.${i}.ffn1.bias`, `ctx.${i}.ffn1.weight`, `ctx.${i}.ffn2.weight`]).sort());
    // ffn1 [dim, ffn]: the checkpoint's columns, then the fresh init's; ffn2 [ffn, dim]: the checkpoint's rows, then zeros.
    const [D, F, W] = [cfg.dim, cfg.ffn, wide.ffn];
    const w1 = params['ctx.0.ffn1.weight'].data as Float32Array;
    const w1From = from['ctx.0.ffn1.weight'].data as Float32Array;
    const w1Fresh = fresh['ctx.0.ffn1.weight'].data as Float32Array;
    for (const r of [0, D - 1]) {
      expect([...w1.subarray(r * W, r * W + F)]).toEqual([...w1From.subarray(r * F, (r + 1) * F)]);
      expect([...w1.subarray(r * W + F, (r + 1) * W)]).toEqual([...w1Fresh.subarray(r * W + F, (r + 1) * W)]);
    }
    const w2 = params['ctx.0.ffn2.weight'].data as Float32Array;
    expect([...w2.subarray(0, F * D)]).toEqual([...(from['ctx.0.ffn2.weight'].data as Float32Array)]);
    expect(w2.subarray(F * D).every((v) => v === 0)).toBe(true);
    const rt = new InThreadRuntime();
    const feeds = utterance(6);
    const taps = allFrameTaps(cfg);
    await rt.load('narrow', toOnnx(inferenceGraph(cfg, 32, 1, taps), { params: { kind: 'initializers', values: values(from) } }).model);
    await rt.load('wide', toOnnx(inferenceGraph(wide, 32, 1, taps), { params: { kind: 'initializers', values: values(params) } }).model);
    const a = await rt.run('narrow', feeds);
    const b = await rt.run('wide', feeds);
    await rt.close();
    expect([...(b.frames.data as Float32Array)]).toEqual([...(a.frames.data as Float32Array)]);
    expect([...(b.codes.data as BigInt64Array)]).toEqual([...(a.codes.data as BigInt64Array)]);
    // Narrower than the checkpoint, or wider elsewhere: refused.
    expect(() => growParams(from, params, AUDIO_GROW_RULE)).toThrow(/'ctx\.0\.ffn1\.(weight|bias)' is \[[\d,]+\] in the checkpoint/);
    expect(() => growParams(initial({ ...wide, codebookEntries: cfg.codebookEntries + 8 }, 1), from, AUDIO_GROW_RULE)).toThrow(/'quant\.logits\.(weight|bias)' .*only the widths of the feed-forward layers/);
  });

  it('widens the residual stream from a checkpoint (--set dim=N with --init-from): every frame value repeated, same codes and loss, copies drift apart in training', async () => {
    const two = { ...cfg, layers: 2 };
    const pretrain = (c: typeof cfg) => buildGraph((b) => ({ loss: pretrainModel(c, 2, 32, false)(b).loss }));
    const from = initial(two, 4, pretrain(two));
    const rt = new InThreadRuntime();
    const feeds = utterance(7);
    const taps = allFrameTaps(two);
    await rt.load('narrow', toOnnx(inferenceGraph(two, 32, 1, taps), { params: { kind: 'initializers', values: values(from) } }).model);
    const a = await rt.run('narrow', feeds);
    const fa = a.frames.data as Float32Array;
    const batch = makePretrainFeeds(two, [voice(1, 1), voice(1, 2)], 32, [32, 27], new Rng(5));
    await rt.load('narrow-loss', contrastiveEvalModel(two, Object.fromEntries(values(from)), 2, 32));
    const la = await rt.run('narrow-loss', batch);
    for (const r of [2, 3]) {
      const wide = { ...two, dim: r * two.dim, ffn: two.ffn + 8 };
      const { params, widened } = growParams(initial(wide, 9, pretrain(wide)), from, AUDIO_GROW_RULE);
      expect(widened.length).toBe(3 * two.layers); // the FFN widening still applies on top
      // A matrix reading the stream: each old row split over r rows (not all equal: the symmetry-breaking noise).
      const w1 = params['ctx.0.ffn1.weight'].data as Float32Array;
      const W = wide.ffn;
      const old = from['ctx.0.ffn1.weight'].data as Float32Array;
      for (const j of [0, 5, two.ffn - 1]) {
        const parts = Array.from({ length: r }, (_, c) => w1[(3 * r + c) * W + j]);
        expect(parts.reduce((s, v) => s + v, 0)).toBeCloseTo(old[3 * two.ffn + j], 6);
        expect(new Set(parts).size).toBe(r);
      }
      await rt.load(`wide${r}`, toOnnx(inferenceGraph(wide, 32, 1, taps), { params: { kind: 'initializers', values: values(params) } }).model);
      const b = await rt.run(`wide${r}`, feeds);
      expect(b.frames.dims).toEqual([1, 32, taps.length * r * two.dim]);
      const fb = b.frames.data as Float32Array;
      let maxDiff = 0;
      for (let i = 0; i < fa.length; i++) for (let c = 0; c < r; c++) maxDiff = Math.max(maxDiff, Math.abs(fb[i * r + c] - fa[i]));
      expect(maxDiff).toBeLessThan(1e-4);
      expect([...(b.codes.data as BigInt64Array)]).toEqual([...(a.codes.data as BigInt64Array)]);
      await rt.load(`wide${r}-loss`, contrastiveEvalModel(wide, Object.fromEntries(values(params)), 2, 32));
      const lb = await rt.run(`wide${r}-loss`, batch);
      expect((lb.loss.data as Float32Array)[0]).toBeCloseTo((la.loss.data as Float32Array)[0], 4);
      if (r !== 2) continue;
      // Training: the copies of a channel get different gradients, so a matrix writing to the stream stops
      // repeating its columns.
      const spec = trainStepSpec(() => buildTrainingGraph(pretrainModel(wide, 2, 32, true), { clipNorm: 5, weightDecay: 0 }), '32');
      let trained: Record<string, { data: unknown }> = {};
      await train({
        runtime: rt, spec, steps: 2, schedule: { kind: 'constant', peak: 1e-3 }, params, seed: 1,
        data: { next: () => ({ bucket: '32', size: 2, feeds: makePretrainFeeds(wide, [voice(1, 1), voice(1, 2)], 32, [32, 27], new Rng(5), 1) }), state: () => null, restore: () => undefined },
        evaluate: { every: 2, run: async (ctx) => ((trained = await ctx.params()), {}) },
      });
      const w2 = trained['ctx.0.ffn2.weight'].data as Float32Array;
      const D = wide.dim;
      let spread = 0;
      for (let row = 0; row < W; row++) for (let i = 0; i < D; i += 2) spread = Math.max(spread, Math.abs(w2[row * D + i] - w2[row * D + i + 1]));
      expect(spread).toBeGreaterThan(1e-5);
      // Keys: the new copies start at zero (they add nothing to the scores) and learn at once.
      const keyCopies = (t: { data: unknown }) => [...(t.data as Float32Array)].filter((_, i) => Math.floor((i % (3 * D)) / D) === 1 && (i % D) % 2 === 1);
      expect(keyCopies(params['ctx.0.attn.qkv.weight']).every((v) => v === 0)).toBe(true);
      expect(keyCopies(trained['ctx.0.attn.qkv.weight']).some((v) => Math.abs(v) > 1e-6)).toBe(true);
    }
    await rt.close();
  });

  it('a few training steps reduce the loss (the engine trainer, one fixed batch)', async () => {
    const B = 4;
    const T = 32;
    const spec = trainStepSpec(() => buildTrainingGraph(pretrainModel(cfg, B, T, true), { clipNorm: 5, weightDecay: 0 }), String(T));
    const rng = new Rng(3);
    const recs = [0, 1, 2, 3].map((s) => voice(1, s));
    const feeds = makePretrainFeeds(cfg, recs, T, [32, 30, 28, 32], rng, 1);
    const rt = new InThreadRuntime();
    const res = await train({
      runtime: rt, spec, steps: 25, schedule: { kind: 'constant', peak: 3e-3 }, params: initialParams(spec.graph.graph, 1), seed: 1,
      data: { next: () => ({ bucket: String(T), size: B, feeds: Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, { ...v, data: v.data.slice() }])) }), state: () => null, restore: () => undefined },
    });
    await rt.close();
    const first = res.losses.slice(0, 3).reduce((a, b) => a + b, 0) / 3;
    const last = res.losses.slice(-3).reduce((a, b) => a + b, 0) / 3;
    expect(res.losses.every(Number.isFinite)).toBe(true);
    expect(last).toBeLessThan(first * 0.8);
  });

  it('padding does not change an utterance: the same frames and codes in a larger bucket', async () => {
    const g32 = inferenceGraph(cfg, 32);
    const params = Object.fromEntries(initParams(g32, 5));
    const rt = new InThreadRuntime();
    await rt.load('b32', toOnnx(g32, { params: { kind: 'initializers', values: params } }).model);
    await rt.load('b64', toOnnx(inferenceGraph(cfg, 64), { params: { kind: 'initializers', values: params } }).model);
    const x = voice(1, 9).subarray(0, samplesFor(cfg, 32));
    const run = async (bucket: number, extra: (a: Float32Array) => void) => {
      const audio = new Float32Array(samplesFor(cfg, bucket));
      audio.set(x);
      extra(audio);
      const padding = new Float32Array(bucket);
      padding.fill(1, 0, 32);
      return rt.run(`b${bucket}`, { audio: { dtype: 'float32', dims: [1, audio.length], data: audio }, padding: { dtype: 'float32', dims: [1, bucket], data: padding } });
    };
    const a = await run(32, () => undefined);
    // the padded tail holds loud noise: masked frames must not leak into the real ones
    const b = await run(64, (au) => { for (let i = x.length; i < au.length; i++) au[i] = Math.sin(i) * 0.9; });
    const fa = a.frames.data as Float32Array;
    const fb = b.frames.data as Float32Array;
    let maxDiff = 0;
    for (let i = 0; i < fa.length; i++) maxDiff = Math.max(maxDiff, Math.abs(fa[i] - fb[i]));
    expect(maxDiff).toBeLessThan(1e-4);
    expect(Array.from(a.codes.data as BigInt64Array)).toEqual(Array.from((b.codes.data as BigInt64Array).subarray(0, 32 * cfg.codebookGroups)));
    await rt.close();
  });
});
