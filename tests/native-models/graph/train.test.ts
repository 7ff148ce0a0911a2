// Training with the in-graph AdamW: one ONNX graph per step (forward, loss, gradients, update), run by a plain
// onnxruntime session. A tiny causal transformer memorises next tokens; AdamW matches a reference step.
import { describe, expect, it } from 'vitest';
import { buildTrainingGraph, initParams, nn, toOnnx } from '../../../native-models/graph/index';
import type { TrainingGraph } from '../../../native-models/graph/index';
import { load } from './run-model';
import type { Feed } from './run-model';

/** Runs `steps` updates of a training graph, carrying params and Adam state; returns the losses. */
async function train(tg: TrainingGraph, batch: Feed, steps: number, lr: number, seed = 1) {
  const s = await load(toOnnx(tg.graph).model);
  const params = initParams(tg.graph, seed);
  const state = new Map<string, number[]>();
  for (const p of tg.params) {
    state.set(`param:${p.name}`, Array.from(params.get(p.name)!));
    if (p.trainable) {
      state.set(`adam_m:${p.name}`, new Array(params.get(p.name)!.length).fill(0));
      state.set(`adam_v:${p.name}`, new Array(params.get(p.name)!.length).fill(0));
    }
  }
  const shapes = new Map(tg.params.map((p) => [p.name, p.shape]));
  const losses: number[] = [];
  for (let step = 1; step <= steps; step++) {
    const feed: Feed = { ...batch, lr: { dtype: 'float32', shape: [], data: [lr] }, step: { dtype: 'float32', shape: [], data: [step] } };
    if (tg.usesSeed) feed.seed = { dtype: 'int64', shape: [], data: [step] };
    for (const [k, v] of state) feed[k] = { dtype: 'float32', shape: shapes.get(k.slice(k.indexOf(':') + 1))!, data: v };
    const out = await s.run(feed);
    losses.push(out.loss.data[0]);
    for (const k of state.keys()) {
      const nk = `new_${k}`;
      if (out[nk]) state.set(k, out[nk].data);
    }
  }
  return { losses, state };
}

