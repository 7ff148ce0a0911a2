// The rule table: for every op ONE row with its type rule (`infer`), its ONNX lowering (`lower`) and its
// gradient (`vjp`, the vector-Jacobian product, written with the builder so gradients are graphs too).
// `rules` is typed `{ [K in OpName]: OpRule<K> }`, so an op without a row does not compile (jax-js style).
// Notation beside each gradient: y = output, g = dL/dy (the cotangent), dx = dL/dx.
import type { GraphBuilder } from './builder';
import { broadcastShapes, fmtType, isFloat, normAxis, numel } from './ir';
import type { DType, Node, TensorType, Value } from './ir';

/** Attributes of every op. Adding a key here without a row in `rules` is a compile error. */
export interface OpAttrs {
  Const: { data: ArrayLike<number>; dtype: DType; shape: number[] };
  Zeros: { dtype: DType; shape: number[] };
  RandomUniform: { shape: number[]; salt: number };
  RandomBernoulli: { shape: number[]; salt: number; p: number };
  Add: Empty; Sub: Empty; Mul: Empty; Div: Empty; Pow: Empty; Max: Empty; Min: Empty;
  Equal: Empty; Less: Empty; Greater: Empty; And: Empty; Or: Empty; Not: Empty;
  Neg: Empty; Reciprocal: Empty; Sqrt: Empty; Exp: Empty; Log: Empty; Abs: Empty; Sign: Empty; Erf: Empty;
  Relu: Empty; Sigmoid: Empty; Tanh: Empty; Silu: Empty; Gelu: Empty;
  MatMul: Empty;
  Gemm: { transA: boolean; transB: boolean };
  ReduceSum: Reduce; ReduceMean: Reduce; ReduceMax: Reduce; ReduceSumSquare: Reduce;
  ArgMax: { axis: number; keepdims: boolean };
  Reshape: { shape: number[] };
  Transpose: { perm: number[] };
  Concat: { axis: number };
  Split: { axis: number; sizes: number[] };
  Slice: { axes: number[]; starts: number[]; ends: number[]; steps?: number[] };
  Pad: { pads: number[] };
  Gather: { axis: number };
  GatherElements: { axis: number };
  GatherND: Empty;
  ScatterNDAdd: Empty;
  ScatterElementsAdd: { axis: number };
  Where: Empty;
  Expand: { shape: number[] };
  Cast: { to: DType };
  Softmax: { axis: number };
  LogSoftmax: { axis: number };
  SoftmaxCrossEntropy: { labelSmoothing: number };
  LinearSoftmaxCrossEntropy: { labelSmoothing: number };
  LayerNorm: { axis: number; epsilon: number };
  MultiHeadAttention: { heads: number; scale: number };
  Conv: ConvAttrs;
  ConvTranspose: ConvAttrs & { outputPadding: number[] };
  MaxPool: Pool;
  AveragePool: Pool;
  Resize: { scales: number[] };
  RoiAlign: { outputHeight: number; outputWidth: number; samplingRatio: number; spatialScale: number; mode: 'avg' | 'max' };
  StopGradient: Empty;
}
export type OpName = keyof OpAttrs;
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
type Empty = {};
type Reduce = { axes: number[]; keepdims: boolean };
/** Conv attributes; `pads` is ONNX's [begin..., end...]. */
export interface ConvAttrs { strides: number[]; pads: number[]; dilations: number[]; group: number }
/** Pooling; AveragePool counts padding in its divisor (count_include_pad=1) so its gradient is one ConvTranspose. */
export interface Pool { kernel: number[]; strides: number[]; pads: number[] }

/** ONNX attribute values as lowering passes them: integers, int lists, strings, or tagged floats. */
export type AttrIn = number | number[] | string | { f: number } | { floats: number[] };

/** What a lowering may do: emit ONNX nodes and constants. Implemented by ./onnx. */
export interface Lowering {
  node(op: string, inputs: string[], outputs: string[], attrs?: Record<string, AttrIn>, domain?: string): void;
  /** A fresh intermediate name. */
  tmp(): string;
  /** A 1-D int64 constant (axes, shapes, pads). */
  ints(values: number[]): string;
  /** A 0-d constant of a dtype. */
  scalar(value: number, dtype: DType): string;
  /** An initializer with a given name. */
  initializer(name: string, data: ArrayLike<number>, dtype: DType, shape: number[]): void;
}

/** A gradient rule: cotangents of the outputs in, cotangents of the inputs out (undefined = zero). */
export type Vjp<K extends OpName> = (b: GraphBuilder, node: Node<K>, cts: readonly (Value | undefined)[]) => readonly (Value | undefined)[];
/** Marks an op whose float outputs have no gradient rule; autodiff refuses to differentiate through it. */
export interface NoGrad { readonly noGradient: string }

export interface OpRule<K extends OpName> {
  /** Output types from input types; throws a message naming the offending types. */
  infer(ins: readonly TensorType[], attrs: OpAttrs[K]): TensorType[];
  lower(L: Lowering, ins: string[], outs: string[], attrs: OpAttrs[K], node: Node<K>): void;
  vjp: Vjp<K> | NoGrad;
}

/** ONNX TensorProto.DataType codes. */
export const ONNX_DTYPE: Record<DType, number> = { float32: 1, int32: 6, int64: 7, bool: 9, float16: 10, float64: 11 };

const f = (x: number) => ({ f: x });

// ---- type-rule helpers -------------------------------------------------------------------------------------

function arity(ins: readonly TensorType[], min: number, max = min): void {
  if (ins.length < min || ins.length > max) {
    throw new Error(`expects ${min === max ? min : `${min}..${max}`} inputs, got ${ins.length}`);
  }
}
function needFloat(t: TensorType, what = 'input'): void {
  if (!isFloat(t.dtype)) throw new Error(`${what} must be a float tensor, got ${fmtType(t)}`);
}
function needDtype(t: TensorType, dtypes: DType[], what: string): void {
  if (!dtypes.includes(t.dtype)) throw new Error(`${what} must be ${dtypes.join(' or ')}, got ${fmtType(t)}`);
}
function sameDtype(a: TensorType, b: TensorType): void {
  if (a.dtype !== b.dtype) throw new Error(`dtypes differ: ${fmtType(a)} vs ${fmtType(b)}`);
}
const unaryInfer = (ins: readonly TensorType[]): TensorType[] => {
  arity(ins, 1);
  needFloat(ins[0]);
  return [ins[0]];
};
const binaryInfer = (ins: readonly TensorType[]): TensorType[] => {
  arity(ins, 2);
  needFloat(ins[0], 'a');
  sameDtype(ins[0], ins[1]);
  return [{ dtype: ins[0].dtype, shape: broadcastShapes(ins[0].shape, ins[1].shape) }];
};
const compareInfer = (ins: readonly TensorType[]): TensorType[] => {
  arity(ins, 2);
  sameDtype(ins[0], ins[1]);
  return [{ dtype: 'bool', shape: broadcastShapes(ins[0].shape, ins[1].shape) }];
};
const boolInfer = (n: number) => (ins: readonly TensorType[]): TensorType[] => {
  arity(ins, n);
  ins.forEach((t, i) => needDtype(t, ['bool'], `input ${i}`));
  return [{ dtype: 'bool', shape: n === 1 ? ins[0].shape : broadcastShapes(ins[0].shape, ins[1].shape) }];
};
const simple = (op: string) => (L: Lowering, ins: string[], outs: string[]) => L.node(op, ins, outs);
const noGrad = (why: string): NoGrad => ({ noGradient: why });

function reduceInfer(ins: readonly TensorType[], a: Reduce): TensorType[] {
  arity(ins, 1);
  const r = ins[0].shape.length;
  const axes = a.axes.map((x) => normAxis(x, r));
  if (axes.length === 0) throw new Error('axes must not be empty (list every axis to reduce all)');
  const shape = a.keepdims ? ins[0].shape.map((d, i) => (axes.includes(i) ? 1 : d)) : ins[0].shape.filter((_, i) => !axes.includes(i));
  return [{ dtype: ins[0].dtype, shape }];
}
/** The targets [N] (int64) of rows x [N,...] and the label smoothing in [0,1): the checks both cross-entropy rules share. */
function crossEntropyChecks(x: TensorType, t: TensorType, labelSmoothing: number): void {
  needDtype(t, ['int64'], 'targets');
  if (t.shape.join() !== String(x.shape[0])) throw new Error(`targets ${fmtType(t)} must be [${x.shape[0]}] for rows ${fmtType(x)}`);
  if (!(labelSmoothing >= 0 && labelSmoothing < 1)) throw new Error(`label smoothing ${labelSmoothing} must be in [0,1)`);
}

/** Per-row cross-entropy of logits [N,V] against targets [N] (ONNX names): logp = LogSoftmax (written to `logp`),
 * loss = -(1-eps)*logp[t] - eps*mean_v(logp). Shared by SoftmaxCrossEntropy and LinearSoftmaxCrossEntropy. */
