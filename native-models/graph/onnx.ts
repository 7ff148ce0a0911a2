// ONNX writer: lowers a Graph through the rule table and encodes ModelProto with a minimal protobuf encoder
// (only the fields ONNX Runtime reads; no protobuf dependency). Opset 20 of ai.onnx, IR version 9.
import { cse, numel, prune } from './ir';
import type { DType, Graph, Value } from './ir';
import { ONNX_DTYPE, rules } from './ops';
import type { AttrIn, Lowering } from './ops';

export const OPSET = 20;
/** Opset versions of the non-standard domains a lowering may use. */
const CONTRIB_OPSET: Record<string, number> = { 'com.microsoft': 1 };
const IR_VERSION = 9;

// ---- protobuf encoding ------------------------------------------------------------------------------------

/** An append-only protobuf message; nested messages are kept as parts, so large tensors are copied once. */
class Pb {
  parts: Uint8Array[] = [];
  length = 0;
  private scratch: number[] = [];

  private flush(): void {
    if (this.scratch.length) {
      this.parts.push(Uint8Array.from(this.scratch));
      this.length += this.scratch.length;
      this.scratch = [];
    }
  }
  private varintRaw(v: number | bigint): void {
    if (typeof v === 'number' && v >= 0 && Number.isSafeInteger(v)) {
      let y = v;
      while (y >= 0x80) {
        this.scratch.push((y % 0x80) | 0x80);
        y = Math.floor(y / 0x80);
      }
      this.scratch.push(y);
      return;
    }
    let x = BigInt.asUintN(64, BigInt(v)); // negative int64: ten-byte two's complement
    if (x < 0x80n) { this.scratch.push(Number(x)); return; }
    while (x >= 0x80n) {
      this.scratch.push(Number((x & 0x7fn) | 0x80n));
      x >>= 7n;
    }
    this.scratch.push(Number(x));
  }
  private tag(field: number, wire: number): void { this.varintRaw((field << 3) | wire); }
  varint(field: number, v: number | bigint): this { this.tag(field, 0); this.varintRaw(v); return this; }
  float(field: number, v: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.scratch.push(...b);
    return this;
  }
  bytes(field: number, data: Uint8Array): this {
    this.tag(field, 2);
    this.varintRaw(data.length);
    this.flush();
    this.parts.push(data);
    this.length += data.length;
    return this;
  }
  string(field: number, s: string): this { return this.bytes(field, new TextEncoder().encode(s)); }
  msg(field: number, m: Pb): this {
    m.flush();
    this.tag(field, 2);
    this.varintRaw(m.length);
    this.flush();
    this.parts.push(...m.parts);
    this.length += m.length;
    return this;
  }
  packedVarints(field: number, vs: readonly number[]): this {
    const p = new Pb();
    for (const v of vs) p.varintRaw(v);
    return this.msg(field, p);
  }
  packedFloats(field: number, vs: readonly number[]): this {
    const b = new Uint8Array(vs.length * 4);
    const dv = new DataView(b.buffer);
    vs.forEach((v, i) => dv.setFloat32(i * 4, v, true));
    return this.bytes(field, b);
  }
  finish(): Uint8Array {
    this.flush();
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const p of this.parts) { out.set(p, o); o += p.length; }
    return out;
  }
}

// ---- tensors ----------------------------------------------------------------------------------------------

/** IEEE half from a float (round to nearest even), for fp16 weight storage. */
export function toHalf(v: number): number {
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let r = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    if (rem > half || (rem === half && (r & 1))) r++;
    return sign | r;
  }
  let r = mant >> 13;
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (r & 1))) {
    r++;
    if (r === 0x400) { r = 0; e++; if (e >= 0x1f) return sign | 0x7c00; }
  }
  return sign | (e << 10) | r;
}

/** bfloat16 bits of a float (the top half of its float32 bits, rounded to nearest even). */
export function toBfloat16(v: number): number {
  const f32 = new Float32Array([v]);
  const u = new Uint32Array(f32.buffer)[0];
  if (Number.isNaN(v)) return 0x7fc0;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

function bf16Bytes(data: ArrayLike<number>): Uint8Array {
  const a = new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) a[i] = toBfloat16(data[i]);
  return new Uint8Array(a.buffer);
}

