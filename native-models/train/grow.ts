// Warm start of a grown model: a bigger config's parameters filled from a smaller model's checkpoint, with the
// added blocks (or the added part of a widened tensor) set up so they start as the identity (their last projection
// zeroed). Used by the dVAE (residual blocks, grid transformer layers, wider stages, a bigger codebook) and the audio
// encoder (context-network layers, wider feed-forward layers, a wider residual stream); a rule's `prepare` does what
// is model-specific (the codebook, the residual stream).
import { componentWeights, isPackageDir, loadPackage, onlyComponent, type ComponentKind } from '../packages/format';
import type { Tensor } from '../runtime/index';
import { loadCheckpoint, readCheckpointMeta } from './checkpoint';
import { checkpointHistory, parseHistory, type RunRecord } from './trainer';

/** What a model may add when it grows, and which of the added parameters start at zero. */
export interface GrowRule {
  /** Names the errors ("dvae", "audio encoder"). */
  model: string;
  /** The model-package component kind holding such a model (a warm start can read a shipped model's weights). */
  kind: ComponentKind;
  /** Parameters a bigger config may add; anything else missing from the checkpoint is an error. */
  added: RegExp;
  /** The added parameters set to zero (each block's last projection), so the grown model computes what `from` did. */
  zeroed: RegExp;
  /** What `added` describes, for the error message ("an added residual block or grid transformer layer"). */
  addedWhat: string;
  /**
   * Parameters that may be bigger than the checkpoint's along any axis (same rank), what they are (for the error
   * message: "the feed-forward layers"), and the axis along which each reads its input channels (undefined for a
   * bias). The checkpoint's values fill the leading block; of the rest, entries reading a new input channel are zero
   * and the others keep their init. So new channels are computed from the old ones but feed nothing until trained,
   * and the widened model computes what `from` did (valid where no normalisation spans the widened channels).
   * Nothing else may widen.
   */
  widened?: { params: RegExp; what: string; inputAxis: (name: string) => number | undefined };
  /**
   * A model's own reshaping of the checkpoint before the rules above apply (the audio encoder widens its residual
   * stream here); gets the checkpoint's tensors and the new config's initial ones, returns the checkpoint's reshaped.
   */
  prepare?: (from: Record<string, Tensor>, init: Record<string, Tensor>) => Record<string, Tensor>;
  /**
   * Training state a model package does not hold (it ships inference weights), rebuilt from its weights before the
   * rules above apply (the dVAE's codebook EMA statistics). A checkpoint lacking it is an error as before.
   */
  fromPackage?: (weights: Record<string, Tensor>) => Record<string, Tensor>;
}

/**
 * After `rule.prepare` (if any) has reshaped the checkpoint into `from`: every parameter of `init` that `from` has
 * (same name and shape) is copied; the rest must match `rule.added` and
 * keep their init, except those matching `rule.zeroed`, which are zeroed. Widths cannot grow except for
 * `rule.widened` tensors, and every tensor of `from` must be used (errors name the first mismatch). Returns the new
 * parameters, the names that were added, those that were widened, and those `rule.prepare` reshaped.
 */
export function growParams(init: Record<string, Tensor>, checkpoint: Record<string, Tensor>, rule: GrowRule, sourceWhat = 'the checkpoint'): { params: Record<string, Tensor>; added: string[]; widened: string[]; reshaped: string[] } {
  const from = rule.prepare ? rule.prepare(checkpoint, init) : checkpoint;
  const reshaped = Object.keys(from).filter((k) => checkpoint[k] && from[k].dims.join() !== checkpoint[k].dims.join());
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
      if (!widens) throw new Error(`${rule.model} warm start: '${name}' is [${src.dims.join(',')}] in ${sourceWhat}, [${t.dims.join(',')}] in this config (${rule.widened ? `only the widths of ${rule.widened.what} can grow` : 'widths cannot grow'})`);
      params[name] = { ...t, data: embed(src, t, rule.widened!.inputAxis(name)) };
      widened.push(name);
      continue;
    }
    if (!rule.added.test(name)) throw new Error(`${rule.model} warm start: ${sourceWhat} lacks '${name}', which is not part of ${rule.addedWhat}`);
    params[name] = rule.zeroed.test(name) ? { ...t, data: new Float32Array(t.data.length) } : t;
    added.push(name);
  }
  const dropped = Object.keys(from).filter((k) => !(k in init));
  if (dropped.length) throw new Error(`${rule.model} warm start: this config has no '${dropped[0]}' (${dropped.length} tensors of ${sourceWhat} unused)`);
  return { params, added, widened, reshaped };
}

