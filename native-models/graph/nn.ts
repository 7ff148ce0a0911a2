// Reusable model building blocks and losses, written with the builder (so their gradients come from the
// rule table). Param names follow the enclosing b.scope(): `enc.0.attn.q.weight`. Weights are [in, out].
import type { GraphBuilder } from './builder';
import { fmtType } from './ir';
import type { Value } from './ir';

interface LinearOptions { bias?: boolean; std?: number }

/** A linear layer's params in the current scope: weight [in, out] ~ normal(0, std ?? 1/sqrt(in)), bias zeros. */
function linearParams(b: GraphBuilder, inDim: number, out: number, o: LinearOptions): { w: Value; bias?: Value } {
  const w = b.param('weight', [inDim, out], { init: { kind: 'normal', std: o.std ?? 1 / Math.sqrt(inDim) } });
  return { w, bias: o.bias === false ? undefined : b.param('bias', [out], { init: { kind: 'zeros' } }) };
}

/** y = x@W + b with W [in, out] (normal(0, std) init, std default 1/sqrt(in)). */
export function linear(b: GraphBuilder, x: Value, name: string, out: number, o: LinearOptions = {}): Value {
  return b.scope(name, () => {
    const { w, bias } = linearParams(b, x.shape[x.shape.length - 1], out, o);
    return b.linear(x, w, bias);
  });
}

/**
 * Several linear maps of x stored as ONE [in, sum(sizes)] weight and bias (the params `linear(b, x, name, sum)`
 * has), computed as one product per column block: y_i = x@W[:, block_i] + b[block_i]. Same result as splitting
 * linear()'s output, without copying it apart; with constant weights onnxruntime folds the slices at load.
 */
export function linearSplit(b: GraphBuilder, x: Value, name: string, sizes: readonly number[], o: LinearOptions = {}): Value[] {
  return b.scope(name, () => {
    const { w, bias } = linearParams(b, x.shape[x.shape.length - 1], sizes.reduce((p, q) => p + q, 0), o);
    let at = 0;
    return sizes.map((n) => {
      const [s, e] = [at, (at += n)];
      return b.linear(x, b.slice(w, [1], [s], [e]), bias && b.slice(bias, [0], [s], [e]));
    });
  });
}

/** LayerNorm over the last axis with learned scale (ones) and bias (zeros). */
export function layerNorm(b: GraphBuilder, x: Value, name: string, eps = 1e-5): Value {
  const d = x.shape[x.shape.length - 1];
  return b.scope(name, () => b.layerNorm(x, b.param('weight', [d], { init: { kind: 'ones' } }), b.param('bias', [d], { init: { kind: 'zeros' } }), eps));
}

/**
 * GroupNorm on [N,C,...] (per sample, over each group of C/groups channels and all positions) with learned
 * per-channel scale (ones) and bias (zeros). Runs on the LayerNormalization kernel over a [N,G,rest] view.
 */
export function groupNorm(b: GraphBuilder, x: Value, name: string, groups: number, eps = 1e-5): Value {
  const [n, c, ...sp] = x.shape;
  if (c % groups !== 0) throw new Error(`${c} channels do not split into ${groups} groups`);
  const rest = (c / groups) * sp.reduce((p, q) => p * q, 1);
  const one = b.expand(b.scalar(1, x.dtype), [rest]);
  const zero = b.expand(b.scalar(0, x.dtype), [rest]);
  const normed = b.reshape(b.layerNorm(b.reshape(x, [n, groups, rest]), one, zero, eps), x.shape);
  const cshape = [c, ...sp.map(() => 1)];
  return b.scope(name, () => b.add(b.mul(normed, b.reshape(b.param('weight', [c], { init: { kind: 'ones' } }), cshape)),
    b.reshape(b.param('bias', [c], { init: { kind: 'zeros' } }), cshape)));
}

/** Token embedding table [vocab, dim]; ids int64 [...] -> [..., dim]. */
export function embedding(b: GraphBuilder, ids: Value, name: string, vocab: number, dim: number, std = 0.02): Value {
  return b.gather(b.param(`${name}.weight`, [vocab, dim], { init: { kind: 'normal', std } }), ids, 0);
}

/** x [B,T,D] plus a learned position table [T,D] (normal(0, std)). */
export function positionEmbedding(b: GraphBuilder, x: Value, name: string, std = 0.02): Value {
  const [, t, d] = x.shape;
  return b.add(x, b.param(`${name}.weight`, [t, d], { init: { kind: 'normal', std } }));
}

