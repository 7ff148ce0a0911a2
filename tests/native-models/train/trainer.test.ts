import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InThreadRuntime, WorkerRuntime, tensor, toNumbers, type Runtime } from '../../../native-models/runtime/index';
import { EpochSampler, pickBucket, sampledBatches } from '../../../native-models/train/batching';
import { listCheckpoints, loadCheckpoint } from '../../../native-models/train/checkpoint';
import { initialParams, trainStepSpec } from '../../../native-models/train/graph-spec';
import { Rng } from '../../../native-models/train/rng';
import { lrAt } from '../../../native-models/train/schedule';
import { checkpointHistory, formatHistory, parseHistory, train, type Progress } from '../../../native-models/train/trainer';
import { makeBatch, tinyGraph } from './tiny-model';

const runtimes: Runtime[] = [];
afterAll(async () => {
  for (const r of runtimes) await r.close();
});
function rt<T extends Runtime>(r: T): T {
  runtimes.push(r);
  return r;
}

const EXAMPLES = 8;
const schedule = { kind: 'cosine' as const, peak: 1e-2, warmup: 5, total: 200 };

describe('trainer', () => {
  const spec = trainStepSpec((bucket) => tinyGraph(Number(bucket)), '8');
  const params = initialParams(spec.graph.graph, 0);

  it('trains a tiny transformer until it has memorised the toy task, reporting progress', async () => {
    const events: Progress[] = [];
    const res = await train({
      runtime: rt(new WorkerRuntime()), spec, schedule, steps: 150, params,
      data: sampledBatches(EXAMPLES, 4, (ix) => makeBatch(ix), 1),
      onProgress: (p) => events.push(p),
    });
    expect(res.step).toBe(150);
    expect(res.cancelled).toBe(false);
    expect(res.losses[0]).toBeGreaterThan(1.5);
    expect(Math.max(...res.losses.slice(-5))).toBeLessThan(0.1);
    const last = events.at(-1)!;
    expect(last.step).toBe(150);
    expect(last.throughput).toBeGreaterThan(0);
    expect(last.etaSeconds).toBe(0);
    expect(events[9].etaSeconds).toBeGreaterThan(0);
    expect(events[0].lr).toBeCloseTo(lrAt(schedule, 0));
    expect(Object.keys(last.metrics)).toContain('grad_norm');
    expect(events[0].smoothedLoss).toBeCloseTo(events[0].loss);
    expect(last.smoothedLoss).toBeLessThan(0.2);
  });

  it('resumes exactly: N steps + save + load + N steps gives the same losses bit for bit as 2N steps', async () => {
    // Dropout (in-graph RNG fed a per-step seed) and shuffled data make the test sensitive to any lost state.
    const dspec = trainStepSpec((bucket) => tinyGraph(Number(bucket), 0.1), '8');
    const p0 = initialParams(dspec.graph.graph, 3);
    const data = () => sampledBatches(EXAMPLES, 4, (ix) => makeBatch(ix), 7);
    const N = 7; // not a multiple of the epoch (2 batches), so the data position matters
    const full = await train({ runtime: rt(new InThreadRuntime()), spec: dspec, schedule, steps: 2 * N, params: p0, data: data(), seed: 11 });

    const dir = mkdtempSync(join(tmpdir(), 'resume-'));
    const first = await train({ runtime: rt(new WorkerRuntime()), spec: dspec, schedule, steps: N, params: p0, data: data(), seed: 11, checkpoint: { dir } });
    expect(first.checkpoint).toBeDefined();
    // A fresh runtime and a fresh data source: everything must come from the checkpoint.
    const second = await train({ runtime: rt(new InThreadRuntime()), spec: dspec, schedule, steps: 2 * N, data: data(), resume: dir, checkpoint: { dir } });
    const resumed = [...first.losses, ...second.losses];
    expect(resumed.length).toBe(2 * N);
    for (let i = 0; i < 2 * N; i++) expect(Object.is(resumed[i], full.losses[i]), `step ${i + 1}: ${resumed[i]} vs ${full.losses[i]}`).toBe(true);
    // And the final parameters agree bit for bit with a checkpoint of the uninterrupted run.
    const dirFull = mkdtempSync(join(tmpdir(), 'full-'));
    await train({ runtime: rt(new InThreadRuntime()), spec: dspec, schedule, steps: 2 * N, params: p0, data: data(), seed: 11, checkpoint: { dir: dirFull } });
    const a = loadCheckpoint(dir);
    const b = loadCheckpoint(dirFull);
    for (const k of Object.keys(b.params)) expect(Buffer.from(a.params[k].data.buffer).equals(Buffer.from(b.params[k].data.buffer)), k).toBe(true);
  });

  it('checkpoints on cancel and every N steps, and resumes from the cancel point', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cancel-'));
    const ac = new AbortController();
    const res = await train({
      runtime: rt(new WorkerRuntime()), spec, schedule, steps: 100, params,
      data: sampledBatches(EXAMPLES, 4, (ix) => makeBatch(ix), 1),
      checkpoint: { dir, every: 4, keep: 10 },
      signal: ac.signal,
      onProgress: (p) => { if (p.step === 10) ac.abort(); },
    });
    expect(res.cancelled).toBe(true);
    expect(res.step).toBe(10);
    expect(listCheckpoints(dir).map((c) => c.step)).toEqual([4, 8, 10]);
    const more = await train({ runtime: rt(new InThreadRuntime()), spec, schedule, steps: 12, data: sampledBatches(EXAMPLES, 4, (ix) => makeBatch(ix), 1), resume: dir });
    expect(more.losses.length).toBe(2);
    expect(more.step).toBe(12);
  });

  it('keeps a run history in its checkpoints: resumes extend it, a new command starts an entry, an export-only re-run adds none', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'history-'));
    const data = () => sampledBatches(EXAMPLES, 4, (ix) => makeBatch(ix), 1);
    const ac = new AbortController();
    const go = (steps: number, command: string, more: object = {}) => train({
      runtime: rt(new InThreadRuntime()), spec, schedule, steps, data: data(), checkpoint: { dir, every: 100 }, run: { command }, ...more,
    });
    await go(6, 'a --steps 6', { params, signal: ac.signal, onProgress: (p: Progress) => { if (p.step === 3) ac.abort(); } });
    expect(checkpointHistory(loadCheckpoint(dir))).toEqual([{ command: 'a --steps 6', from: 0, to: 3 }]);
    await go(6, 'a --steps 6', { resume: dir }); // the same command continuing after a cancel
    await go(8, 'b --steps 8', { resume: dir });
    const res = await go(8, 'b --steps 8', { resume: dir }); // nothing left to train
    const want = [{ command: 'a --steps 6', from: 0, to: 6 }, { command: 'b --steps 8', from: 6, to: 8 }];
    expect(checkpointHistory(loadCheckpoint(dir))).toEqual(want);
    expect(res.history).toEqual(want);
    expect(formatHistory(res.history)).toBe('a --steps 6 (steps 0-6); b --steps 8 (steps 6-8)');
    // A manifest keeps the text; it reads back into the records (a command with brackets of its own included).
    expect(parseHistory(formatHistory(res.history))).toEqual(want);
    const odd = [{ command: '(earlier runs not recorded in the checkpoint)', from: 0, to: 5 }, { command: 'x --init-from (a) (steps 1-2)', from: 0, to: 9 }];
    expect(parseHistory(formatHistory(odd))).toEqual(odd);
    expect(parseHistory('trained by hand')).toBeUndefined();
    expect(parseHistory('a (steps 0-6); b')).toBeUndefined();
    expect(parseHistory('')).toBeUndefined();
    // A new run grown from another's weights starts from that run's history; an old checkpoint had none recorded.
    const grown = await train({ runtime: rt(new InThreadRuntime()), spec, schedule, steps: 2, params, data: data(), run: { command: 'c', before: res.history } });
    expect(grown.history.map((r) => r.command)).toEqual(['a --steps 6', 'b --steps 8', 'c']);
    expect(checkpointHistory({ step: 40 })).toEqual([{ command: '(earlier runs not recorded in the checkpoint)', from: 0, to: 40 }]);
    expect(checkpointHistory({ step: 0 })).toEqual([]);
    // Steps taken by a run that kept no history show as a gap, not as part of the previous run.
    expect(checkpointHistory({ step: 10, extra: { history: want } })).toEqual([...want, { command: '(earlier runs not recorded in the checkpoint)', from: 8, to: 10 }]);
  });

  it('trains one set of parameters over batches of two shape buckets, one graph and session per bucket', async () => {
    const built: string[] = [];
    const bspec = trainStepSpec((bucket) => (built.push(bucket), tinyGraph(Number(bucket))), '8');
    // Sequences of 8 and of 10 tokens alternate; the parameters (no positional table) serve both lengths.
    const sampler = new EpochSampler(EXAMPLES, 4);
    let n = 0;
    const data = { next: () => makeBatch(sampler.take(4), n++ % 2 ? 10 : 8), state: () => ({ n, s: sampler.state() }), restore: () => {} };
    const runtime = rt(new InThreadRuntime());
    const loaded: string[] = [];
    const load = runtime.load.bind(runtime);
    runtime.load = (key, model, o) => (loaded.push(key), load(key, model, o));
    const res = await train({ runtime, spec: bspec, schedule, steps: 160, params: initialParams(bspec.graph.graph, 0), data });
    expect(built).toEqual(['8', '10']); // each bucket's graph built once
    expect(loaded).toHaveLength(2); // and one session each, kept for the whole run
    const byBucket = (odd: number) => res.losses.filter((_, i) => i % 2 === odd);
    for (const losses of [byBucket(0), byBucket(1)]) {
      expect(losses[0]).toBeGreaterThan(1.5);
      expect(Math.max(...losses.slice(-3))).toBeLessThan(0.2); // both lengths memorised by the same weights
    }
  });

  it('accumulates gradients over micro-batches: 2 x 4 examples match one batch of 8', async () => {
    const accSpec = trainStepSpec((bucket, mode) => tinyGraph(Number(bucket), 0, mode), '8', { accumulation: true });
    const bigSpec = trainStepSpec((bucket) => tinyGraph(Number(bucket), 0, 'step', 8), '8');
    const p0 = initialParams(accSpec.graph.graph, 5);
    const micro = await train({ runtime: rt(new WorkerRuntime()), spec: accSpec, schedule, steps: 6, params: p0, microBatches: 2, data: sampledBatches(EXAMPLES, 4, (ix) => makeBatch(ix), 2) });
    const big = await train({ runtime: rt(new InThreadRuntime()), spec: bigSpec, schedule, steps: 6, params: p0, data: sampledBatches(EXAMPLES, 8, (ix) => makeBatch(ix), 2) });
    expect(micro.losses.length).toBe(6);
    for (let i = 0; i < 6; i++) expect(micro.losses[i]).toBeCloseTo(big.losses[i], 4);
    // The runs really trained (not a constant loss that would match trivially).
    expect(micro.losses[5]).toBeLessThan(micro.losses[0]);
    await expect(train({ runtime: rt(new InThreadRuntime()), spec: bigSpec, schedule, steps: 1, params: p0, microBatches: 2, data: sampledBatches(EXAMPLES, 4, (ix) => makeBatch(ix)) }))
      .rejects.toThrow(/needs spec.accumulation/);
  });

  it('runs evaluation hooks with the current parameters', async () => {
    const r = rt(new InThreadRuntime());
    const evals: number[] = [];
    await train({
      runtime: r, spec, schedule, steps: 6, params,
      data: sampledBatches(EXAMPLES, 4, (ix) => makeBatch(ix), 1),
      evaluate: {
        every: 3,
        run: async (ctx) => {
          const p = await ctx.params();
          return { norm: toNumbers(p['head.weight']).reduce((a, v) => a + v * v, 0) };
        },
      },
      onEval: (step, m) => { evals.push(step); expect(m.norm).toBeGreaterThan(0); },
    });
    expect(evals).toEqual([3, 6]);
  });

  it('stops with a clear error on a bad initial state', async () => {
    await expect(train({ runtime: rt(new InThreadRuntime()), spec, schedule, steps: 1, data: sampledBatches(EXAMPLES, 4, (ix) => makeBatch(ix)) }))
      .rejects.toThrow(/give params/);
    await expect(train({ runtime: rt(new InThreadRuntime()), spec, schedule, steps: 1, params: { ...params, 'head.weight': tensor('float32', [1]) }, data: sampledBatches(EXAMPLES, 4, (ix) => makeBatch(ix)) }))
      .rejects.toThrow(/'head.weight' has 1 values/);
  });
});