describe('in-graph AdamW training', () => {
  it('a 1-layer causal transformer (d=32) memorises next tokens of fixed sequences', async () => {
    const B = 4, T = 8, V = 16, D = 32;
    const seqs = [
      [1, 5, 9, 3, 7, 2, 11, 4, 6],
      [2, 8, 8, 1, 14, 3, 9, 0, 5],
      [3, 12, 6, 10, 4, 4, 13, 2, 1],
      [4, 7, 15, 2, 9, 6, 1, 0, 0], // last two targets are padding
    ];
    const tokens = seqs.flatMap((s) => s.slice(0, T));
    const targets = seqs.flatMap((s, i) => s.slice(1).map((t, j) => (i === 3 && j >= 6 ? -100 : t)));
    const padding = seqs.flatMap((_, i) => Array.from({ length: T }, (_, j) => (i === 3 && j >= 7 ? 0 : 1)));
    const tg = buildTrainingGraph((b) => {
      const tok = b.input('tokens', 'int64', [B, T]);
      const tgt = b.input('targets', 'int64', [B, T]);
      const pad = b.input('padding', 'float32', [B, T]);
      let h = nn.positionEmbedding(b, nn.embedding(b, tok, 'tok', V, D, 0.1), 'pos', 0.1);
      h = nn.transformerEncoderLayer(b, h, 'enc.0', { heads: 2, ffn: 64, norm: 'pre' }, nn.attentionBias(b, T, { padding: pad, causal: true }));
      const logits = nn.linear(b, nn.layerNorm(b, h, 'ln_f'), 'head', V);
      const loss = nn.crossEntropy(b, logits, tgt, { ignoreIndex: -100 });
      const acc = b.reduceMean(b.cast(b.equal(b.argmax(logits, -1), tgt), 'float32'));
      return { loss, metrics: { acc } };
    }, { weightDecay: 0.01, clipNorm: 1 });
    expect(tg.batchInputs).toEqual(['tokens', 'targets', 'padding']);
    const { losses } = await train(tg, {
      tokens: { dtype: 'int64', shape: [B, T], data: tokens },
      targets: { dtype: 'int64', shape: [B, T], data: targets },
      padding: { dtype: 'float32', shape: [B, T], data: padding },
    }, 150, 1e-2);
    expect(losses[0]).toBeGreaterThan(2); // ~ln(16) at start
    expect(losses[losses.length - 1]).toBeLessThan(0.05);
  });

  it('a tiny conv net (conv, group norm, max-pool, upsample, transposed conv) learns stripes vs. bars', async () => {
    const N = 8;
    const imgs: number[] = [];
    const labels: number[] = [];
    for (let i = 0; i < N; i++) {
      const vertical = i % 2;
      const phase = i >> 1;
      for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) imgs.push(((vertical ? x : y) + phase) % 4 < 2 ? 1 : -1);
      labels.push(vertical);
    }
    const tg = buildTrainingGraph((b) => {
      const x = b.input('img', 'float32', [N, 1, 8, 8]);
      const t = b.input('label', 'int64', [N]);
      let h = b.relu(nn.groupNorm(b, nn.conv(b, x, 'c1', 4, 3, { padding: 1 }), 'gn', 2));
      h = b.maxPool(h, [2, 2]); // [N,4,4,4]
      h = b.relu(nn.convTranspose(b, b.upsample(h, [2, 2]), 't1', 4, 2, { stride: 2 })); // [N,4,16,16]
      h = b.averagePool(h, [4, 4]); // [N,4,4,4]
      const logits = nn.linear(b, b.reshape(h, [N, 64]), 'fc', 2);
      return { loss: nn.crossEntropy(b, logits, t) };
    }, { weightDecay: 0 });
    const { losses } = await train(tg, {
      img: { dtype: 'float32', shape: [N, 1, 8, 8], data: imgs },
      label: { dtype: 'int64', shape: [N], data: labels },
    }, 60, 1e-2);
    expect(losses[0]).toBeGreaterThan(0.4);
    expect(losses[losses.length - 1]).toBeLessThan(0.05);
  });

  it('one AdamW step equals a reference implementation (bias correction, decoupled decay, clipping)', async () => {
    const tg = buildTrainingGraph((b) => {
      const x = b.input('x', 'float32', [3, 2]);
      const y = b.input('y', 'float32', [3, 1]);
      const w = b.param('w', [2, 1], { init: { kind: 'normal', std: 1 } });
      const c = b.param('c', [1], { init: { kind: 'ones' } });
      const d = b.param('d', [1, 1], { init: { kind: 'normal', std: 1 } }); // c and d: one flat update unit
      return { loss: nn.mse(b, b.add(b.add(b.matmul(x, w), c), b.mul(d, 2)), y) };
    }, { weightDecay: 0.1, clipNorm: 0.5, beta1: 0.8, beta2: 0.9, eps: 1e-6 });
    const X = [1, 2, -1, 0.5, 3, -2];
    const Y = [1, -1, 2];
    const batch: Feed = { x: { dtype: 'float32', shape: [3, 2], data: X }, y: { dtype: 'float32', shape: [3, 1], data: Y } };
    const { losses, state } = await train(tg, batch, 3, 0.05, 7);
    // Reference: the same three steps in plain JS.
    const init = initParams(tg.graph, 7);
    const w = Array.from(init.get('w')!), c = Array.from(init.get('c')!), d = Array.from(init.get('d')!);
    const m = { w: [0, 0], c: [0], d: [0] }, v = { w: [0, 0], c: [0], d: [0] };
    const ref: number[] = [];
    for (let t = 1; t <= 3; t++) {
      const pred = [0, 1, 2].map((i) => X[2 * i] * w[0] + X[2 * i + 1] * w[1] + c[0] + 2 * d[0]);
      const r = pred.map((p, i) => p - Y[i]);
      ref.push(r.reduce((a, e) => a + e * e, 0) / 3);
      const gw = [0, 1].map((j) => r.reduce((a, e, i) => a + (2 / 3) * e * X[2 * i + j], 0));
      const gc = [r.reduce((a, e) => a + (2 / 3) * e, 0)];
      const gd = [2 * gc[0]];
      const norm = Math.sqrt([...gw, ...gc, ...gd].reduce((a, e) => a + e * e, 0));
      const s = Math.min(1, 0.5 / (norm + 1e-6));
      const upd = (p: number[], g: number[], mm: number[], vv: number[], decay: boolean) => p.forEach((_, i) => {
        const gi = g[i] * s;
        mm[i] = 0.8 * mm[i] + 0.2 * gi;
        vv[i] = 0.9 * vv[i] + 0.1 * gi * gi;
        const mh = mm[i] / (1 - 0.8 ** t), vh = vv[i] / (1 - 0.9 ** t);
        p[i] = p[i] * (decay ? 1 - 0.05 * 0.1 : 1) - 0.05 * mh / (Math.sqrt(vh) + 1e-6);
      });
      upd(w, gw, m.w, v.w, true);
      upd(c, gc, m.c, v.c, false); // rank-1 params do not decay by default
      upd(d, gd, m.d, v.d, true);
    }
    losses.forEach((l, i) => expect(l).toBeCloseTo(ref[i], 5));
    state.get('param:w')!.forEach((x, i) => expect(x).toBeCloseTo(w[i], 5));
    expect(state.get('param:c')![0]).toBeCloseTo(c[0], 5);
    expect(state.get('param:d')![0]).toBeCloseTo(d[0], 5);
  });

  it('gradient accumulation (accumulate + apply graphs) equals one step on the whole batch', async () => {
    const model = (rows: number) => (b: import('../../../native-models/graph/index').GraphBuilder) => {
      const x = b.input('x', 'float32', [rows, 2]);
      const w = b.param('w', [2, 2], { init: { kind: 'normal', std: 1 } });
      return { loss: b.reduceSum(b.tanh(b.matmul(x, w))) };
    };
    const X = [0.1, 0.2, -0.3, 0.4, 0.5, -0.6, 0.7, 0.8];
    const full = await train(buildTrainingGraph(model(4)), { x: { dtype: 'float32', shape: [4, 2], data: X } }, 1, 0.1, 3);
    const acc = await load(toOnnx(buildTrainingGraph(model(2), { mode: 'accumulate' }).graph).model);
    const apply = buildTrainingGraph(model(2), { mode: 'apply' });
    const w0 = Array.from(initParams(buildTrainingGraph(model(4)).graph, 3).get('w')!);
    let g = [0, 0, 0, 0];
    for (const half of [X.slice(0, 4), X.slice(4)]) {
      const out = await acc.run({ x: { dtype: 'float32', shape: [2, 2], data: half }, 'param:w': { dtype: 'float32', shape: [2, 2], data: w0 }, 'grad_acc:w': { dtype: 'float32', shape: [2, 2], data: g } });
      g = out['new_grad_acc:w'].data;
    }
    const ap = await load(toOnnx(apply.graph).model);
    const z = { dtype: 'float32' as const, shape: [2, 2], data: [0, 0, 0, 0] };
    const out = await ap.run({ 'param:w': { ...z, data: w0 }, 'adam_m:w': z, 'adam_v:w': z, 'grad_acc:w': { ...z, data: g }, grad_scale: { dtype: 'float32', shape: [], data: [1] }, lr: { dtype: 'float32', shape: [], data: [0.1] }, step: { dtype: 'float32', shape: [], data: [1] } });
    out['new_param:w'].data.forEach((x, i) => expect(x).toBeCloseTo(full.state.get('param:w')![i], 6));
  });
});
