// Finite-difference check of EVERY gradient rule, driven by the rule table: `cases` is typed
// `{ [K in OpName]: ... }`, so a new op without a check (or an explicit reason) does not compile, and the
// runtime test below also walks OP_NAMES. Each case builds a small graph around the op; the harness
// differentiates L = sum_i sum(out_i * r_i) (random r_i) and compares with central differences in onnxruntime.
import { describe, expect, it } from 'vitest';
import { GraphBuilder, numel, OP_NAMES, rng } from '../../../native-models/graph/index';
import type { OpName, Value } from '../../../native-models/graph/index';
import { fdCheck } from './fd';
import type { Feed } from './run-model';

type FloatT = 'float32' | 'float64';
interface Case {
  /** float64 where onnxruntime's CPU kernels have it; float32 (looser tolerance) otherwise. */
  dtype: FloatT;
  /** Builds the op under test from the inputs it declares with `inp` (random data in [lo, hi]). */
  build: (b: GraphBuilder, inp: (shape: number[], lo?: number, hi?: number) => Value, dt: FloatT) => Value | Value[];
}
type Entry = Case | { skip: string };

const ints = (b: GraphBuilder, data: number[], shape: number[]) => b.constant(data, shape, 'int64');
const pos = 0.5;

const cases: { [K in OpName]: Entry } = {
  Const: { skip: 'no inputs' },
  Zeros: { skip: 'no inputs' },
  RandomUniform: { skip: 'integer seed input only (determinism is tested in ops.test.ts)' },
  RandomBernoulli: { skip: 'boolean output (rate and determinism are tested in ops.test.ts)' },
  Add: { dtype: 'float64', build: (b, inp) => b.add(inp([2, 1, 3]), inp([4, 1])) },
  Sub: { dtype: 'float64', build: (b, inp) => b.sub(inp([2, 1, 3]), inp([4, 1])) },
  Mul: { dtype: 'float64', build: (b, inp) => b.mul(inp([2, 1, 3]), inp([4, 1])) },
  Div: { dtype: 'float64', build: (b, inp) => b.div(inp([2, 1, 3]), inp([4, 1], pos, 2)) },
  Pow: { dtype: 'float64', build: (b, inp) => b.pow(inp([2, 3], pos, 2), inp([3], pos, 2)) },
  Max: { dtype: 'float64', build: (b, inp) => b.max(inp([2, 1, 3]), inp([4, 1])) },
  Min: { dtype: 'float64', build: (b, inp) => b.min(inp([2, 1, 3]), inp([4, 1])) },
  Equal: { skip: 'boolean output' },
  Less: { skip: 'boolean output' },
  Greater: { skip: 'boolean output' },
  And: { skip: 'boolean output' },
  Or: { skip: 'boolean output' },
  Not: { skip: 'boolean output' },
  Neg: { dtype: 'float64', build: (b, inp) => b.neg(inp([3, 4])) },
  Reciprocal: { dtype: 'float64', build: (b, inp) => b.reciprocal(inp([3, 4], pos, 2)) },
  Sqrt: { dtype: 'float64', build: (b, inp) => b.sqrt(inp([3, 4], pos, 2)) },
  Exp: { dtype: 'float64', build: (b, inp) => b.exp(inp([3, 4])) },
  Log: { dtype: 'float64', build: (b, inp) => b.log(inp([3, 4], pos, 2)) },
  Abs: { dtype: 'float64', build: (b, inp) => b.abs(inp([3, 4])) },
  Sign: { dtype: 'float64', build: (b, inp) => b.sign(inp([3, 4])) },
  Erf: { dtype: 'float32', build: (b, inp) => b.erf(inp([3, 4])) },
  Relu: { dtype: 'float64', build: (b, inp) => b.relu(inp([3, 4])) },
  Sigmoid: { dtype: 'float64', build: (b, inp) => b.sigmoid(inp([3, 4], -3, 3)) },
  Tanh: { dtype: 'float64', build: (b, inp) => b.tanh(inp([3, 4])) },
  Silu: { dtype: 'float64', build: (b, inp) => b.silu(inp([3, 4], -3, 3)) },
  Gelu: { dtype: 'float32', build: (b, inp) => b.gelu(inp([3, 4], -3, 3)) },
  MatMul: {
    dtype: 'float64',
    build: (b, inp) => [
      b.matmul(inp([2, 3, 4]), inp([4, 5])), // linear-layer path (one Gemm for dW)
      b.matmul(inp([2, 1, 3, 4]), inp([3, 4, 2])), // batched with broadcasting
      b.matmul(inp([3, 4]), inp([4, 2])),
    ],
  },
  Gemm: {
    dtype: 'float64',
    build: (b, inp) => [false, true].flatMap((ta) => [false, true].map((tb) =>
      b.gemm(inp(ta ? [4, 3] : [3, 4]), inp(tb ? [5, 4] : [4, 5]), inp(ta ? [5] : [1, 5]), { transA: ta, transB: tb }))),
  },
  ReduceSum: { dtype: 'float64', build: (b, inp) => { const x = inp([2, 3, 4]); return [b.reduceSum(x, [1]), b.reduceSum(x, [0, 2], true)]; } },
  ReduceMean: { dtype: 'float64', build: (b, inp) => { const x = inp([2, 3, 4]); return [b.reduceMean(x, [1]), b.reduceMean(x, [0, 2], true)]; } },
  ReduceMax: { dtype: 'float64', build: (b, inp) => { const x = inp([2, 3, 4]); return [b.reduceMax(x, [1]), b.reduceMax(x, [0, 2], true)]; } },
  ReduceSumSquare: { dtype: 'float64', build: (b, inp) => { const x = inp([2, 3, 4]); return [b.reduceSumSquare(x, [1]), b.reduceSumSquare(x, [0, 2], true)]; } },
  ArgMax: { skip: 'integer output' },
  Reshape: { dtype: 'float64', build: (b, inp) => b.reshape(inp([2, 3, 4]), [4, 6]) },
  Transpose: { dtype: 'float64', build: (b, inp) => b.transpose(inp([2, 3, 4]), [2, 0, 1]) },
  Concat: { dtype: 'float64', build: (b, inp) => b.concat([inp([2, 1, 3]), inp([2, 2, 3]), inp([2, 1, 3])], 1) },
  Split: { dtype: 'float64', build: (b, inp) => { const p = b.split(inp([2, 4, 3]), 1, [1, 2, 1]); return [p[0], p[2]]; } }, // middle unused: zeros
  Slice: {
    dtype: 'float64',
    build: (b, inp) => {
      const x = inp([3, 7, 2]);
      return [b.slice(x, [0, 1], [1, 1], [3, 4]), b.slice(x, [1, 0], [1, 0], [7, 3], [2, 2]), b.slice(x, [1], [2], [7], [3])];
    },
  },
  Pad: { dtype: 'float64', build: (b, inp) => b.pad(inp([2, 3]), [1, 0, 2, 2]) },
  Gather: {
    dtype: 'float64',
    build: (b, inp) => [
      b.gather(inp([5, 3]), ints(b, [0, 2, 2, 4], [2, 2]), 0), // embedding; a repeated index accumulates
      b.gather(inp([2, 4, 3]), ints(b, [3, 1, 3], [3]), 1), // a middle axis
    ],
  },
  GatherElements: { dtype: 'float64', build: (b, inp) => b.gatherElements(inp([3, 4]), ints(b, [0, 0, 3, 1, 2, 2], [3, 2]), 1) },
  GatherND: { dtype: 'float64', build: (b, inp) => b.gatherND(inp([3, 4, 2]), ints(b, [0, 1, 2, 3, 0, 1], [3, 2])) },
  ScatterNDAdd: { dtype: 'float64', build: (b, inp) => b.scatterNDAdd(inp([4, 3]), ints(b, [1, 3, 1], [3, 1]), inp([3, 3])) },
  ScatterElementsAdd: { dtype: 'float64', build: (b, inp) => b.scatterElementsAdd(inp([3, 4]), ints(b, [0, 0, 3, 1, 2, 2], [3, 2]), inp([3, 2]), 1) },
  Where: { dtype: 'float64', build: (b, inp) => b.where(b.constant([1, 0, 1, 0, 0, 1], [2, 3], 'bool'), inp([2, 3]), inp([3])) },
  Expand: { dtype: 'float64', build: (b, inp) => b.expand(inp([3, 1]), [2, 3, 4]) },
  Cast: { dtype: 'float32', build: (b, inp) => b.cast(inp([3, 4]), 'float64') },
  Softmax: { dtype: 'float64', build: (b, inp) => { const x = inp([3, 5]); return [b.softmax(x, -1), b.softmax(x, 0)]; } },
  LogSoftmax: { dtype: 'float64', build: (b, inp) => { const x = inp([3, 5]); return [b.logSoftmax(x, -1), b.logSoftmax(x, 0)]; } },
  SoftmaxCrossEntropy: {
    dtype: 'float64',
    build: (b, inp) => {
      const x = inp([4, 5]);
      const t = ints(b, [0, 3, 3, 4], [4]);
      const [, logp] = b.apply('SoftmaxCrossEntropy', [x, t], { labelSmoothing: 0 });
      return [b.softmaxCrossEntropy(x, t), b.softmaxCrossEntropy(x, t, 0.2), logp]; // logp's cotangent too
    },
  },
  LinearSoftmaxCrossEntropy: {
    dtype: 'float64',
    build: (b, inp) => {
      const x = inp([4, 3]);
      const w = inp([3, 5]);
      const bias = inp([5]);
      const t = ints(b, [0, 3, 3, 4], [4]);
      const both = b.apply('LinearSoftmaxCrossEntropy', [x, w, t, bias], { labelSmoothing: 0.1 });
      const [, logitsOnly] = b.apply('LinearSoftmaxCrossEntropy', [x, w, t], { labelSmoothing: 0 });
      return [
        b.linearSoftmaxCrossEntropy(x, w, t, bias), // per-row weights folded into x and dx, bias in the same product
        b.linearSoftmaxCrossEntropy(x, w, t, bias, 0.2),
        b.linearSoftmaxCrossEntropy(x, w, t), // no bias
        ...both, // cotangents on the loss and the logits
        logitsOnly, // on the logits alone
      ];
    },
  },
  LayerNorm: {
    dtype: 'float64',
    build: (b, inp) => { const x = inp([2, 3, 4]); return [b.layerNorm(x, inp([4]), inp([4])), b.layerNorm(x, inp([3, 4]), inp([3, 4]), 1e-5, 1)]; },
  },
  MultiHeadAttention: {
    dtype: 'float32', // onnxruntime's fused kernel is float32 only
    build: (b, inp) => {
      const q = inp([2, 3, 4]);
      const mem = inp([2, 5, 4]);
      return [
        b.multiHeadAttention(q, inp([2, 3, 4]), inp([2, 3, 4]), 2, inp([2, 1, 3, 3])), // self, per-example bias
        b.multiHeadAttention(q, mem, inp([2, 5, 4]), 2, inp([1, 2, 1, 5])), // cross, per-head key bias (expanded over T)
        b.multiHeadAttention(q, mem, mem, 1, undefined, 0.3), // no bias, one head, explicit scale
      ];
    },
  },
  Conv: {
    dtype: 'float32',
    build: (b, inp) => [
      b.conv(inp([2, 4, 5, 5]), inp([6, 2, 3, 3]), inp([6]), { strides: [2, 2], pads: [1, 1, 1, 1], group: 2 }),
      b.conv(inp([2, 3, 9]), inp([4, 3, 3]), undefined, { dilations: [2], pads: [2, 1] }),
      b.conv(inp([2, 3, 4, 4]), inp([6, 1, 3, 3]), undefined, { pads: [1, 1, 1, 1], group: 3 }), // depthwise, multiplier 2
      // stride 1, >= 16 input channels: the weight gradient as one Gemm per kernel offset (convWeightGradGemm)
      b.conv(inp([2, 16, 5, 6]), inp([3, 16, 3, 3]), inp([3]), { pads: [1, 0, 2, 1], dilations: [1, 2] }), // output 6x3
      b.conv(inp([2, 16, 3, 3]), inp([2, 16, 1, 1]), undefined, {}), // 1x1, no padding: no window copies
      b.conv(inp([2, 16, 7]), inp([3, 16, 3]), undefined, { pads: [1, 1] }), // 1-d
      // stride 1: the input gradient as a Conv with the flipped kernel, groups with several channels each
      b.conv(inp([2, 4, 7]), inp([6, 2, 3]), undefined, { pads: [1, 2], group: 2 }),
      b.conv(inp([2, 3, 4]), inp([2, 3, 1]), undefined, { pads: [1, 0] }), // pad beyond the kernel: ConvTranspose
      // strided 1-d: the input gradient in polyphase form (kernel not a multiple of the stride, uneven pads)
      b.conv(inp([2, 3, 23]), inp([4, 3, 7]), inp([4]), { strides: [3], pads: [2, 1] }),
      b.conv(inp([1, 2, 17]), inp([3, 2, 8]), undefined, { strides: [4] }),
    ],
  },
  ConvTranspose: {
    dtype: 'float32',
    build: (b, inp) => [
      b.convTranspose(inp([1, 4, 3, 3]), inp([4, 3, 3, 3]), inp([3]), { strides: [2, 2], pads: [1, 1, 1, 1], outputPadding: [1, 1] }),
      b.convTranspose(inp([2, 4, 3, 3]), inp([4, 1, 2, 2]), undefined, { strides: [2, 2], group: 2 }),
      b.convTranspose(inp([2, 3, 4, 4]), inp([3, 16, 3, 3]), undefined, { pads: [1, 1, 0, 1] }), // stride 1, 16 outputs: Gemm form
    ],
  },
  MaxPool: {
    dtype: 'float64',
    build: (b, inp) => [b.maxPool(inp([1, 2, 5, 5]), [3, 3], [2, 2], [1, 1, 1, 1]), b.maxPool(inp([2, 2, 6]), [2])],
  },
  AveragePool: {
    dtype: 'float32',
    build: (b, inp) => [b.averagePool(inp([1, 2, 4, 4]), [2, 2]), b.averagePool(inp([1, 2, 5, 5]), [3, 3], [2, 2], [1, 1, 1, 1])],
  },
  Resize: { dtype: 'float32', build: (b, inp) => b.upsample(inp([1, 2, 2, 3]), [2, 3]) },
  RoiAlign: { skip: 'no gradient by design (inference only); ops.test.ts checks that grad() refuses it' },
  StopGradient: { skip: 'zero gradient by definition (ops.test.ts checks it)' },
};

