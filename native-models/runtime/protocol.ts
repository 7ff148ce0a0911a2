// The typed messages between WorkerRuntime (caller's thread) and worker-host (the worker). Only plain
// data crosses: tensors as { dtype, dims, data } whose buffers are transferred where possible.
import type { CallOptions, LoadOptions, ModelInfo } from './runtime';
import type { ModelSource } from './session';
import { ownsBuffer, type Tensor } from './tensor';

export type Request =
  | { op: 'load'; key: string; model: ModelSource; options?: LoadOptions }
  | { op: 'has'; key: string }
  | { op: 'run'; key: string; feeds: Record<string, Tensor>; options?: CallOptions }
  | { op: 'step'; key: string; feeds: Record<string, Tensor>; options?: CallOptions }
  | { op: 'setState'; tensors: Record<string, Tensor>; transferred: boolean }
  | { op: 'getState'; names?: readonly string[] }
  | { op: 'fillState'; names: readonly string[]; value: number }
  | { op: 'unload'; key: string }
  | { op: 'endProfiling'; key: string }
  | { op: 'close' };

/** The value each request answers with. */
export interface ReplyValue {
  load: ModelInfo;
  has: boolean;
  run: Record<string, Tensor>;
  step: Record<string, Tensor>;
  setState: void;
  getState: Record<string, Tensor>;
  fillState: void;
  unload: void;
  endProfiling: string | undefined;
  close: void;
}

export type Envelope = Request & { id: number };

export type Reply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: { message: string; code?: string; stack?: string } };

/**
 * The buffers of tensors that can be moved rather than copied: each must own its whole buffer, and a
 * buffer shared by two tensors is listed once.
 */
export function transferList(tensors: Iterable<Tensor>): ArrayBuffer[] {
  const seen = new Set<ArrayBufferLike>();
  for (const t of tensors) if (ownsBuffer(t)) seen.add(t.data.buffer);
  return [...seen] as ArrayBuffer[];
}
