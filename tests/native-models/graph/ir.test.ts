// The IR as text (snapshot-tested) and typecheck's errors on malformed graphs.
import { describe, expect, it } from 'vitest';
import { buildGraph, buildTrainingGraph, cse, GraphBuilder, grad, nn, print, prune, typecheck } from '../../../native-models/graph/index';
import type { Graph, Node } from '../../../native-models/graph/index';

describe('print', () => {
  it('prints a linear layer with its gradient', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [4, 3]);
    const y = nn.linear(b, x, 'fc', 2);
    const loss = b.reduceMean(b.mul(y, y));
    const [gw] = grad(b, loss, [b.params[0].value]);
    b.output('loss', loss);
    b.output('gw', gw);
    await expect(print(typecheck(prune(cse(b.build()))))).toMatchFileSnapshot('__snapshots__/linear-grad.txt');
  });

  it('prints a small AdamW training graph', async () => {
    const tg = buildTrainingGraph((b) => {
      const x = b.input('x', 'float32', [2, 3]);
      const t = b.input('t', 'int64', [2]);
      return { loss: nn.crossEntropy(b, nn.linear(b, x, 'fc', 4, { bias: false }), t, { labelSmoothing: 0.1 }) };
    }, { clipNorm: 1 });
    await expect(print(typecheck(tg.graph))).toMatchFileSnapshot('__snapshots__/adamw-step.txt');
  });
});

describe('typecheck and the builder reject shape errors with clear messages', () => {
  it('names the op and both shapes on a matmul mismatch', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [2, 3]);
    const w = b.input('w', 'float32', [4, 5]);
    expect(() => b.matmul(x, w)).toThrow('MatMul(f32[2,3], f32[4,5]): inner dimensions differ: f32[2,3] @ f32[4,5] (3 vs 4)');
  });

  it('rejects non-broadcasting operands and dtype mixes', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [2, 3]);
    expect(() => b.add(x, b.input('y', 'float32', [4]))).toThrow('Add(f32[2,3], f32[4]): shapes [2,3] and [4] do not broadcast (axis 1: 3 vs 4)');
    expect(() => b.mul(x, b.input('z', 'float64', [3]))).toThrow('dtypes differ: f32[2,3] vs f64[3]');
    expect(() => b.reshape(x, [4, 2])).toThrow('cannot reshape f32[2,3] to [4,2]');
    expect(() => b.layerNorm(x, b.input('s', 'float32', [2]), b.input('c', 'float32', [3]))).toThrow('scale f32[2] must have shape [3]');
  });

  it('finds a node whose declared output type disagrees with its rule', () => {
    const g = buildGraph((b) => ({ y: b.transpose(b.input('x', 'float32', [2, 3]), [1, 0]) }));
    const bad: Node = { ...g.nodes[0], outputs: [{ ...g.nodes[0].outputs[0], shape: [2, 3] }] };
    const broken: Graph = { ...g, nodes: [bad], outputs: [{ name: 'y', value: bad.outputs[0] }] };
    expect(() => typecheck(broken)).toThrow('node 0 (Transpose): output 0 is declared f32[2,3] but the rule gives f32[3,2]');
  });

  it('finds values used before they are defined and bad attributes', () => {
    const g = buildGraph((b) => {
      const x = b.input('x', 'float32', [2, 3]);
      return { y: b.exp(b.neg(x)) };
    });
    expect(() => typecheck({ ...g, nodes: [...g.nodes].reverse() })).toThrow(/node 0 \(Exp\): input %\d+ is used before it is defined/);
    const perm: Node = { ...g.nodes[0], op: 'Transpose', attrs: { perm: [0, 0] } } as Node;
    expect(() => typecheck({ ...g, nodes: [perm, g.nodes[1]] })).toThrow('node 0 (Transpose) on f32[2,3]: perm [0,0] is not a permutation of 2 axes of f32[2,3]');
  });
});
