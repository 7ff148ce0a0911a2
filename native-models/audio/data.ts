// Spoken captions from a dataset store (EmojiScenes or any dataset with recordings) for pre-training and
// evaluation, and the pre-training batches: random crops in length buckets, padded, span-masked, with
// distractor indices. Resumable: a batch is a function of the sampler position and the batch counter.
import { readWav } from '../data/audio/index';
import { DatasetStore } from '../data/store/index';
import type { Tensor } from '../runtime/tensor';
import type { Batch, BatchSource } from '../train/batching';
import { EpochSampler, type SamplerState } from '../train/batching';
import { Rng } from '../train/rng';
import { framesFor, hopOf, samplesFor, type AudioEncoderConfig } from './config';
import type { UnitTargets } from './units';
import { speechFromPcm } from './front-end';
import { sampleNegatives, spanMask } from './masking';

/** One recording: normalised 16 kHz samples, its transcript and word timings (when the dataset has them). */
export interface Recording {
  id: string;
  samples: Float32Array;
  transcript: string;
  words: { word: string; start: number; end: number }[];
}

/** The recordings of one split of a dataset folder (first recording of each item). */
export class SpeechCorpus {
  private constructor(private readonly store: DatasetStore, readonly ids: string[], readonly split: string) {}

  /** Opens `dir` (a dataset folder) and lists the items of `split` that have a recording, in store order. */
  static open(dir: string, split: string, limit = Infinity): SpeechCorpus {
    const store = DatasetStore.open(dir);
    const ids: string[] = [];
    for (let offset = 0; ids.length < limit; offset += 1000) {
      const page = store.query({ split, hasSpoken: true, offset, limit: 1000 });
      for (const it of page.items) if (ids.length < limit) ids.push(it.id);
      if (page.items.length < 1000) break;
    }
    if (ids.length === 0) {
      const have = store.splits().map((s) => `${s.split}=${s.count}`).join(', ');
      store.close();
      throw new Error(`${dir}: no items with a recording in split "${split}" (splits: ${have || 'none'})`);
    }
    return new SpeechCorpus(store, ids, split);
  }

  get size(): number {
    return this.ids.length;
  }

  /** Loads recording i (decoded, resampled if needed, loudness-normalised). */
  get(i: number): Recording {
    const id = this.ids[i];
    const item = this.store.getItem(id);
    const sp = item.spoken[0];
    const file = `${this.store.dir}:item ${id}`;
    const speech = speechFromPcm(readWav(this.store.getBlob(sp.wav), file), file);
    const words = (sp.timedCaption ?? []).map((w) => ({ word: w.utterance, start: w.startTime, end: w.endTime }));
    return { id, samples: speech.samples, transcript: sp.transcript ?? words.map((w) => w.word).join(' '), words };
  }

  close(): void {
    this.store.close();
  }
}

/** Options of the pre-training batches. */
export interface PretrainBatchOptions {
  batch: number;
  /** Frame buckets (ascending); a batch's crops are (bucket - bucketSpread, bucket] frames long. */
  buckets: number[];
  bucketSpread: number;
  /** Gumbel temperature: max(tauMin, tauMax * tauDecay^batchNumber) (wav2vec 2.0's annealing). */
  tauMax: number;
  tauMin: number;
  tauDecay: number;
  seed: number;
}

export const DEFAULT_BATCHES: PretrainBatchOptions = { batch: 8, buckets: [64, 96, 128], bucketSpread: 32, tauMax: 2, tauMin: 0.5, tauDecay: 0.999, seed: 1 };

interface SourceState { sampler: SamplerState; count: number }

/**
 * Feeds of one pre-training batch from recordings (crops chosen by rng); exported for tests. With a config
 * that predicts units (unitClasses > 0), `units` gives each recording's unit per frame (units.ts); its crop
 * then starts on a frame boundary, so crop frame t is recording frame start/hop + t, and each masked frame's
 * unit is its target (-1 elsewhere, and everywhere for a recording without units).
 */
