// Small metric helpers for evaluation hooks: averages over batches and top-k accuracy from logits.
import type { Tensor } from '../runtime/tensor';

/** A weighted running mean (weight = examples or tokens in the batch), for eval loops over batches. */
export class RunningMean {
  private sum = 0;
  private weight = 0;

  add(value: number, weight = 1): void {
    if (!Number.isFinite(value)) throw new Error(`RunningMean: value ${value} is not finite`);
    this.sum += value * weight;
    this.weight += weight;
  }

  get mean(): number {
    return this.weight > 0 ? this.sum / this.weight : NaN;
  }

  get count(): number {
    return this.weight;
  }
}

/**
 * Top-k accuracy of logits [..., C] (float32) against integer targets [...]; targets equal to ignoreIndex
 * are skipped. Returns { correct, total } so batches can be summed before dividing.
 */
export function topKAccuracy(logits: Tensor, targets: Tensor, k = 1, ignoreIndex?: number): { correct: number; total: number } {
  const c = logits.dims[logits.dims.length - 1];
  const rows = logits.data.length / c;
  if (targets.data.length !== rows) throw new Error(`topKAccuracy: ${targets.data.length} targets for ${rows} rows of logits [${logits.dims.join(', ')}]`);
  const x = logits.data as ArrayLike<number>;
  let correct = 0;
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const t = Number(targets.data[r]);
    if (ignoreIndex !== undefined && t === ignoreIndex) continue;
    if (!(t >= 0 && t < c)) throw new Error(`topKAccuracy: target ${t} at row ${r} is outside [0, ${c})`);
    const v = x[r * c + t];
    // The target is in the top k when fewer than k classes score strictly higher.
    let higher = 0;
    for (let j = 0; j < c && higher < k; j++) if (x[r * c + j] > v) higher++;
    if (higher < k) correct++;
    total++;
  }
  return { correct, total };
}

/** Perplexity from a mean cross-entropy in nats. */
export function perplexity(meanCrossEntropy: number): number {
  return Math.exp(meanCrossEntropy);
}
