// Behaviour of the ops whose gradients are not finite-difference checkable (RNG, stop-gradient, straight-
// through, RoiAlign) and forward values of composed ops, all run in onnxruntime.
import { describe, expect, it } from 'vitest';
import { buildGraph, GraphBuilder, grad, nn, toOnnx } from '../../../native-models/graph/index';
import type { Graph, Value } from '../../../native-models/graph/index';
import { load } from './run-model';
import type { Feed } from './run-model';

async function run(graph: Graph, feed: Feed = {}) {
  return (await load(toOnnx(graph).model)).run(feed);
}
const seed = (s: number): Feed => ({ seed: { dtype: 'int64', shape: [], data: [s] } });

describe('in-graph seeded RNG', () => {
  const g = buildGraph((b) => ({ u: b.randomUniform([64, 64]), v: b.randomUniform([64, 64]) }));

  it('is reproducible for a seed, differs across seeds and streams, and is uniform on [0,1)', async () => {
    const a = await run(g, seed(5));
    const a2 = await run(g, seed(5));
    const c = await run(g, seed(6));
    expect(a.u.data).toEqual(a2.u.data);
    expect(a.u.data).not.toEqual(c.u.data);
    expect(a.u.data).not.toEqual(a.v.data);
    const u = a.u.data;
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
    const mean = u.reduce((p, q) => p + q, 0) / u.length;
    const variance = u.reduce((p, q) => p + (q - mean) ** 2, 0) / u.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.02);
    expect(Math.abs(variance - 1 / 12)).toBeLessThan(0.01);
    // neighbours are not correlated (a linear-congruential counter would be)
    let cov = 0;
    for (let i = 1; i < u.length; i++) cov += (u[i] - mean) * (u[i - 1] - mean);
    expect(Math.abs(cov / (u.length - 1) / variance)).toBeLessThan(0.05);
  });

  it('dropout keeps about 1-p of the values, scaled by 1/(1-p), reproducibly', async () => {
    const d = buildGraph((b) => ({ y: b.dropout(b.input('x', 'float32', [4096]), 0.25) }));
    const x: Feed = { x: { dtype: 'float32', shape: [4096], data: new Array(4096).fill(2) } };
    const y = (await run(d, { ...x, ...seed(1) })).y.data;
    const kept = y.filter((v) => v !== 0);
    expect(Math.abs(kept.length / 4096 - 0.75)).toBeLessThan(0.03);
    kept.forEach((v) => expect(v).toBeCloseTo(2 / 0.75, 5));
    expect((await run(d, { ...x, ...seed(1) })).y.data).toEqual(y);
    const other = (await run(d, { ...x, ...seed(2) })).y.data;
    const same = other.filter((v, i) => (v === 0) === (y[i] === 0)).length / 4096;
    expect(Math.abs(same - (0.75 ** 2 + 0.25 ** 2))).toBeLessThan(0.03); // independent masks agree by chance only
  });

  it('Gumbel-softmax samples follow softmax(logits); hard samples are one-hot with the soft gradient', async () => {
    const n = 2000;
    const logits = [Math.log(0.6), Math.log(0.3), Math.log(0.1)];
    const g2 = (() => {
      const b = new GraphBuilder();
      const l = b.input('l', 'float32', [n, 3]);
      const y = b.gumbelSoftmax(l, 1, true);
      const [gl] = grad(b, b.reduceSum(b.mul(y, b.constant([1, 2, 3], [3]))), [l]);
      b.output('y', y);
      b.output('gl', gl);
      return b.build();
    })();
    const out = await run(g2, { l: { dtype: 'float32', shape: [n, 3], data: Array.from({ length: n }, () => logits).flat() }, ...seed(3) });
    const counts = [0, 0, 0];
    for (let i = 0; i < n; i++) {
      const row = out.y.data.slice(3 * i, 3 * i + 3);
      expect(row.filter((v) => v === 1).length).toBe(1);
      counts[row.indexOf(1)]++;
    }
    expect(counts[0] / n).toBeCloseTo(0.6, 1);
    expect(counts[2] / n).toBeCloseTo(0.1, 1);
    expect(out.gl.data.some((v) => Math.abs(v) > 1e-4)).toBe(true); // the soft sample's gradient flows
  });
});