export function makePretrainFeeds(cfg: AudioEncoderConfig, recs: readonly Float32Array[], frames: number, lengths: readonly number[], rng: Rng, tau?: number,
  units?: readonly (Int16Array | undefined)[]): Record<string, Tensor> {
  const B = recs.length;
  const n = samplesFor(cfg, frames);
  const hop = hopOf(cfg);
  const withUnits = (cfg.unitClasses ?? 0) > 0;
  const audio = new Float32Array(B * n);
  const padding = new Float32Array(B * frames);
  const mask = new Float32Array(B * frames);
  const targets = withUnits ? new BigInt64Array(B * frames).fill(-1n) : undefined;
  recs.forEach((x, b) => {
    const len = lengths[b];
    const take = Math.min(x.length, samplesFor(cfg, len));
    const u = units?.[b];
    const start = u ? hop * rng.int(Math.floor((x.length - take) / hop) + 1) : rng.int(Math.max(1, x.length - take + 1));
    audio.set(x.subarray(start, start + take), b * n);
    padding.fill(1, b * frames, b * frames + len);
    const m = spanMask(rng, frames, len, cfg.maskProb, cfg.maskSpan);
    mask.set(m, b * frames);
    if (targets && u) {
      const f0 = start / hop;
      for (let t = 0; t < len && f0 + t < u.length; t++) if (m[t]) targets[b * frames + t] = BigInt(u[f0 + t]);
    }
  });
  const feeds: Record<string, Tensor> = {
    audio: { dtype: 'float32', dims: [B, n], data: audio },
    padding: { dtype: 'float32', dims: [B, frames], data: padding },
    mask: { dtype: 'float32', dims: [B, frames], data: mask },
    negatives: { dtype: 'int64', dims: [B * frames * cfg.negatives], data: sampleNegatives(rng, lengths, frames, cfg.negatives) },
  };
  if (targets) feeds.units = { dtype: 'int64', dims: [B * frames], data: targets };
  if (tau !== undefined) feeds.tau = { dtype: 'float32', dims: [], data: new Float32Array([tau]) };
  return feeds;
}

/**
 * Each corpus recording's units, in corpus order, checked against the config (the same number of classes) and
 * the corpus: every recording present, and the first few with as many units as they have frames.
 */
export function unitsForCorpus(cfg: AudioEncoderConfig, corpus: SpeechCorpus, t: UnitTargets): Int16Array[] {
  if ((cfg.unitClasses ?? 0) !== t.classes) throw new Error(`unit targets have ${t.classes} classes, the config predicts ${cfg.unitClasses ?? 0} (drop --set unitClasses: a run takes the file's)`);
  const byId = new Map(t.ids.map((id, i) => [id, t.units[i]]));
  return corpus.ids.map((id, i) => {
    const u = byId.get(id);
    if (!u) throw new Error(`unit targets lack recording ${id} of the ${corpus.split} split (made for another dataset?)`);
    if (i < 8) {
      const frames = framesFor(cfg, corpus.get(i).samples.length);
      if (u.length !== frames) throw new Error(`unit targets give recording ${id} ${u.length} units, it has ${frames} frames (made for another dataset or front end?)`);
    }
    return u;
  });
}

/** Random crops of the corpus's recordings, bucketed by length; the bucket name is its frame count. `units`:
 * each recording's unit targets, in corpus order (unitsForCorpus). */
export function pretrainBatches(cfg: AudioEncoderConfig, corpus: SpeechCorpus, o: PretrainBatchOptions, units?: readonly Int16Array[]): BatchSource {
  let sampler = new EpochSampler(corpus.size, o.seed);
  let count = 0;
  return {
    next(): Batch {
      const rng = new Rng(o.seed * 1_000_003 + count);
      const tau = Math.max(o.tauMin, o.tauMax * o.tauDecay ** count);
      count++;
      const bucket = o.buckets[rng.int(o.buckets.length)];
      const picked = sampler.take(o.batch);
      const recs = picked.map((i) => corpus.get(i).samples);
      const lengths = recs.map((x) => {
        const avail = framesFor(cfg, x.length);
        const want = bucket - rng.int(o.bucketSpread);
        return Math.max(1, Math.min(avail, want));
      });
      return { bucket: String(bucket), feeds: makePretrainFeeds(cfg, recs, bucket, lengths, rng, tau, units && picked.map((i) => units[i])), size: o.batch };
    },
    state: (): SourceState => ({ sampler: sampler.state(), count }),
    restore(s: unknown) {
      const st = s as SourceState;
      sampler = new EpochSampler(corpus.size, o.seed);
      sampler.restore(st.sampler);
      count = st.count;
    },
  };
}
