import { afterAll, describe, expect, it } from 'vitest';
import { GraphBuilder, toOnnx } from '../../../native-models/graph/index';
import {
  BucketedModel, InThreadRuntime, NOT_LOADED, Session, WorkerRuntime, formatProviderReport, isNotLoaded, tensor, toNumbers,
  type Runtime, type Tensor,
} from '../../../native-models/runtime/index';

/** y = x @ w + 1 and z = 2x, with x [n, 3] and w [3, 2]. */
function affine(n: number): Uint8Array {
  const b = new GraphBuilder();
  const x = b.input('x', 'float32', [n, 3]);
  const w = b.input('w', 'float32', [3, 2]);
  b.output('y', b.add(b.matmul(x, w), 1));
  b.output('z', b.mul(x, 2));
  return toOnnx(b.build()).model;
}

/** A counter: next = state + inc (carried back into state by step()). */
function counter(): Uint8Array {
  const b = new GraphBuilder();
  const s = b.input('state', 'float32', [4]);
  const inc = b.input('inc', 'float32', [4]);
  const next = b.add(s, inc);
  b.output('next', next);
  b.output('total', b.reduceSum(next));
  return toOnnx(b.build()).model;
}

const X = [1, 2, 3, 4, 5, 6];
const W = [1, 0, 0, 1, 1, 1];
const expectY = [5, 6, 11, 12];

const runtimes: Runtime[] = [];
afterAll(async () => {
  for (const r of runtimes) await r.close();
});

describe.each([
  ['in-thread', () => new InThreadRuntime()],
  ['worker', () => new WorkerRuntime()],
  ['child-process', () => new WorkerRuntime({ process: true })],
])('%s runtime', (_label, make) => {
  const rt = make();
  runtimes.push(rt);

  it('loads an ONNX graph, reports CPU as the active provider, and runs it', async () => {
    const info = await rt.load('affine', affine(2));
    expect(info.provider.active).toBe('cpu');
    expect(info.provider.attempts.find((a) => a.name === 'cpu')?.status).toBe('active');
    // Every other candidate says why it was not used.
    for (const a of info.provider.attempts.filter((x) => x.name !== 'cpu')) expect(a.reason.length).toBeGreaterThan(5);
    expect(formatProviderReport(info.provider)).toContain('cpu: active');
    expect(info.inputs.map((i) => i.name)).toEqual(['x', 'w']);
    const out = await rt.run('affine', { x: tensor('float32', [2, 3], X), w: tensor('float32', [3, 2], W) });
    expect(toNumbers(out.y)).toEqual(expectY);
    expect(out.z.dims).toEqual([2, 3]);
    const only = await rt.run('affine', { x: tensor('float32', [2, 3], X), w: tensor('float32', [3, 2], W) }, { outputs: ['z'] });
    expect(Object.keys(only)).toEqual(['z']);
  });

  it('rejects bad feeds with the model and input named, and keeps working', async () => {
    await expect(rt.run('affine', { x: tensor('float32', [2, 4]), w: tensor('float32', [3, 2]) })).rejects.toThrow(/affine: input 'x' expects float32 \[2, 3\], got float32 \[2, 4\]/);
    await expect(rt.run('affine', { x: tensor('float32', [2, 3]) })).rejects.toThrow(/missing input 'w'/);
    const err = await rt.run('nope', {}).catch((e: unknown) => e);
    expect(isNotLoaded(err)).toBe(true);
    expect((err as { code: string }).code).toBe(NOT_LOADED);
    await expect(rt.load('bad', new Uint8Array([1, 2, 3, 4]))).rejects.toThrow(/cannot load bad/);
    const out = await rt.run('affine', { x: tensor('float32', [2, 3], X), w: tensor('float32', [3, 2], W) });
    expect(toNumbers(out.y)).toEqual(expectY);
  });

  it('step() carries outputs back into resident state, double-buffered', async () => {
    await rt.load('counter', counter(), { carry: { next: 'state' } });
    await rt.setState({ state: tensor('float32', [4], [1, 2, 3, 4]) });
    const inc = tensor('float32', [4], [1, 1, 1, 1]);
    const totals: number[] = [];
    for (let i = 0; i < 3; i++) totals.push(toNumbers((await rt.step('counter', { inc })).total)[0]);
    expect(totals).toEqual([14, 18, 22]);
    const st = await rt.getState(['state']);
    expect(toNumbers(st.state)).toEqual([4, 5, 6, 7]);
    // getState returns copies: changing one does not touch the runtime's state.
    st.state.data[0] = 100;
    expect(toNumbers((await rt.getState(['state'])).state)).toEqual([4, 5, 6, 7]);
  });

  it('keeps one session per shape bucket and reloads an unloaded one', async () => {
    let builds = 0;
    const m = new BucketedModel(rt, 'affine-b', (bucket) => {
      builds++;
      return affine(Number(bucket));
    });
    const w = tensor('float32', [3, 2], W);
    expect(toNumbers((await m.run('2', { x: tensor('float32', [2, 3], X), w })).y)).toEqual(expectY);
    expect((await m.run('1', { x: tensor('float32', [1, 3], X.slice(0, 3)), w })).y.dims).toEqual([1, 2]);
    await m.run('2', { x: tensor('float32', [2, 3], X), w });
    expect(builds).toBe(2);
    expect(await rt.has('affine-b@2')).toBe(true);
    await rt.unload('affine-b@2');
    expect(toNumbers((await m.run('2', { x: tensor('float32', [2, 3], X), w })).y)).toEqual(expectY);
    expect(builds).toBe(3);
  });
});