/** `src`'s values in the leading block of a tensor shaped like `t`; the rest from `t`, zero where the index along
 * `inputAxis` is new. */
function embed(src: Tensor, t: Tensor, inputAxis: number | undefined): Float32Array {
  const out = Float32Array.from(t.data as Float32Array);
  const rank = t.dims.length;
  const stride = t.dims.map((_, ax) => t.dims.slice(ax + 1).reduce((p, d) => p * d, 1));
  if (inputAxis !== undefined && t.dims[inputAxis] > src.dims[inputAxis]) {
    // Zero every entry whose input-axis index is new: one contiguous run per index of the axes before it.
    const outer = t.dims.slice(0, inputAxis).reduce((p, d) => p * d, 1);
    const runStart = src.dims[inputAxis] * stride[inputAxis];
    const runEnd = t.dims[inputAxis] * stride[inputAxis];
    for (let o = 0; o < outer; o++) out.fill(0, o * runEnd + runStart, o * runEnd + runEnd);
  }
  // Copy src's innermost rows, each to its place in the bigger tensor (row-major).
  const s = src.data as Float32Array;
  const inner = src.dims[rank - 1] ?? 1;
  for (let r = 0; r < s.length / Math.max(inner, 1); r++) {
    let rest = r;
    let at = 0;
    for (let ax = rank - 2; ax >= 0; ax--) {
      at += (rest % src.dims[ax]) * stride[ax];
      rest = Math.floor(rest / src.dims[ax]);
    }
    out.set(s.subarray(r * inner, (r + 1) * inner), at);
  }
  return out;
}

/**
 * A new run started from a checkpoint's weights (--init-from): `init` grown from them by `rule`, and the
 * checkpoint's run history, which the new run's history continues (TrainOptions.run.before). `from` may also be a
 * model package folder: the weights of its one component of the rule's kind (fp16 as shipped; training state it
 * lacks rebuilt by `rule.fromPackage`), and the history its manifest records.
 */
export function warmStart(init: Record<string, Tensor>, from: string, rule: GrowRule): ReturnType<typeof growParams> & { before: RunRecord[]; source: string } {
  if (!isPackageDir(from)) {
    return { ...growParams(init, loadCheckpoint(from).params, rule), before: checkpointHistory(readCheckpointMeta(from)), source: `checkpoint ${from}` };
  }
  const pkg = loadPackage(from);
  const name = onlyComponent(pkg, rule.kind);
  const weights: Record<string, Tensor> = componentWeights(pkg, name, rule.kind);
  const params = rule.fromPackage ? rule.fromPackage(weights) : weights;
  const training = pkg.component(name, rule.kind).training;
  const steps = typeof training.steps === 'number' ? training.steps : 0;
  const text = typeof training.history === 'string' ? training.history : '';
  const before = parseHistory(text) ?? (steps || text ? [{ command: text || String(training.command ?? '(training not recorded in the package)'), from: 0, to: steps }] : []);
  return { ...growParams(init, params, rule, `the package's ${name}`), before, source: `model package ${pkg.dir} (component ${name}, fp16 weights as shipped)` };
}

/**
 * The config the model at `from` (a checkpoint or a model package folder, as for warmStart) was trained with: a
 * package component's `config`, or the checkpoint's run config; undefined where it records none. Trainers start
 * from a package's config, so `--init-from PACKAGE_DIR` needs no flags to repeat the shipped model's shape.
 */
export function warmStartConfig(from: string, kind: ComponentKind): { fromPackage: boolean; config: Record<string, unknown> | undefined } {
  if (!isPackageDir(from)) return { fromPackage: false, config: readCheckpointMeta(from).config as Record<string, unknown> | undefined };
  const pkg = loadPackage(from);
  return { fromPackage: true, config: pkg.component(onlyComponent(pkg, kind), kind).config };
}
