// The linear CTC character probe: how much of the transcript a frozen representation carries linearly. A
// linear head (per-frame logits over CHARSET) is trained with the engine (in-graph CTC, ./ctc) for a fixed
// budget on word-aligned crops of training utterances, then greedy-decodes whole utterances.
import { buildTrainingGraph, nn } from '../graph/index';
import { InThreadRuntime } from '../runtime/index';
import type { Batch, BatchSource } from '../train/batching';
import { EpochSampler, type SamplerState } from '../train/batching';
import { trainStepSpec, initialParams } from '../train/graph-spec';
import { Rng } from '../train/rng';
import { train } from '../train/trainer';
import { CHARSET, ctcFeeds, ctcLoss, ctcMinFrames, encodeText, greedyDecode } from './ctc';

/** Frozen features of one utterance ([frames, dim] row-major) with its transcript and word times (s). */
export interface ProbeUtterance {
  frames: number;
  data: Float32Array;
  transcript: string;
  words: { word: string; start: number; end: number }[];
}

export interface ProbeOptions {
  steps: number;
  batch: number;
  /** Crop length in frames and longest label of the unrolled CTC graph. */
  frames: number;
  maxLabel: number;
  lr: number;
  seed: number;
  /** Seconds per feature frame (0.02 for every representation here). */
  frameSeconds: number;
}

export const DEFAULT_PROBE: ProbeOptions = { steps: 1500, batch: 32, frames: 150, maxLabel: 64, lr: 3e-3, seed: 7, frameSeconds: 0.02 };

/** Per-dimension standardisation fitted on training features (an affine map, so the probe stays linear). */
export interface Standardizer { mean: Float32Array; invStd: Float32Array }

export function fitStandardizer(utts: readonly Pick<ProbeUtterance, 'frames' | 'data'>[], dim: number): Standardizer {
  const s = new Float64Array(dim);
  const s2 = new Float64Array(dim);
  let n = 0;
  for (const u of utts) {
    for (let t = 0; t < u.frames; t++) {
      for (let d = 0; d < dim; d++) {
        const v = u.data[t * dim + d];
        s[d] += v;
        s2[d] += v * v;
      }
    }
    n += u.frames;
  }
  const mean = new Float32Array(dim);
  const invStd = new Float32Array(dim);
  for (let d = 0; d < dim; d++) {
    mean[d] = s[d] / n;
    invStd[d] = 1 / Math.sqrt(Math.max(1e-8, s2[d] / n - mean[d] * mean[d]));
  }
  return { mean, invStd };
}

export function standardize(x: Float32Array, dim: number, st: Standardizer): Float32Array {
  const y = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const d = i % dim;
    y[i] = (x[i] - st.mean[d]) * st.invStd[d];
  }
  return y;
}

/** A word-aligned crop of an utterance that fits the graph: frames [a, z) and its character ids. */
function crop(u: ProbeUtterance, rng: Rng, o: ProbeOptions): { a: number; z: number; label: number[] } | undefined {
  const fs = o.frameSeconds;
  const words = u.words;
  if (words.length === 0) {
    const label = encodeText(u.transcript);
    return u.frames <= o.frames && label.length <= o.maxLabel && ctcMinFrames(label) <= u.frames ? { a: 0, z: u.frames, label } : undefined;
  }
  for (let attempt = 0; attempt < 4; attempt++) {
    const i = rng.int(words.length);
    let j = i;
    const a = Math.max(0, Math.floor(words[i].start / fs) - 1);
    let best: { a: number; z: number; label: number[] } | undefined;
    while (j < words.length) {
      const z = Math.min(u.frames, Math.ceil(words[j].end / fs) + 2);
      const label = encodeText(words.slice(i, j + 1).map((w) => w.word).join(' '));
      if (z - a > o.frames || label.length > o.maxLabel) break;
      if (ctcMinFrames(label) <= z - a) best = { a, z, label };
      j++;
    }
    if (best) return best;
  }
  return undefined;
}

function probeBatches(utts: readonly ProbeUtterance[], dim: number, o: ProbeOptions): BatchSource {
  let sampler = new EpochSampler(utts.length, o.seed);
  let count = 0;
  return {
    next(): Batch {
      const rng = new Rng(o.seed * 7919 + count++);
      const x = new Float32Array(o.batch * o.frames * dim);
      const labels: number[][] = [];
      const lengths: number[] = [];
      while (labels.length < o.batch) {
        const u = utts[sampler.take(1)[0]];
        const c = crop(u, rng, o);
        if (!c) continue;
        const b = labels.length;
        x.set(u.data.subarray(c.a * dim, c.z * dim), b * o.frames * dim);
        labels.push(c.label);
        lengths.push(c.z - c.a);
      }
      return { bucket: String(o.frames), size: o.batch, feeds: { x: { dtype: 'float32', dims: [o.batch, o.frames, dim], data: x }, ...ctcFeeds(labels, lengths, o.frames, o.maxLabel) } };
    },
    state: () => ({ sampler: sampler.state(), count }),
    restore(s: unknown) {
      const st = s as { sampler: SamplerState; count: number };
      sampler = new EpochSampler(utts.length, o.seed);
      sampler.restore(st.sampler);
      count = st.count;
    },
  };
}

/** A trained linear head: logits = x @ weight + bias, weight [dim, |CHARSET|]. */
export interface LinearProbe { dim: number; weight: Float32Array; bias: Float32Array; finalLoss: number }

/** Trains the linear CTC probe on (standardised) utterances for a fixed number of steps. */
export async function trainProbe(utts: readonly ProbeUtterance[], dim: number, o: ProbeOptions = DEFAULT_PROBE, onLoss?: (step: number, loss: number) => void): Promise<LinearProbe> {
  const V = CHARSET.length;
  const spec = trainStepSpec(() => buildTrainingGraph((b) => {
    const x = b.input('x', 'float32', [o.batch, o.frames, dim]);
    return { loss: ctcLoss(b, nn.linear(b, x, 'probe', V, { std: 0.01 }), o.maxLabel) };
  }, { weightDecay: 0 }), String(o.frames));
  const runtime = new InThreadRuntime();
  try {
    const res = await train({
      runtime, spec, data: probeBatches(utts, dim, o), steps: o.steps,
      schedule: { kind: 'cosine', peak: o.lr, warmup: Math.min(100, o.steps >> 3), total: o.steps, minRatio: 0.05 },
      params: initialParams(spec.graph.graph, o.seed),
      onProgress: (p) => onLoss?.(p.step, p.loss),
    });
    const st = await runtime.getState(['param:probe.weight', 'param:probe.bias']);
    const tail = res.losses.slice(-50);
    return { dim, weight: st['param:probe.weight'].data as Float32Array, bias: st['param:probe.bias'].data as Float32Array, finalLoss: tail.reduce((a, b) => a + b, 0) / Math.max(1, tail.length) };
  } finally {
    await runtime.close();
  }
}

/** Greedy transcript of one utterance's (standardised) features. */
export function probeDecode(p: LinearProbe, data: Float32Array, frames: number): string {
  const V = CHARSET.length;
  const logits = new Float32Array(frames * V);
  for (let t = 0; t < frames; t++) {
    for (let v = 0; v < V; v++) {
      let s = p.bias[v];
      for (let d = 0; d < p.dim; d++) s += data[t * p.dim + d] * p.weight[d * V + v];
      logits[t * V + v] = s;
    }
  }
  return greedyDecode(logits, frames, V);
}