describe('worker runtime', () => {
  it('moves transferred feeds without copying and leaves copied feeds intact', async () => {
    const rt = new WorkerRuntime();
    runtimes.push(rt);
    await rt.load('affine', affine(2));
    const x = tensor('float32', [2, 3], X);
    const w = tensor('float32', [3, 2], W);
    await rt.run('affine', { x, w });
    expect(x.data.length).toBe(6);
    const out = await rt.run('affine', { x, w }, { transfer: true });
    expect(toNumbers(out.y)).toEqual(expectY);
    expect(x.data.byteLength).toBe(0); // detached: the buffer moved to the worker
  });

  /** A model that runs for a noticeable time (24 chained 512x512 matmuls), and its feed. */
  function heavy(): { model: Uint8Array; feeds: { a: Tensor } } {
    const n = 512;
    const b = new GraphBuilder();
    let h = b.input('a', 'float32', [n, n]);
    for (let i = 0; i < 24; i++) h = b.tanh(b.matmul(h, h));
    b.output('h', h);
    return { model: toOnnx(b.build()).model, feeds: { a: tensor('float32', [n, n], new Float32Array(n * n).fill(0.001)) } };
  }

  it('does not block the calling thread while the model runs', async () => {
    const rt = new WorkerRuntime();
    runtimes.push(rt);
    const { model, feeds } = heavy();
    await rt.load('heavy', model, { intraOpThreads: 1 });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const t0 = performance.now();
    await rt.run('heavy', feeds);
    const ms = performance.now() - t0;
    clearInterval(timer);
    // The event loop kept running during the model (a blocking run would allow ~0 ticks).
    expect(ticks).toBeGreaterThan(Math.min(5, ms / 10));
  });

  it('reports a closed runtime or a crashed host to every call instead of hanging', async () => {
    const rt = new WorkerRuntime();
    await rt.close();
    await expect(rt.run('x', {})).rejects.toThrow(/closed/);
    const child = new WorkerRuntime({ process: true });
    const { model, feeds } = heavy();
    await child.load('heavy', model, { intraOpThreads: 1 });
    // Kill the host process under a pending call (one too long to finish first): the call fails with the reason.
    const pending = child.run('heavy', feeds);
    (child as unknown as { child: { kill(sig: string): void } }).child.kill('SIGKILL');
    await expect(pending).rejects.toThrow(/runtime process exited \(SIGKILL\)/);
    await child.close();
  });
});

describe('Session', () => {
  it('writes into preallocated outputs and refuses one that aliases a feed', async () => {
    const s = await Session.create(affine(2), { name: 'affine' });
    const x = tensor('float32', [2, 3], X);
    const y = tensor('float32', [2, 2]);
    const out = await s.run({ x, w: tensor('float32', [3, 2], W) }, { outputs: ['y'], into: { y } });
    expect(out.y).toBe(y);
    expect(toNumbers(y)).toEqual(expectY);
    const alias = { dtype: 'float32' as const, dims: [2, 2], data: new Float32Array(x.data.buffer, 0, 4) };
    await expect(s.run({ x, w: tensor('float32', [3, 2], W) }, { outputs: ['y'], into: { y: alias } })).rejects.toThrow(/shares its buffer/);
    await s.dispose();
  });
});
