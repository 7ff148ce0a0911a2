// The image tokenizer (OPT's image decoder, stage 1): a VQ-VAE that maps a 64x64 RGB image to an 8x8 grid of
// codebook ids and back. One file for the model: config, encoder, decoder, the vector quantiser with its EMA
// codebook and dead-code restarts (computed in the training graph as extra carried outputs), and the two
// exported inference graphs `encode` and `decode`. Why VQ-VAE and not DALL-E's Gumbel dVAE: see README.md.
import { GraphBuilder, buildTrainingGraph, nn, type TrainingGraph, type Value } from '../graph/index';
import { gaussian } from './metrics';
import type { GrowRule } from '../train/grow';
import type { Tensor } from '../runtime/index';

/** Model size and quantiser settings; stored in the package's component config. */
export interface DvaeConfig {
  /** Input side in pixels (square RGB). */
  imageSize: number;
  /** Code grid side (imageSize / 2^stages). */
  grid: number;
  /** Codebook entries. */
  codebookSize: number;
  /** Width of a code vector (low-dimensional lookup keeps codes in use). */
  codeDim: number;
  /** Channels after each stride-2 stage, from full resolution down (3 stages: 64 -> 32 -> 16 -> 8). */
  channels: number[];
  /** Residual blocks at the code resolution, in the encoder and again in the decoder. */
  resBlocks: number;
  /**
   * Residual blocks at each intermediate resolution (32 and 16 px for a 64 px image), after every stride-2
   * conv but the last in the encoder and after every transposed conv but the last in the decoder. Absent = 0
   * (packages trained before the field existed).
   */
  stageBlocks?: number;
  /**
   * Transformer layers over the code grid (pre-LN self-attention across all G x G cells plus a learned position
   * table, see gridAttention), after the code-resolution residual blocks in the encoder and in the decoder: they
   * give each code the whole image as context (backgrounds are global patterns that 3x3 convs only see a few
   * cells of). Absent = 0 (packages trained before the field existed).
   */
  attnBlocks?: number;
  /**
   * Residual blocks at full resolution (64 px) in a refinement branch of the decoder: a second transposed conv
   * from the last intermediate stage to `channels[0] / 2` channels at full resolution, these blocks, and a 1x1
   * conv to RGB added to the main output (which draws 64 px straight from 32 px features with one transposed
   * conv). Absent = 0: no branch (packages trained before the field existed).
   */
  outBlocks?: number;
  /**
   * Weight of an SSIM term in the training loss: MSE + ssimWeight * (1 - SSIM(recon, image)), SSIM as the
   * evaluation computes it (11x11 Gaussian window, per channel). Absent = 0 (MSE only).
   */
  ssimWeight?: number;
  /** Commitment loss weight (VQ-VAE's beta). */
  beta: number;
  /** EMA decay of codebook statistics. */
  decay: number;
  /** A code whose EMA count (uses per batch) falls below this is restarted at a random encoder output. */
  deadThreshold: number;
}

/** The default: 1024 codes on an 8x8 grid of a 64x64 image, sized for a CPU budget. */
export const DEFAULT_CONFIG: DvaeConfig = {
  imageSize: 64, grid: 8, codebookSize: 1024, codeDim: 32, channels: [64, 96, 128], resBlocks: 2, stageBlocks: 1, attnBlocks: 2,
  beta: 0.25, decay: 0.99, deadThreshold: 0.03,
};

/** A few-second config for tests: same structure, tiny widths. */
export const TINY_CONFIG: DvaeConfig = {
  imageSize: 64, grid: 8, codebookSize: 32, codeDim: 16, channels: [16, 24, 32], resBlocks: 1,
  beta: 0.25, decay: 0.9, deadThreshold: 0.05,
};

/** Pixels are fed as (rgb/255 - 0.5): centred, and the decoder's output + 0.5 is the image. */
export const PIXEL_OFFSET = 0.5;

/** What a bigger dVAE config may add: residual blocks (stageBlocks, resBlocks), grid transformer layers with their
 * position table (attnBlocks) and the decoder's full-resolution branch (outBlocks); each block's last conv, each
 * layer's output projections, the table and the branch's RGB conv start at zero. And what it may widen: the
 * channels of the stages above the code grid, the new channels feeding nothing at first; and the codebook
 * (growCodebook). */