/**
 * Additive attention bias [B,1,T,T] or [1,1,T,T]: 0 where attention is allowed, -1e9 where not.
 * `padding` is f32 [B,T] (1 = real token, 0 = pad, masking keys); `causal` forbids attending to later positions.
 */
export function attentionBias(b: GraphBuilder, t: number, o: { padding?: Value; causal?: boolean }): Value | undefined {
  let bias: Value | undefined;
  if (o.causal) {
    const data = new Array<number>(t * t);
    for (let i = 0; i < t; i++) for (let j = 0; j < t; j++) data[i * t + j] = j > i ? -1e9 : 0;
    bias = b.constant(data, [1, 1, t, t]);
  }
  if (o.padding) {
    const [bs, tt] = o.padding.shape;
    if (tt !== t) throw new Error(`padding mask ${fmtType(o.padding)} does not match sequence length ${t}`);
    const pad = b.reshape(b.mul(b.sub(1, o.padding), -1e9), [bs, 1, 1, t]);
    bias = bias ? b.add(bias, pad) : pad;
  }
  return bias;
}

/** softmax(q@k^T/sqrt(d) + bias)@v for q,k,v [B,H,T,d]. */
export function scaledDotProductAttention(b: GraphBuilder, q: Value, k: Value, v: Value, bias?: Value): Value {
  const d = q.shape[q.shape.length - 1];
  let s = b.matmul(b.mul(q, 1 / Math.sqrt(d)), b.transpose(k, [0, 1, 3, 2]));
  if (bias) s = b.add(s, bias);
  return b.matmul(b.softmax(s, -1), v);
}

/**
 * Multi-head attention on x [B,T,D]. Self-attention (memory omitted) uses one fused QKV projection;
 * cross-attention takes queries from x and keys/values from memory [B,S,Dm] (one fused KV projection).
 * `bias` is [B|1, 1, T|1, S] (see attentionBias). The heads' attention itself is one op (b.multiHeadAttention,
 * a single kernel in onnxruntime), so no [B,H,T,hd] transposes are materialised in the forward pass.
 */
export function multiHeadAttention(b: GraphBuilder, x: Value, name: string, nHeads: number, bias?: Value, memory?: Value): Value {
  const d = x.shape[x.shape.length - 1];
  if (d % nHeads !== 0) throw new Error(`model width ${d} is not divisible by ${nHeads} heads`);
  return b.scope(name, () => {
    let q: Value, k: Value, v: Value;
    if (!memory) [q, k, v] = linearSplit(b, x, 'qkv', [d, d, d]); // [B,T,D] each
    else {
      q = linear(b, x, 'q', d);
      [k, v] = linearSplit(b, memory, 'kv', [d, d]);
    }
    return linear(b, b.multiHeadAttention(q, k, v, nHeads, bias), 'out', d);
  });
}

export interface EncoderLayerOptions {
  heads: number;
  ffn: number;
  /** 'post' (original transformer/BERT: x = LN(x + f(x))) or 'pre' (x = x + f(LN(x))). Default 'post'. */
  norm?: 'post' | 'pre';
  dropout?: number;
  activation?: 'gelu' | 'relu';
}

/** The pieces both transformer layers share: residual dropout and the position-wise FFN (d -> ffn -> d). */
function layerParts(b: GraphBuilder, o: EncoderLayerOptions, d: number) {
  const act = (z: Value) => (o.activation === 'relu' ? b.relu(z) : b.gelu(z));
  const drop = (z: Value) => b.dropout(z, o.dropout ?? 0);
  const ffn = (z: Value) => linear(b, drop(act(linear(b, z, 'ffn1', o.ffn))), 'ffn2', d);
  return { drop, ffn };
}

/** One transformer encoder layer on x [B,T,D]; `bias` from attentionBias(). */
export function transformerEncoderLayer(b: GraphBuilder, x: Value, name: string, o: EncoderLayerOptions, bias?: Value): Value {
  const { drop, ffn } = layerParts(b, o, x.shape[x.shape.length - 1]);
  return b.scope(name, () => {
    if (o.norm === 'pre') {
      const h = b.add(x, drop(multiHeadAttention(b, layerNorm(b, x, 'ln1'), 'attn', o.heads, bias)));
      return b.add(h, drop(ffn(layerNorm(b, h, 'ln2'))));
    }
    const h = layerNorm(b, b.add(x, drop(multiHeadAttention(b, x, 'attn', o.heads, bias))), 'ln1');
    return layerNorm(b, b.add(h, drop(ffn(h))), 'ln2');
  });
}

/**
 * One transformer decoder layer on x [B,T,D]: causal (or masked) self-attention, cross-attention to memory
 * [B,S,Dm], FFN. `selfBias` from attentionBias(b, T, { causal: true, padding }), `memoryBias` masks memory keys.
 */