/** Little-endian bytes of numbers in a dtype (ONNX raw_data). */
export function tensorBytes(data: ArrayLike<number>, dtype: DType): Uint8Array {
  const n = data.length;
  switch (dtype) {
    case 'float32': return new Uint8Array((data instanceof Float32Array ? data : Float32Array.from(data)).slice().buffer);
    case 'float64': return new Uint8Array(Float64Array.from(data).buffer);
    case 'int32': return new Uint8Array(Int32Array.from(data).buffer);
    case 'int64': { const a = new BigInt64Array(n); for (let i = 0; i < n; i++) a[i] = BigInt(Math.trunc(data[i])); return new Uint8Array(a.buffer); }
    case 'bool': return Uint8Array.from(data, (v) => (v ? 1 : 0));
    case 'float16': { const a = new Uint16Array(n); for (let i = 0; i < n; i++) a[i] = toHalf(data[i]); return new Uint8Array(a.buffer); }
  }
}

function tensorProto(name: string, dtype: DType | 'bfloat16', shape: readonly number[], raw: Uint8Array | { location: string; offset: number; length: number }): Pb {
  const t = new Pb();
  if (shape.length) t.packedVarints(1, shape);
  t.varint(2, dtype === 'bfloat16' ? 16 : ONNX_DTYPE[dtype]);
  t.string(8, name);
  if (raw instanceof Uint8Array) {
    t.bytes(9, raw);
  } else {
    const kv = (k: string, v: string) => new Pb().string(1, k).string(2, v);
    t.msg(13, kv('location', raw.location));
    t.msg(13, kv('offset', String(raw.offset)));
    t.msg(13, kv('length', String(raw.length)));
    t.varint(14, 1);
  }
  return t;
}

function valueInfo(name: string, dtype: DType, shape: readonly number[]): Pb {
  const dims = new Pb();
  for (const d of shape) dims.msg(1, new Pb().varint(1, d));
  const tensorType = new Pb().varint(1, ONNX_DTYPE[dtype]).msg(2, dims);
  return new Pb().string(1, name).msg(2, new Pb().msg(1, tensorType));
}

function attribute(name: string, v: AttrIn): Pb {
  const a = new Pb().string(1, name);
  if (typeof v === 'number') return a.varint(3, v).varint(20, 2);
  if (typeof v === 'string') return a.string(4, v).varint(20, 3);
  if (Array.isArray(v)) return a.packedVarints(8, v).varint(20, 7);
  if ('f' in v) return a.float(2, v.f).varint(20, 1);
  return a.packedFloats(7, v.floats).varint(20, 6);
}

// ---- lowering ---------------------------------------------------------------------------------------------

/** An ONNX node before encoding (kept as data so tests and the optimiser passes can inspect it). */
export interface OnnxNode { op: string; inputs: string[]; outputs: string[]; attrs: Record<string, AttrIn>; domain?: string }

/** How params appear in the model. */
export type ParamMode =
  /** Inputs named `param:<name>` (training graphs; the trainer feeds them). */
  | { kind: 'inputs' }
  /**
   * Initializers named `<name>`. 'float16' / 'bfloat16' store 2-byte weights plus one Cast each (half-size
   * packages; onnxruntime folds the Casts at load, so compute stays float32). bfloat16 keeps float32's range.
   */
  | { kind: 'initializers'; values: ParamValues; storage?: 'float32' | 'float16' | 'bfloat16' }
  /** Initializers whose bytes live in a side file `location` (next to the .onnx) for large models. */
  | { kind: 'external'; values: ParamValues; location: string }
  /**
   * Initializers whose bytes are already in a file `location` beside the .onnx, at the given places (e.g. a
   * safetensors file: safetensorsLayout), so several graphs share one copy of the weights. float16 ones get a Cast
   * each, as with 'initializers' storage float16.
   */
  | { kind: 'referenced'; location: string; tensors: ReadonlyMap<string, StoredTensor> };

