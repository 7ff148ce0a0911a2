// safetensors, exactly as specified by huggingface/safetensors (so checkpoints open in PyTorch / HF):
//   [u64 little-endian N][N bytes of JSON header, padded with spaces][data buffer]
// The header maps each tensor name to { dtype, shape, data_offsets: [begin, end] } (offsets relative to
// the data buffer, contiguous, covering it exactly) and may hold "__metadata__": { string: string }.
import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { endianness } from 'node:os';
import { basename } from 'node:path';
import { fromBfloat16 } from '../graph/onnx';
import { BYTES_PER_ELEMENT, numel, viewData, type DType, type Tensor } from '../runtime/tensor';
import { writeFileAtomic } from './atomic';

/** safetensors dtype names. */
export type SafeDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'U16' | 'U32' | 'U64' | 'BOOL';

const SAFE_SIZE: Record<SafeDType, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, U16: 2, U32: 4, U64: 8, BOOL: 1 };

const TO_SAFE: Record<DType, SafeDType> = {
  float64: 'F64', float32: 'F32', float16: 'F16', int64: 'I64', int32: 'I32', int16: 'I16', int8: 'I8', uint8: 'U8', uint16: 'U16', bool: 'BOOL',
};
const FROM_SAFE: Partial<Record<SafeDType, DType>> = Object.fromEntries(Object.entries(TO_SAFE).map(([k, v]) => [v, k as DType]));

/** A tensor as stored: raw little-endian bytes. Used for dtypes the runtime has no array for (BF16, U32, U64). */
export interface RawTensor {
  dtype: SafeDType;
  shape: number[];
  bytes: Uint8Array;
}

/** The spec's limit on the header (100 MB); also guards against reading garbage as a length. */
const MAX_HEADER = 100_000_000;

if (endianness() !== 'LE') throw new Error('safetensors: this code assumes a little-endian CPU');

function isRaw(t: Tensor | RawTensor): t is RawTensor {
  return (t as RawTensor).bytes !== undefined;
}

function rawOf(name: string, t: Tensor | RawTensor): RawTensor {
  if (isRaw(t)) {
    const want = numel(t.shape) * SAFE_SIZE[t.dtype];
    if (t.bytes.byteLength !== want) throw new Error(`safetensors: '${name}' has ${t.bytes.byteLength} bytes, ${t.dtype}[${t.shape.join(',')}] needs ${want}`);
    return t;
  }
  if (numel(t.dims) !== t.data.length) throw new Error(`safetensors: '${name}' has ${t.data.length} elements for dims [${t.dims.join(',')}]`);
  return { dtype: TO_SAFE[t.dtype], shape: [...t.dims], bytes: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength) };
}

/** The header bytes (length prefix + JSON padded to 8 bytes) and the tensors in file order. */
function layout(tensors: Readonly<Record<string, Tensor | RawTensor>>, metadata?: Readonly<Record<string, string>>): { head: Uint8Array; parts: Uint8Array[]; total: number } {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') throw new Error(`safetensors: metadata '${k}' must be a string`);
    header.__metadata__ = { ...metadata };
  }
  const parts: Uint8Array[] = [];
  let off = 0;
  // Sorted names give byte-identical files for identical contents.
  for (const name of Object.keys(tensors).sort()) {
    if (name === '__metadata__') throw new Error('safetensors: "__metadata__" is reserved');
    const r = rawOf(name, tensors[name]);
    header[name] = { dtype: r.dtype, shape: r.shape, data_offsets: [off, off + r.bytes.byteLength] };
    parts.push(r.bytes);
    off += r.bytes.byteLength;
  }
  let json = JSON.stringify(header);
  // Pad so the data buffer starts 8-byte aligned, as the reference writer does.
  const pad = (8 - ((8 + Buffer.byteLength(json)) % 8)) % 8;
  json += ' '.repeat(pad);
  const jsonBytes = Buffer.from(json, 'utf8');
  const head = new Uint8Array(8 + jsonBytes.byteLength);
  new DataView(head.buffer).setBigUint64(0, BigInt(jsonBytes.byteLength), true);
  head.set(jsonBytes, 8);
  return { head, parts, total: head.byteLength + off };
}

