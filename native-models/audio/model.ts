// The compact wav2vec 2.0 as graphs (Baevski et al. 2020, scaled down): a strided conv feature encoder on the
// raw 16 kHz waveform, a Transformer context network with a convolutional relative position embedding, span
// masking of the encoder output, a product quantiser with Gumbel-softmax over codebook groups, and the
// contrastive + codebook-diversity losses. Sub-graphs, one function each:
//
//   featureEncoder   audio [B,N]            -> feat [B,T,C]     conv -> LayerNorm(channels) -> GELU, per layer
//   contextNetwork   h [B,T,D], pad [B,T]   -> c [B,T,D]        pos conv (grouped, same-padded) + pre-LN layers
//   quantizerLogits  featN [B,T,C]          -> [B,T,G,V]
//   quantize         logits                 -> one-hot codes and codevectors [B,T,codeDim]
//
// Padding: frames past an utterance's length are zeroed before the position convolution and masked as keys
// in attention, so an utterance's frames are the same padded or not (tested).
import { nn, type GraphBuilder, type ModelOutputs, type Value, type Graph, buildGraph } from '../graph/index';
import { checkConfig, samplesFor, type AudioEncoderConfig } from './config';
import type { GrowRule } from '../train/grow';
import { widenResidual } from './widen';

/** Conv feature encoder: [B,N] samples -> [B,T,C] frames (valid convolutions; T = framesFor(cfg, N)). */
export function featureEncoder(b: GraphBuilder, audio: Value, cfg: AudioEncoderConfig): Value {
  const [bs, n] = audio.shape;
  let x = b.reshape(audio, [bs, 1, n]);
  let t: Value = x;
  cfg.conv.forEach((l, i) => {
    b.scope(`fe.${i}`, () => {
      const cin = x.shape[1];
      const w = b.param('weight', [l.channels, cin, l.kernel], { init: { kind: 'normal', std: Math.sqrt(2 / (cin * l.kernel)) } });
      x = b.conv(x, w, undefined, { strides: [l.stride] });
      t = b.gelu(nn.layerNorm(b, b.transpose(x, [0, 2, 1]), 'ln'));
      if (i < cfg.conv.length - 1) x = b.transpose(t, [0, 2, 1]);
    });
  });
  return t;
}

/**
 * Context network on h [B,T,D] with padding [B,T] (1 = frame, 0 = pad): position conv, Transformer layers.
 * `taps`, when given, receives the Transformer's input (after the position conv and its LayerNorm), then each
 * Transformer layer's output (before the final LayerNorm).
 */
export function contextNetwork(b: GraphBuilder, h: Value, padding: Value, cfg: AudioEncoderConfig, taps?: Value[]): Value {
  const [, t, d] = h.shape;
  let x = b.mul(h, b.unsqueeze(padding, 2));
  const pos = b.scope('pos_conv', () => {
    const k = cfg.posKernel;
    const w = b.param('weight', [d, d / cfg.posGroups, k], { init: { kind: 'normal', std: Math.sqrt(4 / (k * d)) } });
    const bias = b.param('bias', [d], { init: { kind: 'zeros' } });
    const y = b.conv(b.transpose(x, [0, 2, 1]), w, bias, { pads: [k >> 1, k >> 1], group: cfg.posGroups });
    return b.gelu(b.transpose(y, [0, 2, 1]));
  });
  x = nn.layerNorm(b, b.add(x, pos), 'ctx_ln');
  taps?.push(x);
  const bias = nn.attentionBias(b, t, { padding });
  for (let i = 0; i < cfg.layers; i++) {
    x = nn.transformerEncoderLayer(b, x, `ctx.${i}`, { heads: cfg.heads, ffn: cfg.ffn, norm: 'pre' }, bias);
    taps?.push(x);
  }
  return nn.layerNorm(b, x, 'ctx_final_ln');
}

/** What a bigger audio config may add (--set layers=N / ffn=N / dim=N with --init-from): context-network layers,
 * whose attention output and second FFN projections start at zero, so each added pre-LN layer starts as the
 * identity; feed-forward hidden units, whose rows of the second projection start at zero, so they add nothing at
 * first; a residual stream a whole multiple wider, each channel repeated (widen.ts); and the unit-prediction head
 * (--units), which the inference graphs do not use and which always starts fresh (a checkpoint's head is dropped). */