function lowerCrossEntropy(L: Lowering, x: string, t: string, loss: string, logp: string, eps: number, dt: DType, rows: number): void {
  L.node('LogSoftmax', [x], [logp], { axis: 1 });
  const t2 = L.tmp();
  L.node('Unsqueeze', [t, L.ints([1])], [t2]);
  const picked = L.tmp();
  L.node('GatherElements', [logp, t2], [picked], { axis: 1 });
  if (eps === 0) {
    const neg = L.tmp();
    L.node('Neg', [picked], [neg]);
    L.node('Reshape', [neg, L.ints([rows])], [loss]);
    return;
  }
  const mean = L.tmp();
  L.node('ReduceMean', [logp, L.ints([1])], [mean], { keepdims: 1 });
  const p1 = L.tmp(), p2 = L.tmp(), sum = L.tmp();
  L.node('Mul', [picked, L.scalar(eps - 1, dt)], [p1]);
  L.node('Mul', [mean, L.scalar(-eps, dt)], [p2]);
  L.node('Add', [p1, p2], [sum]);
  L.node('Reshape', [sum, L.ints([rows])], [loss]);
}
const reduceLower = (op: string) => (L: Lowering, ins: string[], outs: string[], a: Reduce) =>
  L.node(op, [ins[0], L.ints(a.axes)], outs, { keepdims: a.keepdims ? 1 : 0 });
/** The reduced value's cotangent reshaped so it broadcasts against the input (keepdims form). */
function keepShape(b: GraphBuilder, x: Value, g: Value, a: Reduce): Value {
  if (a.keepdims) return g;
  const axes = a.axes.map((ax) => normAxis(ax, x.shape.length));
  return b.reshape(g, x.shape.map((d, i) => (axes.includes(i) ? 1 : d)));
}

function convOut(inp: number, k: number, s: number, d: number, pb: number, pe: number): number {
  return Math.floor((inp + pb + pe - d * (k - 1) - 1) / s) + 1;
}
/** Output type of MaxPool / AveragePool: [N, C, ...pooled spatial dims] (1-d or 2-d, one kernel size per axis). */
function poolOutput(op: string, ins: readonly TensorType[], a: Pool): TensorType {
  arity(ins, 1);
  needFloat(ins[0]);
  const x = ins[0];
  const r = x.shape.length - 2;
  if (r < 1 || r > 2 || a.kernel.length !== r) throw new Error(`${op} needs [N,C,L] or [N,C,H,W] and a kernel per spatial axis, got ${fmtType(x)}`);
  const sp = a.kernel.map((k, i) => convOut(x.shape[i + 2], k, a.strides[i], 1, a.pads[i], a.pads[r + i]));
  return { dtype: x.dtype, shape: [x.shape[0], x.shape[1], ...sp] };
}
function convCheck(x: TensorType, w: TensorType, a: ConvAttrs): number {
  const r = x.shape.length - 2;
  if (r < 1 || r > 2) throw new Error(`Conv supports 1-d and 2-d inputs [N,C,L] or [N,C,H,W], got ${fmtType(x)}`);
  if (w.shape.length !== r + 2) throw new Error(`weight rank ${w.shape.length} does not match input ${fmtType(x)}`);
  for (const [k, v] of [['strides', a.strides], ['dilations', a.dilations]] as const) {
    if (v.length !== r) throw new Error(`${k} needs ${r} entries, got [${v.join(',')}]`);
  }
  if (a.pads.length !== 2 * r) throw new Error(`pads needs ${2 * r} entries, got [${a.pads.join(',')}]`);
  return r;
}
const convLowerAttrs = (a: ConvAttrs, k: number[]): Record<string, AttrIn> => ({
  strides: a.strides, pads: a.pads, dilations: a.dilations, group: a.group, kernel_shape: k,
});

/**
 * dL/dW of y = conv(x, W) (dOut = dL/dy), as ONE grouped convolution of x with dOut:
 * dW[m,c,k] = sum_{n,i} dOut[n,m,i] * xpad[n, j*Cg+c, i*s + k*d]  (m in group j)
 *           = conv(X', W'; stride=d, dilation=s, group=G)[c,m,k]
 * with X'[c, j*N+n] = x[n, j*Cg+c] (batch Cg, channels G*N) and W'[m, n] = dOut[n, m].
 */
function convWeightGrad(b: GraphBuilder, x: Value, dOut: Value, wShape: readonly number[], a: ConvAttrs): Value {
  const r = x.shape.length - 2;
  const kernel = wShape.slice(2);
  if (a.group === 1 && a.strides.every((s) => s === 1) && x.shape[1] >= 16 && numel(kernel) <= 9) return convWeightGradGemm(b, x, dOut, kernel, a);
  const sp = Array.from({ length: r }, (_, i) => i + 2);
  const [n, c] = x.shape;
  const G = a.group;
  const cg = c / G;
  const xg = b.reshape(x, [n, G, cg, ...x.shape.slice(2)]);
  const xT = b.reshape(b.transpose(xg, [2, 1, 0, ...sp.map((i) => i + 1)]), [cg, G * n, ...x.shape.slice(2)]);
  const gT = b.transpose(dOut, [1, 0, ...sp]);
  let dw = b.apply('Conv', [xT, gT], { strides: a.dilations, dilations: a.strides, pads: a.pads, group: G })[0]; // [Cg, M, k'...]
  if (dw.shape.slice(2).some((d, i) => d !== kernel[i])) dw = b.slice(dw, sp, kernel.map(() => 0), kernel);
  return b.transpose(dw, [1, 0, ...sp]); // [M, Cg, k...]
}

/**
 * The same weight gradient for stride-1 ungrouped convs with small kernels, as one Gemm per kernel offset o:
 * dW[:, :, o] = dOut' @ x_o'^T, where dOut' is dOut as [M, N*prod(So)] and x_o' the (padded, dilated) input
 * window at offset o as [C, N*prod(So)]. The products are [M x N*prod(So)] @ [N*prod(So) x C], which MLAS runs
 * at full speed; the single grouped convolution above has only prod(k) output columns per product (im2col
 * against a spatially huge kernel): 2-4.5x slower measured on the dVAE's 3x3 and 1x1 layers (1 thread). Strided
 * convs keep the convolution form: their strided input windows cost more to copy than it saves.
 */
function convWeightGradGemm(b: GraphBuilder, x: Value, dOut: Value, kernel: readonly number[], a: ConvAttrs): Value {
  const r = kernel.length;
  const sp = Array.from({ length: r }, (_, i) => i + 2);
  const [n, c] = x.shape;
  const m = dOut.shape[1];
  const so = dOut.shape.slice(2);
  const rows = n * numel(so);
  let xT = b.transpose(x, [1, 0, ...sp]); // [C, N, S...]
  if (a.pads.some((p) => p !== 0)) xT = b.pad(xT, [0, 0, ...a.pads.slice(0, r), 0, 0, ...a.pads.slice(r)]);
  const g2 = b.reshape(b.transpose(dOut, [1, 0, ...sp]), [m, rows]);
  const parts: Value[] = [];
  for (let o = 0; o < numel(kernel); o++) {
    // Offset o in row-major order over the kernel's axes, times the dilation.
    const starts = kernel.map((_, i) => (Math.floor(o / numel(kernel.slice(i + 1))) % kernel[i]) * a.dilations[i]);
    const xo = numel(kernel) === 1 && a.pads.every((p) => p === 0) ? xT : b.slice(xT, sp, starts, starts.map((s0, i) => s0 + so[i]));
    parts.push(b.reshape(b.gemm(g2, b.reshape(xo, [c, rows]), undefined, { transB: true }), [m, c, 1]));
  }
  return b.reshape(parts.length === 1 ? parts[0] : b.concat(parts, 2), [m, c, ...kernel]);
}

/** The kernel of a stride-1 conv's input gradient: W [M, C/G, k...] -> [C, M/G, k...], each group's inputs and
 * outputs swapped and every spatial axis reversed (constant-index Gathers on the small weight). */
function flippedKernel(b: GraphBuilder, w: Value, group: number): Value {
  const [m, cg, ...k] = w.shape;
  const sp = k.map((_, i) => i + 3);
  let f = b.reshape(b.transpose(b.reshape(w, [group, m / group, cg, ...k]), [0, 2, 1, ...sp]), [group * cg, m / group, ...k]);
  k.forEach((n, i) => { f = b.gather(f, b.constant(Array.from({ length: n }, (_, j) => n - 1 - j), [n], 'int64'), i + 2); });
  return f;
}

/**
 * Input gradient of a strided 1-d conv (no groups or dilation) without ConvTranspose: input position u with
 * u + pad = s*q + p only meets the taps p, p+s, p+2s, ..., so each phase p is a stride-1 correlation of g with
 * those J = ceil(k/s) taps, flipped. All s phases are ONE Conv of g with a [C*s, M, J] kernel (taps past k are
 * zero), whose outputs [N, C, s, Q] are interleaved to [N, C, Q*s] and cropped to x's length. onnxruntime runs
 * it 1.5-1.9x faster than its ConvTranspose on the audio encoder's k8 s4 layers (18 vs 33 ms on [8,48,8276]).
 */
