import { describe, expect, it } from 'vitest';
import { tensor } from '../../../native-models/runtime/tensor';
import { RunningMean, perplexity, topKAccuracy } from '../../../native-models/train/metrics';

describe('metrics', () => {
  it('weights the running mean and rejects non-finite values', () => {
    const m = new RunningMean();
    expect(Number.isNaN(m.mean)).toBe(true);
    m.add(1, 3);
    m.add(2, 1);
    expect(m.mean).toBeCloseTo(1.25);
    expect(m.count).toBe(4);
    expect(() => m.add(NaN)).toThrow(/not finite/);
  });

  it('counts top-k hits, skipping ignored targets', () => {
    const logits = tensor('float32', [3, 3], [0.1, 0.7, 0.2, 0.5, 0.3, 0.2, 0.0, 0.1, 0.9]);
    const targets = tensor('int64', [3], [1n, 1n, -100n]);
    expect(topKAccuracy(logits, targets, 1, -100)).toEqual({ correct: 1, total: 2 });
    expect(topKAccuracy(logits, targets, 2, -100)).toEqual({ correct: 2, total: 2 });
    expect(() => topKAccuracy(logits, tensor('int64', [3], [0n, 5n, 0n]))).toThrow(/outside \[0, 3\)/);
    expect(perplexity(Math.log(8000))).toBeCloseTo(8000);
  });
});
