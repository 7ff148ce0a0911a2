// Warm start of a grown model: a bigger config's parameters filled from a smaller model's checkpoint, with the
// added blocks set up so they start as the identity (their last projection zeroed). Used by the dVAE (residual
// blocks, grid transformer layers) and the audio encoder (context-network layers).
import type { Tensor } from '../runtime/index';
import { loadCheckpoint, readCheckpointMeta } from './checkpoint';
import { checkpointHistory, type RunRecord } from './trainer';

/** What a model may add when it grows, and which of the added parameters start at zero. */
export interface GrowRule {
  /** Names the errors ("dvae", "audio encoder"). */
  model: string;
  /** Parameters a bigger config may add; anything else missing from the checkpoint is an error. */
  added: RegExp;
  /** The added parameters set to zero (each block's last projection), so the grown model computes what `from` did. */
  zeroed: RegExp;
  /** What `added` describes, for the error message ("an added residual block or grid transformer layer"). */
  addedWhat: string;
}

/**
 * Every parameter of `init` that `from` has (same name and shape) is copied; the rest must match `rule.added` and
 * keep their init, except those matching `rule.zeroed`, which are zeroed. Widths cannot grow, and every tensor of
 * `from` must be used (errors name the first mismatch). Returns the new parameters and the names that were added.
 */
export function growParams(init: Record<string, Tensor>, from: Record<string, Tensor>, rule: GrowRule): { params: Record<string, Tensor>; added: string[] } {
  const params: Record<string, Tensor> = {};
  const added: string[] = [];
  for (const [name, t] of Object.entries(init)) {
    const src = from[name];
    if (src) {
      if (src.dims.join() !== t.dims.join()) throw new Error(`${rule.model} warm start: '${name}' is [${src.dims.join(',')}] in the checkpoint, [${t.dims.join(',')}] in this config (widths cannot grow)`);
      params[name] = { ...t, data: Float32Array.from(src.data as Float32Array) };
      continue;
    }
    if (!rule.added.test(name)) throw new Error(`${rule.model} warm start: the checkpoint lacks '${name}', which is not part of ${rule.addedWhat}`);
    params[name] = rule.zeroed.test(name) ? { ...t, data: new Float32Array(t.data.length) } : t;
    added.push(name);
  }
  const dropped = Object.keys(from).filter((k) => !(k in init));
  if (dropped.length) throw new Error(`${rule.model} warm start: this config has no '${dropped[0]}' (${dropped.length} checkpoint tensors unused)`);
  return { params, added };
}

/**
 * A new run started from a checkpoint's weights (--init-from): `init` grown from them by `rule`, and the
 * checkpoint's run history, which the new run's history continues (TrainOptions.run.before).
 */
export function warmStart(init: Record<string, Tensor>, checkpoint: string, rule: GrowRule): { params: Record<string, Tensor>; added: string[]; before: RunRecord[] } {
  return { ...growParams(init, loadCheckpoint(checkpoint).params, rule), before: checkpointHistory(readCheckpointMeta(checkpoint)) };
}

