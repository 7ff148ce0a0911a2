// The project's plain tensor: a dtype, dims and a typed array. Everything outside runtime/ uses this
// type; only runtime/ converts it to and from onnxruntime's own Tensor class.

/** Element types the runtime can exchange with onnxruntime-node. float16 is stored as raw Uint16 bits. */
export type DType =
  | 'float32'
  | 'float64'
  | 'float16'
  | 'int64'
  | 'int32'
  | 'int16'
  | 'int8'
  | 'uint8'
  | 'uint16'
  | 'bool';

/** The typed array that holds each dtype (bool as 0/1 bytes, float16 as IEEE half bits). */
export interface DataOf {
  float32: Float32Array;
  float64: Float64Array;
  float16: Uint16Array;
  int64: BigInt64Array;
  int32: Int32Array;
  int16: Int16Array;
  int8: Int8Array;
  uint8: Uint8Array;
  uint16: Uint16Array;
  bool: Uint8Array;
}

export type TypedArray = DataOf[DType];

/** A tensor as plain data: safe to structured-clone or transfer between threads. */
export interface Tensor<D extends DType = DType> {
  readonly dtype: D;
  readonly dims: readonly number[];
  readonly data: DataOf[D];
}

const CTOR = {
  float32: Float32Array,
  float64: Float64Array,
  float16: Uint16Array,
  int64: BigInt64Array,
  int32: Int32Array,
  int16: Int16Array,
  int8: Int8Array,
  uint8: Uint8Array,
  uint16: Uint16Array,
  bool: Uint8Array,
} as const;

/** Bytes per element of each dtype. */
export const BYTES_PER_ELEMENT: Record<DType, number> = {
  float32: 4, float64: 8, float16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, uint16: 2, bool: 1,
};

export function isDType(x: unknown): x is DType {
  return typeof x === 'string' && Object.prototype.hasOwnProperty.call(CTOR, x);
}

/** Number of elements for dims (1 for a scalar). Throws on negative or fractional dims. */
export function numel(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`invalid dimension ${d} in [${dims.join(', ')}]`);
    n *= d;
  }
  return n;
}

/** A typed array of the dtype's kind and length n (zero-filled). */
export function allocData<D extends DType>(dtype: D, n: number): DataOf[D] {
  return new CTOR[dtype](n) as DataOf[D];
}

/** A typed-array view of dtype over bytes (no copy; the byte offset must be aligned for the dtype). */
export function viewData<D extends DType>(dtype: D, buffer: ArrayBufferLike, byteOffset: number, length: number): DataOf[D] {
  return new CTOR[dtype](buffer as ArrayBuffer, byteOffset, length) as DataOf[D];
}

/**
 * Makes a tensor, checking that data matches dtype and dims. Without data it is zero-filled.
 * Numbers given as a plain array are converted (bigint for int64).
 */
export function tensor<D extends DType>(
  dtype: D,
  dims: readonly number[],
  data?: DataOf[D] | readonly number[] | readonly bigint[],
): Tensor<D> {
  const n = numel(dims);
  let arr: DataOf[D];
  if (data === undefined) arr = allocData(dtype, n);
  else if (Array.isArray(data)) {
    arr = allocData(dtype, n);
    if (data.length !== n) throw new Error(`tensor: ${data.length} values for dims [${dims.join(', ')}] (${n} elements)`);
    for (let i = 0; i < n; i++) {
      const v = data[i];
      (arr as unknown as { [k: number]: number | bigint })[i] = dtype === 'int64' ? BigInt(v) : Number(v);
    }
  } else {
    arr = data as DataOf[D];
    if (!(arr instanceof CTOR[dtype])) throw new Error(`tensor: ${dtype} needs a ${CTOR[dtype].name}, got ${arr.constructor.name}`);
  }
  if (arr.length !== n) throw new Error(`tensor: ${arr.length} elements for dims [${dims.join(', ')}] (${n} expected)`);
  return { dtype, dims: [...dims], data: arr };
}

/** A 0-d (or [1]-shaped) tensor holding one number; handy for learning rate and step inputs. */
export function scalar(value: number, dtype: 'float32' | 'float64' | 'int64' | 'int32' = 'float32', dims: readonly number[] = []): Tensor {
  return dtype === 'int64' ? tensor('int64', dims, [BigInt(Math.trunc(value))]) : tensor(dtype, dims, [value]);
}

/** A deep copy with its own buffer (so transferring the copy never detaches the original). */
export function cloneTensor<D extends DType>(t: Tensor<D>): Tensor<D> {
  return { dtype: t.dtype, dims: [...t.dims], data: t.data.slice() as DataOf[D] };
}

/** A tensor's elements as plain numbers (int64 converted with Number). For tests and small outputs. */
export function toNumbers(t: Tensor): number[] {
  return Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v));
}

/** First element as a number; for loss and other scalar outputs. */
export function item(t: Tensor): number {
  if (t.data.length < 1) throw new Error('item: empty tensor');
  return Number(t.data[0]);
}

/**
 * True when t owns its whole buffer, so transferring t.data.buffer moves exactly this tensor
 * (views into a larger buffer must be copied before transfer).
 */
export function ownsBuffer(t: Tensor): boolean {
  const d = t.data;
  return d.byteOffset === 0 && d.byteLength === d.buffer.byteLength && !(d.buffer instanceof SharedArrayBuffer);
}