/** Serialises tensors (and optional string metadata) to safetensors bytes. */
export function encodeSafetensors(tensors: Readonly<Record<string, Tensor | RawTensor>>, metadata?: Readonly<Record<string, string>>): Uint8Array {
  const { head, parts, total } = layout(tensors, metadata);
  const out = new Uint8Array(total);
  out.set(head, 0);
  let o = head.byteLength;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

/**
 * Writes a safetensors file transactionally (temp file, fsync, rename), streaming each tensor so no
 * second copy of the model is made in memory.
 */
export function writeSafetensorsFile(path: string, tensors: Readonly<Record<string, Tensor | RawTensor>>, metadata?: Readonly<Record<string, string>>): void {
  const { head, parts } = layout(tensors, metadata);
  writeFileAtomic(path, [head, ...parts]);
}

/** Writes without the atomic rename; for files inside a directory that is itself renamed into place. */
export function writeSafetensorsFileDirect(path: string, tensors: Readonly<Record<string, Tensor | RawTensor>>, metadata?: Readonly<Record<string, string>>): void {
  const { head, parts } = layout(tensors, metadata);
  const fd = openSync(path, 'w');
  try {
    for (const p of [head, ...parts]) {
      let done = 0;
      while (done < p.byteLength) done += writeSync(fd, p, done, p.byteLength - done);
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export interface Safetensors {
  tensors: Record<string, RawTensor>;
  metadata: Record<string, string>;
}

interface HeaderEntry { name: string; dtype: SafeDType; shape: number[]; begin: number; end: number }

/** Reads and validates a safetensors header: the tensors (offsets relative to dataStart, in file order) and metadata. */
function parseHeader(bytes: Uint8Array, source: string): { entries: HeaderEntry[]; dataStart: number; metadata: Record<string, string> } {
  const bad = (why: string): never => {
    throw new Error(`${source}: not a valid safetensors file: ${why}`);
  };
  if (bytes.byteLength < 8) bad(`${bytes.byteLength} bytes is shorter than the 8-byte header length`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER)) bad(`header length ${n} is larger than the 100 MB limit`);
  const hlen = Number(n);
  if (8 + hlen > bytes.byteLength) bad(`header length ${hlen} runs past the end of the file (${bytes.byteLength} bytes)`);
  const text = Buffer.from(bytes.buffer, bytes.byteOffset + 8, hlen).toString('utf8');
  if (!text.startsWith('{')) bad('header does not start with "{"');
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    return bad(`header JSON does not parse (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) bad('header is not a JSON object');
  const dataStart = 8 + hlen;
  const dataLen = bytes.byteLength - dataStart;
  const metadata: Record<string, string> = {};
  const entries: HeaderEntry[] = [];
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) bad('__metadata__ is not an object');
      for (const [k, s] of Object.entries(v as Record<string, unknown>)) {
        if (typeof s !== 'string') bad(`__metadata__ '${k}' is not a string`);
        metadata[k] = s as string;
      }
      continue;
    }
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e !== 'object' || e === null) bad(`tensor '${name}' is not an object`);
    if (typeof e.dtype !== 'string' || !(e.dtype in SAFE_SIZE)) bad(`tensor '${name}' has unknown dtype ${JSON.stringify(e.dtype)}`);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) bad(`tensor '${name}' has an invalid shape`);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((x) => Number.isInteger(x) && x >= 0) || off[0] > off[1]) bad(`tensor '${name}' has invalid data_offsets`);
    const [begin, end] = off as [number, number];
    const dtype = e.dtype as SafeDType;
    const shape = e.shape as number[];
    if (end - begin !== numel(shape) * SAFE_SIZE[dtype]) bad(`tensor '${name}': ${end - begin} bytes for ${dtype}[${shape.join(',')}]`);
    entries.push({ name, dtype, shape, begin, end });
  }
  // The spec requires the tensors to tile the data buffer: no gaps, no overlaps, nothing after.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const e of entries) {
    if (e.begin !== at) bad(`tensor '${e.name}' starts at ${e.begin}, expected ${at} (gap or overlap in the data buffer)`);
    at = e.end;
  }
  if (at !== dataLen) bad(`tensors cover ${at} bytes but the data buffer has ${dataLen} (truncated or trailing bytes)`);
  return { entries, dataStart, metadata };
}

/**
 * Parses safetensors bytes, validating the header against the spec. `source` names the file in
 * errors. Each tensor gets its own copy of its bytes (aligned, transferable; Buffer.slice would alias).
 */
export function decodeSafetensors(bytes: Uint8Array, source = 'safetensors'): Safetensors {
  const { entries, dataStart, metadata } = parseHeader(bytes, source);
  const tensors: Record<string, RawTensor> = {};
  for (const e of entries) {
    tensors[e.name] = { dtype: e.dtype, shape: e.shape, bytes: new Uint8Array(bytes.subarray(dataStart + e.begin, dataStart + e.end)) };
  }
  return { tensors, metadata };
}

/** Where each tensor's bytes are in safetensors bytes (offsets from the start of the file), validated as by decodeSafetensors. */
export function safetensorsLayout(bytes: Uint8Array, source = 'safetensors'): Map<string, { dtype: SafeDType; shape: number[]; offset: number; length: number }> {
  const { entries, dataStart } = parseHeader(bytes, source);
  return new Map(entries.map((e) => [e.name, { dtype: e.dtype, shape: e.shape, offset: dataStart + e.begin, length: e.end - e.begin }]));
}

/** Reads and validates a safetensors file; errors name the file. */
export function readSafetensorsFile(path: string): Safetensors {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new Error(`${path}: cannot read safetensors file: ${(e as Error).message}`);
  }
  return decodeSafetensors(bytes, path);
}

/** The runtime dtype for a safetensors dtype, if the runtime has one (BF16, U32, U64 have none). */
export function runtimeDType(d: SafeDType): DType | undefined {
  return FROM_SAFE[d];
}

/** A RawTensor as a runtime Tensor (BF16 widened to float32; other dtypes without an array are rejected). */
export function toTensor(r: RawTensor, name = 'tensor'): Tensor {
  if (r.dtype === 'BF16') return { dtype: 'float32', dims: [...r.shape], data: fromBfloat16(new Uint16Array(new Uint8Array(r.bytes).buffer)) };
  const dt = FROM_SAFE[r.dtype];
  if (!dt) throw new Error(`${name}: safetensors dtype ${r.dtype} has no runtime tensor type`);
  // new Uint8Array(view) copies (Buffer.slice would not), giving an aligned, owned buffer.
  const own = r.bytes.byteOffset % BYTES_PER_ELEMENT[dt] === 0 ? r.bytes : new Uint8Array(r.bytes);
  return { dtype: dt, dims: [...r.shape], data: viewData(dt, own.buffer, own.byteOffset, own.byteLength / BYTES_PER_ELEMENT[dt]) };
}

/** float32 to bfloat16 with round-to-nearest-even (NaN kept quiet), for compact exports. */
export function toBF16(t: Tensor<'float32'>): RawTensor {
  const u = new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length);
  const out = new Uint16Array(u.length);
  for (let i = 0; i < u.length; i++) {
    const x = u[i];
    if ((x & 0x7fffffff) > 0x7f800000) out[i] = (x >>> 16) | 0x40;
    else out[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
  }
  return { dtype: 'BF16', shape: [...t.dims], bytes: new Uint8Array(out.buffer) };
}

/** Convenience: name -> runtime Tensor for a whole file. */
export function loadTensors(path: string): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  const st = readSafetensorsFile(path);
  const tensors: Record<string, Tensor> = {};
  for (const [k, r] of Object.entries(st.tensors)) tensors[k] = toTensor(r, `${basename(path)}:${k}`);
  return { tensors, metadata: st.metadata };
}