export const AUDIO_GROW_RULE: GrowRule = {
  model: 'audio encoder',
  kind: 'audio-encoder',
  added: /^(ctx\.\d+\.[\w.]+|unit_head\.(weight|bias))$/,
  zeroed: /\.(attn\.out|ffn2)\./,
  addedWhat: 'an added context-network layer or the unit-prediction head',
  // Linear weights are [in, out]: ffn2's new rows read the new hidden units (zero), ffn1's new columns make them.
  widened: { params: /^ctx\.\d+\.ffn[12]\.(weight|bias)$/, what: 'the feed-forward layers (--set ffn=N)', inputAxis: (n) => (n.endsWith('.weight') ? 0 : undefined) },
  // A unit head is never carried over: each warm start's units are a new clustering (or none), so it starts fresh.
  prepare: (from, init) => widenResidual(Object.fromEntries(Object.entries(from).filter(([k]) => !k.startsWith('unit_head.'))), init),
};

/** Codebook logits [B,T,G,V] from the normalised encoder features. */
export function quantizerLogits(b: GraphBuilder, featN: Value, cfg: AudioEncoderConfig): Value {
  const [bs, t] = featN.shape;
  const g = cfg.codebookGroups;
  const v = cfg.codebookEntries;
  // std 0.5: logits of std ~0.5 sqrt(C), sharp enough that Gumbel noise does not decide the codes.
  return b.reshape(nn.linear(b, featN, 'quant.logits', g * v, { std: 0.5 }), [bs, t, g, v]);
}

/**
 * Product quantisation: one entry per group, concatenated. With `tau` (training) the choice is a hard
 * Gumbel-softmax sample (straight-through gradient); without, the argmax (inference, evaluation).
 */
export function quantize(b: GraphBuilder, logits: Value, cfg: AudioEncoderConfig, tau?: Value): { onehot: Value; q: Value } {
  const [bs, t, g, v] = logits.shape;
  let onehot: Value;
  if (tau) {
    const u = b.randomUniform(logits.shape);
    const gumbel = b.neg(b.log(b.add(b.neg(b.log(b.add(u, 1e-10))), 1e-10)));
    const y = b.softmax(b.div(b.add(logits, b.stopGradient(gumbel)), tau), -1);
    const hard = b.cast(b.equal(y, b.reduceMax(y, [-1], true)), 'float32');
    onehot = b.straightThrough(y, hard);
  } else {
    onehot = b.cast(b.equal(logits, b.reduceMax(logits, [-1], true)), 'float32');
  }
  const dg = cfg.codeDim / g;
  const codebook = b.param('quant.codebook', [g, v, dg], { init: { kind: 'normal', std: 1 } });
  const oh = b.transpose(b.reshape(onehot, [bs * t, g, v]), [1, 0, 2]); // [G, BT, V]
  const q = b.transpose(b.matmul(oh, codebook), [1, 0, 2]); // [BT, G, dg]
  return { onehot, q: b.reshape(q, [bs, t, cfg.codeDim]) };
}

/** Shared front of both graphs: encoder features, their normalised form, and the projected frames. */
function encode(b: GraphBuilder, audio: Value, cfg: AudioEncoderConfig): { feat: Value; featN: Value; h: Value } {
  const feat = featureEncoder(b, audio, cfg);
  const featN = nn.layerNorm(b, feat, 'fe_ln');
  return { feat, featN, h: nn.linear(b, featN, 'fe_proj', cfg.dim) };
}

/**
 * The pre-training objective for a batch of `batch` crops of `frames` frames. Inputs:
 *   audio f32 [B, samplesFor(frames)]   padding f32 [B,T] (1 = frame)   mask f32 [B,T] (1 = masked, span masking)
 *   negatives i64 [B*T*K] (flat frame index b*T + t' of each distractor, same utterance)   tau f32 [] (training only)
 *   units i64 [B*T] (only with cfg.unitClasses: each masked frame's unit, -1 elsewhere)
 * Loss = contrastive + diversityWeight * diversity + featurePenalty * mean(feat^2) [+ unitWeight * unit CE].
 */