export const DVAE_GROW_RULE: GrowRule = {
  model: 'dvae',
  kind: 'dvae',
  added: /(\.res\d+\.conv[12]|\.attn\d+\.[\w.]+|\.pos|\.out\.(up|rgb))\.(weight|bias)$/,
  zeroed: /(\.conv2\.|\.attn\.out\.|\.ffn2\.|\.pos\.|\.out\.rgb\.)/,
  addedWhat: 'an added residual block, grid transformer layer or full-resolution branch',
  // Wider convolution stages above the code grid (channels[0..-2], and the full-resolution branch with channels[0]):
  // no normalisation spans their channels, so new channels that feed nothing at first keep the model's function.
  // Conv weights are [out, in, k, k], transposed-conv weights (up*) [in, out, k, k].
  widened: {
    params: /^(enc\.(down\d+|stage\d+\.res\d+\.conv[12])|dec\.(up\d+|stage\d+\.res\d+\.conv[12]|out\.(up|rgb|res\d+\.conv[12])))\.(weight|bias)$/,
    what: 'the convolution stages above the 8x8 grid (every channels entry but the last)',
    inputAxis: (n) => (!n.endsWith('.weight') ? undefined : /(^dec\.up\d+|\.out\.up)\.weight$/.test(n) ? 0 : 1),
  },
  prepare: growCodebook,
  fromPackage: withVqStatistics,
};

/**
 * A model package's dVAE holds its codebook but not the EMA statistics training keeps beside it: they are rebuilt as
 * a count of one use per batch for every code (the mean is two at the default batch: 32 images x 64 codes over 1024
 * codes), each sum the entry itself, so the codebook is unchanged and then follows the encoder as in any run.
 */
function withVqStatistics(from: Record<string, Tensor>): Record<string, Tensor> {
  const cb = from['vq.codebook'];
  if (!cb) return from;
  return {
    ...from,
    'vq.ema_count': { dtype: 'float32', dims: [cb.dims[0]], data: new Float32Array(cb.dims[0]).fill(1) },
    'vq.ema_sum': { dtype: 'float32', dims: [...cb.dims], data: Float32Array.from(cb.data as Float32Array) },
  };
}

/**
 * A bigger codebook (--codebook K with --init-from): the checkpoint's codes keep their ids; each new entry starts
 * as a copy of an old one (so it decodes the same and nothing changes at first) with an EMA count of zero, so
 * the first training step restarts it at an encoder output of that batch (the dead-code rule), and from then on
 * it is a code of its own.
 */
function growCodebook(from: Record<string, Tensor>, init: Record<string, Tensor>): Record<string, Tensor> {
  const cb = from['vq.codebook'];
  const k1 = init['vq.codebook']?.dims[0];
  if (!cb || k1 === undefined || cb.dims[0] === k1) return from;
  const [k0, dim] = cb.dims;
  if (!from['vq.ema_count'] || !from['vq.ema_sum']) throw new Error('dvae warm start: the checkpoint has a codebook but no EMA statistics (vq.ema_count, vq.ema_sum), so it cannot grow');
  if (k1 < k0 || init['vq.codebook'].dims[1] !== dim) throw new Error(`dvae warm start: the codebook can only grow (checkpoint ${k0} x ${dim}, this config ${k1} x ${init['vq.codebook'].dims[1]})`);
  const old = cb.data as Float32Array;
  const codebook = new Float32Array(k1 * dim);
  for (let k = 0; k < k1; k++) codebook.set(old.subarray((k % k0) * dim, (k % k0 + 1) * dim), k * dim);
  const count = new Float32Array(k1);
  count.set(from['vq.ema_count'].data as Float32Array);
  const sum = new Float32Array(k1 * dim);
  sum.set(from['vq.ema_sum'].data as Float32Array);
  return {
    ...from,
    'vq.codebook': { dtype: 'float32', dims: [k1, dim], data: codebook },
    'vq.ema_count': { dtype: 'float32', dims: [k1], data: count },
    'vq.ema_sum': { dtype: 'float32', dims: [k1, dim], data: sum },
  };
}

