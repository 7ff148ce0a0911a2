// Training the dVAE with the engine's trainer: the training graph from ./model (AdamW for the conv weights,
// the codebook's EMA statistics carried as extra state outputs), batches of 64x64 images, checkpoints and
// exact resume, a small validation PSNR during training, and the export of the encode/decode graphs.
import { InThreadRuntime, type Runtime, type Tensor } from '../runtime/index';
import { checkResumeConfig, latestCheckpoint } from '../train/checkpoint';
import { initialParams, trainStepSpec } from '../train/graph-spec';
import { sampledBatches } from '../train/batching';
import { warmStart } from '../train/grow';
import { train, type Progress, type RunRecord, type TrainResult } from '../train/trainer';
import type { LrSchedule } from '../train/schedule';
import { Dvae, exportOnnx, inferenceWeights, type DvaeComponentConfig } from './codec';
import { toPlanar, type ImageSet } from './pixels';
import { checkConfig, DVAE_GROW_RULE, PIXEL_OFFSET, trainingGraph, VQ_STATE, withBlockDefaults, type DvaeConfig } from './model';
import { psnr, ssim } from './metrics';

export interface DvaeTrainOptions {
  config: DvaeConfig;
  train: ImageSet;
  /** Held-out images for the PSNR printed during training (a few dozen are enough). */
  val?: ImageSet;
  steps: number;
  batch: number;
  lr: number;
  warmup?: number;
  /** The command line that started this run, for the checkpoints' run history (see TrainOptions.run). */
  command?: string;
  /**
   * Share of each batch replaced by images of one random colour (default 0). EmojiScenes' backgrounds come from
   * a palette, so a colour far from it is snapped to a nearby code; flat images of any colour teach the codes
   * to carry colour itself (issue 7's flat-colour round trip).
   */
  flatFraction?: number;
  /** Start a new run (not a resume) from this checkpoint's weights, adding blocks the config has and it lacks (growParams). */
  initFrom?: string;
  /** Run directory for checkpoints; resumes from its latest checkpoint when it has one. */
  out?: string;
  checkpointEvery?: number;
  evalEvery?: number;
  seed?: number;
  /** ORT threads inside one op (default 1: the machine is shared). */
  threads?: number;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  onEval?: (step: number, m: Record<string, number>) => void;
}

export interface DvaeTrainResult extends TrainResult {
  /** Final weights by param name (conv weights, codebook, EMA statistics). */
  params: Map<string, Float32Array>;
}

/** Initial weights: seeded init, EMA counts just over the dead threshold (codes never chosen restart within ~10 steps at
 * encoder outputs, which places the codebook where the data is), sums matching the codebook. */
export function initialDvaeParams(c: DvaeConfig, batch: number, seed = 0): Record<string, Tensor> {
  const tg = trainingGraph(c, batch);
  const p = initialParams(tg.graph, seed);
  const count = p['vq.ema_count'].data as Float32Array;
  count.fill(1.1 * c.deadThreshold);
  const cb = p['vq.codebook'].data as Float32Array;
  p['vq.ema_sum'] = { ...p['vq.ema_sum'], data: cb.map((v) => v * 1.1 * c.deadThreshold) };
  return p;
}

/** A new run's parameters: the seeded init, or a checkpoint's weights grown into this config (o.initFrom) with its history. */
function startParams(c: DvaeConfig, o: DvaeTrainOptions): { params: Record<string, Tensor>; before?: RunRecord[] } {
  const init = initialDvaeParams(c, o.batch, o.seed ?? 0);
  return o.initFrom ? warmStart(init, o.initFrom, DVAE_GROW_RULE) : { params: init };
}

/** The runtime with every session single- (or n-) threaded and not spinning: the CPU is shared. */
function politeRuntime(threads: number): Runtime {
  const rt = new InThreadRuntime();
  const load = rt.load.bind(rt);
  rt.load = (key, model, o = {}) => load(key, model, { ...o, intraOpThreads: threads, spin: false, providers: ['cpu'] });
  return rt;
}

/** Mean PSNR and SSIM of images `set` through encode+decode graphs built from the given weights. */
export async function evalReconstruction(c: DvaeConfig, weights: ReadonlyMap<string, Float32Array>, set: ImageSet,
  o: { batch?: number; storage?: 'float32' | 'float16'; threads?: number } = {}): Promise<{ psnr: number; ssim: number }> {
  const batch = Math.min(o.batch ?? 32, set.count);
  const storage = o.storage ?? 'float32';
  const cfg: DvaeComponentConfig = { ...c, batch, storage, normalisation: '' };
  const dvae = await Dvae.fromBytes(cfg, exportOnnx(c, inferenceWeights(weights), { batch, storage }), { intraOpThreads: o.threads ?? 1, spin: false, providers: ['cpu'] });
  try {
    let [sumPsnr, sumSsim, n] = [0, 0, 0];
    const hw3 = 3 * c.imageSize * c.imageSize;
    for (let start = 0; start + batch <= set.count; start += batch) {
      const idx = Array.from({ length: batch }, (_, i) => start + i);
      const x = toPlanar(set, idx, 0);
      const y = await dvae.decode(await dvae.encode(x));
      for (let i = 0; i < batch; i++) {
        const [a, r] = [x.subarray(i * hw3, (i + 1) * hw3), y.subarray(i * hw3, (i + 1) * hw3)];
        sumPsnr += psnr(a, r);
        sumSsim += ssim(a, r, c.imageSize);
        n++;
      }
    }
    return { psnr: sumPsnr / n, ssim: sumSsim / n };
  } finally {
    await dvae.dispose();
  }
}

