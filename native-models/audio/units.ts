// HuBERT-style unit targets (Hsu et al. 2021) for pre-training: k-means clusters of a trained encoder's frames
// (one context-network tap), one cluster id per 20 ms frame of every training recording. The pre-training
// graph then also predicts the unit of each masked frame (cross-entropy), a target closer to phonetic content
// than the contrastive task's quantised conv features. The nearest-centroid search runs as an ONNX graph
// (a MatMul per chunk of frames); the centroid update is a running sum on the host.
import { createHash } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';
import { buildGraph, toOnnx } from '../graph/index';
import { InThreadRuntime, type Runtime } from '../runtime/index';
import { writeFileAtomic } from '../train/atomic';
import { Rng } from '../train/rng';

/** Frames per run of the assignment graph. */
export const ASSIGN_CHUNK = 4096;

/** The nearest-centroid graph: x [ASSIGN_CHUNK, D], centroids [K, D] -> index [ASSIGN_CHUNK] and squared distance [ASSIGN_CHUNK]. */
function assignGraph(dim: number, k: number): Uint8Array {
  return toOnnx(buildGraph((b) => {
    const x = b.input('x', 'float32', [ASSIGN_CHUNK, dim]);
    const c = b.input('centroids', 'float32', [k, dim]);
    // |x - c|^2 = |x|^2 - 2 x.c + |c|^2; the nearest centroid maximises 2 x.c - |c|^2.
    const score = b.sub(b.mul(b.matmul(x, b.transpose(c, [1, 0])), 2), b.unsqueeze(b.reduceSumSquare(c, [-1]), 0)); // [ASSIGN_CHUNK, K]
    const best = b.reduceMax(score, [-1]);
    return { index: b.argmax(score, -1), distance: b.sub(b.reduceSumSquare(x, [-1]), best) };
  }), {}).model;
}

/** Assigns frames (rows of `dim` values) to their nearest centroid; the graph is loaded on first use. */
export class UnitAssigner {
  private static counter = 0;
  private readonly key = `units-assign-${UnitAssigner.counter++}`;
  private loaded?: Promise<unknown>;

  constructor(private readonly runtime: Runtime, readonly dim: number, readonly k: number) {}

  /** Cluster of each row of x, and the sum of squared distances to it. */
  async assign(x: Float32Array, centroids: Float32Array): Promise<{ index: Int32Array; inertia: number }> {
    this.loaded ??= this.runtime.load(this.key, assignGraph(this.dim, this.k));
    await this.loaded;
    const n = x.length / this.dim;
    const index = new Int32Array(n);
    let inertia = 0;
    const buf = new Float32Array(ASSIGN_CHUNK * this.dim);
    for (let i = 0; i < n; i += ASSIGN_CHUNK) {
      const m = Math.min(ASSIGN_CHUNK, n - i);
      buf.fill(0);
      buf.set(x.subarray(i * this.dim, (i + m) * this.dim));
      const out = await this.runtime.run(this.key, {
        x: { dtype: 'float32', dims: [ASSIGN_CHUNK, this.dim], data: buf },
        centroids: { dtype: 'float32', dims: [this.k, this.dim], data: centroids },
      });
      const idx = out.index.data as BigInt64Array;
      const dist = out.distance.data as Float32Array;
      for (let j = 0; j < m; j++) {
        index[i + j] = Number(idx[j]);
        inertia += Math.max(0, dist[j]);
      }
    }
    return { index, inertia };
  }

  async close(): Promise<void> {
    if (this.loaded) await this.runtime.unload(this.key);
  }
}

export interface KMeansResult { centroids: Float32Array; inertia: number[] }

/**
 * k-means++ seeding (Arthur & Vassilvitskii 2007): the first centre a random row, each next one a row drawn with
 * probability proportional to its squared distance from the nearest centre so far.
 */
function seedPlusPlus(x: Float32Array, dim: number, k: number, rng: Rng): Float32Array {
  const n = x.length / dim;
  const centroids = new Float32Array(k * dim);
  const nearest = new Float64Array(n).fill(Infinity);
  let r = rng.int(n);
  for (let c = 0; c < k; c++) {
    centroids.set(x.subarray(r * dim, (r + 1) * dim), c * dim);
    let total = 0;
    for (let i = 0; i < n; i++) {
      let d2 = 0;
      for (let d = 0; d < dim; d++) {
        const v = x[i * dim + d] - centroids[c * dim + d];
        d2 += v * v;
      }
      if (d2 < nearest[i]) nearest[i] = d2;
      total += nearest[i];
    }
    // The next centre: the row where a uniform draw over [0, total) lands (any row when all are covered).
    let u = rng.next() * total;
    if (total === 0) {
      r = rng.int(n);
      continue;
    }
    r = n - 1;
    for (let i = 0; i < n; i++) {
      u -= nearest[i];
      if (u < 0) {
        r = i;
        break;
      }
    }
  }
  return centroids;
}

/**
 * Lloyd's k-means on rows of `dim` values: k-means++ seeding (seeded), `iters` rounds; a cluster left empty
 * restarts at a random row. `inertia[i]` is the mean squared distance at the start of round i (to the centroids
 * that round updates: the seeds, then each round's result but the last).
 */