describe('gradient-shaping ops', () => {
  it('stopGradient blocks the gradient; straightThrough passes it with the hard forward value', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [3]);
    const [gs] = grad(b, b.reduceSum(b.mul(b.stopGradient(x), x)), [x]); // d/dx (c*x) with c = x held = x
    const ste = b.straightThrough(x, b.cast(b.cast(b.add(x, 0.5), 'int64'), 'float32')); // round() forward
    const [gt] = grad(b, b.reduceSum(b.mul(ste, b.constant([1, 2, 3], [3]))), [x]);
    b.output('gs', gs);
    b.output('ste', ste);
    b.output('gt', gt);
    const out = await run(b.build(), { x: { dtype: 'float32', shape: [3], data: [0.2, 1.7, 2.4] } });
    expect(out.gs.data.map((v) => +v.toFixed(5))).toEqual([0.2, 1.7, 2.4]);
    expect(out.ste.data).toEqual([0, 2, 2]);
    expect(out.gt.data).toEqual([1, 2, 3]);
  });

  it('grad() refuses to differentiate through RoiAlign and names it; RoiAlign computes averages', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [1, 1, 4, 4]);
    const rois = b.constant([0, 0, 2, 2, 1, 1, 4, 4], [2, 4]);
    const bi = b.constant([0, 0], [2], 'int64');
    const y = b.roiAlign(x, rois, bi, { outputHeight: 1, outputWidth: 1, samplingRatio: 2 });
    expect(() => grad(b, b.reduceSum(y), [x])).toThrow(/cannot differentiate through RoiAlign .*inference-only/);
    b.output('y', y);
    const out = await run(b.build(), { x: { dtype: 'float32', shape: [1, 1, 4, 4], data: Array.from({ length: 16 }, (_, i) => i) } });
    // half_pixel: box [0,2]^2 samples pixel centres at 0 and 1 -> mean of x[0..1][0..1] = 2.5
    expect(out.y.shape).toEqual([2, 1, 1, 1]);
    expect(out.y.data[0]).toBeCloseTo(2.5, 4);
    // box [1,4]^2 samples 1.25 and 2.75 on each axis; x is linear (4i+j), so the mean is x at (2,2) = 10
    expect(out.y.data[1]).toBeCloseTo(10, 4);
  });

  it('attention masks: padded keys and future positions get no weight', async () => {
    const g = buildGraph((b) => {
      const q = b.input('q', 'float32', [1, 1, 3, 2]);
      const pad = b.input('pad', 'float32', [1, 3]);
      const bias = nn.attentionBias(b, 3, { padding: pad, causal: true })!;
      const v = b.constant([1, 0, 0, 1, 5, 5], [1, 1, 3, 2]);
      return { o: nn.scaledDotProductAttention(b, q, q, v, bias) };
    });
    const out = await run(g, { q: { dtype: 'float32', shape: [1, 1, 3, 2], data: [1, 2, 3, 4, 5, 6] }, pad: { dtype: 'float32', shape: [1, 3], data: [1, 1, 0] } });
    expect(out.o.data.slice(0, 2)).toEqual([1, 0]); // row 0 sees only key 0
    expect(out.o.data[4] + out.o.data[5]).toBeCloseTo(1, 5); // row 2: key 2 is padding, weights on keys 0,1 only
  });

  it('the fused multi-head op equals per-head scaled dot-product attention, with padding and causal masks', async () => {
    const [B, T, S, D, H] = [2, 4, 5, 6, 3];
    const heads = (b: GraphBuilder, x: Value) => b.transpose(b.reshape(x, [B, x.shape[1], H, D / H]), [0, 2, 1, 3]);
    const g = buildGraph((b) => {
      const q = b.input('q', 'float32', [B, T, D]);
      const k = b.input('k', 'float32', [B, S, D]);
      const v = b.input('v', 'float32', [B, S, D]);
      const keyPad = nn.attentionBias(b, S, { padding: b.input('pad', 'float32', [B, S]) })!; // [B,1,1,S]
      const causal = nn.attentionBias(b, T, { causal: true })!; // [1,1,T,T]
      const fullBias = b.input('bias', 'float32', [B, H, T, T]);
      const ref = (kk: Value, vv: Value, bias: Value) =>
        b.reshape(b.transpose(nn.scaledDotProductAttention(b, heads(b, q), heads(b, kk), heads(b, vv), bias), [0, 2, 1, 3]), [B, T, D]);
      const kT = b.slice(k, [1], [0], [T]);
      const vT = b.slice(v, [1], [0], [T]);
      return {
        cross: b.multiHeadAttention(q, k, v, H, keyPad), crossRef: ref(k, v, keyPad),
        self: b.multiHeadAttention(q, kT, vT, H, causal), selfRef: ref(kT, vT, causal),
        full: b.multiHeadAttention(q, kT, vT, H, fullBias), fullRef: ref(kT, vT, fullBias),
      };
    });
    const r = (n: number) => Array.from({ length: n }, (_, i) => Math.sin(i * 1.7) * 2);
    const out = await run(g, {
      q: { dtype: 'float32', shape: [B, T, D], data: r(B * T * D) },
      k: { dtype: 'float32', shape: [B, S, D], data: r(B * S * D).reverse() },
      v: { dtype: 'float32', shape: [B, S, D], data: r(B * S * D).map((x) => x * 3 + 1) },
      pad: { dtype: 'float32', shape: [B, S], data: [1, 1, 1, 0, 0, 1, 1, 1, 1, 1] },
      bias: { dtype: 'float32', shape: [B, H, T, T], data: r(B * H * T * T).map((x) => x * 2) },
    });
    for (const [a, b] of [['cross', 'crossRef'], ['self', 'selfRef'], ['full', 'fullRef']]) {
      expect(out[a].shape).toEqual([B, T, D]);
      out[a].data.forEach((x, i) => expect(x).toBeCloseTo(out[b].data[i], 5));
    }
  });
});

