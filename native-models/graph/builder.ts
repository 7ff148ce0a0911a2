// The fluent builder that model code writes graphs with. Each method appends one node, typed by the op's
// rule (./ops), so a shape error surfaces at the line that made it, with the op named.
import { fmtType, normAxis, numel } from './ir';
import type { DType, Graph, Init, Node, Param, TensorType, Value } from './ir';
import { rules } from './ops';
import type { ConvAttrs, OpAttrs, OpName } from './ops';

/** A value, or a number that becomes a scalar constant of the other operand's dtype. */
export type Operand = Value | number;

/** Options of a param: its initialiser and whether training updates it. */
export interface ParamOptions { init?: Init; trainable?: boolean }

/**
 * Builds a Graph node by node. Example:
 * ```ts
 * const g = new GraphBuilder();
 * const x = g.input('x', 'float32', [32, 64]);
 * const w = g.param('w', [64, 16], { init: { kind: 'normal', std: 0.02 } });
 * g.output('y', g.relu(g.matmul(x, w)));
 * const graph = g.build();
 * ```
 */
export class GraphBuilder {
  private nextId = 0;
  readonly inputs: Value[] = [];
  readonly params: Param[] = [];
  readonly nodes: Node[] = [];
  readonly outputs: { name: string; value: Value }[] = [];
  private readonly names = new Set<string>();
  private readonly scalars = new Map<string, Value>();
  /** The node that made each value (for local simplifications such as folding transposes). */
  private readonly producer = new Map<number, Node>();
  private seedValue: Value | undefined;
  private salt = 0;
  /** Optional name prefix for params, set by scope(). */
  private prefix = '';

  private newValue(t: TensorType, name?: string): Value {
    return { id: this.nextId++, dtype: t.dtype, shape: [...t.shape], ...(name === undefined ? {} : { name }) };
  }

  private claim(name: string, what: string): void {
    if (this.names.has(name)) throw new Error(`${what} name '${name}' is already used in this graph`);
    this.names.add(name);
  }

  /** A run-time input (a batch tensor or a scalar such as the learning rate). */
  input(name: string, dtype: DType, shape: readonly number[]): Value {
    this.claim(name, 'input');
    const v = this.newValue({ dtype, shape }, name);
    this.inputs.push(v);
    return v;
  }

  /** A float32 parameter; its name is prefixed by the enclosing scope() calls (`enc.0.attn.q.weight`). */
  param(name: string, shape: readonly number[], opts: ParamOptions = {}): Value {
    const full = this.prefix + name;
    this.claim(full, 'param');
    const v = this.newValue({ dtype: 'float32', shape }, full);
    this.params.push({ value: v, init: opts.init ?? { kind: 'zeros' }, trainable: opts.trainable ?? true });
    return v;
  }

  /** Runs fn with params named `<prefix>.<name>`; nests. */
  scope<T>(prefix: string, fn: () => T): T {
    const saved = this.prefix;
    this.prefix = `${saved}${prefix}.`;
    try {
      return fn();
    } finally {
      this.prefix = saved;
    }
  }

  /** The graph's int64 scalar input `seed`, created on first use; every RNG op in the graph derives from it. */
  seed(): Value {
    this.seedValue ??= this.input('seed', 'int64', []);
    return this.seedValue;
  }

  output(name: string, value: Value): void {
    if (this.outputs.some((o) => o.name === name)) throw new Error(`output name '${name}' is already used`);
    this.outputs.push({ name, value });
  }

  build(): Graph {
    return { inputs: [...this.inputs], params: [...this.params], nodes: [...this.nodes], outputs: [...this.outputs] };
  }

  /** Appends one node of any op; returns its outputs. Type errors name the op and the operand types. */
  apply<K extends OpName>(op: K, inputs: readonly Value[], attrs: OpAttrs[K]): Value[] {
    let types: TensorType[];
    try {
      types = rules[op].infer(inputs, attrs);
    } catch (e) {
      const sig = inputs.map(fmtType).join(', ');
      throw new Error(`${op}(${sig}): ${(e as Error).message}`);
    }
    const outputs = types.map((t) => this.newValue(t));
    const node = { op, inputs: [...inputs], outputs, attrs } as Node;
    this.nodes.push(node);
    for (const o of outputs) this.producer.set(o.id, node);
    return outputs;
  }