/** The config with its optional block counts filled in (absent = 0: packages and checkpoints from before them). */
export function withBlockDefaults(c: DvaeConfig): DvaeConfig & { stageBlocks: number; attnBlocks: number; outBlocks: number } {
  return { ...c, stageBlocks: c.stageBlocks ?? 0, attnBlocks: c.attnBlocks ?? 0, outBlocks: c.outBlocks ?? 0 };
}

/** Checks a config's internal consistency, naming what is wrong. */
export function checkConfig(c: DvaeConfig): DvaeConfig {
  const stages = c.channels.length;
  if (c.imageSize !== c.grid * 2 ** stages) {
    throw new Error(`dvae config: imageSize ${c.imageSize} must be grid ${c.grid} * 2^${stages} (one stride-2 stage per channels entry)`);
  }
  if (!(Number.isInteger(c.codebookSize) && c.codebookSize >= 2)) throw new Error(`dvae config: codebookSize must be an integer >= 2, got ${c.codebookSize}`);
  const full = withBlockDefaults(c);
  for (const k of ['resBlocks', 'stageBlocks', 'attnBlocks', 'outBlocks'] as const) {
    if (!(Number.isInteger(full[k]) && full[k] >= 0)) throw new Error(`dvae config: ${k} must be a whole number >= 0, got ${full[k]}`);
  }
  if (full.attnBlocks > 0 && c.channels[c.channels.length - 1] % GRID_ATTN_HEADS !== 0) {
    throw new Error(`dvae config: ${c.channels[c.channels.length - 1]} code-resolution channels do not split into ${GRID_ATTN_HEADS} attention heads`);
  }
  if (full.outBlocks > 0 && c.channels[0] % 2 !== 0) throw new Error(`dvae config: the full-resolution branch (outBlocks) uses channels[0] / 2 channels; ${c.channels[0]} is odd`);
  if (!(c.decay > 0 && c.decay < 1)) throw new Error(`dvae config: decay must be in (0,1), got ${c.decay}`);
  if (c.ssimWeight !== undefined && !(c.ssimWeight >= 0)) throw new Error(`dvae config: ssimWeight must be >= 0, got ${c.ssimWeight}`);
  return c;
}

const he = (fanIn: number, gain = 1) => ({ init: { kind: 'normal' as const, std: gain * Math.sqrt(2 / fanIn) } });

/** k x k convolution (stride s, 'same'-style padding for stride 1, halving for stride 2 with k=4). */
function conv(b: GraphBuilder, x: Value, name: string, out: number, k: number, stride = 1, gain = 1): Value {
  const cin = x.shape[1];
  return b.scope(name, () => {
    const w = b.param('weight', [out, cin, k, k], he(cin * k * k, gain));
    const bias = b.param('bias', [out]);
    const p = stride === 1 ? (k - 1) / 2 : (k - stride) / 2;
    return b.conv(x, w, bias, { strides: [stride, stride], pads: [p, p, p, p] });
  });
}

/** 4x4 stride-2 transposed convolution: doubles the spatial size. */
function upconv(b: GraphBuilder, x: Value, name: string, out: number): Value {
  const cin = x.shape[1];
  return b.scope(name, () => {
    const w = b.param('weight', [cin, out, 4, 4], he(cin * 4, 1));
    const bias = b.param('bias', [out]);
    return b.convTranspose(x, w, bias, { strides: [2, 2], pads: [1, 1, 1, 1] });
  });
}

/** x + conv1x1(relu(conv3x3(relu(x)))); the last conv starts small so each block begins near identity
 * (a warm start from a model without the block zeroes it, so the block starts as the identity: DVAE_GROW_RULE). */
function resBlock(b: GraphBuilder, x: Value, name: string): Value {
  const c = x.shape[1];
  return b.scope(name, () => {
    const h = conv(b, b.relu(x), 'conv1', c, 3);
    return b.add(x, conv(b, b.relu(h), 'conv2', c, 1, 1, 0.1));
  });
}

/** Heads of the grid transformer layers (width = the code-resolution channels; FFN twice that). */
export const GRID_ATTN_HEADS = 4;