function polyphaseInputGrad(b: GraphBuilder, g: Value, w: Value, length: number, s: number, padBegin: number): Value {
  const [n, m, to] = g.shape;
  const [, c, k] = w.shape;
  const J = Math.ceil(k / s);
  const q = Math.ceil((length + padBegin) / s);
  // Kernel row c*s + p, tap j = w[:, c, p + s*(J-1-j)]: taps padded to s*J, gathered as [M, C, s, J].
  const idx = Array.from({ length: s * J }, (_, t) => (Math.floor(t / J)) + s * (J - 1 - (t % J)));
  const taps = b.gather(b.pad(w, [0, 0, 0, 0, 0, s * J - k]), b.constant(idx, [s, J], 'int64'), 2);
  const kernel = b.reshape(b.transpose(taps, [1, 2, 0, 3]), [c * s, m, J]);
  let y = b.conv(g, kernel, undefined, { pads: [J - 1, Math.max(0, q - to)] }); // [N, C*s, >= Q]
  if (y.shape[2] > q) y = b.slice(y, [2], [0], [q]);
  const z = b.reshape(b.transpose(b.reshape(y, [n, c, s, q]), [0, 1, 3, 2]), [n, c, q * s]);
  return padBegin === 0 && q * s === length ? z : b.slice(z, [2], [padBegin], [padBegin + length]);
}

function seedCheck(ins: readonly TensorType[]): void {
  arity(ins, 1);
  needDtype(ins[0], ['int64'], 'seed');
  if (ins[0].shape.length !== 0) throw new Error(`seed must be a scalar, got ${fmtType(ins[0])}`);
}

/**
 * Counter-based RNG for RandomUniform / RandomBernoulli: 32 random bits per element (int64 values < 2^32) from
 * hash(i xor key(seed, salt)), two rounds of Wellons' lowbias32 with multipliers < 2^31 so int64 products never
 * overflow. The closing xor-shift of lowbias32 only touches the low 16 bits, which callers weigh least, so it is
 * left out: 9 elementwise passes.
 */
function hashBits(L: Lowering, seed: string, n: number, salt: number): string {
  const I = (v: number) => L.scalar(v, 'int64');
  const op = (o: string, x: string, y: string) => { const r = L.tmp(); L.node(o, [x, y], [r]); return r; };
  const idx = L.tmp();
  L.node('Range', [I(0), I(n), I(1)], [idx]); // constant: folded by onnxruntime at load
  const s = op('Mod', seed, I(2 ** 31));
  const key = op('Mod', op('Add', op('Mul', s, I(747796405)), I((salt * 2891336453) % 2 ** 32)), I(2 ** 32));
  const M = I(2 ** 32);
  let x = op('BitwiseXor', idx, key);
  x = op('BitwiseXor', x, op('Div', x, I(65536)));
  x = op('Mod', op('Mul', x, I(0x7feb352d)), M);
  x = op('BitwiseXor', x, op('Div', x, I(32768)));
  return op('Mod', op('Mul', x, I(0x2c1b3c6d)), M);
}

// ---- the table ---------------------------------------------------------------------------------------------

