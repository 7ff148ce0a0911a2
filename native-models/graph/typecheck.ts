// typecheck(graph): re-derives every node's output types from the rule table and checks that the graph is
// well formed (autodidax's typecheck_jaxpr). The builder types nodes as they are made; this guards graphs
// that were edited or assembled as plain data.
import { fmtType } from './ir';
import type { Graph } from './ir';
import { rules } from './ops';
import type { OpAttrs, OpName } from './ops';

/** Throws an Error naming the node (index and op) and the mismatch; returns the graph when it is sound. */
export function typecheck(graph: Graph): Graph {
  const defined = new Map<number, string>();
  const names = new Set<string>();
  const define = (id: number, where: string) => {
    if (defined.has(id)) throw new Error(`value %${id} is defined twice (${defined.get(id)} and ${where})`);
    defined.set(id, where);
  };
  for (const v of graph.inputs) {
    if (!v.name) throw new Error(`graph input %${v.id} has no name`);
    if (names.has(v.name)) throw new Error(`name '${v.name}' is used twice`);
    names.add(v.name);
    define(v.id, `input ${v.name}`);
  }
  for (const p of graph.params) {
    const v = p.value;
    if (!v.name) throw new Error(`param %${v.id} has no name`);
    if (names.has(v.name)) throw new Error(`name '${v.name}' is used twice`);
    if (v.dtype !== 'float32') throw new Error(`param '${v.name}' must be float32, got ${fmtType(v)}`);
    names.add(v.name);
    define(v.id, `param ${v.name}`);
  }
  graph.nodes.forEach((n, i) => {
    const where = `node ${i} (${n.op})`;
    const rule = rules[n.op as OpName];
    if (!rule) throw new Error(`${where}: unknown op '${n.op}'`);
    for (const v of n.inputs) {
      if (!defined.has(v.id)) throw new Error(`${where}: input %${v.id} is used before it is defined`);
    }
    let types;
    try {
      types = (rule.infer as (i: typeof n.inputs, a: OpAttrs[OpName]) => { dtype: string; shape: readonly number[] }[])(n.inputs, n.attrs);
    } catch (e) {
      throw new Error(`${where} on ${n.inputs.map(fmtType).join(', ')}: ${(e as Error).message}`);
    }
    if (types.length !== n.outputs.length) throw new Error(`${where}: has ${n.outputs.length} outputs, the rule gives ${types.length}`);
    n.outputs.forEach((o, j) => {
      if (o.dtype !== types[j].dtype || o.shape.join() !== types[j].shape.join()) {
        throw new Error(`${where}: output ${j} is declared ${fmtType(o)} but the rule gives ${fmtType(types[j] as never)}`);
      }
      define(o.id, where);
    });
  });
  const outNames = new Set<string>();
  for (const o of graph.outputs) {
    if (outNames.has(o.name)) throw new Error(`output name '${o.name}' is used twice`);
    outNames.add(o.name);
    if (!defined.has(o.value.id)) throw new Error(`output '${o.name}' refers to undefined value %${o.value.id}`);
  }
  return graph;
}