/**
 * `n` pre-LN transformer layers over the cells of h [B,C,G,G]: [B,G*G,C] tokens plus a learned position table
 * (`pos`, row-major cells), back to [B,C,G,G]. A warm start zeroes the table and each layer's two output
 * projections (DVAE_GROW_RULE), so added layers start as the identity.
 */
function gridAttention(b: GraphBuilder, h: Value, n: number): Value {
  if (n === 0) return h;
  const [bs, ch, g] = h.shape;
  let x = b.transpose(b.reshape(h, [bs, ch, g * g]), [0, 2, 1]);
  x = nn.positionEmbedding(b, x, 'pos');
  for (let i = 0; i < n; i++) x = nn.transformerEncoderLayer(b, x, `attn${i}`, { heads: GRID_ATTN_HEADS, ffn: 2 * ch, norm: 'pre' });
  return b.reshape(b.transpose(x, [0, 2, 1]), [bs, ch, g, g]);
}

/** Encoder: image [B,3,S,S] (centred) -> pre-quantisation vectors [B,D,G,G]. */
export function encoder(b: GraphBuilder, x: Value, config: DvaeConfig): Value {
  const c = withBlockDefaults(config);
  return b.scope('enc', () => {
    let h = x;
    c.channels.forEach((ch, i) => {
      h = conv(b, i === 0 ? h : b.relu(h), `down${i}`, ch, 4, 2);
      if (i < c.channels.length - 1) for (let j = 0; j < c.stageBlocks; j++) h = resBlock(b, h, `stage${i}.res${j}`);
    });
    for (let i = 0; i < c.resBlocks; i++) h = resBlock(b, h, `res${i}`);
    h = gridAttention(b, h, c.attnBlocks);
    return conv(b, b.relu(h), 'proj', c.codeDim, 1);
  });
}

/** Decoder: code vectors [B,D,G,G] -> image [B,3,S,S] (centred, unclamped). */
export function decoder(b: GraphBuilder, z: Value, config: DvaeConfig): Value {
  const c = withBlockDefaults(config);
  return b.scope('dec', () => {
    const top = c.channels[c.channels.length - 1];
    let h = conv(b, z, 'proj', top, 1);
    for (let i = 0; i < c.resBlocks; i++) h = resBlock(b, h, `res${i}`);
    h = gridAttention(b, h, c.attnBlocks);
    for (let i = c.channels.length - 1; i >= 1; i--) {
      h = upconv(b, b.relu(h), `up${i}`, c.channels[i - 1]);
      for (let j = 0; j < c.stageBlocks; j++) h = resBlock(b, h, `stage${i - 1}.res${j}`);
    }
    const rgb = upconv(b, b.relu(h), 'up0', 3);
    if (c.outBlocks === 0) return rgb;
    // Full-resolution refinement: its last conv starts small (zeroed on a warm start, so the branch adds nothing yet).
    let r = upconv(b, b.relu(h), 'out.up', c.channels[0] / 2);
    for (let j = 0; j < c.outBlocks; j++) r = resBlock(b, r, `out.res${j}`);
    return b.add(rgb, conv(b, b.relu(r), 'out.rgb', 3, 1, 1, 0.1));
  });
}

/** The codebook: entries [K,D], not trained by AdamW (the training graph updates it by EMA). */
function codebookParam(b: GraphBuilder, c: DvaeConfig): Value {
  return b.param('vq.codebook', [c.codebookSize, c.codeDim], { init: { kind: 'normal', std: 1 }, trainable: false });
}

/** Nearest codebook entry of each row of z [N,D]: ids [N] int64 (argmin of squared distance). */
function nearest(b: GraphBuilder, z: Value, codebook: Value): Value {
  // |z - e|^2 = |z|^2 - 2 z.e + |e|^2; |z|^2 is the same for every e, so argmin needs only the last two terms.
  const dots = b.gemm(z, codebook, undefined, { transB: true }); // [N,K]
  const e2 = b.reshape(b.reduceSumSquare(codebook, [1]), [1, codebook.shape[0]]);
  return b.argmax(b.sub(b.mul(dots, 2), e2), -1);
}