  private one<K extends OpName>(op: K, inputs: readonly Value[], attrs: OpAttrs[K]): Value {
    return this.apply(op, inputs, attrs)[0];
  }

  // ---- constants
  /** A constant tensor (small: stored in the model). */
  constant(data: ArrayLike<number>, shape: readonly number[], dtype: DType = 'float32'): Value {
    return this.one('Const', [], { data: Array.from(data), dtype, shape: [...shape] });
  }
  /** A 0-d constant, shared between uses. */
  scalar(value: number, dtype: DType = 'float32'): Value {
    const key = `${dtype}:${value}`;
    let v = this.scalars.get(key);
    if (!v) {
      v = this.constant([value], [], dtype);
      this.scalars.set(key, v);
    }
    return v;
  }
  zeros(shape: readonly number[], dtype: DType = 'float32'): Value {
    return this.one('Zeros', [], { dtype, shape: [...shape] });
  }
  /** A bool mask, true with probability p, from the graph's seed (each call an independent stream). */
  randomBernoulli(shape: readonly number[], p: number): Value {
    return this.one('RandomBernoulli', [this.seed()], { shape: [...shape], salt: ++this.salt, p });
  }
  /** Uniform [0,1) float32 noise from the graph's seed; each call draws an independent stream. */
  randomUniform(shape: readonly number[]): Value {
    return this.one('RandomUniform', [this.seed()], { shape: [...shape], salt: ++this.salt });
  }

  private pair(a: Operand, b: Operand): [Value, Value] {
    if (typeof a === 'number' && typeof b === 'number') throw new Error('at least one operand must be a Value');
    const dt = typeof a === 'number' ? (b as Value).dtype : a.dtype;
    return [typeof a === 'number' ? this.scalar(a, dt) : a, typeof b === 'number' ? this.scalar(b, dt) : b];
  }

  // ---- elementwise
  add(a: Operand, b: Operand): Value { return this.one('Add', this.pair(a, b), {}); }
  sub(a: Operand, b: Operand): Value { return this.one('Sub', this.pair(a, b), {}); }
  mul(a: Operand, b: Operand): Value { return this.one('Mul', this.pair(a, b), {}); }
  div(a: Operand, b: Operand): Value { return this.one('Div', this.pair(a, b), {}); }
  pow(a: Operand, b: Operand): Value { return this.one('Pow', this.pair(a, b), {}); }
  max(a: Operand, b: Operand): Value { return this.one('Max', this.pair(a, b), {}); }
  min(a: Operand, b: Operand): Value { return this.one('Min', this.pair(a, b), {}); }
  equal(a: Operand, b: Operand): Value { return this.one('Equal', this.pair(a, b), {}); }
  less(a: Operand, b: Operand): Value { return this.one('Less', this.pair(a, b), {}); }
  greater(a: Operand, b: Operand): Value { return this.one('Greater', this.pair(a, b), {}); }
  and(a: Value, b: Value): Value { return this.one('And', [a, b], {}); }
  or(a: Value, b: Value): Value { return this.one('Or', [a, b], {}); }
  not(a: Value): Value { return this.one('Not', [a], {}); }
  neg(x: Value): Value { return this.one('Neg', [x], {}); }
  reciprocal(x: Value): Value { return this.one('Reciprocal', [x], {}); }
  sqrt(x: Value): Value { return this.one('Sqrt', [x], {}); }
  exp(x: Value): Value { return this.one('Exp', [x], {}); }
  log(x: Value): Value { return this.one('Log', [x], {}); }
  abs(x: Value): Value { return this.one('Abs', [x], {}); }
  sign(x: Value): Value { return this.one('Sign', [x], {}); }
  erf(x: Value): Value { return this.one('Erf', [x], {}); }
  relu(x: Value): Value { return this.one('Relu', [x], {}); }
  sigmoid(x: Value): Value { return this.one('Sigmoid', [x], {}); }
  tanh(x: Value): Value { return this.one('Tanh', [x], {}); }
  silu(x: Value): Value { return this.one('Silu', [x], {}); }
  gelu(x: Value): Value { return this.one('Gelu', [x], {}); }
  where(cond: Value, a: Operand, b: Operand): Value { return this.one('Where', [cond, ...this.pair(a, b)], {}); }
  cast(x: Value, to: DType): Value { return x.dtype === to ? x : this.one('Cast', [x], { to }); }
  stopGradient(x: Value): Value { return this.one('StopGradient', [x], {}); }
  /** Straight-through estimator: forward value `hard`, gradient of `soft` (y = soft + stopGradient(hard - soft)). */
  straightThrough(soft: Value, hard: Value): Value { return this.add(soft, this.stopGradient(this.sub(hard, soft))); }