export async function kmeans(x: Float32Array, dim: number, k: number, o: { iters: number; seed: number; runtime?: Runtime; onIter?: (i: number, inertia: number) => void }): Promise<KMeansResult> {
  const n = x.length / dim;
  if (!Number.isInteger(n) || n < k) throw new Error(`k-means: ${k} clusters need at least ${k} rows of ${dim} values, got ${x.length / dim}`);
  const rng = new Rng(o.seed);
  const centroids = seedPlusPlus(x, dim, k, rng);
  const runtime = o.runtime ?? new InThreadRuntime();
  const assigner = new UnitAssigner(runtime, dim, k);
  const inertia: number[] = [];
  try {
    for (let it = 0; it < o.iters; it++) {
      const { index, inertia: sse } = await assigner.assign(x, centroids);
      inertia.push(sse / n);
      o.onIter?.(it, sse / n);
      const sum = new Float64Array(k * dim);
      const count = new Float64Array(k);
      for (let r = 0; r < n; r++) {
        const c = index[r];
        count[c]++;
        for (let d = 0; d < dim; d++) sum[c * dim + d] += x[r * dim + d];
      }
      const empty: number[] = [];
      for (let c = 0; c < k; c++) {
        if (count[c] === 0) empty.push(c);
        else for (let d = 0; d < dim; d++) centroids[c * dim + d] = sum[c * dim + d] / count[c];
      }
      // Empty clusters restart at random rows (seeded): rare after k-means++ seeding, but possible.
      for (const c of empty) {
        const r = rng.int(n);
        centroids.set(x.subarray(r * dim, (r + 1) * dim), c * dim);
      }
    }
  } finally {
    await assigner.close();
    if (!o.runtime) await runtime.close();
  }
  return { centroids, inertia };
}

/** Unit targets of a corpus: one cluster id per frame of each recording, by recording id. */
export interface UnitTargets {
  /** Number of clusters (the prediction head's classes). */
  classes: number;
  /** Where the units came from (package, tap, k-means settings), for the record. */
  source: Record<string, string | number>;
  ids: string[];
  units: Int16Array[];
}

/**
 * Writes unit targets as FILE (JSON: classes, source, the sha256 of FILE.bin, ids, lengths) and FILE.bin (int16 in
 * the machine's byte order, little-endian on every platform Node runs the studio on; the recordings' units one
 * after another); each written atomically, the data file first. The digest ties the pair: a run that died between
 * the two writes leaves a pair that readUnits refuses.
 */
export function writeUnits(file: string, t: UnitTargets): void {
  const total = t.units.reduce((s, u) => s + u.length, 0);
  const bin = new Int16Array(total);
  let at = 0;
  for (const u of t.units) {
    bin.set(u, at);
    at += u.length;
  }
  const bytes = new Uint8Array(bin.buffer);
  writeFileAtomic(`${file}.bin`, [bytes]);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  writeFileAtomic(file, [JSON.stringify({ format: 'opt-studio audio-units', classes: t.classes, source: t.source, sha256, ids: t.ids, lengths: t.units.map((u) => u.length) }) + '\n']);
}

/** Reads unit targets written by writeUnits, checking that the two files agree. */
export function readUnits(file: string): UnitTargets {
  if (!existsSync(file) || !existsSync(`${file}.bin`)) throw new Error(`${file}: unit targets need ${file} and ${file}.bin (npm run audio:units makes them)`);
  let head: { format?: string; classes?: number; source?: Record<string, string | number>; sha256?: string; ids?: string[]; lengths?: number[] };
  try {
    head = JSON.parse(readFileSync(file, 'utf8')) as typeof head;
  } catch (e) {
    throw new Error(`${file}: not a unit-targets file (${(e as Error).message})`);
  }
  const { classes, ids, lengths } = head;
  if (head.format !== 'opt-studio audio-units' || !Number.isInteger(classes) || !Array.isArray(ids) || !Array.isArray(lengths) || ids.length !== lengths.length) {
    throw new Error(`${file}: not a unit-targets file (format 'opt-studio audio-units' with classes, ids and lengths)`);
  }
  if (!lengths.every((n) => Number.isInteger(n) && n >= 0) || new Set(ids).size !== ids.length) throw new Error(`${file}: lengths must be whole numbers and ids unique`);
  const buf = readFileSync(`${file}.bin`);
  const total = lengths.reduce((s, n) => s + n, 0);
  if (buf.byteLength !== total * 2) throw new Error(`${file}.bin: ${buf.byteLength} bytes, the index lists ${total} units (${total * 2} bytes)`);
  if (createHash('sha256').update(buf).digest('hex') !== head.sha256) throw new Error(`${file}.bin does not match ${file} (its sha256 differs: from another run of audio:units, or one that was interrupted); make the units again`);
  const all = new Int16Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const units: Int16Array[] = [];
  let at = 0;
  for (const n of lengths) {
    units.push(all.subarray(at, at + n));
    at += n;
  }
  for (const u of units) for (const v of u) if (v < 0 || v >= classes!) throw new Error(`${file}.bin: unit ${v} outside [0, ${classes})`);
  return { classes: classes!, source: head.source ?? {}, ids, units };
}
