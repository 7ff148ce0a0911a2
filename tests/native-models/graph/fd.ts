// Finite-difference gradient checking shared by the rule-table checks and the nn block checks: differentiate
// L = sum_i sum(out_i * r_i) (random r_i) with grad(), run it in onnxruntime, and compare each sampled
// element's gradient with a central difference of L.
import { expect } from 'vitest';
import { grad, numel, toOnnx } from '../../../native-models/graph/index';
import type { GraphBuilder, Value } from '../../../native-models/graph/index';
import { load } from './run-model';
import type { Feed } from './run-model';

export interface FdOptions {
  /** Step and tolerance (relative to max(1, |g|)). */
  h: number;
  tol: number;
  /** Uniform [0,1) numbers (seeded) for the projection, sampling and nothing else. */
  next: () => number;
  /** Elements checked per differentiated tensor (all when it is smaller). */
  perTensor?: number;
  label: string;
  /**
   * onnxruntime's graph optimisation level. float64 checks use 'basic': some 'all'-level fusions (QuickGelu
   * from Sigmoid*x) have float-only kernels; float32 checks run exactly what training runs.
   */
  optimization?: 'basic' | 'all';
}

/** The ONNX input name of a graph input or param. */
const feedName = (b: GraphBuilder, v: Value) => (b.params.some((p) => p.value.id === v.id) ? `param:${v.name}` : v.name!);

/**
 * Checks d L / d wrt for every wrt (graph inputs or params) at the values in `feed` (which must hold every
 * graph input and param by ONNX name; float tensors in wrt are perturbed).
 */
export async function fdCheck(b: GraphBuilder, outs: readonly Value[], wrt: readonly Value[], feed: Feed, o: FdOptions): Promise<void> {
  let loss: Value | undefined;
  for (const out of outs) {
    const r = b.constant(Array.from({ length: numel(out.shape) }, () => o.next() * 2 - 1), out.shape, out.dtype);
    const term = b.cast(b.reduceSum(b.mul(out, r)), 'float64');
    loss = loss ? b.add(loss, term) : term;
  }
  const grads = grad(b, loss!, wrt);
  b.output('loss', loss!);
  grads.forEach((g, i) => b.output(`g${i}`, g));
  const graph = b.build();
  const full = await load(toOnnx(graph).model, o.optimization);
  const lossOnly = await load(toOnnx({ ...graph, outputs: graph.outputs.slice(0, 1) }).model, o.optimization);
  const analytic = await full.run(feed);
  const per = o.perTensor ?? 24;
  for (const [k, v] of wrt.entries()) {
    const name = feedName(b, v);
    const base = feed[name];
    const got = analytic[`g${k}`].data;
    const n = base.data.length;
    const idx = n <= per ? Array.from({ length: n }, (_, i) => i) : Array.from({ length: per }, () => Math.floor(o.next() * n));
    for (const i of idx) {
      const at = async (delta: number) => {
        const d = Array.from(base.data);
        d[i] += delta;
        return (await lossOnly.run({ ...feed, [name]: { ...base, data: d } })).loss.data[0];
      };
      const numeric = ((await at(o.h)) - (await at(-o.h))) / (2 * o.h);
      const err = Math.abs(numeric - got[i]) / Math.max(1, Math.abs(numeric), Math.abs(got[i]));
      expect(err, `${o.label}: d loss / d ${name}[${i}] analytic ${got[i]} vs numeric ${numeric}`).toBeLessThan(o.tol);
    }
  }
}
