// Unit targets for HuBERT-style pre-training (native-models/audio/units.ts): encodes every training recording
// of a dataset with a trained audio encoder (one context-network tap), fits k-means on a sample of the
// standardised frames, and writes each recording's cluster id per frame. `npm run train:audio -- --units FILE`
// then also trains the encoder to predict the units of masked frames.
//
//   npm run audio:units -- --data DATASET_DIR --out FILE [--package DIR] [--tap 4] [--k 256] [--sample 200000]
//                          [--iters 15] [--seed 1] [--limit N]
import { parseArgs } from 'node:util';
import { AudioEncoder, loadEncoderWeights } from '../native-models/audio/encoder';
import { SpeechCorpus } from '../native-models/audio/data';
import { parseFrameLayer, frameTaps } from '../native-models/audio/model';
import { fitStandardizer, standardize } from '../native-models/audio/probe';
import { ASSIGN_CHUNK, kmeans, UnitAssigner, writeUnits } from '../native-models/audio/units';
import { InThreadRuntime } from '../native-models/runtime/index';
import { Rng } from '../native-models/train/rng';
import { defaultPackageDir } from '../native-models/packages/format';

const { values: a } = parseArgs({
  options: {
    data: { type: 'string' }, out: { type: 'string' }, package: { type: 'string' }, tap: { type: 'string', default: '4' }, k: { type: 'string', default: '256' },
    sample: { type: 'string', default: '200000' }, iters: { type: 'string', default: '15' }, seed: { type: 'string', default: '1' }, limit: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (!a.data || !a.out || a.help) {
  console.error('usage: npm run audio:units -- --data DATASET_DIR --out FILE [--package DIR (the encoder whose frames are clustered; default: the shipped package)] [--tap T (one context output: input, a layer number, final; default 4)] [--k K (clusters, default 256)] [--sample N (frames k-means is fitted on, default 200000)] [--iters N (default 15)] [--seed S] [--limit N (first N training recordings)]');
  process.exit(a.help ? 0 : 2);
}
const k = Number(a.k);
const iters = Number(a.iters);
const sampleSize = Number(a.sample);
const seed = Number(a.seed);
for (const [name, v] of [['--k', k], ['--iters', iters], ['--sample', sampleSize]] as const) {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a whole number of at least 1`);
}
if (k > 32767) throw new Error('--k must be at most 32767 (units are stored as int16)');
const pkgDir = a.package ?? defaultPackageDir();
const { config, params } = loadEncoderWeights(pkgDir);
const tap = parseFrameLayer(config, a.tap);
if (frameTaps(tap).length !== 1) throw new Error('--tap names one context output');
const dim = config.dim;
const runtime = new InThreadRuntime();
const encoder = AudioEncoder.fromParams(config, params, { frameLayer: tap, runtime });
const corpus = SpeechCorpus.open(a.data, 'train', a.limit ? Number(a.limit) : Infinity);
console.log(`encoding ${corpus.size} training recordings with ${pkgDir} (tap ${a.tap}, ${dim} values per frame)`);

const started = Date.now();
const utts: { frames: number; data: Float32Array }[] = [];
for (let i = 0; i < corpus.size; i++) {
  const e = await encoder.encode(corpus.get(i).samples);
  utts.push({ frames: e.length, data: e.frames });
  if ((i + 1) % 500 === 0 || i + 1 === corpus.size) {
    const s = (Date.now() - started) / 1000;
    console.log(`  ${i + 1}/${corpus.size} recordings, ${s.toFixed(0)} s (ETA ${((s / (i + 1)) * (corpus.size - i - 1)).toFixed(0)} s)`);
  }
}
await encoder.close();
const total = utts.reduce((s, u) => s + u.frames, 0);

// k-means on a seeded sample of standardised frames (an affine map: it only rescales the distances per value).
const st = fitStandardizer(utts, dim);
const rng = new Rng(seed);
const n = Math.min(sampleSize, total);
const sample = new Float32Array(n * dim);
// Frame g of the whole corpus is frame g - offsets[i] of recording i, the last with offsets[i] <= g.
const offsets: number[] = [];
for (let i = 0, at = 0; i < utts.length; at += utts[i].frames, i++) offsets.push(at);
for (let r = 0; r < n; r++) {
  const g = rng.int(total);
  let lo = 0;
  let hi = utts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (offsets[mid] <= g) lo = mid;
    else hi = mid - 1;
  }
  const t = g - offsets[lo];
  sample.set(standardize(utts[lo].data.subarray(t * dim, (t + 1) * dim), dim, st), r * dim);
}
console.log(`k-means: ${k} clusters on ${n.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} frames, ${iters} rounds`);
const km = await kmeans(sample, dim, k, { iters, seed, runtime, onIter: (i, inertia) => console.log(`  round ${i + 1}: mean squared distance ${inertia.toFixed(2)} (to the centroids it updates)`) });

const units: Int16Array[] = [];
const counts = new Float64Array(k);
const assigner = new UnitAssigner(runtime, dim, k);
// Consecutive recordings go to the assignment graph together, about ASSIGN_CHUNK frames a call (one recording
// alone is a few hundred frames, and each call is padded to the graph's fixed length).
for (let i = 0; i < utts.length;) {
  let j = i;
  let frames = 0;
  while (j < utts.length && (j === i || frames + utts[j].frames <= ASSIGN_CHUNK)) frames += utts[j++].frames;
  const batch = new Float32Array(frames * dim);
  for (let r = i, at = 0; r < j; at += utts[r].frames, r++) batch.set(utts[r].data, at * dim);
  const { index: idx } = await assigner.assign(standardize(batch, dim, st), km.centroids);
  for (let r = i, at = 0; r < j; at += utts[r].frames, r++) {
    const v = Int16Array.from(idx.subarray(at, at + utts[r].frames));
    for (const c of v) counts[c]++;
    units.push(v);
  }
  i = j;
}
await assigner.close();
await runtime.close();
const entropy = -[...counts].reduce((s, c) => (c > 0 ? s + (c / total) * Math.log(c / total) : s), 0);
writeUnits(a.out, {
  classes: k, ids: corpus.ids.slice(), units,
  source: { package: pkgDir, tap: a.tap, k, sample: n, iters, seed, dataset: a.data, standardised: 'per value, fitted on every frame' },
});
corpus.close();
console.log(`wrote ${a.out} (+ .bin): ${units.length} recordings, ${total.toLocaleString('en-US')} frames; ${[...counts].filter((c) => c > 0).length}/${k} units used, perplexity ${Math.exp(entropy).toFixed(1)}; ${((Date.now() - started) / 60000).toFixed(1)} min`);