  // ---- linear algebra
  /** Batched matrix product with broadcasting over leading axes. */
  matmul(a: Value, b: Value): Value { return this.one('MatMul', [a, b], {}); }
  /** 2-d op(a)@op(b) (+ c). */
  gemm(a: Value, b: Value, c?: Value, t: { transA?: boolean; transB?: boolean } = {}): Value {
    return this.one('Gemm', c ? [a, b, c] : [a, b], { transA: t.transA ?? false, transB: t.transB ?? false });
  }
  /** x@w + bias for x of any rank (w is [in, out]); MatMul+Add, which onnxruntime fuses. */
  linear(x: Value, w: Value, bias?: Value): Value {
    if (x.shape.length === 2) return this.gemm(x, w, bias);
    const y = this.matmul(x, w);
    return bias ? this.add(y, bias) : y;
  }

  // ---- reductions
  private axesOf(x: Value, axes?: readonly number[]): number[] {
    return axes ? axes.map((a) => normAxis(a, x.shape.length)) : x.shape.map((_, i) => i);
  }
  /** Sum over axes (all when omitted; a scalar is returned as is). */
  reduceSum(x: Value, axes?: readonly number[], keepdims = false): Value { return x.shape.length === 0 ? x : this.one('ReduceSum', [x], { axes: this.axesOf(x, axes), keepdims }); }
  reduceMean(x: Value, axes?: readonly number[], keepdims = false): Value { return x.shape.length === 0 ? x : this.one('ReduceMean', [x], { axes: this.axesOf(x, axes), keepdims }); }
  reduceMax(x: Value, axes?: readonly number[], keepdims = false): Value { return x.shape.length === 0 ? x : this.one('ReduceMax', [x], { axes: this.axesOf(x, axes), keepdims }); }
  reduceSumSquare(x: Value, axes?: readonly number[], keepdims = false): Value { return x.shape.length === 0 ? this.mul(x, x) : this.one('ReduceSumSquare', [x], { axes: this.axesOf(x, axes), keepdims }); }
  /** Stable log(sum(exp(x))) over axes: the max is subtracted first (held constant; its gradient cancels). */
  logSumExp(x: Value, axes?: readonly number[], keepdims = false): Value {
    const m = this.stopGradient(this.reduceMax(x, axes, true));
    const r = this.add(this.log(this.reduceSum(this.exp(this.sub(x, m)), axes, true)), m);
    const ax = this.axesOf(x, axes);
    return keepdims ? r : this.reshape(r, x.shape.filter((_, i) => !ax.includes(i)));
  }
  argmax(x: Value, axis = -1, keepdims = false): Value { return this.one('ArgMax', [x], { axis: normAxis(axis, x.shape.length), keepdims }); }

  /** Sums g down to `shape` (undoes numpy broadcasting; the gradient of every broadcasting op). */
  sumTo(g: Value, shape: readonly number[]): Value {
    if (g.shape.join() === shape.join()) return g;
    const lead = g.shape.length - shape.length;
    const axes: number[] = [];
    g.shape.forEach((d, i) => {
      if (i < lead || (shape[i - lead] === 1 && d !== 1)) axes.push(i);
    });
    const r = axes.length ? this.reduceSum(g, axes, true) : g;
    return r.shape.join() === shape.join() ? r : this.reshape(r, shape);
  }