/** Where a weight's bytes are in a file, and how they are stored. */
export interface StoredTensor {
  dtype: 'float32' | 'float16';
  /** Byte offset of the first value in the file, and the byte count. */
  offset: number;
  length: number;
}

/** Param tensors by name, float32, in the param's shape (row-major). */
export type ParamValues = ReadonlyMap<string, Float32Array> | Readonly<Record<string, Float32Array>>;

export interface OnnxOptions {
  params?: ParamMode;
  /** Graph name in the model. */
  name?: string;
}

export interface OnnxModel {
  /** The ModelProto bytes. */
  model: Uint8Array;
  /** For external params: the side file's bytes, to be written at `location` beside the model. */
  external?: Uint8Array;
  /** The lowered nodes (for inspection and tests). */
  nodes: OnnxNode[];
}

const getParam = (vals: ParamValues, name: string): Float32Array | undefined =>
  vals instanceof Map ? vals.get(name) : (vals as Record<string, Float32Array>)[name];

/** The initializer name of a weight stored as fp16/bf16 (a Cast to float32 gives back `name`). */
function storedName(name: string, storage: 'float16' | 'bfloat16'): string {
  return `${name}:${storage === 'float16' ? 'fp16' : 'bf16'}`;
}

/**
 * The weight an initializer of a model written here holds: `name:fp16`/`name:bf16` (storedName) is `name`; the
 * writer's own constants (`fresh` names: c, t or v and a number) are no weight (undefined).
 */
export function weightName(initializer: string): string | undefined {
  const stored = /^(.*):(fp16|bf16)$/.exec(initializer);
  if (stored) return stored[1];
  return /^[ctv]\d+$/.test(initializer) ? undefined : initializer;
}

/**
 * Lowers a graph to an ONNX model. Nodes not needed by any output are dropped (gradient rules compute
 * every input's cotangent; the unused ones vanish here). Graph outputs keep their names.
 */
