// The tests' one door to onnxruntime (native-models/graph itself never imports it): load model bytes, run.
import ort from 'onnxruntime-node';
import type { DType } from '../../../native-models/graph/ir';

export type Feed = Record<string, { dtype: DType; shape: readonly number[]; data: ArrayLike<number> | ArrayLike<bigint> }>;

const CTOR = { float32: Float32Array, float64: Float64Array, int32: Int32Array, int64: BigInt64Array, bool: Uint8Array, float16: Uint16Array } as const;

/** A loaded model (bytes, or a path when it has external data); run() takes plain arrays and returns plain Float64 copies (ints as numbers). */
export async function load(model: Uint8Array | string, opts: { optimize?: boolean } = {}) {
  const session = await ort.InferenceSession.create(model as never, {
    graphOptimizationLevel: opts.optimize === false ? 'disabled' : 'all',
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  });
  return {
    session,
    async run(feed: Feed): Promise<Record<string, { shape: number[]; data: number[] }>> {
      const feeds: Record<string, ort.Tensor> = {};
      for (const [k, v] of Object.entries(feed)) {
        const C = CTOR[v.dtype];
        const data = v.dtype === 'int64'
          ? BigInt64Array.from(Array.from(v.data as ArrayLike<number | bigint>, (x) => BigInt(x)))
          : (C as unknown as { from(a: ArrayLike<number>): ArrayLike<number> }).from(v.data as ArrayLike<number>);
        feeds[k] = new ort.Tensor(v.dtype === 'float64' ? 'float64' : v.dtype, data as never, [...v.shape]);
      }
      const out = await session.run(feeds);
      const res: Record<string, { shape: number[]; data: number[] }> = {};
      for (const [k, t] of Object.entries(out)) {
        res[k] = { shape: [...t.dims], data: Array.from(t.data as ArrayLike<number | bigint>, (x) => Number(x)) };
      }
      return res;
    },
  };
}