describe('attention block', () => {
  it('nn.multiHeadAttention gives what the composed block gave with the same stored params (checkpoints stay valid)', async () => {
    const [B, T, D, H] = [2, 3, 4, 2];
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [B, T, D]);
    const bias = nn.attentionBias(b, T, { padding: b.input('pad', 'float32', [B, T]), causal: true })!;
    const y = nn.multiHeadAttention(b, x, 'attn', H, bias);
    // The earlier composition: one QKV product, reshaped to [3,B,H,T,hd] and split; merge; output projection.
    const p = (n: string) => b.params.find((q) => q.value.name === `attn.${n}`)!.value;
    const qkv = b.transpose(b.reshape(b.linear(x, p('qkv.weight'), p('qkv.bias')), [B, T, 3, H, D / H]), [2, 0, 3, 1, 4]);
    const [q, k, v] = b.split(qkv, 0, [1, 1, 1]).map((z) => b.reshape(z, [B, H, T, D / H]));
    const o = b.reshape(b.transpose(nn.scaledDotProductAttention(b, q, k, v, bias), [0, 2, 1, 3]), [B, T, D]);
    b.output('y', y);
    b.output('ref', b.linear(o, p('out.weight'), p('out.bias')));
    const graph = b.build();
    const feed: Feed = {
      x: { dtype: 'float32', shape: [B, T, D], data: Array.from({ length: B * T * D }, (_, i) => Math.cos(i)) },
      pad: { dtype: 'float32', shape: [B, T], data: [1, 1, 0, 1, 1, 1] },
    };
    for (const { value } of graph.params) {
      const n = value.shape.reduce((s, d) => s * d, 1);
      feed[`param:${value.name}`] = { dtype: 'float32', shape: [...value.shape], data: Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + n)) };
    }
    const out = await run(graph, feed);
    out.y.data.forEach((v, i) => expect(v).toBeCloseTo(out.ref.data[i], 5));
  });
});

