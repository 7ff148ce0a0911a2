// A tiny transformer masked-LM-style task shared by the trainer tests: memorise 8 fixed sequences.
import { buildTrainingGraph, nn, type TrainingGraph } from '../../../native-models/graph/index';
import { tensor } from '../../../native-models/runtime/tensor';
import type { Batch } from '../../../native-models/train/batching';

export const VOCAB = 12;
export const BATCH = 4;

/** Training graph for sequences of length t (the shape bucket), in one of graph/optim's modes. */
export function tinyGraph(t: number, dropout = 0, mode: 'step' | 'accumulate' | 'apply' = 'step', batch = BATCH): TrainingGraph {
  return buildTrainingGraph((b) => {
    const tokens = b.input('tokens', 'int64', [batch, t]);
    const targets = b.input('targets', 'int64', [batch, t]);
    let x = nn.embedding(b, tokens, 'tok', VOCAB, 16, 0.5);
    if (dropout > 0) {
      // Inverted dropout from the graph's seeded RNG (the trainer feeds a fresh seed each step).
      const keep = b.cast(b.greater(b.randomUniform(x.shape), b.scalar(dropout, 'float32')), 'float32');
      x = b.mul(x, b.mul(keep, 1 / (1 - dropout)));
    }
    x = nn.transformerEncoderLayer(b, x, 'enc.0', { heads: 2, ffn: 32 });
    const logits = nn.linear(b, x, 'head', VOCAB);
    return { loss: nn.crossEntropy(b, logits, targets) };
  }, { weightDecay: 0.01, clipNorm: 1, mode });
}

/** Example i of the toy task: input tokens and targets (the input shifted by a fixed map). */
export function example(i: number, t: number): { x: number[]; y: number[] } {
  const x = Array.from({ length: t }, (_, j) => (i * 3 + j * 5) % VOCAB);
  return { x, y: x.map((v, j) => (v * 7 + j) % VOCAB) };
}

/** Builds the batch of examples `indices`, bucketed by length t. */
export function makeBatch(indices: number[], t = 8): Batch {
  const n = indices.length;
  const xs: number[] = [];
  const ys: number[] = [];
  for (const i of indices) {
    const e = example(i, t);
    xs.push(...e.x);
    ys.push(...e.y);
  }
  return { bucket: String(t), size: indices.length, feeds: { tokens: tensor('int64', [n, t], xs), targets: tensor('int64', [n, t], ys) } };
}