async function check(op: OpName, c: Case): Promise<void> {
  const next = rng(OP_NAMES.indexOf(op) + 1);
  const b = new GraphBuilder();
  const wrt: Value[] = [];
  const feed: Feed = {};
  const inp = (shape: number[], lo = -2, hi = 2) => {
    const v = b.input(`x${wrt.length}`, c.dtype, shape);
    wrt.push(v);
    feed[v.name!] = { dtype: c.dtype, shape, data: Array.from({ length: numel(shape) }, () => lo + (hi - lo) * next()) };
    return v;
  };
  const outs = [c.build(b, inp, c.dtype)].flat();
  expect(b.nodes.some((n) => n.op === op), `case for ${op} must use ${op}`).toBe(true);
  await fdCheck(b, outs, wrt, feed, {
    h: c.dtype === 'float64' ? 1e-6 : 1e-2, tol: c.dtype === 'float64' ? 1e-6 : 2e-2, next, label: op,
    optimization: c.dtype === 'float64' ? 'basic' : 'all',
  });
}

describe('gradient rules match finite differences', () => {
  it('every op in the rule table has a check or a stated reason', () => {
    for (const op of OP_NAMES) expect(cases[op], `no gradient check for ${op}`).toBeDefined();
  });
  for (const op of OP_NAMES) {
    const c = cases[op];
    if ('skip' in c) continue;
    it(`${op} (${c.dtype})`, () => check(op, c));
  }
});