export function transformerDecoderLayer(b: GraphBuilder, x: Value, memory: Value, name: string, o: EncoderLayerOptions,
  selfBias?: Value, memoryBias?: Value): Value {
  const { drop, ffn } = layerParts(b, o, x.shape[x.shape.length - 1]);
  return b.scope(name, () => {
    if (o.norm === 'pre') {
      let h = b.add(x, drop(multiHeadAttention(b, layerNorm(b, x, 'ln1'), 'self_attn', o.heads, selfBias)));
      h = b.add(h, drop(multiHeadAttention(b, layerNorm(b, h, 'ln2'), 'cross_attn', o.heads, memoryBias, memory)));
      return b.add(h, drop(ffn(layerNorm(b, h, 'ln3'))));
    }
    let h = layerNorm(b, b.add(x, drop(multiHeadAttention(b, x, 'self_attn', o.heads, selfBias))), 'ln1');
    h = layerNorm(b, b.add(h, drop(multiHeadAttention(b, h, 'cross_attn', o.heads, memoryBias, memory))), 'ln2');
    return layerNorm(b, b.add(h, drop(ffn(h))), 'ln3');
  });
}

/** Convolution options of the conv layers (defaults: stride 1, no padding, group 1, dilation 1, bias). */
export interface ConvLayerOptions { stride?: number; padding?: number; dilation?: number; groups?: number; bias?: boolean }

/**
 * Conv layer on [N,C,L] or [N,C,H,W] with a square kernel; weight [out, C/groups, k...] (He-normal init),
 * bias [out].
 */
export function conv(b: GraphBuilder, x: Value, name: string, out: number, kernel: number, o: ConvLayerOptions = {}): Value {
  const r = x.shape.length - 2;
  const g = o.groups ?? 1;
  const cin = x.shape[1];
  const k = new Array<number>(r).fill(kernel);
  return b.scope(name, () => {
    const w = b.param('weight', [out, cin / g, ...k], { init: { kind: 'normal', std: Math.sqrt(2 / ((cin / g) * kernel ** r)) } });
    const bias = o.bias === false ? undefined : b.param('bias', [out], { init: { kind: 'zeros' } });
    const p = o.padding ?? 0;
    return b.conv(x, w, bias, { strides: k.map(() => o.stride ?? 1), pads: [...k, ...k].map(() => p), dilations: k.map(() => o.dilation ?? 1), group: g });
  });
}

/** Transposed conv layer (upsampling) on [N,C,H,W]; weight [C, out/groups, k, k]. */
export function convTranspose(b: GraphBuilder, x: Value, name: string, out: number, kernel: number, o: ConvLayerOptions & { outputPadding?: number } = {}): Value {
  const r = x.shape.length - 2;
  const g = o.groups ?? 1;
  const k = new Array<number>(r).fill(kernel);
  return b.scope(name, () => {
    const w = b.param('weight', [x.shape[1], out / g, ...k], { init: { kind: 'normal', std: Math.sqrt(1 / (x.shape[1] * kernel ** r)) } });
    const bias = o.bias === false ? undefined : b.param('bias', [out], { init: { kind: 'zeros' } });
    const p = o.padding ?? 0;
    return b.convTranspose(x, w, bias, {
      strides: k.map(() => o.stride ?? 1), pads: [...k, ...k].map(() => p), dilations: k.map(() => o.dilation ?? 1), group: g,
      outputPadding: k.map(() => o.outputPadding ?? 0),
    });
  });
}

/** Two-layer MLP: linear -> GELU (or ReLU) -> linear. */
export function mlp(b: GraphBuilder, x: Value, name: string, hidden: number, out: number, activation: 'gelu' | 'relu' = 'gelu'): Value {
  return b.scope(name, () => {
    const h = linear(b, x, 'fc1', hidden);
    return linear(b, activation === 'relu' ? b.relu(h) : b.gelu(h), 'fc2', out);
  });
}

// ---- losses (scalars, averaged) ----------------------------------------------------------------------------

/**
 * Mean cross-entropy of logits [..., V] against int64 targets [...]. Targets equal to `ignoreIndex` count
 * neither in the sum nor the mean; label smoothing eps mixes the one-hot target with the uniform distribution:
 * loss_i = -(1-eps)*logp_i[t_i] - eps*mean_v(logp_i[v]).
 */