/** [B,D,G,G] <-> [B*G*G, D] (row-major grid order: id index = y*G + x). */
function toRows(b: GraphBuilder, z: Value): Value {
  const [n, d, g] = z.shape;
  return b.reshape(b.transpose(z, [0, 2, 3, 1]), [n * g * g, d]);
}
function fromRows(b: GraphBuilder, rows: Value, n: number, g: number): Value {
  const d = rows.shape[1];
  return b.transpose(b.reshape(rows, [n, g, g, d]), [0, 3, 1, 2]);
}

/** Names of the codebook tensors the training graph updates itself (outside AdamW): input -> output. */
export const VQ_STATE = {
  'vq.codebook': 'vq_new:codebook',
  'vq.ema_count': 'vq_new:ema_count',
  'vq.ema_sum': 'vq_new:ema_sum',
} as const;

/**
 * The training graph for batches of `batch` images: x [B,3,S,S] f32 centred pixels. Loss = MSE(recon, x) +
 * beta * |z_e - sg(z_q)|^2, straight-through gradients to the encoder. The same graph also outputs the
 * codebook's EMA update (k-means step: count' = d*count + (1-d)*n_k, sum' = d*sum + (1-d)*sum_k z,
 * codebook' = sum'/count') and restarts every code whose count fell under deadThreshold at a random encoder
 * output of this batch — as outputs `vq_new:*`, which the trainer carries like parameters.
 */
export function trainingGraph(c: DvaeConfig, batch: number): TrainingGraph {
  checkConfig(c);
  return buildTrainingGraph((b) => {
    const x = b.input('image', 'float32', [batch, 3, c.imageSize, c.imageSize]);
    const ze = encoder(b, x, c);
    const rows = toRows(b, ze); // [N,D]
    const n = rows.shape[0];
    const codebook = codebookParam(b, c);
    // EMA statistics: per-code counts (uses per batch) and sums of the vectors assigned to each code.
    const count = b.param('vq.ema_count', [c.codebookSize], { init: { kind: 'ones' }, trainable: false });
    const sum = b.param('vq.ema_sum', [c.codebookSize, c.codeDim], { init: { kind: 'zeros' }, trainable: false });
    const ids = nearest(b, b.stopGradient(rows), codebook);
    const zq = b.gather(codebook, ids, 0); // [N,D]
    const commit = b.reduceMean(b.mul(b.sub(rows, zq), b.sub(rows, zq)));
    const zst = b.straightThrough(rows, zq);
    const recon = decoder(b, fromRows(b, zst, batch, c.grid), c);
    const diff = b.sub(recon, x);
    const mse = b.reduceMean(b.mul(diff, diff));
    let loss = b.add(mse, b.mul(commit, c.beta));
    let ssimTerm: Value | undefined;
    if (c.ssimWeight) {
      ssimTerm = meanSsim(b, recon, x); // on centred pixels: meanSsim adds the offset back
      loss = b.add(loss, b.mul(b.sub(1, ssimTerm), c.ssimWeight));
    }

    // EMA codebook update and dead-code restarts (no gradients: integer ids and stopped vectors only).
    const K = c.codebookSize;
    const range = b.constant(Array.from({ length: K }, (_, i) => i), [1, K], 'int64');
    const onehot = b.cast(b.equal(b.reshape(ids, [n, 1]), range), 'float32'); // [N,K]
    const nk = b.reduceSum(onehot, [0]); // [K]
    const zs = b.stopGradient(rows);
    const sk = b.gemm(onehot, zs, undefined, { transA: true }); // [K,D]
    const d = c.decay;
    const count2 = b.add(b.mul(count, d), b.mul(nk, 1 - d));
    const sum2 = b.add(b.mul(sum, d), b.mul(sk, 1 - d));
    const cb2 = b.div(sum2, b.reshape(b.add(count2, 1e-6), [K, 1]));
    const dead = b.less(count2, b.scalar(c.deadThreshold)); // [K]
    const pick = b.cast(b.mul(b.randomUniform([K]), n - 1e-3), 'int64');
    const fresh = b.gather(zs, pick, 0); // [K,D]
    const deadCol = b.reshape(dead, [K, 1]);
    // A restarted code gets a count of 3x the threshold: ~ln(3)/(1-decay) steps to be chosen before it restarts again.
    const restartCount = 3 * c.deadThreshold;
    b.output(VQ_STATE['vq.codebook'], b.where(deadCol, fresh, cb2));
    b.output(VQ_STATE['vq.ema_sum'], b.where(deadCol, b.mul(fresh, restartCount), sum2));
    b.output(VQ_STATE['vq.ema_count'], b.where(dead, restartCount, count2));

    // Batch usage: perplexity of the code histogram, and how many codes were restarted.
    const p = b.div(nk, n);
    const perplexity = b.exp(b.neg(b.reduceSum(b.mul(p, b.log(b.add(p, 1e-10))))));
    return {
      loss,
      metrics: { mse, commit, perplexity, restarted: b.reduceSum(b.cast(dead, 'float32')), ...(ssimTerm ? { ssim: ssimTerm } : {}) },
    };
  }, { weightDecay: 0, clipNorm: 1 });
}

