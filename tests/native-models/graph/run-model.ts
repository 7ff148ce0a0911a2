// The graph tests run their models through native-models/runtime (the project's only onnxruntime door):
// load model bytes (or a path, for external data), run with plain number arrays, get plain numbers back.
import { Session, tensor } from '../../../native-models/runtime/index';
import type { Tensor } from '../../../native-models/runtime/index';
import type { DType } from '../../../native-models/graph/ir';

export type Feed = Record<string, { dtype: DType; shape: readonly number[]; data: ArrayLike<number> }>;

/** A loaded model; run() takes plain arrays and returns plain number copies (ints as numbers). */
export async function load(model: Uint8Array | string, optimization: 'basic' | 'all' = 'all') {
  const session = await Session.create(model, { intraOpThreads: 1, providers: ['cpu'], optimization });
  return {
    session,
    async run(feed: Feed): Promise<Record<string, { shape: number[]; data: number[] }>> {
      const feeds: Record<string, Tensor> = {};
      for (const [k, v] of Object.entries(feed)) feeds[k] = tensor(v.dtype, v.shape, Array.from(v.data));
      const out = await session.run(feeds);
      const res: Record<string, { shape: number[]; data: number[] }> = {};
      for (const [k, t] of Object.entries(out)) {
        res[k] = { shape: [...t.dims], data: Array.from(t.data as ArrayLike<number | bigint>, (x) => Number(x)) };
      }
      return res;
    },
  };
}