export function crossEntropy(b: GraphBuilder, logits: Value, targets: Value, o: CrossEntropyOptions = {}): Value {
  const V = logits.shape[logits.shape.length - 1];
  if (targets.shape.join() !== logits.shape.slice(0, -1).join()) throw new Error(`targets ${fmtType(targets)} must be logits ${fmtType(logits)} without the last axis`);
  const flat = b.reshape(logits, [-1, V]);
  return meanOverTargets(b, targets, logits.dtype, o, (t) => b.softmaxCrossEntropy(flat, t, o.labelSmoothing ?? 0));
}

export interface CrossEntropyOptions { ignoreIndex?: number; labelSmoothing?: number }

/**
 * An output layer over `vocab` classes and its mean cross-entropy: crossEntropy(linear(x, name, vocab), targets)
 * with the same params (`name.weight` [in, vocab], `name.bias`) and the same value, as one rule
 * (LinearSoftmaxCrossEntropy), whose gradient skips the [N,vocab] bias and row-scale passes. For training losses
 * of big vocabulary heads; x [..., in], targets [...].
 */
export function linearCrossEntropy(b: GraphBuilder, x: Value, name: string, vocab: number, targets: Value, o: CrossEntropyOptions & LinearOptions = {}): Value {
  const K = x.shape[x.shape.length - 1];
  if (targets.shape.join() !== x.shape.slice(0, -1).join()) throw new Error(`targets ${fmtType(targets)} must be x ${fmtType(x)} without the last axis`);
  return b.scope(name, () => {
    const { w, bias } = linearParams(b, K, vocab, o);
    const flat = b.reshape(x, [-1, K]);
    return meanOverTargets(b, targets, x.dtype, o, (t) => b.linearSoftmaxCrossEntropy(flat, w, t, bias, o.labelSmoothing ?? 0));
  });
}

/** Mean of per-row losses (`perRow` of the flattened targets), leaving out targets equal to o.ignoreIndex. */
function meanOverTargets(b: GraphBuilder, targets: Value, dtype: Value['dtype'], o: CrossEntropyOptions, perRow: (t: Value) => Value): Value {
  let t = b.reshape(targets, [-1]);
  let valid: Value | undefined;
  if (o.ignoreIndex !== undefined) {
    const keep = b.not(b.equal(t, b.scalar(o.ignoreIndex, t.dtype)));
    valid = b.cast(keep, dtype);
    t = b.where(keep, t, b.scalar(0, t.dtype));
  }
  const per = perRow(t); // [n]
  if (!valid) return b.reduceMean(per);
  return b.div(b.reduceSum(b.mul(per, valid)), b.max(b.reduceSum(valid), 1));
}

/** Mean squared error. */
export function mse(b: GraphBuilder, pred: Value, target: Value): Value {
  const d = b.sub(pred, target);
  return b.reduceMean(b.mul(d, d));
}

/** Mean smooth-L1 (Huber) loss: 0.5*d^2/beta where |d| < beta, |d| - 0.5*beta elsewhere (box regression). */
export function smoothL1(b: GraphBuilder, pred: Value, target: Value, beta = 1): Value {
  const d = b.abs(b.sub(pred, target));
  return b.reduceMean(b.where(b.less(d, beta), b.mul(b.mul(d, d), 0.5 / beta), b.sub(d, 0.5 * beta)));
}

/** Mean binary cross-entropy with logits, stable form: max(x,0) - x*y + log(1 + exp(-|x|)). */
export function sigmoidBce(b: GraphBuilder, logits: Value, targets: Value): Value {
  const l = b.add(b.sub(b.relu(logits), b.mul(logits, targets)), b.log(b.add(b.exp(b.neg(b.abs(logits))), 1)));
  return b.reduceMean(l);
}

/** Rows scaled to unit L2 norm (eps keeps zero rows finite). */
export function l2Normalize(b: GraphBuilder, x: Value, eps = 1e-8): Value {
  return b.div(x, b.sqrt(b.add(b.reduceSumSquare(x, [-1], true), eps)));
}

/**
 * Symmetric cosine InfoNCE (CLIP's loss) for paired rows a [N,D], c [N,D]: logits = cos(a_i, c_j)/temperature,
 * cross-entropy towards the diagonal in both directions, averaged.
 */
export function infoNce(b: GraphBuilder, a: Value, c: Value, temperature: number | Value): Value {
  const n = a.shape[0];
  const logits = b.div(b.matmul(l2Normalize(b, a), b.transpose(l2Normalize(b, c), [1, 0])), temperature);
  const diag = b.constant(Array.from({ length: n }, (_, i) => i), [n], 'int64');
  const l1 = crossEntropy(b, logits, diag);
  const l2 = crossEntropy(b, b.transpose(logits, [1, 0]), diag);
  return b.mul(b.add(l1, l2), 0.5);
}
