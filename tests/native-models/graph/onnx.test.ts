// The ONNX writer: inference graphs with weights as fp32 / fp16 initializers or external data, all loaded
// and run by onnxruntime, and the half-precision conversion.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildGraph, fromBfloat16, fromHalf, initParams, nn, paramInfo, readInitializers, toBfloat16, toHalf, toOnnx } from '../../../native-models/graph/index';
import { load } from './run-model';

const graph = buildGraph((b) => {
  const x = b.input('x', 'float32', [2, 4, 8]);
  return { y: nn.transformerEncoderLayer(b, x, 'enc', { heads: 2, ffn: 16 }) };
});
const values = initParams(graph, 9);
const x = { dtype: 'float32' as const, shape: [2, 4, 8], data: Array.from({ length: 64 }, (_, i) => Math.sin(i)) };
const dir = mkdtempSync(join(tmpdir(), 'graph-onnx-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('inference graphs', () => {
  it('params as inputs, fp32, fp16 and bf16 initializers and external data agree', async () => {
    const asInputs = await load(toOnnx(graph).model);
    const feed = { x, ...Object.fromEntries([...values].map(([k, v]) => [`param:${k}`, { dtype: 'float32' as const, shape: paramInfo(graph).find((p) => p.name === k)!.shape, data: Array.from(v) }])) };
    const ref = (await asInputs.run(feed)).y.data;

    const fp32 = toOnnx(graph, { params: { kind: 'initializers', values } });
    expect((await (await load(fp32.model)).run({ x })).y.data).toEqual(ref);

    const fp16 = toOnnx(graph, { params: { kind: 'initializers', values, storage: 'float16' } });
    const n = [...values.values()].reduce((p, v) => p + v.length, 0);
    expect(fp32.model.length - fp16.model.length).toBeGreaterThan(2 * n - 80 * values.size); // 2 bytes a weight, less one Cast each
    const y16 = (await (await load(fp16.model)).run({ x })).y.data;
    y16.forEach((v, i) => expect(Math.abs(v - ref[i])).toBeLessThan(2e-2));

    const bf16 = toOnnx(graph, { params: { kind: 'initializers', values, storage: 'bfloat16' } });
    expect(Math.abs(bf16.model.length - fp16.model.length)).toBeLessThan(200);
    const yb = (await (await load(bf16.model)).run({ x })).y.data;
    yb.forEach((v, i) => expect(Math.abs(v - ref[i])).toBeLessThan(6e-2));

    const ext = toOnnx(graph, { params: { kind: 'external', values, location: 'enc.bin' } });
    writeFileSync(join(dir, 'enc.onnx'), ext.model);
    writeFileSync(join(dir, 'enc.bin'), ext.external!);
    expect(fp32.model.length - ext.model.length).toBeGreaterThan(4 * n - 80 * values.size);
    expect((await (await load(join(dir, 'enc.onnx'))).run({ x })).y.data).toEqual(ref);
  });

  it('names outputs that are inputs, params or repeated values through Identity nodes', async () => {
    const g = buildGraph((b) => {
      const a = b.input('a', 'float32', [2]);
      const w = b.param('w', [2]);
      const s = b.add(a, w);
      return { a_out: a, w_out: w, s1: s, s2: s };
    });
    const m = toOnnx(g, { params: { kind: 'initializers', values: new Map([['w', Float32Array.of(10, 20)]]) } });
    const out = await (await load(m.model)).run({ a: { dtype: 'float32', shape: [2], data: [1, 2] } });
    expect(out.a_out.data).toEqual([1, 2]);
    expect(out.w_out.data).toEqual([10, 20]);
    expect(out.s1.data).toEqual([11, 22]);
    expect(out.s2.data).toEqual([11, 22]);
  });

  it('keeps declared inputs and params that no output reads (the feeds derived from the graph always fit)', async () => {
    const g = buildGraph((b) => {
      b.input('unused', 'float32', [3]);
      b.param('frozen', [2], { trainable: false });
      return { y: b.exp(b.input('x', 'float32', [2])) };
    });
    const s = await load(toOnnx(g).model);
    expect([...s.session.inputNames].sort()).toEqual(['param:frozen', 'unused', 'x']);
  });

  it('encodes negative integer attributes (two\'s complement varints) that onnxruntime reads back', async () => {
    const g = buildGraph((b) => ({ y: b.softmax(b.input('x', 'float32', [2, 3]), 1) }));
    const neg = { ...g, nodes: [{ ...g.nodes[0], attrs: { axis: -1 } }] } as typeof g; // plain data, written by hand
    const out = await (await load(toOnnx(neg).model)).run({ x: { dtype: 'float32', shape: [2, 3], data: [0, 0, 0, 1, 2, 3] } });
    expect(out.y.data.slice(0, 3).map((v) => +v.toFixed(4))).toEqual([0.3333, 0.3333, 0.3333]);
  });

  it('refuses a model whose param values are missing or mis-sized', () => {
    expect(() => toOnnx(graph, { params: { kind: 'initializers', values: new Map() } })).toThrow("no value for param 'enc.attn.qkv.weight'");
    const bad = new Map(values);
    bad.set('enc.ln1.bias', new Float32Array(3));
    expect(() => toOnnx(graph, { params: { kind: 'initializers', values: bad } })).toThrow("param 'enc.ln1.bias' has 3 values, shape [8] needs 8");
  });

  it('toBfloat16 keeps the top 16 bits, rounded to nearest even', () => {
    expect(toBfloat16(1)).toBe(0x3f80);
    expect(toBfloat16(-2)).toBe(0xc000);
    expect(toBfloat16(1 + 2 ** -8)).toBe(0x3f80); // tie rounds to even
    expect(toBfloat16(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(toBfloat16(3e38)).toBe(0x7f62);
  });

  it('toHalf rounds to nearest even and handles subnormals, infinities and NaN', () => {
    expect(toHalf(1)).toBe(0x3c00);
    expect(toHalf(-2)).toBe(0xc000);
    expect(toHalf(65504)).toBe(0x7bff);
    expect(toHalf(1e6)).toBe(0x7c00);
    expect(toHalf(2 ** -24)).toBe(0x0001);
    expect(toHalf(1 + 2 ** -11)).toBe(0x3c00); // tie rounds to even
    expect(toHalf(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(toHalf(NaN) & 0x7e00).toBe(0x7e00);
  });

  it('fromHalf and fromBfloat16 invert toHalf and toBfloat16 on representable values', () => {
    const xs = [0, 1, -2, 0.5, 65504, 2 ** -24, -(2 ** -14), 3.140625];
    expect([...fromHalf(Uint16Array.from(xs, toHalf))]).toEqual(xs);
    expect([...fromHalf(Uint16Array.of(0x7c00, 0xfc00))]).toEqual([Infinity, -Infinity]);
    expect(fromHalf(Uint16Array.of(0x7e00))[0]).toBeNaN();
    expect([...fromBfloat16(Uint16Array.from([1, -2, 0.5, -0.375, 2 ** 100], toBfloat16))]).toEqual([1, -2, 0.5, -0.375, 2 ** 100]);
  });
});

describe('reading weights back (readInitializers)', () => {
  it('gives every baked-in weight back under its storage name, widened to float32 (fp32 exact, fp16/bf16 as rounded)', () => {
    const byName = (m: Uint8Array) => new Map(readInitializers(m).map((t) => [t.name, t]));
    const fp32 = byName(toOnnx(graph, { params: { kind: 'initializers', values } }).model);
    const fp16 = byName(toOnnx(graph, { params: { kind: 'initializers', values, storage: 'float16' } }).model);
    const bf16 = byName(toOnnx(graph, { params: { kind: 'initializers', values, storage: 'bfloat16' } }).model);
    for (const [k, v] of values) {
      const shape = paramInfo(graph).find((p) => p.name === k)!.shape;
      expect(fp32.get(k)).toMatchObject({ dims: shape, onnxType: 1, dtype: 'float32' });
      expect([...fp32.get(k)!.data!]).toEqual([...v]);
      expect(fp16.get(`${k}:fp16`)).toMatchObject({ dims: shape, onnxType: 10 });
      expect([...fp16.get(`${k}:fp16`)!.data!]).toEqual([...fromHalf(Uint16Array.from(v, toHalf))]);
      expect([...bf16.get(`${k}:bf16`)!.data!]).toEqual([...fromBfloat16(Uint16Array.from(v, toBfloat16))]);
    }
    // The writer's own constants are there too (int64 shapes without data).
    expect([...fp32.values()].some((t) => t.dtype === 'other' && t.onnxType === 7 && t.data === undefined)).toBe(true);
  });

  it('refuses what is not an ONNX model, truncated bytes and weights in an external file', () => {
    const model = toOnnx(graph, { params: { kind: 'initializers', values } }).model;
    expect(() => readInitializers(new TextEncoder().encode('not a model at all'), 'x.onnx')).toThrow(/^x\.onnx: /);
    expect(() => readInitializers(model.subarray(0, model.length - 7), 'cut.onnx')).toThrow(/cut\.onnx: truncated/);
    const ext = toOnnx(graph, { params: { kind: 'external', values, location: 'w.bin' } });
    expect(() => readInitializers(ext.model, 'ext.onnx')).toThrow(/ext\.onnx: initializer '.+' keeps its data in an external file/);
  });
});