export function pretrainModel(cfg: AudioEncoderConfig, batch: number, frames: number, train: boolean): (b: GraphBuilder) => ModelOutputs {
  checkConfig(cfg);
  return (b) => {
    const B = batch;
    const T = frames;
    const K = cfg.negatives;
    const F = cfg.finalDim;
    const audio = b.input('audio', 'float32', [B, samplesFor(cfg, T)]);
    const padding = b.input('padding', 'float32', [B, T]);
    const mask = b.input('mask', 'float32', [B, T]);
    const negIdx = b.input('negatives', 'int64', [B * T * K]);
    const tau = train ? b.input('tau', 'float32', []) : undefined;

    const { feat, featN, h } = encode(b, audio, cfg);
    const penalty = b.reduceMean(b.mul(feat, feat));
    const m3 = b.unsqueeze(mask, 2);
    const maskEmb = b.param('mask_emb', [cfg.dim], { init: { kind: 'uniform', bound: 0.5 } });
    const hm = b.add(b.mul(h, b.sub(1, m3)), b.mul(m3, maskEmb));
    const c = contextNetwork(b, hm, padding, cfg);

    const logits = quantizerLogits(b, featN, cfg);
    const { q } = quantize(b, logits, cfg, tau);
    const y = nn.linear(b, q, 'quant.proj', F); // [B,T,F]
    const cp = nn.linear(b, c, 'final_proj', F);
    const negs = b.reshape(b.gather(b.reshape(y, [B * T, F]), negIdx, 0), [B, T, K, F]);
    const yPos = b.unsqueeze(y, 2);
    const cN = b.unsqueeze(nn.l2Normalize(b, cp), 2);
    const simPos = b.div(b.reduceSum(b.mul(cN, nn.l2Normalize(b, yPos)), [-1]), cfg.temperature); // [B,T,1]
    const simNeg = b.div(b.reduceSum(b.mul(cN, nn.l2Normalize(b, negs)), [-1]), cfg.temperature); // [B,T,K]
    const sim = b.concat([simPos, simNeg], 2); // [B,T,K+1], the positive at 0
    // Distractors with the positive's own codes stay in the loss (wav2vec 2.0 drops them, which rewards codebook
    // collapse when compute is short: all codes equal, no distractors, zero loss). Accuracy counts a hit only
    // when the positive beats every distractor with other codes, and there is one.
    const same = b.less(b.reduceSumSquare(b.sub(b.stopGradient(negs), b.stopGradient(yPos)), [-1]), 1e-10);
    const otherBest = b.reduceMax(b.where(same, -1e4, simNeg), [-1], true); // [B,T,1]
    const hitB = b.and(b.greater(simPos, otherBest), b.greater(otherBest, -1e3));
    const logp0 = b.reshape(b.slice(b.logSoftmax(sim, -1), [2], [0], [1]), [B, T]);
    const w = b.mul(mask, padding);
    const nw = b.max(b.reduceSum(w), 1);
    const contrastive = b.div(b.reduceSum(b.mul(b.neg(logp0), w)), nw);
    const hit = b.reshape(b.cast(hitB, 'float32'), [B, T]);
    const accuracy = b.div(b.reduceSum(b.mul(hit, w)), nw);

    // Diversity: perplexity of the batch-averaged (noise-free) code distribution per group.
    const p = b.softmax(logits, -1);
    const pw = b.mul(p, b.reshape(padding, [B, T, 1, 1]));
    const avg = b.div(b.reduceSum(pw, [0, 1]), b.max(b.reduceSum(padding), 1)); // [G,V]
    const perp = b.exp(b.neg(b.reduceSum(b.mul(avg, b.log(b.add(avg, 1e-7))), [-1]))); // [G]
    const gv = cfg.codebookGroups * cfg.codebookEntries;
    const diversity = b.div(b.sub(gv, b.reduceSum(perp)), gv);

    let loss = b.add(b.add(contrastive, b.mul(diversity, cfg.diversityWeight)), b.mul(penalty, cfg.featurePenalty));
    const metrics: Record<string, Value> = { contrastive, accuracy, diversity, perplexity: b.reduceSum(perp), penalty, masked: b.reduceSum(w) };
    const U = cfg.unitClasses ?? 0;
    if (U > 0) {
      // HuBERT-style: the context vector of each masked frame predicts that frame's unit (units.ts); -1 = no target.
      const units = b.input('units', 'int64', [B * T]);
      const unit = nn.linearCrossEntropy(b, b.reshape(c, [B * T, cfg.dim]), 'unit_head', U, units, { ignoreIndex: -1 });
      loss = b.add(loss, b.mul(unit, cfg.unitWeight ?? 1));
      metrics.unit = unit;
    }
    return { loss, metrics };
  };
}