export function toOnnx(source: Graph, opts: OnnxOptions = {}): OnnxModel {
  const mode: ParamMode = opts.params ?? { kind: 'inputs' };
  const nodes: OnnxNode[] = [];
  const inits: Pb[] = [];
  const externalParts: Uint8Array[] = [];
  let externalLength = 0;
  const names = new Map<number, string>();
  const usedNames = new Set<string>();
  let tmp = 0;
  // Names of the writer's own values and constants: a hint letter and a number (weightName skips them).
  const fresh = (hint: 'c' | 't' | 'v'): string => {
    let n: string;
    do n = `${hint}${tmp++}`; while (usedNames.has(n));
    usedNames.add(n);
    return n;
  };
  const constCache = new Map<string, string>();

  const L: Lowering = {
    node: (op, inputs, outputs, attrs = {}, domain) => { nodes.push({ op, inputs, outputs, attrs, ...(domain ? { domain } : {}) }); },
    tmp: () => fresh('t'),
    ints: (values) => {
      const key = `i64:[${values.join(',')}]`;
      let n = constCache.get(key);
      if (!n) {
        n = fresh('c');
        constCache.set(key, n);
        inits.push(tensorProto(n, 'int64', [values.length], tensorBytes(values, 'int64')));
      }
      return n;
    },
    scalar: (value, dtype) => {
      const key = `${dtype}:${value}`;
      let n = constCache.get(key);
      if (!n) {
        n = fresh('c');
        constCache.set(key, n);
        inits.push(tensorProto(n, dtype, [], tensorBytes([value], dtype)));
      }
      return n;
    },
    initializer: (name, data, dtype, shape) => { inits.push(tensorProto(name, dtype, shape, tensorBytes(data, dtype))); },
  };

  // Shared subexpressions merged, then dead nodes dropped: only what an output needs is emitted.
  const graph = prune(cse(source));
  const live = new Set<number>(graph.outputs.map((o) => o.value.id));
  for (const n of graph.nodes) for (const v of n.inputs) live.add(v.id);

  // Names: inputs keep theirs, params per mode, outputs take the output name when they can.
  for (const v of graph.inputs) { names.set(v.id, v.name!); usedNames.add(v.name!); }
  // Every declared input (and, in 'inputs' mode, every param) stays an input even if no output reads it, so the
  // feeds a caller derives from the builder's declarations always match the model.
  const graphInputs: Pb[] = graph.inputs.map((v) => valueInfo(v.name!, v.dtype, v.shape));
  /** A weight stored at lower precision: its initializer under a stored name, Cast to float32 under its own. */
  const castWeight = (pname: string, dtype: 'float16' | 'bfloat16', shape: readonly number[], raw: Parameters<typeof tensorProto>[3]) => {
    const stored = storedName(pname, dtype);
    usedNames.add(stored);
    inits.push(tensorProto(stored, dtype, shape, raw));
    nodes.push({ op: 'Cast', inputs: [stored], outputs: [pname], attrs: { to: ONNX_DTYPE.float32 } });
  };
  for (const p of graph.params) {
    const pname = p.value.name!;
    if (mode.kind === 'inputs') {
      const n = `param:${pname}`;
      names.set(p.value.id, n);
      usedNames.add(n);
      graphInputs.push(valueInfo(n, 'float32', p.value.shape));
      continue;
    }
    if (!live.has(p.value.id)) continue; // an unused baked-in weight is just dropped
    names.set(p.value.id, pname);
    usedNames.add(pname);
    if (mode.kind === 'referenced') {
      const ref = mode.tensors.get(pname);
      if (!ref) throw new Error(`no stored tensor for param '${pname}' in ${mode.location}`);
      const bytes = numel(p.value.shape) * (ref.dtype === 'float16' ? 2 : 4);
      if (ref.length !== bytes) throw new Error(`param '${pname}': ${ref.length} bytes stored in ${mode.location}, shape [${p.value.shape}] as ${ref.dtype} needs ${bytes}`);
      const where = { location: mode.location, offset: ref.offset, length: ref.length };
      if (ref.dtype === 'float32') inits.push(tensorProto(pname, 'float32', p.value.shape, where));
      else castWeight(pname, 'float16', p.value.shape, where);
      continue;
    }
    const data = getParam(mode.values, pname);
    if (!data) throw new Error(`no value for param '${pname}'`);
    if (data.length !== numel(p.value.shape)) throw new Error(`param '${pname}' has ${data.length} values, shape [${p.value.shape}] needs ${numel(p.value.shape)}`);
    if (mode.kind === 'external') {
      const bytes = tensorBytes(data, 'float32');
      const pad = (64 - (externalLength % 64)) % 64; // keep tensors aligned for mmap
      if (pad) { externalParts.push(new Uint8Array(pad)); externalLength += pad; }
      inits.push(tensorProto(pname, 'float32', p.value.shape, { location: mode.location, offset: externalLength, length: bytes.length }));
      externalParts.push(bytes);
      externalLength += bytes.length;
    } else if (mode.storage === 'float16' || mode.storage === 'bfloat16') {
      castWeight(pname, mode.storage, p.value.shape, mode.storage === 'float16' ? tensorBytes(data, 'float16') : bf16Bytes(data));
    } else {
      inits.push(tensorProto(pname, 'float32', p.value.shape, tensorBytes(data, 'float32')));
    }
  }
  const outputIds = new Map<number, string>();
  const identities: { from: number; name: string }[] = [];
  for (const o of graph.outputs) {
    if (usedNames.has(o.name) && names.get(o.value.id) !== o.name) throw new Error(`output name '${o.name}' clashes with an input or param`);
    if (!names.has(o.value.id) && !outputIds.has(o.value.id)) {
      outputIds.set(o.value.id, o.name);
      names.set(o.value.id, o.name);
      usedNames.add(o.name);
    } else if (names.get(o.value.id) !== o.name) {
      identities.push({ from: o.value.id, name: o.name });
      usedNames.add(o.name);
    }
  }
  const nameOf = (v: Value): string => {
    let n = names.get(v.id);
    if (!n) { n = fresh('v'); names.set(v.id, n); }
    return n;
  };

  graph.nodes.forEach((n) => {
    const rule = rules[n.op] as unknown as { lower: (L: Lowering, i: string[], o: string[], a: unknown, n: unknown) => void };
    rule.lower(L, n.inputs.map(nameOf), n.outputs.map(nameOf), n.attrs, n);
  });
  for (const { from, name } of identities) nodes.push({ op: 'Identity', inputs: [names.get(from)!], outputs: [name], attrs: {} });

  const g = new Pb();
  nodes.forEach((n, i) => {
    const np = new Pb();
    for (const x of n.inputs) np.string(1, x);
    for (const x of n.outputs) np.string(2, x);
    np.string(3, `n${i}_${n.op}`);
    np.string(4, n.op);
    for (const [k, v] of Object.entries(n.attrs)) np.msg(5, attribute(k, v));
    if (n.domain) np.string(7, n.domain);
    g.msg(1, np);
  });
  g.string(2, opts.name ?? 'opt_studio');
  for (const t of inits) g.msg(5, t);
  for (const vi of graphInputs) g.msg(11, vi);
  for (const o of graph.outputs) g.msg(12, valueInfo(o.name, o.value.dtype, o.value.shape));

  const m = new Pb();
  m.varint(1, IR_VERSION);
  m.string(2, 'opt-studio');
  m.msg(7, g);
  m.msg(8, new Pb().string(1, '').varint(2, OPSET));
  // Contrib ops (com.microsoft, e.g. MultiHeadAttention) need their domain's opset declared too.
  for (const d of new Set(nodes.flatMap((n) => (n.domain ? [n.domain] : [])))) m.msg(8, new Pb().string(1, d).varint(2, CONTRIB_OPSET[d] ?? 1));
  const result: OnnxModel = { model: m.finish(), nodes };
  if (mode.kind === 'external') {
    const ext = new Uint8Array(externalLength);
    let o = 0;
    for (const p of externalParts) { ext.set(p, o); o += p.length; }
    result.external = ext;
  }
  return result;
}

