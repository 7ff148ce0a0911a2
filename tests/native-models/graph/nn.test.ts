// Tiny-config checks of every nn building block: gradients w.r.t. all params and float inputs match finite
// differences (float32), so a block's composition of rules is right, not only each rule alone.
import { describe, it } from 'vitest';
import { GraphBuilder, initParams, nn, numel, rng } from '../../../native-models/graph/index';
import type { Value } from '../../../native-models/graph/index';
import { fdCheck } from './fd';
import type { Feed } from './run-model';

async function checkBlock(label: string, build: (b: GraphBuilder) => Value | Value[], ints: Feed = {}, seed = 1): Promise<void> {
  const next = rng(seed);
  const b = new GraphBuilder();
  const outs = [build(b)].flat();
  const feed: Feed = { ...ints };
  const wrt: Value[] = [];
  for (const v of b.inputs) {
    if (v.dtype !== 'float32' || ints[v.name!]) continue;
    feed[v.name!] = { dtype: 'float32', shape: v.shape, data: Array.from({ length: numel(v.shape) }, () => next() * 2 - 1) };
    wrt.push(v);
  }
  const values = initParams(b.build(), seed);
  for (const p of b.params) {
    // biases and norms start at 0/1; perturb them so their gradients are checked away from special points
    const data = Array.from(values.get(p.value.name!)!, (x) => x + (next() - 0.5) * 0.2);
    feed[`param:${p.value.name}`] = { dtype: 'float32', shape: p.value.shape, data };
    wrt.push(p.value);
  }
  await fdCheck(b, outs, wrt, feed, { h: 1e-2, tol: 2e-2, next, perTensor: 6, label });
}

describe('nn blocks: gradients of tiny configs match finite differences', () => {
  it('linear (2-d and 3-d), layerNorm, mlp', () => checkBlock('linear/ln/mlp', (b) => {
    const x = b.input('x', 'float32', [2, 3, 4]);
    return [nn.linear(b, b.input('x2', 'float32', [3, 4]), 'l2', 2), nn.layerNorm(b, nn.linear(b, x, 'l3', 5), 'ln'), nn.mlp(b, x, 'mlp', 6, 3)];
  }));

  it('logSumExp (stable: large inputs stay finite)', () => checkBlock('logSumExp', (b) => {
    const x = b.input('x', 'float32', [3, 4]);
    return [b.logSumExp(x, [1]), b.logSumExp(b.mul(x, 1000), [0], true)];
  }));

  it('embedding + position embedding', () => checkBlock('embedding', (b) =>
    nn.positionEmbedding(b, nn.embedding(b, b.input('ids', 'int64', [2, 3]), 'tok', 5, 4, 0.5), 'pos', 0.5),
  { ids: { dtype: 'int64', shape: [2, 3], data: [0, 4, 4, 1, 2, 0] } }));

  it('self-attention with padding and causal masks', () => checkBlock('self-attention', (b) => {
    const x = b.input('x', 'float32', [2, 3, 4]);
    const pad = b.input('pad', 'float32', [2, 3]);
    return nn.multiHeadAttention(b, x, 'attn', 2, nn.attentionBias(b, 3, { padding: pad, causal: true }));
  }, { pad: { dtype: 'float32', shape: [2, 3], data: [1, 1, 1, 1, 1, 0] } }));

  it('cross-attention to a memory of another length and width', () => checkBlock('cross-attention', (b) =>
    nn.multiHeadAttention(b, b.input('x', 'float32', [2, 3, 4]), 'xattn', 2, undefined, b.input('mem', 'float32', [2, 5, 6]))));

  it('encoder layers (post-LN and pre-LN, GELU and ReLU)', () => checkBlock('encoder', (b) => {
    const x = b.input('x', 'float32', [1, 3, 4]);
    return [nn.transformerEncoderLayer(b, x, 'post', { heads: 2, ffn: 8 }), nn.transformerEncoderLayer(b, x, 'pre', { heads: 2, ffn: 8, norm: 'pre', activation: 'relu' })];
  }));

  it('decoder layer (causal self-attention + cross-attention)', () => checkBlock('decoder', (b) => {
    const x = b.input('x', 'float32', [1, 3, 4]);
    return nn.transformerDecoderLayer(b, x, b.input('mem', 'float32', [1, 2, 4]), 'dec', { heads: 2, ffn: 8 }, nn.attentionBias(b, 3, { causal: true }));
  }));

  it('conv (2-d strided+grouped, 1-d dilated), transposed conv, pooling, upsampling, group norm', () => checkBlock('conv', (b) => {
    const img = b.input('img', 'float32', [1, 4, 6, 6]);
    const c = nn.conv(b, img, 'c1', 4, 3, { stride: 2, padding: 1, groups: 2 }); // [1,4,3,3]
    const up = nn.convTranspose(b, b.relu(c), 't1', 2, 2, { stride: 2 }); // [1,2,6,6]
    const pooled = b.averagePool(b.upsample(b.maxPool(up, [2, 2]), [2, 2]), [2, 2]);
    const seq = nn.conv(b, b.input('wave', 'float32', [2, 2, 9]), 'c2', 3, 3, { dilation: 2, padding: 2 });
    return [pooled, seq, nn.groupNorm(b, c, 'gn', 2)];
  }));

  it('losses: cross-entropy (ignore-index, smoothing; also fused with its output layer), InfoNCE, sigmoid BCE, MSE, smooth L1', () => checkBlock('losses', (b) => {
    const logits = b.input('logits', 'float32', [2, 3, 5]);
    const t = b.input('t', 'int64', [2, 3]);
    const a = b.input('a', 'float32', [3, 4]);
    const c = b.input('c', 'float32', [3, 4]);
    return [
      nn.crossEntropy(b, logits, t, { ignoreIndex: -100, labelSmoothing: 0.1 }),
      nn.linearCrossEntropy(b, b.input('h', 'float32', [2, 3, 4]), 'head', 5, t, { ignoreIndex: -100, labelSmoothing: 0.1 }),
      nn.infoNce(b, a, c, 0.3),
      nn.sigmoidBce(b, a, b.sigmoid(c)),
      nn.mse(b, a, c),
      nn.smoothL1(b, a, c, 0.5),
    ];
  }, { t: { dtype: 'int64', shape: [2, 3], data: [0, 4, -100, 2, 2, 1] } }));
});