describe('losses', () => {
  it('cross-entropy with ignore-index and label smoothing matches a direct computation', async () => {
    const L = [[2, 0, -1], [0.5, 0.5, 3], [1, 2, 3]];
    const T = [0, 2, -100];
    const g = buildGraph((b) => ({
      l: nn.crossEntropy(b, b.input('x', 'float32', [3, 3]), b.input('t', 'int64', [3]), { ignoreIndex: -100, labelSmoothing: 0.2 }),
    }));
    const out = await run(g, { x: { dtype: 'float32', shape: [3, 3], data: L.flat() }, t: { dtype: 'int64', shape: [3], data: T } });
    const ref = [0, 1].map((i) => {
      const lse = Math.log(L[i].reduce((p, q) => p + Math.exp(q), 0));
      const logp = L[i].map((v) => v - lse);
      return -0.8 * logp[T[i]] - 0.2 * (logp.reduce((p, q) => p + q, 0) / 3);
    });
    expect(out.l.data[0]).toBeCloseTo((ref[0] + ref[1]) / 2, 5);
  });

  it('linearCrossEntropy (one rule) equals crossEntropy(linear(...)): same params, loss and gradients', async () => {
    // Both graphs declare the same params (head.weight, head.bias), fed as inputs here.
    const feed: Feed = {
      x: { dtype: 'float32', shape: [2, 3, 4], data: Array.from({ length: 24 }, (_, i) => Math.sin(i * 1.7)) },
      t: { dtype: 'int64', shape: [2, 3], data: [0, 4, -100, 2, 2, 1] },
      'param:head.weight': { dtype: 'float32', shape: [4, 5], data: Array.from({ length: 20 }, (_, i) => Math.cos(i * 0.9)) },
      'param:head.bias': { dtype: 'float32', shape: [5], data: [0.1, -0.2, 0.3, 0, 0.5] },
    };
    const build = async (fused: boolean) => {
      const b = new GraphBuilder();
      const x = b.input('x', 'float32', [2, 3, 4]);
      const t = b.input('t', 'int64', [2, 3]);
      const o = { ignoreIndex: -100, labelSmoothing: 0.1 };
      const loss = fused ? nn.linearCrossEntropy(b, x, 'head', 5, t, o) : nn.crossEntropy(b, nn.linear(b, x, 'head', 5), t, o);
      const [dx, dw, db] = grad(b, loss, [x, ...b.params.map((p) => p.value)]);
      for (const [k, v] of Object.entries({ loss, dx, dw, db })) b.output(k, v);
      return (await load(toOnnx(b.build(), { params: { kind: 'inputs' } }).model)).run(feed);
    };
    const [plain, fused] = [await build(false), await build(true)];
    for (const k of ['loss', 'dx', 'dw', 'db']) {
      expect(fused[k].shape).toEqual(plain[k].shape);
      fused[k].data.forEach((v, i) => expect(v).toBeCloseTo(plain[k].data[i], 6));
    }
    expect(plain.db.data.some((v) => v !== 0)).toBe(true);
  });

  it('sigmoid BCE, MSE and InfoNCE give their textbook values', async () => {
    const g = buildGraph((b) => {
      const x = b.input('x', 'float32', [2, 2]);
      const y = b.input('y', 'float32', [2, 2]);
      return { bce: nn.sigmoidBce(b, x, y), mse: nn.mse(b, x, y), nce: nn.infoNce(b, x, y, 0.5) };
    });
    const X = [3, -1, 0.5, 2];
    const Y = [1, 0, 0, 1];
    const out = await run(g, { x: { dtype: 'float32', shape: [2, 2], data: X }, y: { dtype: 'float32', shape: [2, 2], data: Y } });
    const sig = (z: number) => 1 / (1 + Math.exp(-z));
    const bce = X.reduce((p, z, i) => p - (Y[i] * Math.log(sig(z)) + (1 - Y[i]) * Math.log(1 - sig(z))), 0) / 4;
    expect(out.bce.data[0]).toBeCloseTo(bce, 5);
    expect(out.mse.data[0]).toBeCloseTo(X.reduce((p, z, i) => p + (z - Y[i]) ** 2, 0) / 4, 5);
    const norm = (r: number[]) => r.map((v) => v / Math.hypot(...r));
    const a = [norm(X.slice(0, 2)), norm(X.slice(2))];
    const c = [norm(Y.slice(0, 2)), norm(Y.slice(2))];
    const S = a.map((r) => c.map((q) => (r[0] * q[0] + r[1] * q[1]) / 0.5));
    const ce = (M: number[][]) => M.reduce((p, r, i) => p - (r[i] - Math.log(r.reduce((s, v) => s + Math.exp(v), 0))), 0) / 2;
    const ST = S.map((_, i) => S.map((r) => r[i]));
    expect(out.nce.data[0]).toBeCloseTo((ce(S) + ce(ST)) / 2, 5);
  });
});