/** Mean PSNR of images `set` through encode+decode graphs built from the given weights. */
export async function evalPsnr(c: DvaeConfig, weights: ReadonlyMap<string, Float32Array>, set: ImageSet, o: { batch?: number; storage?: 'float32' | 'float16'; threads?: number } = {}): Promise<number> {
  return (await evalReconstruction(c, weights, set, o)).psnr;
}

/**
 * Overwrites the first `count` images of a planar batch (centred pixels) with flat colours, each a function of
 * the image index it replaces (so a resumed run sees the same batches): 8-bit values like the dataset's.
 */
export function withFlatColours(planar: Float32Array, indices: readonly number[], count: number, size: number): Float32Array {
  const hw = size * size;
  for (let n = 0; n < count; n++) {
    let h = Math.imul(indices[n] + 1, 0x9e3779b1) >>> 0;
    for (let ch = 0; ch < 3; ch++) {
      h = Math.imul(h ^ (h >>> 15), 0x85ebca6b) >>> 0;
      planar.fill(((h >>> 8) % 256) / 255 - PIXEL_OFFSET, (n * 3 + ch) * hw, (n * 3 + ch + 1) * hw);
    }
  }
  return planar;
}

/**
 * Trains (or resumes) the dVAE. Example:
 * ```ts
 * const res = await trainDvae({ config: TINY_CONFIG, train: set, steps: 20, batch: 4, lr: 2e-3 });
 * const onnx = exportOnnx(TINY_CONFIG, inferenceWeights(res.params));
 * ```
 */
export async function trainDvae(o: DvaeTrainOptions): Promise<DvaeTrainResult> {
  const c = checkConfig(o.config);
  const bucket = `b${o.batch}`;
  const spec = trainStepSpec(() => trainingGraph(c, o.batch), bucket, { optimizer: { weightDecay: 0, clipNorm: 1 } });
  // The codebook tensors are frozen for AdamW but updated by the graph's own EMA outputs: carry them.
  const carried = VQ_STATE as Record<string, string>;
  spec.params = spec.params.map((p) => (carried[p.name] ? { ...p, output: carried[p.name] } : p));
  spec.metrics = (spec.metrics ?? []).filter((m) => !Object.values(carried).includes(m));

  const flat = Math.round((o.flatFraction ?? 0) * o.batch);
  if (!(flat >= 0 && flat <= o.batch)) throw new Error(`flatFraction must be in [0,1], got ${o.flatFraction}`);
  // Old checkpoints have no flat count: 0.
  const runConfig = { model: c, batch: o.batch, ...(flat ? { flatImages: flat } : {}) };
  const resume = o.out ? latestCheckpoint(o.out) : undefined;
  // Checkpoints from before the optional block counts existed had none.
  if (resume) checkResumeConfig(resume, runConfig, 'use another --out', (r) => ({ ...r, model: withBlockDefaults(r.model) }));
  // A resume continues its own run: an --init-from given again (the same command line) is not applied twice.
  const start = resume ? undefined : startParams(c, o);
  const rt = politeRuntime(o.threads ?? 1);
  const data = sampledBatches(o.train.count, o.batch, (idx) => ({
    bucket, size: idx.length,
    feeds: { image: { dtype: 'float32', dims: [o.batch, 3, c.imageSize, c.imageSize], data: withFlatColours(toPlanar(o.train, idx), idx, flat, c.imageSize) } },
  }), o.seed ?? 0);
  const schedule: LrSchedule = { kind: 'cosine', peak: o.lr, warmup: o.warmup ?? Math.min(200, Math.floor(o.steps / 10)), total: o.steps, minRatio: 0.05 };
  try {
    const res = await train({
      runtime: rt, spec, data, schedule, steps: o.steps, seed: o.seed ?? 0, name: 'dvae', signal: o.signal,
      ...(start ? { params: start.params } : { resume }),
      ...(o.command ? { run: { command: o.command, ...(start?.before ? { before: start.before } : {}) } } : {}),
      ...(o.out ? { checkpoint: { dir: o.out, every: o.checkpointEvery ?? 250, keep: 2, config: runConfig } } : {}),
      ...(o.val && o.evalEvery ? {
        evaluate: {
          every: o.evalEvery,
          run: async (ctx) => {
            const p = await ctx.params();
            const w = new Map(Object.entries(p).map(([k, t]) => [k, t.data as Float32Array]));
            const m = await evalReconstruction(c, w, o.val!, { threads: o.threads ?? 1 });
            return { val_psnr: m.psnr, val_ssim: m.ssim };
          },
        },
      } : {}),
      onProgress: o.onProgress,
      onEval: o.onEval,
    });
    const state = await rt.getState(spec.params.map((p) => p.input));
    const params = new Map(spec.params.map((p) => [p.name, state[p.input].data as Float32Array]));
    return { ...res, params };
  } finally {
    await rt.close();
  }
}