/** One row per op: type rule, ONNX lowering, gradient. */
export const rules: { [K in OpName]: OpRule<K> } = {
  Const: {
    infer: (ins, a) => {
      arity(ins, 0);
      if (a.data.length !== numel(a.shape)) throw new Error(`data has ${a.data.length} values, shape [${a.shape}] needs ${numel(a.shape)}`);
      return [{ dtype: a.dtype, shape: a.shape }];
    },
    lower: (L, _ins, outs, a) => L.initializer(outs[0], a.data, a.dtype, a.shape),
    vjp: () => [], // no inputs
  },
  Zeros: {
    infer: (ins, a) => (arity(ins, 0), [{ dtype: a.dtype, shape: a.shape }]),
    lower: (L, _ins, outs, a) => L.node('Expand', [L.scalar(0, a.dtype), L.ints(a.shape)], outs),
    vjp: () => [],
  },
  RandomUniform: {
    infer: (ins, a) => (seedCheck(ins), [{ dtype: 'float32', shape: a.shape }]),
    // u = (top 24 bits of hashBits) / 2^24, in [0,1). Same seed, same numbers, on every run and every provider.
    lower: (L, ins, outs, a) => {
      const x = hashBits(L, ins[0], numel(a.shape), a.salt);
      const top = L.tmp(), fl = L.tmp(), u = L.tmp();
      L.node('Div', [x, L.scalar(256, 'int64')], [top]);
      L.node('Cast', [top], [fl], { to: ONNX_DTYPE.float32 });
      L.node('Mul', [fl, L.scalar(2 ** -24, 'float32')], [u]);
      L.node('Reshape', [u, L.ints(a.shape)], outs);
    },
    vjp: () => [undefined], // the seed is an integer
  },
  RandomBernoulli: {
    infer: (ins, a) => {
      seedCheck(ins);
      if (!(a.p >= 0 && a.p <= 1)) throw new Error(`probability ${a.p} must be in [0,1]`);
      return [{ dtype: 'bool', shape: a.shape }];
    },
    // true with probability p: hashBits < p*2^32 (one comparison on the integers; dropout's mask).
    lower: (L, ins, outs, a) => {
      const m = L.tmp();
      L.node('Less', [hashBits(L, ins[0], numel(a.shape), a.salt), L.scalar(Math.round(a.p * 2 ** 32), 'int64')], [m]);
      L.node('Reshape', [m, L.ints(a.shape)], outs);
    },
    vjp: noGrad('boolean output'),
  },

  // -- elementwise arithmetic with numpy broadcasting; b.sumTo undoes the broadcast in gradients
  Add: { infer: binaryInfer, lower: simple('Add'), vjp: (b, n, [g]) => [b.sumTo(g!, n.inputs[0].shape), b.sumTo(g!, n.inputs[1].shape)] }, // dx = g, dy = g
  Sub: { infer: binaryInfer, lower: simple('Sub'), vjp: (b, n, [g]) => [b.sumTo(g!, n.inputs[0].shape), b.sumTo(b.neg(g!), n.inputs[1].shape)] }, // da = g, db = -g
  Mul: {
    infer: binaryInfer, lower: simple('Mul'),
    vjp: (b, { inputs: [x, y] }, [g]) => [b.sumTo(b.mul(g!, y), x.shape), b.sumTo(b.mul(g!, x), y.shape)], // da = g*b, db = g*a
  },
  Div: {
    infer: binaryInfer, lower: simple('Div'),
    // y = a/b: da = g/b, db = -g*a/b^2 = -g*y/b
    vjp: (b, { inputs: [x, y], outputs: [o] }, [g]) => [b.sumTo(b.div(g!, y), x.shape), b.sumTo(b.neg(b.div(b.mul(g!, o), y)), y.shape)],
  },
  Pow: {
    infer: binaryInfer, lower: simple('Pow'),
    // y = a^p: da = g*p*a^(p-1), dp = g*y*ln(a) (a > 0)
    vjp: (b, { inputs: [x, p], outputs: [o] }, [g]) => [
      b.sumTo(b.mul(g!, b.mul(p, b.pow(x, b.sub(p, 1)))), x.shape),
      b.sumTo(b.mul(g!, b.mul(o, b.log(x))), p.shape),
    ],
  },
  Max: {
    infer: binaryInfer, lower: simple('Max'),
    // y = max(a,b): g flows to the larger (to b on ties)
    vjp: (b, { inputs: [x, y] }, [g]) => {
      const m = b.greater(x, y);
      return [b.sumTo(b.where(m, g!, 0), x.shape), b.sumTo(b.where(m, 0, g!), y.shape)];
    },
  },
  Min: {
    infer: binaryInfer, lower: simple('Min'),
    vjp: (b, { inputs: [x, y] }, [g]) => { // g flows to the smaller (to b on ties)
      const m = b.less(x, y);
      return [b.sumTo(b.where(m, g!, 0), x.shape), b.sumTo(b.where(m, 0, g!), y.shape)];
    },
  },
  Equal: { infer: compareInfer, lower: simple('Equal'), vjp: noGrad('boolean output') },
  Less: { infer: compareInfer, lower: simple('Less'), vjp: noGrad('boolean output') },
  Greater: { infer: compareInfer, lower: simple('Greater'), vjp: noGrad('boolean output') },
  And: { infer: boolInfer(2), lower: simple('And'), vjp: noGrad('boolean output') },
  Or: { infer: boolInfer(2), lower: simple('Or'), vjp: noGrad('boolean output') },
  Not: { infer: boolInfer(1), lower: simple('Not'), vjp: noGrad('boolean output') },

  // -- unary
  Neg: { infer: unaryInfer, lower: simple('Neg'), vjp: (b, _n, [g]) => [b.neg(g!)] }, // dx = -g
  Reciprocal: { infer: unaryInfer, lower: simple('Reciprocal'), vjp: (b, { outputs: [y] }, [g]) => [b.neg(b.mul(g!, b.mul(y, y)))] }, // dx = -g*y^2
  Sqrt: { infer: unaryInfer, lower: simple('Sqrt'), vjp: (b, { outputs: [y] }, [g]) => [b.div(b.mul(g!, 0.5), y)] }, // dx = g/(2y)
  Exp: { infer: unaryInfer, lower: simple('Exp'), vjp: (b, { outputs: [y] }, [g]) => [b.mul(g!, y)] }, // dx = g*y
  Log: { infer: unaryInfer, lower: simple('Log'), vjp: (b, { inputs: [x] }, [g]) => [b.div(g!, x)] }, // dx = g/x
  Abs: { infer: unaryInfer, lower: simple('Abs'), vjp: (b, { inputs: [x] }, [g]) => [b.mul(g!, b.sign(x))] }, // dx = g*sign(x)
  Sign: { infer: unaryInfer, lower: simple('Sign'), vjp: () => [undefined] }, // piecewise constant: dx = 0
  Erf: {
    infer: unaryInfer, lower: simple('Erf'),
    vjp: (b, { inputs: [x] }, [g]) => [b.mul(g!, b.mul(b.exp(b.neg(b.mul(x, x))), 2 / Math.sqrt(Math.PI)))], // dx = g*2/sqrt(pi)*exp(-x^2)
  },
  // dx = g*[y>0], as a Mul by the cast mask: faster than Where in onnxruntime (5.5 vs 8.4 ms on [32,64,32,32], 1 thread);
  // unlike Where, a non-finite g where y <= 0 gives NaN there (it is NaN or inf upstream anyway)
  Relu: { infer: unaryInfer, lower: simple('Relu'), vjp: (b, { outputs: [y] }, [g]) => [b.mul(g!, b.cast(b.greater(y, 0), y.dtype))] },
  Sigmoid: {
    infer: unaryInfer, lower: simple('Sigmoid'),
    vjp: (b, { outputs: [y] }, [g]) => [b.mul(g!, b.mul(y, b.sub(1, y)))], // dx = g*y*(1-y)
  },
  Tanh: { infer: unaryInfer, lower: simple('Tanh'), vjp: (b, { outputs: [y] }, [g]) => [b.mul(g!, b.sub(1, b.mul(y, y)))] }, // dx = g*(1-y^2)
  Silu: {
    infer: unaryInfer,
    lower: (L, ins, outs) => { const s = L.tmp(); L.node('Sigmoid', ins, [s]); L.node('Mul', [ins[0], s], outs); },
    // y = x*s(x): dx = g*s*(1 + x*(1-s))
    vjp: (b, { inputs: [x] }, [g]) => { const s = b.sigmoid(x); return [b.mul(g!, b.mul(s, b.add(1, b.mul(x, b.sub(1, s)))))]; },
  },
  Gelu: {
    infer: unaryInfer,
    // ONNX Gelu (opset 20, exact erf form); ORT runs it as one kernel.
    lower: (L, ins, outs) => L.node('Gelu', ins, outs, { approximate: 'none' }),
    // y = x*Phi(x): dx = g*(Phi(x) + x*phi(x)), Phi = (1+erf(x/sqrt2))/2, phi = exp(-x^2/2)/sqrt(2pi)
    vjp: (b, { inputs: [x] }, [g]) => {
      const cdf = b.mul(b.add(b.erf(b.mul(x, Math.SQRT1_2)), 1), 0.5);
      const pdf = b.mul(b.exp(b.mul(b.mul(x, x), -0.5)), 1 / Math.sqrt(2 * Math.PI));
      return [b.mul(g!, b.add(cdf, b.mul(x, pdf)))];
    },
  },

  // -- linear algebra
  MatMul: {
    infer: (ins) => {
      arity(ins, 2);
      const [a, c] = ins;
      needFloat(a, 'a');
      sameDtype(a, c);
      if (a.shape.length < 2 || c.shape.length < 2) throw new Error(`MatMul needs rank >= 2 operands, got ${fmtType(a)} @ ${fmtType(c)}`);
      const k1 = a.shape[a.shape.length - 1];
      const k2 = c.shape[c.shape.length - 2];
      if (k1 !== k2) throw new Error(`inner dimensions differ: ${fmtType(a)} @ ${fmtType(c)} (${k1} vs ${k2})`);
      const batch = broadcastShapes(a.shape.slice(0, -2), c.shape.slice(0, -2));
      return [{ dtype: a.dtype, shape: [...batch, a.shape[a.shape.length - 2], c.shape[c.shape.length - 1]] }];
    },
    lower: simple('MatMul'),
    // y = a@w: da = g@w^T, dw = a^T@g (summed over broadcast batch axes). A 2-d weight under a batched input
    // (a linear layer) gets one Gemm over the flattened rows instead of a batched product and a reduction.
    vjp: (b, { inputs: [a, w] }, [g]) => {
      const swap = (v: Value) => b.transpose(v, [...v.shape.keys()].map((i, _, all) => (i < all.length - 2 ? i : all.length * 2 - 3 - i)));
      let da: Value;
      let dw: Value;
      if (w.shape.length === 2) {
        const k = a.shape[a.shape.length - 1];
        const n = w.shape[1];
        da = a.shape.length === 2 ? b.gemm(g!, w, undefined, { transB: true }) : b.matmul(g!, b.transpose(w, [1, 0]));
        dw = b.gemm(b.reshape(a, [-1, k]), b.reshape(g!, [-1, n]), undefined, { transA: true });
      } else {
        da = b.matmul(g!, swap(w));
        dw = b.matmul(swap(a), g!);
      }
      return [b.sumTo(da, a.shape), b.sumTo(dw, w.shape)];
    },
  },
  Gemm: {
    infer: (ins, a) => {
      arity(ins, 2, 3);
      const [x, w, c] = ins;
      needFloat(x, 'A');
      sameDtype(x, w);
      if (x.shape.length !== 2 || w.shape.length !== 2) throw new Error(`Gemm needs 2-d operands, got ${fmtType(x)}, ${fmtType(w)}`);
      const [m, k1] = a.transA ? [x.shape[1], x.shape[0]] : x.shape;
      const [k2, n] = a.transB ? [w.shape[1], w.shape[0]] : w.shape;
      if (k1 !== k2) throw new Error(`inner dimensions differ: ${fmtType(x)}${a.transA ? '^T' : ''} @ ${fmtType(w)}${a.transB ? '^T' : ''} (${k1} vs ${k2})`);
      if (c) {
        sameDtype(x, c);
        const s = broadcastShapes(c.shape, [m, n]);
        if (s[0] !== m || s[1] !== n) throw new Error(`bias ${fmtType(c)} does not broadcast to [${m},${n}]`);
      }
      return [{ dtype: x.dtype, shape: [m, n] }];
    },
    lower: (L, ins, outs, a) => L.node('Gemm', ins, outs, { transA: a.transA ? 1 : 0, transB: a.transB ? 1 : 0 }),
    // y = op(A)@op(B) + C. dop(A) = g@op(B)^T, dop(B) = op(A)^T@g; each written as one Gemm with trans flags.
    vjp: (b, { inputs: [x, w, c], attrs: { transA, transB } }, [g]) => {
      const G = (p: Value, q: Value, ta: boolean, tb: boolean) => b.gemm(p, q, undefined, { transA: ta, transB: tb });
      const dx = transA ? G(w, g!, transB, true) : G(g!, w, false, !transB);
      const dw = transB ? G(g!, x, true, transA) : G(x, g!, !transA, false);
      return [dx, dw, c ? b.sumTo(g!, c.shape) : undefined];
    },
  },

  // -- reductions (opset 18: axes are an input)
  ReduceSum: {
    infer: reduceInfer, lower: reduceLower('ReduceSum'),
    vjp: (b, { inputs: [x], attrs }, [g]) => [b.expand(keepShape(b, x, g!, attrs), x.shape)], // dx = broadcast(g)
  },
  ReduceMean: {
    infer: reduceInfer, lower: reduceLower('ReduceMean'),
    vjp: (b, { inputs: [x], outputs: [y], attrs }, [g]) => // dx = broadcast(g)/count
      [b.expand(b.mul(keepShape(b, x, g!, attrs), numel(y.shape) / numel(x.shape)), x.shape)],
  },
  ReduceMax: {
    infer: reduceInfer, lower: reduceLower('ReduceMax'),
    // dx = g where x equals the max (every tied maximum receives g)
    vjp: (b, { inputs: [x], outputs: [y], attrs }, [g]) =>
      [b.where(b.equal(x, keepShape(b, x, y, attrs)), keepShape(b, x, g!, attrs), 0)],
  },
  ReduceSumSquare: {
    infer: reduceInfer, lower: reduceLower('ReduceSumSquare'),
    vjp: (b, { inputs: [x], attrs }, [g]) => [b.mul(b.mul(x, 2), keepShape(b, x, g!, attrs))], // dx = 2*x*g
  },
  ArgMax: {
    infer: (ins, a) => {
      arity(ins, 1);
      const ax = normAxis(a.axis, ins[0].shape.length);
      return [{ dtype: 'int64', shape: a.keepdims ? ins[0].shape.map((d, i) => (i === ax ? 1 : d)) : ins[0].shape.filter((_, i) => i !== ax) }];
    },
    lower: (L, ins, outs, a) => L.node('ArgMax', ins, outs, { axis: a.axis, keepdims: a.keepdims ? 1 : 0 }),
    vjp: noGrad('integer output'),
  },

  // -- shape ops
  Reshape: {
    infer: (ins, a) => {
      arity(ins, 1);
      if (numel(a.shape) !== numel(ins[0].shape) || a.shape.some((d) => d < 0)) {
        throw new Error(`cannot reshape ${fmtType(ins[0])} to [${a.shape.join(',')}]`);
      }
      return [{ dtype: ins[0].dtype, shape: a.shape }];
    },
    lower: (L, ins, outs, a) => L.node('Reshape', [ins[0], L.ints(a.shape)], outs),
    vjp: (b, { inputs: [x] }, [g]) => [b.reshape(g!, x.shape)],
  },
  Transpose: {
    infer: (ins, a) => {
      arity(ins, 1);
      const r = ins[0].shape.length;
      if (a.perm.length !== r || [...a.perm].sort((p, q) => p - q).some((p, i) => p !== i)) {
        throw new Error(`perm [${a.perm.join(',')}] is not a permutation of ${r} axes of ${fmtType(ins[0])}`);
      }
      return [{ dtype: ins[0].dtype, shape: a.perm.map((p) => ins[0].shape[p]) }];
    },
    lower: (L, ins, outs, a) => L.node('Transpose', ins, outs, { perm: a.perm }),
    vjp: (b, { attrs: { perm } }, [g]) => { // dx = transpose(g, perm^-1)
      const inv: number[] = [];
      perm.forEach((p, i) => { inv[p] = i; });
      return [b.transpose(g!, inv)];
    },
  },
  Concat: {
    infer: (ins, a) => {
      if (ins.length < 1) throw new Error('Concat needs at least one input');
      const r = ins[0].shape.length;
      const ax = normAxis(a.axis, r);
      let total = 0;
      for (const t of ins) {
        sameDtype(ins[0], t);
        if (t.shape.length !== r || t.shape.some((d, i) => i !== ax && d !== ins[0].shape[i])) {
          throw new Error(`cannot concatenate ${fmtType(t)} with ${fmtType(ins[0])} on axis ${a.axis}`);
        }
        total += t.shape[ax];
      }
      return [{ dtype: ins[0].dtype, shape: ins[0].shape.map((d, i) => (i === ax ? total : d)) }];
    },
    lower: (L, ins, outs, a) => L.node('Concat', ins, outs, { axis: a.axis }),
    vjp: (b, { inputs, attrs }, [g]) => { // dx_i = the slice of g that x_i filled
      const ax = normAxis(attrs.axis, g!.shape.length);
      return inputs.length === 1 ? [g] : b.split(g!, ax, inputs.map((v) => v.shape[ax]));
    },
  },
  Split: {
    infer: (ins, a) => {
      arity(ins, 1);
      const ax = normAxis(a.axis, ins[0].shape.length);
      const sum = a.sizes.reduce((p, q) => p + q, 0);
      if (sum !== ins[0].shape[ax]) throw new Error(`split sizes [${a.sizes.join(',')}] sum to ${sum}, axis ${a.axis} of ${fmtType(ins[0])} has ${ins[0].shape[ax]}`);
      return a.sizes.map((s) => ({ dtype: ins[0].dtype, shape: ins[0].shape.map((d, i) => (i === ax ? s : d)) }));
    },
    lower: (L, ins, outs, a) => L.node('Split', [ins[0], L.ints(a.sizes)], outs, { axis: a.axis }),
    vjp: (b, { outputs, attrs }, cts) => // dx = concat(g_i), zeros where an output is unused
      [b.concat(outputs.map((o, i) => cts[i] ?? b.zeros(o.shape, o.dtype)), attrs.axis)],
  },
  Slice: {
    infer: (ins, a) => {
      arity(ins, 1);
      const shape = [...ins[0].shape];
      a.axes.forEach((ax0, j) => {
        const ax = normAxis(ax0, shape.length);
        const [s, e, k] = [a.starts[j], a.ends[j], a.steps?.[j] ?? 1];
        if (!(s >= 0 && e <= ins[0].shape[ax] && s < e)) throw new Error(`slice [${s}:${e}] is out of range for axis ${ax0} of ${fmtType(ins[0])}`);
        if (!(Number.isInteger(k) && k >= 1)) throw new Error(`slice step ${k} must be a positive integer`);
        shape[ax] = Math.ceil((e - s) / k);
      });
      return [{ dtype: ins[0].dtype, shape }];
    },
    lower: (L, ins, outs, a) => L.node('Slice', [ins[0], L.ints(a.starts), L.ints(a.ends), L.ints(a.axes),
      ...(a.steps?.some((k) => k !== 1) ? [L.ints(a.steps)] : [])], outs),
    // dx = g put back where it came from, zeros elsewhere. A step k first spreads g's L entries to every k-th
    // place (reshape to [L,1], pad k-1 zeros, reshape to [L*k], keep e-s); then the window is zero-padded.
    vjp: (b, { inputs: [x], attrs }, [g]) => {
      const r = x.shape.length;
      const pads = new Array<number>(2 * r).fill(0);
      let d = g!;
      attrs.axes.forEach((ax0, j) => {
        const ax = normAxis(ax0, r);
        const k = attrs.steps?.[j] ?? 1;
        if (k > 1) {
          const n = d.shape[ax];
          const spread = new Array<number>(2 * (r + 1)).fill(0);
          spread[r + 1 + ax + 1] = k - 1;
          const wide = b.pad(b.reshape(d, [...d.shape.slice(0, ax), n, 1, ...d.shape.slice(ax + 1)]), spread);
          d = b.slice(b.reshape(wide, d.shape.map((s, i) => (i === ax ? n * k : s))), [ax], [0], [attrs.ends[j] - attrs.starts[j]]);
        }
        pads[ax] = attrs.starts[j];
        pads[r + ax] = x.shape[ax] - attrs.ends[j];
      });
      return [b.pad(d, pads)];
    },
  },
  Pad: {
    infer: (ins, a) => {
      arity(ins, 1);
      const r = ins[0].shape.length;
      if (a.pads.length !== 2 * r || a.pads.some((p) => p < 0)) throw new Error(`pads [${a.pads.join(',')}] must be ${2 * r} non-negative numbers for ${fmtType(ins[0])}`);
      return [{ dtype: ins[0].dtype, shape: ins[0].shape.map((d, i) => d + a.pads[i] + a.pads[r + i]) }];
    },
    lower: (L, ins, outs, a) => L.node('Pad', [ins[0], L.ints(a.pads)], outs, { mode: 'constant' }),
    vjp: (b, { inputs: [x], attrs }, [g]) => { // dx = the unpadded window of g
      const axes = x.shape.map((_, i) => i);
      return [b.slice(g!, axes, axes.map((i) => attrs.pads[i]), axes.map((i) => attrs.pads[i] + x.shape[i]))];
    },
  },
  Gather: {
    infer: (ins, a) => {
      arity(ins, 2);
      needDtype(ins[1], ['int64', 'int32'], 'indices');
      const ax = normAxis(a.axis, ins[0].shape.length);
      const s = ins[0].shape;
      return [{ dtype: ins[0].dtype, shape: [...s.slice(0, ax), ...ins[1].shape, ...s.slice(ax + 1)] }];
    },
    lower: (L, ins, outs, a) => L.node('Gather', ins, outs, { axis: a.axis }),
    // Embedding gradient: dx = scatter-add of g's rows into zeros at the indices (repeated indices accumulate).
    // Other axes: move the indexed axis (and g's index axes) to the front, scatter, move back.
    vjp: (b, { inputs: [x, idx], attrs }, [g]) => {
      const a = normAxis(attrs.axis, x.shape.length);
      const idx1 = b.reshape(idx, [...idx.shape, 1]);
      if (a === 0) return [b.scatterNDAdd(b.zeros(x.shape, x.dtype), idx1, g!), undefined];
      const q = idx.shape.length;
      const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
      const gT = b.transpose(g!, [...range(a, a + q), ...range(0, a), ...range(a + q, g!.shape.length)]);
      const zshape = [x.shape[a], ...x.shape.slice(0, a), ...x.shape.slice(a + 1)];
      const sT = b.scatterNDAdd(b.zeros(zshape, x.dtype), idx1, gT);
      return [b.transpose(sT, [...range(1, a + 1), 0, ...range(a + 1, x.shape.length)]), undefined];
    },
  },
  GatherElements: {
    infer: (ins, a) => {
      arity(ins, 2);
      needDtype(ins[1], ['int64', 'int32'], 'indices');
      normAxis(a.axis, ins[0].shape.length);
      if (ins[1].shape.length !== ins[0].shape.length) throw new Error(`indices ${fmtType(ins[1])} must have the rank of data ${fmtType(ins[0])}`);
      return [{ dtype: ins[0].dtype, shape: ins[1].shape }];
    },
    lower: (L, ins, outs, a) => L.node('GatherElements', ins, outs, { axis: a.axis }),
    vjp: (b, { inputs: [x, idx], attrs }, [g]) => [b.scatterElementsAdd(b.zeros(x.shape, x.dtype), idx, g!, attrs.axis), undefined],
  },
  GatherND: {
    infer: (ins) => {
      arity(ins, 2);
      needDtype(ins[1], ['int64'], 'indices');
      const q = ins[1].shape[ins[1].shape.length - 1];
      if (!(q >= 1 && q <= ins[0].shape.length)) throw new Error(`last indices axis ${q} must be in 1..${ins[0].shape.length}`);
      return [{ dtype: ins[0].dtype, shape: [...ins[1].shape.slice(0, -1), ...ins[0].shape.slice(q)] }];
    },
    lower: simple('GatherND'),
    vjp: (b, { inputs: [x, idx] }, [g]) => [b.scatterNDAdd(b.zeros(x.shape, x.dtype), idx, g!), undefined], // dx = scatter-add(g)
  },
  ScatterNDAdd: {
    infer: (ins) => {
      arity(ins, 3);
      needDtype(ins[1], ['int64'], 'indices');
      sameDtype(ins[0], ins[2]);
      const q = ins[1].shape[ins[1].shape.length - 1];
      const want = [...ins[1].shape.slice(0, -1), ...ins[0].shape.slice(q)];
      if (want.join() !== ins[2].shape.join()) throw new Error(`updates ${fmtType(ins[2])} must have shape [${want.join(',')}]`);
      return [ins[0]];
    },
    lower: (L, ins, outs) => L.node('ScatterND', ins, outs, { reduction: 'add' }),
    vjp: (b, { inputs: [, idx] }, [g]) => [g, undefined, b.gatherND(g!, idx)], // d data = g, d updates = g at the indices
  },
  ScatterElementsAdd: {
    infer: (ins, a) => {
      arity(ins, 3);
      needDtype(ins[1], ['int64'], 'indices');
      sameDtype(ins[0], ins[2]);
      normAxis(a.axis, ins[0].shape.length);
      if (ins[1].shape.join() !== ins[2].shape.join()) throw new Error(`updates ${fmtType(ins[2])} must match indices ${fmtType(ins[1])}`);
      return [ins[0]];
    },
    lower: (L, ins, outs, a) => L.node('ScatterElements', ins, outs, { axis: a.axis, reduction: 'add' }),
    vjp: (b, { inputs: [, idx], attrs }, [g]) => [g, undefined, b.gatherElements(g!, idx, attrs.axis)],
  },
  Where: {
    infer: (ins) => {
      arity(ins, 3);
      needDtype(ins[0], ['bool'], 'condition');
      sameDtype(ins[1], ins[2]);
      return [{ dtype: ins[1].dtype, shape: broadcastShapes(ins[0].shape, broadcastShapes(ins[1].shape, ins[2].shape)) }];
    },
    lower: simple('Where'),
    vjp: (b, { inputs: [c, x, y] }, [g]) => [undefined, b.sumTo(b.where(c, g!, 0), x.shape), b.sumTo(b.where(c, 0, g!), y.shape)],
  },
  Expand: {
    infer: (ins, a) => {
      arity(ins, 1);
      const s = broadcastShapes(ins[0].shape, a.shape);
      if (s.join() !== a.shape.join()) throw new Error(`cannot expand ${fmtType(ins[0])} to [${a.shape.join(',')}]`);
      return [{ dtype: ins[0].dtype, shape: a.shape }];
    },
    lower: (L, ins, outs, a) => L.node('Expand', [ins[0], L.ints(a.shape)], outs),
    vjp: (b, { inputs: [x] }, [g]) => [b.sumTo(g!, x.shape)], // dx = g summed over the expanded axes
  },
  Cast: {
    infer: (ins, a) => (arity(ins, 1), [{ dtype: a.to, shape: ins[0].shape }]),
    lower: (L, ins, outs, a) => L.node('Cast', ins, outs, { to: ONNX_DTYPE[a.to] }),
    vjp: (b, { inputs: [x] }, [g]) => [isFloat(x.dtype) ? b.cast(g!, x.dtype) : undefined], // dx = cast back
  },

  // -- normalisation
  Softmax: {
    infer: (ins, a) => (arity(ins, 1), needFloat(ins[0]), normAxis(a.axis, ins[0].shape.length), [ins[0]]),
    lower: (L, ins, outs, a) => L.node('Softmax', ins, outs, { axis: a.axis }),
    vjp: (b, { outputs: [y], attrs }, [g]) => { // dx = y*(g - sum(g*y))
      const gy = b.mul(g!, y);
      return [b.sub(gy, b.mul(y, b.reduceSum(gy, [attrs.axis], true)))];
    },
  },
  LogSoftmax: {
    infer: (ins, a) => (arity(ins, 1), needFloat(ins[0]), normAxis(a.axis, ins[0].shape.length), [ins[0]]),
    lower: (L, ins, outs, a) => L.node('LogSoftmax', ins, outs, { axis: a.axis }),
    vjp: (b, { outputs: [y], attrs }, [g]) => [b.sub(g!, b.mul(b.exp(y), b.reduceSum(g!, [attrs.axis], true)))], // dx = g - exp(y)*sum(g)
  },
  SoftmaxCrossEntropy: {
    infer: (ins, a) => {
      arity(ins, 2);
      const [x, t] = ins;
      needFloat(x, 'logits');
      if (x.shape.length !== 2) throw new Error(`needs logits [N,V], got ${fmtType(x)}`);
      crossEntropyChecks(x, t, a.labelSmoothing);
      return [{ dtype: x.dtype, shape: [x.shape[0]] }, x];
    },
    // Outputs per-row loss l = -(1-eps)*logp[t] - eps*mean_v(logp) and logp = logSoftmax(x) (kept for the gradient).
    lower: (L, [x, t], [loss, logp], a, n) => lowerCrossEntropy(L, x, t, loss, logp, a.labelSmoothing, n.inputs[0].dtype, n.inputs[0].shape[0]),
    // With w = g (per row): dx = softmax(x)*w - (1-eps)*w*onehot(t) - eps*w/V, i.e. three passes over [N,V]
    // (softmax, scale, in-place scatter) instead of differentiating logSoftmax + gather generically.
    // A cotangent on logp (if the caller used it) adds logSoftmax's rule: gl - softmax(x)*sum(gl).
    vjp: (b, { inputs: [x, t], attrs: a }, [g, gl]) => {
      const [n, V] = x.shape;
      const p = b.softmax(x, 1); // recomputed, not exp(logp): ORT's Softmax kernel beat Exp over [2048,8000] (9.8 vs 14.9 ms)
      let dx: Value | undefined;
      if (g) {
        const w = b.reshape(g, [n, 1]);
        dx = b.scatterElementsAdd(b.mul(p, w), b.reshape(t, [n, 1]), b.mul(w, a.labelSmoothing - 1), 1);
        if (a.labelSmoothing > 0) dx = b.sub(dx, b.mul(w, a.labelSmoothing / V));
      }
      if (gl) {
        const d2 = b.sub(gl, b.mul(p, b.reduceSum(gl, [1], true)));
        dx = dx ? b.add(dx, d2) : d2;
      }
      return [dx, undefined];
    },
  },
  // The output layer and its cross-entropy as one rule: per-row loss of logits = x@w (+ bias) against targets,
  // for the big vocabulary heads, where the [N,V] passes dominate. Forward: the bias rides in the product as an
  // extra row of w against a column of ones in x (no broadcast pass over [N,V]). Backward with per-row weights
  // w_r = g: G = softmax(logits) - (1-eps)*onehot(t) - eps/V is left unscaled and w_r goes on the small operands:
  // dx = w_r*(G@w^T), [dw; dbias] = [x*w_r, w_r]^T@G (the bias gradient in the same product, no column sum).
  // Inputs x [N,K], w [K,V], targets [N] and an optional bias [V]. Outputs: per-row loss [N] and the logits
  // [N,V] (kept for the gradient; a cotangent on them is honoured with the plain linear-layer gradient).
  LinearSoftmaxCrossEntropy: {
    infer: (ins, a) => {
      arity(ins, 3, 4);
      const [x, w, t, bias] = ins;
      needFloat(x, 'x');
      sameDtype(x, w);
      if (x.shape.length !== 2 || w.shape.length !== 2 || x.shape[1] !== w.shape[0]) throw new Error(`needs x [N,K] and w [K,V], got ${fmtType(x)}, ${fmtType(w)}`);
      crossEntropyChecks(x, t, a.labelSmoothing);
      if (bias) {
        sameDtype(x, bias);
        if (bias.shape.join() !== String(w.shape[1])) throw new Error(`bias ${fmtType(bias)} must be [${w.shape[1]}]`);
      }
      return [{ dtype: x.dtype, shape: [x.shape[0]] }, { dtype: x.dtype, shape: [x.shape[0], w.shape[1]] }];
    },
    lower: (L, [x, w, t, bias], [loss, logits], a, n) => {
      const dt = n.inputs[0].dtype;
      const rows = n.inputs[0].shape[0];
      if (bias) {
        const ones = L.tmp(), x1 = L.tmp(), b1 = L.tmp(), w1 = L.tmp();
        L.node('Expand', [L.scalar(1, dt), L.ints([rows, 1])], [ones]);
        L.node('Concat', [x, ones], [x1], { axis: 1 });
        L.node('Unsqueeze', [bias, L.ints([0])], [b1]);
        L.node('Concat', [w, b1], [w1], { axis: 0 });
        L.node('MatMul', [x1, w1], [logits]);
      } else {
        L.node('MatMul', [x, w], [logits]);
      }
      lowerCrossEntropy(L, logits, t, loss, L.tmp(), a.labelSmoothing, dt, rows);
    },
    vjp: (b, { inputs: [x, w, t, bias], outputs: [, logits], attrs: a }, [g, gl]) => {
      const [n, V] = logits.shape;
      const eps = a.labelSmoothing;
      // G = softmax - (1-eps)*onehot(t) - eps/V, unscaled (in-place scatter at the targets).
      let G = b.scatterElementsAdd(b.softmax(logits, 1), b.reshape(t, [n, 1]), b.constant(new Array<number>(n).fill(eps - 1), [n, 1], x.dtype), 1);
      if (eps > 0) G = b.sub(G, b.scalar(eps / V, x.dtype));
      if (!g || gl) {
        // A cotangent on the logits too: the plain linear-layer gradient of dlogits = w_r*G + gl.
        const d = g ? b.add(b.mul(G, b.reshape(g, [n, 1])), gl!) : gl!;
        return [b.gemm(d, w, undefined, { transB: true }), b.gemm(x, d, undefined, { transA: true }), undefined, bias && b.reduceSum(d, [0])];
      }
      const wr = b.reshape(g, [n, 1]);
      const dx = b.mul(b.gemm(G, w, undefined, { transB: true }), wr);
      const xs = b.mul(x, wr);
      if (!bias) return [dx, b.gemm(xs, G, undefined, { transA: true }), undefined];
      const K = x.shape[1];
      const dwb = b.gemm(b.concat([xs, wr], 1), G, undefined, { transA: true }); // [K+1, V]
      return [dx, b.slice(dwb, [0], [0], [K]), undefined, b.reshape(b.slice(dwb, [0], [K], [K + 1]), [V])];
    },
  },
  LayerNorm: {
    infer: (ins, a) => {
      arity(ins, 3);
      needFloat(ins[0]);
      const ax = normAxis(a.axis, ins[0].shape.length);
      const norm = ins[0].shape.slice(ax);
      for (const [t, nm] of [[ins[1], 'scale'], [ins[2], 'bias']] as const) {
        sameDtype(ins[0], t);
        if (t.shape.join() !== norm.join()) throw new Error(`${nm} ${fmtType(t)} must have shape [${norm.join(',')}] for ${fmtType(ins[0])}`);
      }
      return [ins[0]];
    },
    lower: (L, ins, outs, a) => L.node('LayerNormalization', ins, outs, { axis: a.axis, epsilon: f(a.epsilon) }),
    // xh = (x-mean)*r, r = 1/sqrt(var+eps), y = xh*scale + bias (mean, var over the normalised axes, count n):
    // dx = r*(gs - mean(gs) - xh*mean(gs*xh)) with gs = g*scale; dscale = sum(g*xh); dbias = sum(g).
    // Mean and r are recomputed here (cheap next to the matmuls) rather than exported from the kernel.
    vjp: (b, { inputs: [x, scale, bias], attrs }, [g]) => {
      const ax = normAxis(attrs.axis, x.shape.length);
      const axes = x.shape.slice(ax).map((_, i) => ax + i);
      const xc = b.sub(x, b.reduceMean(x, axes, true));
      const r = b.reciprocal(b.sqrt(b.add(b.reduceMean(b.mul(xc, xc), axes, true), attrs.epsilon)));
      const xh = b.mul(xc, r);
      const gs = b.mul(g!, scale);
      const dx = b.mul(r, b.sub(b.sub(gs, b.reduceMean(gs, axes, true)), b.mul(xh, b.reduceMean(b.mul(gs, xh), axes, true))));
      return [dx, b.sumTo(b.mul(g!, xh), scale.shape), b.sumTo(g!, bias.shape)];
    },
  },

  MultiHeadAttention: {
    // q [B,T,D], k and v [B,S,D], optional additive bias [B|1, 1|H, T|1, S] -> [B,T,D]: per head h (D/H wide),
    // softmax(q_h k_h^T * scale + bias) v_h, heads concatenated. One fused kernel (onnxruntime's contrib
    // MultiHeadAttention) in place of the split into heads, transposes, scaled matmul, softmax and merge.
    infer: (ins, a) => {
      arity(ins, 3, 4);
      const [q, k, v, bias] = ins;
      needDtype(q, ['float32'], 'q (onnxruntime\'s fused kernel is float32 only)');
      if (!(a.scale > 0)) throw new Error(`scale must be positive, got ${a.scale}`);
      for (const t of [k, v, bias]) if (t) sameDtype(q, t);
      if (q.shape.length !== 3 || k.shape.length !== 3 || v.shape.length !== 3) throw new Error(`needs q [B,T,D], k and v [B,S,D], got ${fmtType(q)}, ${fmtType(k)}, ${fmtType(v)}`);
      const [bs, t, d] = q.shape;
      const s = k.shape[1];
      if (k.shape.join() !== v.shape.join() || k.shape[0] !== bs || k.shape[2] !== d) throw new Error(`k ${fmtType(k)} and v ${fmtType(v)} must both be [${bs},S,${d}] for q ${fmtType(q)}`);
      if (!(Number.isInteger(a.heads) && a.heads > 0 && d % a.heads === 0)) throw new Error(`width ${d} is not divisible into ${a.heads} heads`);
      if (bias) {
        const full = [bs, a.heads, t, s];
        if (bias.shape.length !== 4 || bias.shape[3] !== s || bias.shape.slice(0, 3).some((x, i) => x !== 1 && x !== full[i])) {
          throw new Error(`bias ${fmtType(bias)} must be [${bs}|1, ${a.heads}|1, ${t}|1, ${s}]`);
        }
      }
      return [q];
    },
    lower: (L, [q, k, v, bias], outs, a, n) => {
      let ab = '';
      if (bias) {
        // The kernel broadcasts the bias over batch and heads, not over query positions: a key-padding bias
        // [B,1,1,S] is expanded to [B,1,T,S].
        const [bs, , t, s] = n.inputs[3].shape;
        const tq = n.inputs[0].shape[1];
        ab = bias;
        if (t !== tq) {
          ab = L.tmp();
          L.node('Expand', [bias, L.ints([bs, n.inputs[3].shape[1], tq, s])], [ab]);
        }
      }
      L.node('MultiHeadAttention', [q, k, v, '', '', ...(ab ? [ab] : [])], outs, { num_heads: a.heads, scale: f(a.scale) }, 'com.microsoft');
    },
    // Recomputes the attention weights p = softmax(s), s = q_h k_h^T * scale + bias, per head, then
    // dv_h = p^T g_h, dp = g_h v_h^T, ds = p*(dp - sum(dp*p)), dq_h = ds k_h * scale, dk_h = ds^T q_h * scale,
    // dbias = ds summed to the bias's shape.
    vjp: (b, { inputs: [q, k, v, bias], attrs: { heads, scale } }, [g]) => {
      const [bs, t, d] = q.shape;
      const s = k.shape[1];
      const hd = d / heads;
      const split = (x: Value, n: number) => b.transpose(b.reshape(x, [bs, n, heads, hd]), [0, 2, 1, 3]); // [B,H,n,hd]
      const merge = (x: Value, n: number) => b.reshape(b.transpose(x, [0, 2, 1, 3]), [bs, n, d]);
      const [qh, kh, vh, gh] = [split(q, t), split(k, s), split(v, s), split(g!, t)];
      const kT = b.transpose(kh, [0, 1, 3, 2]);
      let sc = b.matmul(b.mul(qh, scale), kT);
      if (bias) sc = b.add(sc, bias);
      const p = b.softmax(sc, -1);
      const dv = b.matmul(b.transpose(p, [0, 1, 3, 2]), gh);
      const dp = b.matmul(gh, b.transpose(vh, [0, 1, 3, 2]));
      const ds = b.mul(p, b.sub(dp, b.reduceSum(b.mul(dp, p), [3], true)));
      const dq = b.matmul(b.mul(ds, scale), kh);
      const dk = b.matmul(b.transpose(b.mul(ds, scale), [0, 1, 3, 2]), qh);
      return [merge(dq, t), merge(dk, s), merge(dv, s), bias ? b.sumTo(ds, bias.shape) : undefined];
    },
  },

  // -- convolution and pooling ([N, C, L] or [N, C, H, W])
  Conv: {
    infer: (ins, a) => {
      arity(ins, 2, 3);
      const [x, w, bias] = ins;
      needFloat(x);
      sameDtype(x, w);
      const r = convCheck(x, w, a);
      if (x.shape[1] !== w.shape[1] * a.group || w.shape[0] % a.group !== 0) {
        throw new Error(`input channels of ${fmtType(x)} do not match weight ${fmtType(w)} with group=${a.group}`);
      }
      if (bias && bias.shape.join() !== String(w.shape[0])) throw new Error(`bias ${fmtType(bias)} must be [${w.shape[0]}]`);
      const sp = Array.from({ length: r }, (_, i) => convOut(x.shape[i + 2], w.shape[i + 2], a.strides[i], a.dilations[i], a.pads[i], a.pads[r + i]));
      if (sp.some((d) => d < 1)) throw new Error(`Conv of ${fmtType(x)} with kernel ${fmtType(w)} leaves no output`);
      return [{ dtype: x.dtype, shape: [x.shape[0], w.shape[0], ...sp] }];
    },
    lower: (L, ins, outs, a, n) => L.node('Conv', ins, outs, convLowerAttrs(a, n.inputs[1].shape.slice(2))),
    // dx = convTranspose(g, W) with output_padding restoring x's size; for stride 1 the same as a convolution of g
    // with the spatially flipped kernel, inputs and outputs swapped per group, padded d*(k-1) - pad (onnxruntime's
    // Conv beats its ConvTranspose: 26 vs 33 ms on the dVAE's [32,64,32,32] 3x3 layer, 2.4 vs 13 ms on the audio
    // encoder's grouped 31-tap position conv); for a strided 1-d conv, polyphaseInputGrad; dW = convWeightGrad;
    // dbias = sum(g).
    vjp: (b, { inputs: [x, w, bias], attrs: a }, [g]) => {
      const r = x.shape.length - 2;
      const flipPads = a.pads.map((p, i) => (w.shape[(i % r) + 2] - 1) * a.dilations[i % r] - p);
      const outputPadding = Array.from({ length: r }, (_, i) =>
        x.shape[i + 2] - (a.strides[i] * (g!.shape[i + 2] - 1) + (w.shape[i + 2] - 1) * a.dilations[i] + 1 - a.pads[i] - a.pads[r + i]));
      const dx = a.strides.every((s) => s === 1) && flipPads.every((p) => p >= 0)
        ? b.conv(g!, flippedKernel(b, w, a.group), undefined, { pads: flipPads, dilations: a.dilations, group: a.group })
        : r === 1 && a.group === 1 && a.dilations[0] === 1
          ? polyphaseInputGrad(b, g!, w, x.shape[2], a.strides[0], a.pads[0])
          : b.apply('ConvTranspose', [g!, w], { ...a, outputPadding })[0];
      const dw = convWeightGrad(b, x, g!, w.shape, a);
      const axes = [0, ...Array.from({ length: r }, (_, i) => i + 2)];
      return [dx, dw, bias ? b.reduceSum(g!, axes) : undefined];
    },
  },
  ConvTranspose: {
    infer: (ins, a) => {
      arity(ins, 2, 3);
      const [x, w, bias] = ins;
      needFloat(x);
      sameDtype(x, w);
      const r = convCheck(x, w, a);
      if (x.shape[1] !== w.shape[0] || x.shape[1] % a.group !== 0) throw new Error(`input channels of ${fmtType(x)} do not match weight ${fmtType(w)} with group=${a.group}`);
      const m = w.shape[1] * a.group;
      if (bias && bias.shape.join() !== String(m)) throw new Error(`bias ${fmtType(bias)} must be [${m}]`);
      const sp = Array.from({ length: r }, (_, i) =>
        a.strides[i] * (x.shape[i + 2] - 1) + (a.outputPadding[i] ?? 0) + (w.shape[i + 2] - 1) * a.dilations[i] + 1 - a.pads[i] - a.pads[r + i]);
      return [{ dtype: x.dtype, shape: [x.shape[0], m, ...sp] }];
    },
    lower: (L, ins, outs, a, n) =>
      L.node('ConvTranspose', ins, outs, { ...convLowerAttrs(a, n.inputs[1].shape.slice(2)), output_padding: a.outputPadding }),
    // y = conv(.,W)^T x, so <y,g> = <x, conv(g,W)>: dx = conv(g, W); dW = convWeightGrad(input g, output-grad x).
    vjp: (b, { inputs: [x, w, bias], attrs: a }, [g]) => {
      const r = x.shape.length - 2;
      const conv = { strides: a.strides, pads: a.pads, dilations: a.dilations, group: a.group };
      const dx = b.apply('Conv', [g!, w], conv)[0];
      const dw = convWeightGrad(b, g!, x, w.shape, conv);
      const axes = [0, ...Array.from({ length: r }, (_, i) => i + 2)];
      return [dx, dw, bias ? b.reduceSum(g!, axes) : undefined];
    },
  },
  MaxPool: {
    infer: (ins, a) => {
      const { dtype, shape } = poolOutput('MaxPool', ins, a);
      return [{ dtype, shape }, { dtype: 'int64', shape }];
    },
    lower: (L, ins, outs, a) => L.node('MaxPool', ins, outs, { kernel_shape: a.kernel, strides: a.strides, pads: a.pads }),
    // The second output holds each maximum's flat index into x; dx = scatter-add of g at those indices.
    vjp: (b, { inputs: [x], outputs: [, idx] }, [g]) => {
      const flat = b.scatterElementsAdd(b.zeros([numel(x.shape)], x.dtype), b.reshape(idx, [-1]), b.reshape(g!, [-1]), 0);
      return [b.reshape(flat, x.shape)];
    },
  },
  AveragePool: {
    infer: (ins, a) => {
      return [poolOutput('AveragePool', ins, a)];
    },
    lower: (L, ins, outs, a) => L.node('AveragePool', ins, outs, { kernel_shape: a.kernel, strides: a.strides, pads: a.pads, count_include_pad: 1 }),
    // Each output is mean of its window (padding counted): dx = convTranspose(g, ones/k) per channel.
    vjp: (b, { inputs: [x], attrs: a }, [g]) => {
      const [n, c, ...sp] = x.shape;
      const r = sp.length;
      const k = numel(a.kernel);
      const ones = b.constant(new Array<number>(k).fill(1 / k), [1, 1, ...a.kernel], x.dtype);
      const outputPadding = sp.map((d, i) => d - (a.strides[i] * (g!.shape[i + 2] - 1) + a.kernel[i] - a.pads[i] - a.pads[r + i]));
      const dx = b.apply('ConvTranspose', [b.reshape(g!, [n * c, 1, ...g!.shape.slice(2)]), ones],
        { strides: a.strides, pads: a.pads, dilations: a.kernel.map(() => 1), group: 1, outputPadding })[0];
      return [b.reshape(dx, x.shape)];
    },
  },
  Resize: {
    infer: (ins, a) => {
      arity(ins, 1);
      const x = ins[0];
      if (a.scales.length !== x.shape.length || a.scales.some((s) => !Number.isInteger(s) || s < 1)) {
        throw new Error(`Resize takes one positive integer scale per axis of ${fmtType(x)}, got [${a.scales.join(',')}]`);
      }
      return [{ dtype: x.dtype, shape: x.shape.map((d, i) => d * a.scales[i]) }];
    },
    // Nearest-neighbour upsampling by integer factors: y[i] = x[floor(i/s)].
    lower: (L, ins, outs, a) => {
      const sc = L.tmp();
      L.initializer(sc, a.scales, 'float32', [a.scales.length]);
      L.node('Resize', [ins[0], '', sc], outs, { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' });
    },
    // dx = g summed over each s-block: reshape to [.., d, s, ..] and reduce the s axes.
    vjp: (b, { inputs: [x], attrs }, [g]) => {
      const split = x.shape.flatMap((d, i) => [d, attrs.scales[i]]);
      return [b.reshape(b.reduceSum(b.reshape(g!, split), x.shape.map((_, i) => 2 * i + 1)), x.shape)];
    },
  },
  RoiAlign: {
    infer: (ins, a) => {
      arity(ins, 3);
      const [x, rois, bi] = ins;
      needFloat(x);
      sameDtype(x, rois);
      needDtype(bi, ['int64'], 'batch indices');
      if (x.shape.length !== 4 || rois.shape.length !== 2 || rois.shape[1] !== 4 || bi.shape.join() !== String(rois.shape[0])) {
        throw new Error(`RoiAlign needs x [N,C,H,W], rois [R,4], batch indices [R]; got ${fmtType(x)}, ${fmtType(rois)}, ${fmtType(bi)}`);
      }
      return [{ dtype: x.dtype, shape: [rois.shape[0], x.shape[1], a.outputHeight, a.outputWidth] }];
    },
    lower: (L, ins, outs, a) => L.node('RoiAlign', ins, outs, {
      output_height: a.outputHeight, output_width: a.outputWidth, sampling_ratio: a.samplingRatio,
      spatial_scale: f(a.spatialScale), mode: a.mode, coordinate_transformation_mode: 'half_pixel',
    }),
    // Inference only: no gradient to boxes or features. Differentiating through it is an error; training uses a
    // composed bilinear gather (native-models/detector/roi-align.ts) whose gradient comes from GatherND's rule.
    vjp: noGrad('RoiAlign is inference-only (no gradient to boxes or features); use stopGradient on its inputs'),
  },
  StopGradient: {
    infer: (ins) => (arity(ins, 1), [ins[0]]),
    lower: simple('Identity'),
    vjp: () => [undefined], // dx = 0 by definition
  },
};

/** Every op name, in table order (tests iterate it so a new op without a check fails). */
export const OP_NAMES = Object.keys(rules) as OpName[];
