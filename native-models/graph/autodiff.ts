// Reverse-mode autodiff at graph-build time (micrograd's idea over the IR): walk the nodes in reverse
// topological order, call each op's vjp rule from ./ops, and accumulate cotangents of values used twice.
// The gradient nodes are appended to the same builder, so the result is one graph (forward + backward).
import type { GraphBuilder } from './builder';
import { fmtType, isFloat } from './ir';
import type { Value } from './ir';
import { rules } from './ops';
import type { OpName, Vjp } from './ops';

/**
 * Gradients of `loss` (a float scalar, or any value with an explicit `seed` cotangent) with respect to `wrt`.
 * Only nodes on a path from some `wrt` to `loss` are differentiated; a `wrt` the loss does not depend on gets
 * zeros. Throws, naming the op, when the path crosses an op without a gradient rule.
 */
export function grad(b: GraphBuilder, loss: Value, wrt: readonly Value[], seed?: Value): Value[] {
  if (!isFloat(loss.dtype)) throw new Error(`loss must be a float tensor, got ${fmtType(loss)}`);
  if (!seed && loss.shape.length !== 0) throw new Error(`loss must be a scalar (or pass a seed cotangent), got ${fmtType(loss)}`);
  const nodes = [...b.nodes]; // snapshot: the backward pass appends to b.nodes

  // Values that depend on some wrt (forward reachability over float values).
  const dependsOnWrt = new Set<number>(wrt.map((v) => v.id));
  for (const n of nodes) {
    if (n.inputs.some((v) => dependsOnWrt.has(v.id))) {
      for (const o of n.outputs) if (isFloat(o.dtype)) dependsOnWrt.add(o.id);
    }
  }
  if (!dependsOnWrt.has(loss.id) && !wrt.some((w) => w.id === loss.id)) return wrt.map((w) => b.zeros(w.shape, w.dtype));

  const cts = new Map<number, Value>();
  cts.set(loss.id, seed ?? b.scalar(1, loss.dtype));
  const accumulate = (v: Value, ct: Value): void => {
    if (ct.shape.join() !== v.shape.join() || ct.dtype !== v.dtype) {
      throw new Error(`internal: cotangent ${fmtType(ct)} does not match value ${fmtType(v)}`);
    }
    const prev = cts.get(v.id);
    cts.set(v.id, prev ? b.add(prev, ct) : ct);
  };

  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i];
    const outCts = n.outputs.map((o) => cts.get(o.id));
    if (outCts.every((c) => c === undefined)) continue;
    const needs = n.inputs.map((v) => dependsOnWrt.has(v.id) && isFloat(v.dtype));
    if (!needs.some(Boolean)) continue;
    const rule = rules[n.op].vjp;
    if (typeof rule !== 'function') {
      throw new Error(`cannot differentiate through ${n.op} (${n.inputs.map(fmtType).join(', ')}): ${rule.noGradient}`);
    }
    const inCts = (rule as Vjp<OpName>)(b, n, outCts);
    n.inputs.forEach((v, j) => {
      const c = inCts[j];
      if (needs[j] && c) accumulate(v, c);
    });
  }
  return wrt.map((w) => cts.get(w.id) ?? b.zeros(w.shape, w.dtype));
}
