// Batches for the trainer: a batch names its shape bucket (one training session per bucket) and
// carries the feeds. Sources expose their position as JSON so a resumed run sees the same batches.
import type { Tensor } from '../runtime/tensor';
import { Rng, type RngState } from './rng';

/** One training batch. */
export interface Batch {
  /** Shape bucket, e.g. "64" for sequence length 64; selects the training graph. */
  bucket: string;
  feeds: Record<string, Tensor>;
  /** Examples (or tokens) in the batch, for throughput figures. */
  size: number;
}

/** Where batches come from. state() must return a snapshot taken before the next next() call. */
export interface BatchSource {
  next(): Batch | Promise<Batch>;
  state(): unknown;
  restore(state: unknown): void;
}

/** Position of an EpochSampler: epoch number, index within the epoch, and the RNG at the epoch's start. */
export interface SamplerState {
  epoch: number;
  pos: number;
  rng: RngState;
}

/**
 * Shuffled example indices, epoch after epoch, resumable exactly: the permutation of an epoch is
 * re-derived from the RNG state saved at its start.
 */
export class EpochSampler {
  private rng: Rng;
  private epochStart: RngState;
  private order: number[] = [];
  private epoch = 0;
  private pos = 0;

  constructor(readonly size: number, seed = 0, readonly shuffle = true) {
    if (!Number.isInteger(size) || size <= 0) throw new Error(`EpochSampler: size must be a positive integer, got ${size}`);
    this.rng = new Rng(seed);
    this.epochStart = this.rng.state();
    this.newEpoch();
  }

  private newEpoch(): void {
    this.epochStart = this.rng.state();
    this.order = Array.from({ length: this.size }, (_, i) => i);
    if (this.shuffle) this.rng.shuffle(this.order);
    this.pos = 0;
  }

  /** The next n indices (crossing into the next epoch when needed). */
  take(n: number): number[] {
    const out: number[] = [];
    while (out.length < n) {
      if (this.pos >= this.size) {
        this.epoch++;
        this.newEpoch();
      }
      out.push(this.order[this.pos++]);
    }
    return out;
  }

  state(): SamplerState {
    return { epoch: this.epoch, pos: this.pos, rng: [...this.epochStart] as RngState };
  }

  restore(s: unknown): void {
    const st = s as SamplerState;
    if (!st || !Number.isInteger(st.epoch) || !Number.isInteger(st.pos) || !Array.isArray(st.rng)) throw new Error(`EpochSampler: invalid state ${JSON.stringify(s)}`);
    this.rng = new Rng(st.rng);
    this.newEpoch();
    this.epoch = st.epoch;
    this.pos = st.pos;
  }
}

/**
 * A BatchSource over an indexable dataset: shuffles indices with an EpochSampler and asks make() to
 * turn them into a batch (choosing its bucket from the examples' lengths).
 */
export function sampledBatches(size: number, batchSize: number, make: (indices: number[]) => Batch, seed = 0): BatchSource {
  const sampler = new EpochSampler(size, seed);
  return {
    next: () => make(sampler.take(batchSize)),
    state: () => sampler.state(),
    restore: (s) => sampler.restore(s),
  };
}

/** The smallest bucket that fits length (buckets ascending); throws when none does. */
export function pickBucket(length: number, buckets: readonly number[]): number {
  for (const b of buckets) if (length <= b) return b;
  throw new Error(`length ${length} exceeds the largest bucket ${buckets[buckets.length - 1]}`);
}
