import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildTrainingGraph } from '../../../native-models/graph';
import { TINY_CONFIG, framesFor, hopOf, samplesFor } from '../../../native-models/audio/config';
import { AUDIO_GROW_RULE, pretrainModel } from '../../../native-models/audio/model';
import { makePretrainFeeds } from '../../../native-models/audio/data';
import { kmeans, readUnits, UnitAssigner, writeUnits } from '../../../native-models/audio/units';
import { growParams } from '../../../native-models/train/grow';
import { trainStepSpec, initialParams } from '../../../native-models/train/graph-spec';
import { train } from '../../../native-models/train/trainer';
import { InThreadRuntime } from '../../../native-models/runtime';
import { Rng } from '../../../native-models/train/rng';

const dir = mkdtempSync(join(tmpdir(), 'units-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Rows of `dim` values around `centres` (one cluster each, well apart), and each row's true cluster. */
function blobs(centres: number, perCluster: number, dim: number, seed: number): { x: Float32Array; truth: number[] } {
  const rng = new Rng(seed);
  const mu = Array.from({ length: centres }, () => Array.from({ length: dim }, () => 10 * rng.normal()));
  const x = new Float32Array(centres * perCluster * dim);
  const truth: number[] = [];
  for (let r = 0; r < centres * perCluster; r++) {
    const c = r % centres;
    truth.push(c);
    for (let d = 0; d < dim; d++) x[r * dim + d] = mu[c][d] + 0.3 * rng.normal();
  }
  return { x, truth };
}

describe('HuBERT-style unit targets', () => {
  it('k-means finds well-separated clusters (every cluster pure), and the assignment graph agrees with brute force', async () => {
    const dim = 6;
    const { x, truth } = blobs(5, 60, dim, 1);
    const km = await kmeans(x, dim, 5, { iters: 8, seed: 2 });
    expect(km.inertia.at(-1)!).toBeLessThan(km.inertia[0] + 1e-9);
    expect(km.inertia.at(-1)!).toBeLessThan(dim * 0.3 * 0.3 * 1.5);
    const rt = new InThreadRuntime();
    const { index } = await new UnitAssigner(rt, dim, 5).assign(x, km.centroids);
    await rt.close();
    // Each true cluster maps to one unit, and different clusters to different units.
    const unitOf = new Map<number, Set<number>>();
    truth.forEach((c, r) => unitOf.set(c, (unitOf.get(c) ?? new Set()).add(index[r])));
    expect([...unitOf.values()].every((s) => s.size === 1)).toBe(true);
    expect(new Set([...unitOf.values()].map((s) => [...s][0])).size).toBe(5);
    for (let r = 0; r < truth.length; r += 37) {
      let best = -1;
      let bestD = Infinity;
      for (let c = 0; c < 5; c++) {
        let d2 = 0;
        for (let d = 0; d < dim; d++) d2 += (x[r * dim + d] - km.centroids[c * dim + d]) ** 2;
        if (d2 < bestD) [best, bestD] = [c, d2];
      }
      expect(index[r]).toBe(best);
    }
  });

  it('k-means never raises its mean squared distance from round to round (Lloyd), on data with no clear clusters', async () => {
    const dim = 4;
    const rng = new Rng(5);
    const x = Float32Array.from({ length: 1500 * dim }, () => rng.normal());
    const km = await kmeans(x, dim, 12, { iters: 10, seed: 3 });
    expect(km.inertia.length).toBe(10);
    for (let i = 1; i < km.inertia.length; i++) expect(km.inertia[i]).toBeLessThanOrEqual(km.inertia[i - 1] * (1 + 1e-5));
    // Seeding alone does not settle such data: the rounds lower the distance by a clear margin.
    expect(km.inertia.at(-1)!).toBeLessThan(km.inertia[0] * 0.9);
  });

  it('k-means refuses fewer rows than clusters', async () => {
    await expect(kmeans(new Float32Array(6), 3, 4, { iters: 1, seed: 1 })).rejects.toThrow(/4 clusters need at least 4 rows/);
  });

  it('unit files round-trip, and a truncated or mismatched one is a clear error', () => {
    const f = join(dir, 'u.json');
    const units = [Int16Array.from([0, 3, 3, 1]), Int16Array.from([2, 2])];
    writeUnits(f, { classes: 4, ids: ['a', 'b'], units, source: { tap: 4 } });
    const back = readUnits(f);
    expect(back.ids).toEqual(['a', 'b']);
    expect(back.units.map((u) => [...u])).toEqual([[0, 3, 3, 1], [2, 2]]);
    writeFileSync(`${f}.bin`, new Uint8Array(6));
    expect(() => readUnits(f)).toThrow(/6 bytes, the index lists 6 units \(12 bytes\)/);
    // The same size from another clustering (or a run that died between the two writes): refused by its digest.
    writeFileSync(`${f}.bin`, new Uint8Array(Int16Array.from([1, 1, 1, 1, 1, 1]).buffer));
    expect(() => readUnits(f)).toThrow(/u\.json\.bin does not match .*sha256 differs/);
    writeUnits(f, { classes: 2, ids: ['a', 'b'], units, source: {} });
    expect(() => readUnits(f)).toThrow(/unit 3 outside \[0, 2\)/);
    writeFileSync(f, '{"format":"something else"}');
    expect(() => readUnits(f)).toThrow(/not a unit-targets file/);
    expect(() => readUnits(join(dir, 'absent.json'))).toThrow(/npm run audio:units makes them/);
  });

  it('batches with units: crops start on a frame boundary and each masked frame gets the unit of its recording frame, -1 elsewhere', () => {
    const cfg = { ...TINY_CONFIG, unitClasses: 1000 };
    const hop = hopOf(cfg);
    const T = 24;
    const recs = [0, 1].map((s) => {
      const x = new Float32Array(samplesFor(cfg, 60));
      for (let i = 0; i < x.length; i++) x[i] = Math.floor(i / hop) + s * 1000; // each sample names its frame
      return x;
    });
    const units = recs.map((x, s) => Int16Array.from({ length: framesFor(cfg, x.length) }, (_, f) => f + s * 100));
    const feeds = makePretrainFeeds(cfg, recs, T, [24, 20], new Rng(5), 1, units);
    const audio = feeds.audio.data as Float32Array;
    const mask = feeds.mask.data as Float32Array;
    const target = feeds.units.data as BigInt64Array;
    const n = samplesFor(cfg, T);
    let checked = 0;
    [24, 20].forEach((len, b) => {
      const f0 = audio[b * n] - b * 1000; // the first sample of the crop names its recording frame
      expect(audio[b * n + hop - 1]).toBe(audio[b * n]); // a frame boundary: the crop's first hop is one frame,
      expect(audio[b * n + hop]).toBe(audio[b * n] + 1); // and the next starts after it
      for (let t = 0; t < T; t++) {
        const want = t < len && mask[b * T + t] ? BigInt(f0 + t + b * 100) : -1n;
        expect(target[b * T + t]).toBe(want);
        if (want >= 0n) checked++;
      }
    });
    expect(checked).toBeGreaterThan(0);
    // Without units for a recording (or at all), every target is -1 and the crop may start anywhere.
    expect([...(makePretrainFeeds(cfg, recs, T, [24, 20], new Rng(5), 1).units.data as BigInt64Array)].every((v) => v === -1n)).toBe(true);
    expect(makePretrainFeeds(TINY_CONFIG, recs, T, [24, 20], new Rng(5), 1, units).units).toBeUndefined();
  });

  it('a few training steps with unit targets reduce the unit loss; a package without the head grows one', async () => {
    const cfg = { ...TINY_CONFIG, unitClasses: 8 };
    const B = 4;
    const T = 32;
    const spec = trainStepSpec(() => buildTrainingGraph(pretrainModel(cfg, B, T, true), { clipNorm: 5, weightDecay: 0 }), String(T));
    const rng = new Rng(3);
    const recs = [0, 1, 2, 3].map((s) => Float32Array.from({ length: samplesFor(cfg, 40) }, (_, i) => Math.sin(i * (0.05 + 0.02 * s)) * (1 + (Math.floor(i / 1500) % 3))));
    // Units that follow the signal (which third of a 3-step loudness cycle, and which recording's pitch), so they can be learnt.
    const units = recs.map((x, s) => Int16Array.from({ length: framesFor(cfg, x.length) }, (_, f) => (Math.floor((f * hopOf(cfg)) / 1500) % 3) + 3 * (s % 2)));
    const feeds = makePretrainFeeds(cfg, recs, T, [32, 30, 28, 32], rng, 1, units);
    const rt = new InThreadRuntime();
    const unitLoss: number[] = [];
    const res = await train({
      runtime: rt, spec, steps: 30, schedule: { kind: 'constant', peak: 3e-3 }, params: initialParams(spec.graph.graph, 1), seed: 1,
      data: { next: () => ({ bucket: String(T), size: B, feeds: Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, { ...v, data: v.data.slice() }])) }), state: () => null, restore: () => undefined },
      onProgress: (p) => unitLoss.push(p.metrics['metric:unit']),
    });
    await rt.close();
    expect(res.losses.every(Number.isFinite)).toBe(true);
    expect(unitLoss[0]).toBeGreaterThan(Math.log(8) * 0.8);
    expect(unitLoss.slice(-3).reduce((a, b) => a + b, 0) / 3).toBeLessThan(unitLoss[0] * 0.7);

    // Warm start from weights without the head (a package trained before units): the head is added, fresh.
    const init = initialParams(spec.graph.graph, 2);
    const before = Object.fromEntries(Object.entries(initialParams(trainStepSpec(() => buildTrainingGraph(pretrainModel(TINY_CONFIG, B, T, true), {}), String(T)).graph.graph, 3)));
    const grown = growParams(init, before, AUDIO_GROW_RULE);
    expect(grown.added.sort()).toEqual(['unit_head.bias', 'unit_head.weight']);
    // From weights with a head (another clustering, other classes): the head is dropped and starts fresh; a config
    // without units takes the rest and leaves the head out.
    const trained = init; // weights with an 8-class head
    const other = initialParams(trainStepSpec(() => buildTrainingGraph(pretrainModel({ ...TINY_CONFIG, unitClasses: 5 }, B, T, true), {}), String(T)).graph.graph, 4);
    const regrown = growParams(other, trained, AUDIO_GROW_RULE);
    expect(regrown.added.sort()).toEqual(['unit_head.bias', 'unit_head.weight']);
    expect(regrown.params['unit_head.weight'].data).toEqual(other['unit_head.weight'].data);
    expect(regrown.params['ctx.0.ffn1.weight'].data).toEqual(trained['ctx.0.ffn1.weight'].data);
    expect(Object.keys(growParams(before, trained, AUDIO_GROW_RULE).params)).not.toContain('unit_head.weight');
  });
});
