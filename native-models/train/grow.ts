// Warm start of a grown model: a bigger config's parameters filled from a smaller model's checkpoint, with the
// added blocks (or the added part of a widened tensor) set up so they start as the identity (their last projection
// zeroed). Used by the dVAE (residual blocks, grid transformer layers) and the audio encoder (context-network layers,
// wider feed-forward layers).
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
  /**
   * Parameters that may be bigger than the checkpoint's along any axis (same rank), and what they are for the error
   * message ("feed-forward layers"): the checkpoint's values fill the leading block and the rest keeps its init, or
   * is zero where `zeroed` matches — so a feed-forward layer widened with new hidden units whose output projection
   * rows are zero computes what it did. Nothing else may widen.
   */
  widened?: { params: RegExp; what: string };
}

/**
 * Every parameter of `init` that `from` has (same name and shape) is copied; the rest must match `rule.added` and
 * keep their init, except those matching `rule.zeroed`, which are zeroed. Widths cannot grow except for
 * `rule.widened` tensors, and every tensor of `from` must be used (errors name the first mismatch). Returns the new
 * parameters, the names that were added, and those that were widened.
 */
export function growParams(init: Record<string, Tensor>, from: Record<string, Tensor>, rule: GrowRule): { params: Record<string, Tensor>; added: string[]; widened: string[] } {
  const params: Record<string, Tensor> = {};
  const added: string[] = [];
  const widened: string[] = [];
  for (const [name, t] of Object.entries(init)) {
    const src = from[name];
    if (src) {
      if (src.dims.join() === t.dims.join()) {
        params[name] = { ...t, data: Float32Array.from(src.data as Float32Array) };
        continue;
      }
      const widens = rule.widened?.params.test(name) && src.dims.length === t.dims.length && src.dims.every((d, i) => d <= t.dims[i]);
      if (!widens) throw new Error(`${rule.model} warm start: '${name}' is [${src.dims.join(',')}] in the checkpoint, [${t.dims.join(',')}] in this config (${rule.widened ? `only the widths of ${rule.widened.what} can grow` : 'widths cannot grow'})`);
      params[name] = { ...t, data: embed(src, t, rule.zeroed.test(name)) };
      widened.push(name);
      continue;
    }
    if (!rule.added.test(name)) throw new Error(`${rule.model} warm start: the checkpoint lacks '${name}', which is not part of ${rule.addedWhat}`);
    params[name] = rule.zeroed.test(name) ? { ...t, data: new Float32Array(t.data.length) } : t;
    added.push(name);
  }
  const dropped = Object.keys(from).filter((k) => !(k in init));
  if (dropped.length) throw new Error(`${rule.model} warm start: this config has no '${dropped[0]}' (${dropped.length} checkpoint tensors unused)`);
  return { params, added, widened };
}

/** `src`'s values in the leading block of a tensor shaped like `t`; the rest from `t`, or zero. */
function embed(src: Tensor, t: Tensor, zeroRest: boolean): Float32Array {
  const out = zeroRest ? new Float32Array(t.data.length) : Float32Array.from(t.data as Float32Array);
  const s = src.data as Float32Array;
  const rank = t.dims.length;
  // Row-major: copy src's innermost rows, each to its place in the bigger tensor.
  const inner = src.dims[rank - 1] ?? 1;
  const rows = s.length / Math.max(inner, 1);
  for (let r = 0; r < rows; r++) {
    let rest = r;
    let at = 0;
    let stride = t.dims[rank - 1] ?? 1;
    for (let ax = rank - 2; ax >= 0; ax--) {
      at += (rest % src.dims[ax]) * stride;
      rest = Math.floor(rest / src.dims[ax]);
      stride *= t.dims[ax];
    }
    out.set(s.subarray(r * inner, (r + 1) * inner), at);
  }
  return out;
}

/**
 * A new run started from a checkpoint's weights (--init-from): `init` grown from them by `rule`, and the
 * checkpoint's run history, which the new run's history continues (TrainOptions.run.before).
 */
export function warmStart(init: Record<string, Tensor>, checkpoint: string, rule: GrowRule): { params: Record<string, Tensor>; added: string[]; widened: string[]; before: RunRecord[] } {
  return { ...growParams(init, loadCheckpoint(checkpoint).params, rule), before: checkpointHistory(readCheckpointMeta(checkpoint)) };
}