  // ---- shapes
  /** Reshape; one -1 is inferred. */
  reshape(x: Value, shape: readonly number[]): Value {
    const known = shape.filter((d) => d !== -1);
    const s = shape.map((d) => (d === -1 ? numel(x.shape) / Math.max(1, numel(known)) : d));
    if (s.join() === x.shape.join()) return x;
    return this.one('Reshape', [x], { shape: s });
  }
  /** Transpose; a transpose of a transpose is folded into one (or none when they cancel). */
  transpose(x: Value, perm: readonly number[]): Value {
    if (perm.every((p, i) => p === i)) return x;
    const prev = this.producer.get(x.id);
    if (prev?.op === 'Transpose') {
      const inner = (prev.attrs as OpAttrs['Transpose']).perm;
      return this.transpose(prev.inputs[0], perm.map((p) => inner[p]));
    }
    return this.one('Transpose', [x], { perm: [...perm] });
  }
  concat(xs: readonly Value[], axis: number): Value {
    return xs.length === 1 ? xs[0] : this.one('Concat', xs, { axis: normAxis(axis, xs[0].shape.length) });
  }
  split(x: Value, axis: number, sizes: readonly number[]): Value[] {
    return this.apply('Split', [x], { axis: normAxis(axis, x.shape.length), sizes: [...sizes] });
  }
  /** x[start:end:step] along each of axes (0 <= start < end <= dim; steps default to 1). */
  slice(x: Value, axes: readonly number[], starts: readonly number[], ends: readonly number[], steps?: readonly number[]): Value {
    return this.one('Slice', [x], {
      axes: axes.map((a) => normAxis(a, x.shape.length)), starts: [...starts], ends: [...ends],
      ...(steps && steps.some((k) => k !== 1) ? { steps: [...steps] } : {}),
    });
  }
  /** Zero padding; pads is ONNX's [begin_0.., end_0..]. */
  pad(x: Value, pads: readonly number[]): Value {
    return pads.every((p) => p === 0) ? x : this.one('Pad', [x], { pads: [...pads] });
  }
  gather(x: Value, idx: Value, axis = 0): Value { return this.one('Gather', [x, idx], { axis: normAxis(axis, x.shape.length) }); }
  gatherElements(x: Value, idx: Value, axis: number): Value { return this.one('GatherElements', [x, idx], { axis: normAxis(axis, x.shape.length) }); }
  gatherND(x: Value, idx: Value): Value { return this.one('GatherND', [x, idx], {}); }
  scatterNDAdd(x: Value, idx: Value, updates: Value): Value { return this.one('ScatterNDAdd', [x, idx, updates], {}); }
  scatterElementsAdd(x: Value, idx: Value, updates: Value, axis: number): Value {
    return this.one('ScatterElementsAdd', [x, idx, updates], { axis: normAxis(axis, x.shape.length) });
  }
  expand(x: Value, shape: readonly number[]): Value {
    return x.shape.join() === shape.join() ? x : this.one('Expand', [x], { shape: [...shape] });
  }
  /** Inserts a size-1 axis. */
  unsqueeze(x: Value, axis: number): Value {
    const s = [...x.shape];
    s.splice(axis < 0 ? axis + s.length + 1 : axis, 0, 1);
    return this.reshape(x, s);
  }

  // ---- normalisation and activations
  softmax(x: Value, axis = -1): Value { return this.one('Softmax', [x], { axis: normAxis(axis, x.shape.length) }); }
  logSoftmax(x: Value, axis = -1): Value { return this.one('LogSoftmax', [x], { axis: normAxis(axis, x.shape.length) }); }
  /**
   * Multi-head scaled dot-product attention, one op: q [B,T,D], k and v [B,S,D], heads of D/heads, optional
   * additive bias [B|1, heads|1, T|1, S] (see nn.attentionBias); scale defaults to 1/sqrt(D/heads). -> [B,T,D].
   */
  multiHeadAttention(q: Value, k: Value, v: Value, heads: number, bias?: Value, scale = 1 / Math.sqrt(q.shape[q.shape.length - 1] / heads)): Value {
    return this.one('MultiHeadAttention', bias ? [q, k, v, bias] : [q, k, v], { heads, scale });
  }
  /** Per-row softmax cross-entropy of logits [N,V] against int64 targets [N] (in range); see nn.crossEntropy. */
  softmaxCrossEntropy(logits: Value, targets: Value, labelSmoothing = 0): Value {
    return this.apply('SoftmaxCrossEntropy', [logits, targets], { labelSmoothing })[0];
  }
  /** Per-row cross-entropy of x@w (+ bias) [N,V] against int64 targets [N]: the output layer and its loss as one
   * rule (no [N,V] bias or row-scale passes); see nn.linearCrossEntropy. */
  linearSoftmaxCrossEntropy(x: Value, w: Value, targets: Value, bias?: Value, labelSmoothing = 0): Value {
    return this.apply('LinearSoftmaxCrossEntropy', bias ? [x, w, targets, bias] : [x, w, targets], { labelSmoothing })[0];
  }
  /** LayerNormalization over the trailing axes from `axis`. */
  layerNorm(x: Value, scale: Value, bias: Value, epsilon = 1e-5, axis = -1): Value {
    return this.one('LayerNorm', [x, scale, bias], { axis: normAxis(axis, x.shape.length), epsilon });
  }

