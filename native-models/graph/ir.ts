// The graph IR as plain data (JAX autodidax's Jaxpr idea): values with a dtype and a static shape, nodes that
// apply an op (named in the rule table of ./ops) to values, and a graph with inputs, params and outputs.
// Nothing here knows ONNX; ./onnx lowers a Graph, ./typecheck re-derives every type from the rule table.
import type { OpAttrs, OpName } from './ops';

/** Element types the engine uses. float32 is the training dtype; float64 exists for gradient checks. */
export type DType = 'float32' | 'float64' | 'float16' | 'int64' | 'int32' | 'bool';

/** A static tensor type. Shapes are fixed: one graph per shape bucket. */
export interface TensorType {
  readonly dtype: DType;
  readonly shape: readonly number[];
}

/** A value in the graph: produced by exactly one node, or a graph input, or a param. */
export interface Value extends TensorType {
  readonly id: number;
  /** Set for graph inputs and params (their public names); other values print as %id. */
  readonly name?: string;
}

/** One application of an op. Attributes are typed per op (see OpAttrs in ./ops). */
export interface Node<K extends OpName = OpName> {
  readonly op: K;
  readonly inputs: readonly Value[];
  readonly outputs: readonly Value[];
  readonly attrs: OpAttrs[K];
}

/** How a param is initialised before training (see ./params). */
export type Init =
  | { readonly kind: 'zeros' }
  | { readonly kind: 'ones' }
  | { readonly kind: 'normal'; readonly std: number }
  | { readonly kind: 'uniform'; readonly bound: number };

/** A learnable (or frozen) float32 tensor. In a training graph it is the input `param:<name>`. */
export interface Param {
  readonly value: Value;
  readonly init: Init;
  readonly trainable: boolean;
}

/** A whole computation. `nodes` is in topological order (the builder appends in order). */
export interface Graph {
  readonly inputs: readonly Value[];
  readonly params: readonly Param[];
  readonly nodes: readonly Node[];
  readonly outputs: readonly { readonly name: string; readonly value: Value }[];
}

export const isFloat = (d: DType): boolean => d === 'float32' || d === 'float64' || d === 'float16';

export const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

const SHORT: Record<DType, string> = { float32: 'f32', float64: 'f64', float16: 'f16', int64: 'i64', int32: 'i32', bool: 'bool' };

/** `f32[32,64]` — the type notation used by print() and every error message. */
export function fmtType(t: TensorType): string {
  return `${SHORT[t.dtype]}[${t.shape.join(',')}]`;
}

/** Numpy broadcasting of two shapes; throws with both shapes named when they do not broadcast. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(`shapes [${a.join(',')}] and [${b.join(',')}] do not broadcast (axis ${i}: ${da} vs ${db})`);
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Normalises a possibly negative axis against a rank, with a clear error. */
export function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new Error(`axis ${axis} is out of range for rank ${rank}`);
  return a;
}

function fmtAttr(v: unknown): string {
  if (ArrayBuffer.isView(v)) {
    const arr = Array.from(v as unknown as ArrayLike<number>);
    return arr.length <= 8 ? `[${arr.join(',')}]` : `<${arr.length} values>`;
  }
  if (Array.isArray(v)) return v.length <= 8 ? `[${v.map(fmtAttr).join(',')}]` : `<${v.length} values>`;
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(+v.toPrecision(6));
  return String(v);
}

/**
 * Readable text for a graph, one node a line (autodidax's pp_jaxpr):
 * `%7:f32[4,8] = MatMul %x %param.w` — stable across runs, so it is snapshot-tested.
 */
export function print(graph: Graph): string {
  const names = new Map<number, string>();
  const nm = (v: Value): string => names.get(v.id) ?? `%${v.id}`;
  for (const v of graph.inputs) names.set(v.id, `%${v.name}`);
  for (const p of graph.params) names.set(p.value.id, `%${p.value.name}`);
  // Renumber intermediate values densely so snapshots do not depend on builder internals.
  let k = 0;
  for (const n of graph.nodes) for (const o of n.outputs) if (!names.has(o.id)) names.set(o.id, `%${k++}`);
  const lines: string[] = [];
  lines.push('graph(');
  for (const v of graph.inputs) lines.push(`  in    ${nm(v)}: ${fmtType(v)}`);
  for (const p of graph.params) {
    const init = p.init.kind === 'normal' ? `normal(${fmtAttr(p.init.std)})` : p.init.kind === 'uniform' ? `uniform(${fmtAttr(p.init.bound)})` : p.init.kind;
    lines.push(`  param ${nm(p.value)}: ${fmtType(p.value)}${p.trainable ? '' : ' frozen'} init=${init}`);
  }
  lines.push(') {');
  for (const n of graph.nodes) {
    // A constant's dtype and shape are its output type; print only its values.
    const shown = n.op === 'Const' ? { value: (n.attrs as { data: ArrayLike<number> }).data } : (n.attrs as Record<string, unknown>);
    const attrs = Object.entries(shown)
      .map(([key, v]) => `${key}=${fmtAttr(v)}`)
      .join(', ');
    const outs = n.outputs.map((o) => `${nm(o)}:${fmtType(o)}`).join(' ');
    lines.push(`  ${outs} = ${n.op}${attrs ? `[${attrs}]` : ''} ${n.inputs.map(nm).join(' ')}`.trimEnd());
  }
  lines.push(`  return ${graph.outputs.map((o) => `${o.name}=${nm(o.value)}`).join(', ')}`);
  lines.push('}');
  return lines.join('\n');
}

/** The graph without nodes that no output depends on (gradient rules emit every input's cotangent). */
export function prune(graph: Graph): Graph {
  const live = new Set<number>(graph.outputs.map((o) => o.value.id));
  const keep: Node[] = [];
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const n = graph.nodes[i];
    if (n.outputs.some((o) => live.has(o.id))) {
      keep.push(n);
      for (const v of n.inputs) live.add(v.id);
    }
  }
  return { ...graph, nodes: keep.reverse() };
}

/**
 * Common-subexpression elimination: nodes with the same op, inputs and attributes are computed once
 * (gradient rules often rebuild a product such as g*y for both operands of x*x).
 */
export function cse(graph: Graph): Graph {
  const canon = new Map<number, Value>();
  const seen = new Map<string, readonly Value[]>();
  const nodes: Node[] = [];
  const c = (v: Value) => canon.get(v.id) ?? v;
  for (const n of graph.nodes) {
    const inputs = n.inputs.map(c);
    const attrs = n.attrs as unknown as Record<string, unknown>;
    const big = n.op === 'Const' && (attrs.data as ArrayLike<number>).length > 64;
    const key = big ? undefined : `${n.op}(${inputs.map((v) => v.id).join(',')})${JSON.stringify(attrs, (_k, v) => (ArrayBuffer.isView(v) ? Array.from(v as unknown as ArrayLike<number>) : v))}`;
    const prev = key === undefined ? undefined : seen.get(key);
    if (prev) {
      n.outputs.forEach((o, i) => canon.set(o.id, prev[i]));
      continue;
    }
    if (key !== undefined) seen.set(key, n.outputs);
    nodes.push(inputs.every((v, i) => v === n.inputs[i]) ? n : { ...n, inputs });
  }
  return { ...graph, nodes, outputs: graph.outputs.map((o) => ({ name: o.name, value: c(o.value) })) };
}