/**
 * Which context-network output(s) an inference graph gives as `frames`: 'features' (the projected conv features,
 * the context network's input), 'input' (the Transformer's input, after the position conv), the output of
 * Transformer layer i (0-based), 'final' (the last layer, normalised), or a list of these, concatenated per frame
 * in the order given (`frames` is then dim x count wide). Probing studies of wav2vec 2.0 find the phonetic content
 * peaks in the middle layers, as the last ones specialise in the contrastive task; all the outputs together carry
 * more than any one of them (README: "Which layers").
 */
export type FrameTap = 'features' | 'input' | 'final' | number;
export type FrameLayer = FrameTap | readonly FrameTap[];

/** The taps of a FrameLayer as a list. */
export function frameTaps(layer: FrameLayer): readonly FrameTap[] {
  return Array.isArray(layer) ? (layer as readonly FrameTap[]) : [layer as FrameTap];
}

/** What a tap is, in words (for the package's description of its outputs). */
export function describeTap(t: FrameTap): string {
  return t === 'final' ? 'last layer, normalised' : t === 'input' ? 'Transformer input' : t === 'features' ? 'projected conv features' : `output of context layer ${t}`;
}

/** Throws unless every tap is 'features', 'input', 'final' or one of the config's Transformer layers, once each. */
export function checkFrameLayer(cfg: AudioEncoderConfig, layer: FrameLayer): FrameLayer {
  const taps = frameTaps(layer);
  if (taps.length === 0) throw new Error('frameLayer lists no layer');
  for (const t of taps) {
    if (t !== 'final' && t !== 'input' && t !== 'features' && !(Number.isInteger(t) && t >= 0 && t < cfg.layers)) {
      throw new Error(`frameLayer must be 'features', 'input', 'final' or a layer from 0 to ${cfg.layers - 1} (or a list of these), got ${String(t)}`);
    }
  }
  if (new Set(taps).size !== taps.length) throw new Error(`frameLayer lists a layer twice: ${taps.join('+')}`);
  return layer;
}

/** A FrameLayer from a command-line value ("final", a layer number, "input", "features", or several joined by "+"). */
export function parseFrameLayer(cfg: AudioEncoderConfig, s: string): FrameLayer {
  const taps = s.split('+').map((t): FrameTap => (t === 'final' || t === 'input' || t === 'features' ? t : /^\d+$/.test(t) ? Number(t) : NaN));
  return checkFrameLayer(cfg, taps.length === 1 ? taps[0] : taps);
}

/** Every context output, concatenated: the Transformer's input, each layer's output, the normalised final output. */
export function allFrameTaps(cfg: AudioEncoderConfig): FrameTap[] {
  return ['input', ...Array.from({ length: cfg.layers }, (_, i) => i), 'final'];
}

/** The command-line form of a FrameLayer ("0+1+final"). */
export function formatFrameLayer(layer: FrameLayer): string {
  return frameTaps(layer).join('+');
}

/** Width of one frame vector: the model width times the number of taps. */
export function frameDim(cfg: AudioEncoderConfig, layer: FrameLayer): number {
  return cfg.dim * frameTaps(layer).length;
}

/**
 * The inference graph for one utterance padded to `frames` frames: inputs audio f32 [1, samplesFor(frames)] and
 * padding f32 [1,T]; outputs `frames` f32 [1,T,frameDim] (context vectors, from `frameLayer`) and `codes` i64 [1,T,G]
 * (codebook entry per group: the speech tokens).
 */
export function inferenceGraph(cfg: AudioEncoderConfig, frames: number, batch = 1, frameLayer: FrameLayer = 'final'): Graph {
  checkConfig(cfg);
  checkFrameLayer(cfg, frameLayer);
  return buildGraph((b) => {
    const audio = b.input('audio', 'float32', [batch, samplesFor(cfg, frames)]);
    const padding = b.input('padding', 'float32', [batch, frames]);
    const { featN, h } = encode(b, audio, cfg);
    const taps: Value[] = [];
    const c = contextNetwork(b, h, padding, cfg, taps);
    const codes = b.argmax(quantizerLogits(b, featN, cfg), -1);
    const out = frameTaps(frameLayer).map((t) => (t === 'final' ? c : t === 'features' ? h : t === 'input' ? taps[0] : taps[t + 1]));
    return { frames: out.length === 1 ? out[0] : b.concat(out, 2), codes };
  });
}