  // ---- convolution and pooling
  /** 1-d or 2-d convolution, x [N,C,...], w [M, C/group, k...]. */
  conv(x: Value, w: Value, bias?: Value, o: Partial<ConvAttrs> = {}): Value {
    return this.one('Conv', bias ? [x, w, bias] : [x, w], this.convAttrs(x, o));
  }
  /** 2-d (or 1-d) transposed convolution, w [C, M/group, k...]. */
  convTranspose(x: Value, w: Value, bias?: Value, o: Partial<ConvAttrs> & { outputPadding?: number[] } = {}): Value {
    const a = this.convAttrs(x, o);
    return this.one('ConvTranspose', bias ? [x, w, bias] : [x, w], { ...a, outputPadding: o.outputPadding ?? a.strides.map(() => 0) });
  }
  private convAttrs(x: Value, o: Partial<ConvAttrs>): ConvAttrs {
    const r = x.shape.length - 2;
    const ones = new Array<number>(r).fill(1);
    return { strides: o.strides ?? ones, pads: o.pads ?? new Array<number>(2 * r).fill(0), dilations: o.dilations ?? ones, group: o.group ?? 1 };
  }
  maxPool(x: Value, kernel: readonly number[], strides: readonly number[] = kernel, pads?: readonly number[]): Value {
    return this.apply('MaxPool', [x], { kernel: [...kernel], strides: [...strides], pads: pads ? [...pads] : kernel.flatMap(() => [0, 0]) })[0];
  }
  averagePool(x: Value, kernel: readonly number[], strides: readonly number[] = kernel, pads?: readonly number[]): Value {
    return this.one('AveragePool', [x], { kernel: [...kernel], strides: [...strides], pads: pads ? [...pads] : kernel.flatMap(() => [0, 0]) });
  }
  /** Nearest-neighbour upsampling of the spatial axes of [N,C,...] by integer factors. */
  upsample(x: Value, factors: readonly number[]): Value {
    return this.one('Resize', [x], { scales: [1, 1, ...factors] });
  }
  /** RoIAlign (inference only): rois [R,4] as x0,y0,x1,y1 in input pixels times spatialScale. */
  roiAlign(x: Value, rois: Value, batchIndices: Value, o: { outputHeight: number; outputWidth: number; samplingRatio?: number; spatialScale?: number; mode?: 'avg' | 'max' }): Value {
    return this.one('RoiAlign', [x, rois, batchIndices], {
      outputHeight: o.outputHeight, outputWidth: o.outputWidth, samplingRatio: o.samplingRatio ?? 0, spatialScale: o.spatialScale ?? 1, mode: o.mode ?? 'avg',
    });
  }

  // ---- composed stochastic ops
  /**
   * Inverted dropout with the graph's seeded RNG: y = x*keep/(1-p), keep ~ Bernoulli(1-p). Identity when
   * p = 0 — build inference graphs with p = 0 (they then have no `seed` input).
   */
  dropout(x: Value, p: number): Value {
    if (p <= 0) return x;
    const keep = this.randomBernoulli(x.shape, 1 - p);
    return this.mul(x, this.where(keep, this.scalar(1 / (1 - p), x.dtype), 0));
  }
  /**
   * Gumbel-softmax over the last axis with temperature tau; noise from the seeded RNG. `hard` returns one-hot
   * samples with the soft sample's gradient (straight-through).
   */
  gumbelSoftmax(logits: Value, tau: number, hard = false): Value {
    const u = this.cast(this.randomUniform(logits.shape), logits.dtype);
    const gumbel = this.neg(this.log(this.add(this.neg(this.log(this.add(u, 1e-10))), 1e-10)));
    const y = this.softmax(this.div(this.add(logits, this.stopGradient(gumbel)), tau));
    if (!hard) return y;
    const onehot = this.cast(this.equal(y, this.reduceMax(y, [-1], true)), y.dtype);
    return this.straightThrough(y, onehot);
  }
}
