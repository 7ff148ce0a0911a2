// Widening the context network's residual stream of a trained encoder (--set dim=N with --init-from), Net2WiderNet
// style (Chen et al. 2016): every residual channel becomes r = N / dim adjacent copies, so the wider model computes
// exactly what the trained one did (each tap's frame vector is the old one with every value repeated r times) and
// then trains on from there.
//
// Why it is exact: a LayerNorm over r identical copies of each value has the same mean and variance, so its output
// is the old output repeated (its gain and bias are repeated too). A matrix that reads the stream takes each old row
// divided by r in each of its r copies, so it sums the copies back to the old product; one that writes to the stream
// repeats each old column. Attention heads keep their count: a head's channels stay together (copies are adjacent)
// and its width grows r-fold. Queries and keys are not repeated: the first copy of each query channel is the old one
// times sqrt(r) (so q.k / sqrt(head width) is unchanged) and the first copy of each key channel the old one; the
// other key copies start at zero and the other query copies keep the new config's fresh init, so they add nothing
// to the scores at first but get gradients at once (repeated queries and keys would get identical gradients and
// stay a rank-(old head width) product forever). The grouped position convolution keeps its groups (copies stay
// in their channel's group).
//
// Why the rest trains: exact copies get identical gradients and would stay copies forever. So the r copies of each
// row a matrix reads with get noise that sums to zero over the copies (still exact while the inputs are copies) but
// makes the copies' gradients differ from the first step on.
import type { Tensor } from '../runtime/index';
import { Rng } from '../train/rng';

/** How one parameter's axes change: 'copy' repeats each index r times (an output, or a vector on the stream),
 * 'split' divides by r with zero-sum noise (an input read from the stream). */
type AxisRole = { axis: number; role: 'copy' | 'split' };

/** The axes of each parameter that lie along the residual stream (parameters not listed do not touch it). */
function residualAxes(name: string): { axes: AxisRole[]; qkv?: boolean } | undefined {
  if (/^(mask_emb|fe_proj\.bias|pos_conv\.bias|ctx_ln\.(weight|bias)|ctx_final_ln\.(weight|bias))$/.test(name)) return { axes: [{ axis: 0, role: 'copy' }] };
  if (/^ctx\.\d+\.(ln[12]\.(weight|bias)|attn\.out\.bias|ffn2\.bias)$/.test(name)) return { axes: [{ axis: 0, role: 'copy' }] };
  if (name === 'fe_proj.weight' || /^ctx\.\d+\.ffn2\.weight$/.test(name)) return { axes: [{ axis: 1, role: 'copy' }] };
  if (name === 'final_proj.weight' || name === 'unit_head.weight' || /^ctx\.\d+\.ffn1\.weight$/.test(name)) return { axes: [{ axis: 0, role: 'split' }] };
  if (/^ctx\.\d+\.attn\.out\.weight$/.test(name)) return { axes: [{ axis: 0, role: 'split' }, { axis: 1, role: 'copy' }] };
  if (name === 'pos_conv.weight') return { axes: [{ axis: 0, role: 'copy' }, { axis: 1, role: 'split' }] };
  // [dim, 3 dim] and [3 dim]: each of the q, k and v blocks widens on its own (seen as [..., 3, dim]).
  if (/^ctx\.\d+\.attn\.qkv\.weight$/.test(name)) return { axes: [{ axis: 0, role: 'split' }, { axis: 2, role: 'copy' }], qkv: true };
  if (/^ctx\.\d+\.attn\.qkv\.bias$/.test(name)) return { axes: [{ axis: 1, role: 'copy' }], qkv: true };
  return undefined;
}

/** Relative size of the symmetry-breaking noise: its std is this times the tensor's std, divided by r. */
const NOISE = 0.1;

/**
 * The checkpoint `from` with its residual stream widened to the width of `init` (the new config's freshly
 * initialised parameters, which only give the target shapes). Returns `from` itself when the widths match.
 * Throws when the new width is not a whole multiple of the old one.
 */
export function widenResidual(from: Record<string, Tensor>, init: Record<string, Tensor>, seed = 1): Record<string, Tensor> {
  const d0 = from['ctx_ln.weight']?.dims[0];
  const d1 = init['ctx_ln.weight']?.dims[0];
  if (d0 === undefined || d1 === undefined || d0 === d1) return from;
  if (d1 < d0 || d1 % d0 !== 0) throw new Error(`audio encoder warm start: the model width can only grow by a whole factor (checkpoint dim ${d0}, this config ${d1})`);
  const r = d1 / d0;
  const rng = new Rng(seed);
  const out: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(from)) {
    const spec = residualAxes(name);
    if (!spec) {
      out[name] = t;
      continue;
    }
    let dims = [...t.dims];
    if (spec.qkv) dims = [...dims.slice(0, -1), 3, dims[dims.length - 1] / 3];
    let data: Float32Array = Float32Array.from(t.data as Float32Array);
    const std = Math.sqrt(data.reduce((s, v) => s + v * v, 0) / data.length);
    for (const { axis, role } of spec.axes) ({ data, dims } = expand(data, dims, axis, r, role === 'split' ? { rng, std: (NOISE * std) / r } : undefined));
    if (spec.qkv) {
      // [rows, 3, inner]: in the q and k blocks, copy 0 of each channel is the old one (q times sqrt(r)); the other
      // q copies take the fresh init, the other k copies zero. The v block stays repeated.
      const inner = dims[dims.length - 1];
      const rows = data.length / (3 * inner);
      const fresh = init[name]?.data as Float32Array | undefined;
      if (!fresh || fresh.length !== data.length) throw new Error(`audio encoder warm start: '${name}' has no matching shape in this config`);
      for (let i = 0; i < rows; i++) {
        for (let j = 0; j < inner; j++) {
          const q = i * 3 * inner + j;
          const k = q + inner;
          if (j % r === 0) data[q] *= Math.sqrt(r);
          else {
            data[q] = fresh[q];
            data[k] = 0;
          }
        }
      }
      dims = [...dims.slice(0, -2), 3 * inner];
    }
    out[name] = { dtype: 'float32', dims, data };
  }
  return out;
}

/** Repeats every index of `axis` r times ('copy'), or (`split` given) divides by r and adds noise that sums to zero
 * over the r copies of each value. */
function expand(data: Float32Array, dims: number[], axis: number, r: number, split?: { rng: Rng; std: number }): { data: Float32Array; dims: number[] } {
  const outer = dims.slice(0, axis).reduce((p, d) => p * d, 1);
  const n = dims[axis];
  const inner = dims.slice(axis + 1).reduce((p, d) => p * d, 1);
  const res = new Float32Array(data.length * r);
  const noise = new Float64Array(r);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < n; i++) {
      const src = (o * n + i) * inner;
      for (let e = 0; e < inner; e++) {
        const v = data[src + e];
        if (split) {
          let mean = 0;
          for (let c = 0; c < r; c++) mean += noise[c] = split.rng.normal() * split.std;
          mean /= r;
          for (let c = 0; c < r; c++) res[((o * n + i) * r + c) * inner + e] = v / r + (noise[c] - mean);
        } else {
          for (let c = 0; c < r; c++) res[((o * n + i) * r + c) * inner + e] = v;
        }
      }
    }
  }
  const nd = [...dims];
  nd[axis] = n * r;
  return { data: res, dims: nd };
}