/**
 * Mean SSIM of two batches of centred images [B,C,S,S] (pixels - 0.5), in the graph: the statistics of metrics.ts's
 * ssim (Gaussian window, 'valid' positions, data range 1) as depthwise convolutions, so the loss and the
 * evaluation measure the same thing.
 */
export function meanSsim(b: GraphBuilder, a: Value, y: Value): Value {
  const ch = a.shape[1];
  const g = gaussian();
  const k = g.length;
  // The 2-d window is the outer product g g^T: a k x 1 pass then a 1 x k one (2k multiply-adds per pixel, not k^2;
  // onnxruntime's depthwise 11x11 conv was 8% of the training step).
  const taps = Array.from({ length: ch * k }, (_, i) => g[i % k]);
  const [rows, cols] = [b.constant(taps, [ch, 1, k, 1]), b.constant(taps, [ch, 1, 1, k])];
  const f = (z: Value) => b.conv(b.conv(z, rows, undefined, { group: ch }), cols, undefined, { group: ch });
  const [p, q] = [b.add(a, PIXEL_OFFSET), b.add(y, PIXEL_OFFSET)];
  const [mp, mq] = [f(p), f(q)];
  const [mpp, mqq, mpq] = [b.mul(mp, mp), b.mul(mq, mq), b.mul(mp, mq)];
  const vp = b.sub(f(b.mul(p, p)), mpp);
  const vq = b.sub(f(b.mul(q, q)), mqq);
  const cov = b.sub(f(b.mul(p, q)), mpq);
  const [c1, c2] = [0.01 ** 2, 0.03 ** 2];
  const num = b.mul(b.add(b.mul(mpq, 2), c1), b.add(b.mul(cov, 2), c2));
  const den = b.mul(b.add(b.add(mpp, mqq), c1), b.add(b.add(vp, vq), c2));
  return b.reduceMean(b.div(num, den));
}

/** Inference graph `encode`: image f32 [B,3,S,S] in [0,1] -> code ids [B,G,G] int64. */
export function encodeGraph(c: DvaeConfig, batch: number): GraphBuilder {
  const b = new GraphBuilder();
  const x = b.input('image', 'float32', [batch, 3, c.imageSize, c.imageSize]);
  const ze = encoder(b, b.sub(x, PIXEL_OFFSET), c);
  const codebook = codebookParam(b, c);
  const ids = nearest(b, toRows(b, ze), codebook);
  b.output('codes', b.reshape(ids, [batch, c.grid, c.grid]));
  return b;
}

/** Inference graph `decode`: ids [B,G,G] int64 -> image f32 [B,3,S,S] clamped to [0,1]. */
export function decodeGraph(c: DvaeConfig, batch: number): GraphBuilder {
  const b = new GraphBuilder();
  const ids = b.input('codes', 'int64', [batch, c.grid, c.grid]);
  const codebook = codebookParam(b, c);
  const zq = b.gather(codebook, b.reshape(ids, [batch * c.grid * c.grid]), 0);
  const recon = decoder(b, fromRows(b, zq, batch, c.grid), c);
  b.output('image', b.min(b.max(b.add(recon, PIXEL_OFFSET), 0), 1));
  return b;
}
