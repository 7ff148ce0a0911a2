// Learning-rate schedules, computed outside the graph and fed in as the lr input each step (so one
// training graph serves every schedule, and resuming needs only the step number).

export interface LrSchedule {
  kind: 'constant' | 'linear' | 'cosine';
  /** Peak learning rate, reached at the end of warm-up. */
  peak: number;
  /** Steps of linear warm-up from 0 (default 0). */
  warmup?: number;
  /** Total steps; linear/cosine decay from the end of warm-up to here. */
  total?: number;
  /** Floor as a fraction of peak at the end of decay (default 0). */
  minRatio?: number;
}

/** The learning rate for a 0-based step. */
export function lrAt(s: LrSchedule, step: number): number {
  const warm = s.warmup ?? 0;
  if (step < warm) return (s.peak * (step + 1)) / warm;
  if (s.kind === 'constant') return s.peak;
  const total = s.total;
  if (total === undefined || total <= warm) throw new Error(`lr schedule '${s.kind}' needs total > warmup (got total=${total}, warmup=${warm})`);
  const p = Math.min(1, (step - warm) / Math.max(1, total - warm));
  const min = (s.minRatio ?? 0) * s.peak;
  const f = s.kind === 'linear' ? 1 - p : 0.5 * (1 + Math.cos(Math.PI * p));
  return min + (s.peak - min) * f;
}