/** Name, shape and dtype of each param (the trainer's checkpoint layout). */
export function paramInfo(graph: Graph): { name: string; shape: number[]; dtype: 'float32'; trainable: boolean }[] {
  return graph.params.map((p) => ({ name: p.value.name!, shape: [...p.value.shape], dtype: 'float32', trainable: p.trainable }));
}

// ---- reading weights back ---------------------------------------------------------------------------------

/** One initializer of an ONNX model, widened to float32 where it is a float (float16/bfloat16/float32/float64). */
export interface OnnxInitializer { name: string; dtype: 'float32' | 'other'; dims: number[]; data?: Float32Array; onnxType: number }

/** Fields of one protobuf message: field number -> values (varints as bigint, length-delimited as byte views). */
function pbFields(buf: Uint8Array, what: string): Map<number, (bigint | Uint8Array)[]> {
  const out = new Map<number, (bigint | Uint8Array)[]>();
  let i = 0;
  const varint = (): bigint => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      if (i >= buf.length) throw new Error(`${what}: truncated protobuf varint`);
      const b = buf[i++];
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
      shift += 7n;
      if (shift > 70n) throw new Error(`${what}: malformed protobuf varint`);
    }
  };
  while (i < buf.length) {
    const key = Number(varint());
    const field = key >>> 3;
    const wire = key & 7;
    let v: bigint | Uint8Array;
    if (wire === 0) v = varint();
    else if (wire === 2) {
      const n = Number(varint());
      if (i + n > buf.length) throw new Error(`${what}: truncated protobuf field ${field}`);
      v = buf.subarray(i, i + n);
      i += n;
    } else if (wire === 1 || wire === 5) {
      const n = wire === 1 ? 8 : 4;
      if (i + n > buf.length) throw new Error(`${what}: truncated protobuf field ${field}`);
      v = buf.subarray(i, i + n);
      i += n;
    } else throw new Error(`${what}: protobuf wire type ${wire} (field ${field}) is not valid here`);
    const list = out.get(field);
    if (list) list.push(v); else out.set(field, [v]);
  }
  return out;
}

function halfBitsToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** float32 values of IEEE half bits. */
export function fromHalf(bits: Uint16Array): Float32Array {
  return Float32Array.from(bits, halfBitsToFloat);
}

/** float32 values of bfloat16 bits (exact: the top half of a float32). */
export function fromBfloat16(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const u = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) u[i] = bits[i] << 16;
  return out;
}

/**
 * The initializers of an ONNX model (ModelProto bytes), floats widened to float32 (raw_data or float_data; external
 * data is refused). `what` names the file in errors. Other dtypes (the int64 shape constants) come back without data.
 */
export function readInitializers(model: Uint8Array, what = 'onnx model'): OnnxInitializer[] {
  const graph = pbFields(model, what).get(7)?.[0];
  if (!(graph instanceof Uint8Array)) throw new Error(`${what}: not an ONNX model (no graph)`);
  const out: OnnxInitializer[] = [];
  for (const t of pbFields(graph, what).get(5) ?? []) {
    if (!(t instanceof Uint8Array)) throw new Error(`${what}: malformed initializer`);
    const f = pbFields(t, what);
    const name = new TextDecoder().decode((f.get(8)?.[0] as Uint8Array | undefined) ?? new Uint8Array());
    const dims: number[] = [];
    for (const d of f.get(1) ?? []) {
      if (typeof d === 'bigint') dims.push(Number(d));
      else dims.push(...unpackVarints(d, what));
    }
    const onnxType = Number((f.get(2)?.[0] as bigint | undefined) ?? 0n);
    if (f.has(13) || f.get(14)?.[0] === 1n) throw new Error(`${what}: initializer '${name}' keeps its data in an external file`);
    const n = numel(dims);
    const raw = f.get(9)?.[0] as Uint8Array | undefined;
    const copy = (bytes: number): Uint8Array => {
      if (!raw) throw new Error(`${what}: initializer '${name}' keeps its data in a typed field, not raw_data (not supported here)`);
      if (raw.length !== n * bytes) throw new Error(`${what}: initializer '${name}' has ${raw.length} data bytes, [${dims}] needs ${n * bytes}`);
      return new Uint8Array(raw); // a copy (Buffer.slice would be a view), aligned for the typed arrays below
    };
    let data: Float32Array | undefined;
    if (onnxType === 1) data = raw ? new Float32Array(copy(4).buffer) : floatData(f.get(4), n, name, what);
    else if (onnxType === 10) data = fromHalf(new Uint16Array(copy(2).buffer));
    else if (onnxType === 16) data = fromBfloat16(new Uint16Array(copy(2).buffer));
    else if (onnxType === 11) data = Float32Array.from(new Float64Array(copy(8).buffer));
    out.push({ name, dims, onnxType, dtype: data ? 'float32' : 'other', ...(data ? { data } : {}) });
  }
  return out;
}

function unpackVarints(b: Uint8Array, what: string): number[] {
  const out: number[] = [];
  let v = 0;
  let mul = 1;
  for (const x of b) {
    v += (x & 0x7f) * mul;
    if (x & 0x80) mul *= 128;
    else { out.push(v); v = 0; mul = 1; }
  }
  if (mul !== 1) throw new Error(`${what}: truncated packed varints`);
  return out;
}

function floatData(parts: (bigint | Uint8Array)[] | undefined, n: number, name: string, what: string): Float32Array {
  const bytes = (parts ?? []).filter((p): p is Uint8Array => p instanceof Uint8Array);
  const total = bytes.reduce((a, p) => a + p.length, 0);
  if (total !== n * 4) throw new Error(`${what}: initializer '${name}' has ${total / 4} floats, needs ${n}`);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of bytes) { out.set(p, o); o += p.length; }
  return new Float32Array(out.buffer);
}