describe('batching, rng and schedules', () => {
  it('EpochSampler resumes mid-epoch to the same order', () => {
    const a = new EpochSampler(10, 5);
    a.take(13);
    const s = a.state();
    const next = a.take(12);
    const b = new EpochSampler(10, 999);
    b.restore(JSON.parse(JSON.stringify(s)));
    expect(b.take(12)).toEqual(next);
    expect(pickBucket(40, [32, 64, 128])).toBe(64);
    expect(() => pickBucket(200, [32, 64])).toThrow(/largest bucket 64/);
  });

  it('Rng is seeded, uniform-ish and restartable from its state', () => {
    const r = new Rng(42);
    const xs = Array.from({ length: 1000 }, () => r.next());
    expect(Math.abs(xs.reduce((a, b) => a + b) / 1000 - 0.5)).toBeLessThan(0.05);
    const s = r.state();
    const v = r.nextU32();
    expect(new Rng(s).nextU32()).toBe(v);
    expect(new Rng(42).next()).toBe(xs[0]);
  });

  it('lr schedules warm up linearly then decay', () => {
    expect(lrAt({ kind: 'constant', peak: 1, warmup: 4 }, 1)).toBe(0.5);
    expect(lrAt({ kind: 'cosine', peak: 1, warmup: 0, total: 100 }, 50)).toBeCloseTo(0.5);
    expect(lrAt({ kind: 'linear', peak: 1, warmup: 10, total: 110, minRatio: 0.1 }, 110)).toBeCloseTo(0.1);
    expect(() => lrAt({ kind: 'cosine', peak: 1 }, 3)).toThrow(/needs total/);
  });
});
