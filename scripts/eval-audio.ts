// Evaluates the audio encoder of a model package on a dataset's test5k split:
//   (1) contrastive accuracy of the pre-training task on held-out recordings,
//   (2) a linear CTC character probe trained for a fixed budget on frozen features (train split), greedy-decoded
//       on test5k -> CER / WER, beside the same probe on log-mel and MFCC features,
//   (3) speed: encoder time / audio duration (rtf) on this machine's 2 threads.
// Last line: probe_cer=<x> probe_wer=<y> contrastive_acc=<z> rtf=<r>
//
//   npm run eval:audio -- --data /work/data/emojiscenes-speech [--package DIR] [--limit N] [--probe-train N]
//                         [--probe-steps N] [--contrastive N] [--reps encoder,logmel,mfcc] [--frame-layer TAPS]
//                         [--baseline-cache FILE] [--errors FILE] [--no-write]
import { parseArgs } from 'node:util';
import { AudioEncoder, COMPONENT, loadEncoderWeights } from '../native-models/audio/encoder';
import { SpeechCorpus } from '../native-models/audio/data';
import { contrastiveAccuracy } from '../native-models/audio/evaluate';
import { logMel, mfcc } from '../native-models/audio/features';
import { DEFAULT_PROBE, fitStandardizer, probeDecode, standardize, trainProbe, type LinearProbe, type ProbeUtterance, type Standardizer } from '../native-models/audio/probe';
import { characterErrors, errorRates } from '../native-models/audio/ctc';
import { DEFAULT_CONFIG, samplesFor } from '../native-models/audio/config';
import { formatFrameLayer, parseFrameLayer } from '../native-models/audio/model';
import { defaultPackageDir, setComponentMetrics } from '../native-models/packages/format';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const { values: a } = parseArgs({
  options: {
    data: { type: 'string' }, package: { type: 'string' }, limit: { type: 'string' }, 'probe-train': { type: 'string', default: '1000' },
    'probe-steps': { type: 'string', default: String(DEFAULT_PROBE.steps) }, contrastive: { type: 'string', default: '400' }, 'no-write': { type: 'boolean', default: false },
    reps: { type: 'string', default: 'encoder,logmel,mfcc' }, 'frame-layer': { type: 'string' }, errors: { type: 'string' }, 'baseline-cache': { type: 'string', default: '.cache/audio-eval-baselines.json' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (!a.data || a.help) {
  console.error('usage: npm run eval:audio -- --data DATASET_DIR [--package DIR] [--limit N] [--probe-train N] [--probe-steps N] [--contrastive N] [--reps encoder,logmel,mfcc] [--frame-layer final|input|N|A+B+...] [--baseline-cache FILE (log-mel/MFCC probe results, reused while the data and probe settings match)] [--errors FILE (every test reference and encoder-probe transcript, JSON lines)] [--no-write]');
  process.exit(a.help ? 0 : 2);
}
type Rep = 'encoder' | 'logmel' | 'mfcc';
const ALL_REPS: Rep[] = ['encoder', 'logmel', 'mfcc'];
const REPS = a.reps.split(',').map((r) => r.trim()) as Rep[];
for (const r of REPS) if (!ALL_REPS.includes(r)) throw new Error(`--reps: unknown representation "${r}" (known: ${ALL_REPS.join(', ')})`);
const useEnc = REPS.includes('encoder');
const pkgDir = a.package ?? defaultPackageDir();
const { config: cfg, params } = useEnc ? loadEncoderWeights(pkgDir) : { config: DEFAULT_CONFIG, params: {} };
// --frame-layer probes another context output of the package's weights (to choose what to export; not recorded).
const frameLayer = a['frame-layer'] === undefined ? undefined : parseFrameLayer(cfg, a['frame-layer']);
const write = !a['no-write'] && frameLayer === undefined;
const enc = !useEnc ? undefined : frameLayer === undefined ? AudioEncoder.fromPackage(pkgDir) : AudioEncoder.fromParams(cfg, params, { storage: 'float16', frameLayer });
const trainC = SpeechCorpus.open(a.data, 'train', Number(a['probe-train']));
const testC = SpeechCorpus.open(a.data, 'test5k', a.limit ? Number(a.limit) : Infinity);
const probeOpts = { ...DEFAULT_PROBE, steps: Number(a['probe-steps']) };
const log = (s: string) => console.log(s);
log(`${useEnc ? `audio encoder from ${pkgDir} (frames: ${formatFrameLayer(enc!.frameLayer)}, ${enc!.frameDim}-d${frameLayer === undefined ? '' : ', asked for by --frame-layer'})` : 'baselines only'}; probe: ${trainC.size} train recordings, ${probeOpts.steps} steps x ${probeOpts.batch} crops; test5k: ${testC.size} recordings`);

// Warm every bucket so session creation is not timed.
for (const bkt of enc?.buckets ?? []) await enc!.encode(new Float32Array(samplesFor(cfg, bkt)));

// Baseline probes (log-mel, MFCC) do not depend on the encoder: their figures are kept in a cache keyed by the
// data and probe settings, so a run with --reps encoder prints them beside its own (marked as cached).
const cacheKey = JSON.stringify({ data: a.data, probeTrain: a['probe-train'], limit: a.limit ?? 'all', probe: DEFAULT_PROBE, steps: a['probe-steps'] });
type Cache = Record<string, Partial<Record<Rep, { cer: number; wer: number; n: number; at: string }>>>;
const readCache = (): Cache => (existsSync(a['baseline-cache']) ? JSON.parse(readFileSync(a['baseline-cache'], 'utf8')) as Cache : {});
const feats = async (rep: Rep, x: Float32Array): Promise<{ frames: number; dim: number; data: Float32Array }> => {
  if (rep === 'encoder') {
    const e = await enc!.encode(x);
    return { frames: e.length, dim: e.dim, data: e.frames };
  }
  return rep === 'logmel' ? logMel(x) : mfcc(x);
};

const trainSets: Record<Rep, ProbeUtterance[]> = { encoder: [], logmel: [], mfcc: [] };
const dims: Record<Rep, number> = { encoder: enc?.frameDim ?? cfg.dim, logmel: 80, mfcc: 39 };
for (let i = 0; i < trainC.size; i++) {
  const r = trainC.get(i);
  for (const rep of REPS) {
    const f = await feats(rep, r.samples);
    trainSets[rep].push({ frames: f.frames, data: f.data, transcript: r.transcript, words: r.words });
  }
}
trainC.close();
const probes = {} as Record<Rep, { st: Standardizer; probe: LinearProbe }>;
for (const rep of REPS) {
  const st = fitStandardizer(trainSets[rep], dims[rep]);
  const utts = trainSets[rep].map((u) => ({ ...u, data: standardize(u.data, dims[rep], st) }));
  const t0 = performance.now();
  const probe = await trainProbe(utts, dims[rep], probeOpts, (s, l) => { if (s % 250 === 0) log(`  probe[${rep}] step ${s} ctc=${l.toFixed(3)}`); });
  log(`probe[${rep}] trained in ${((performance.now() - t0) / 1000).toFixed(0)} s, final ctc loss ${probe.finalLoss.toFixed(3)}`);
  probes[rep] = { st, probe };
  // The same probe on the (whole) recordings it was trained on: a test CER far above this is a generalisation gap;
  // close to it, the frames themselves (read linearly) are the limit.
  const seen = errorRates(trainSets[rep].map((u, i) => ({ ref: u.transcript, hyp: probeDecode(probe, utts[i].data, u.frames) })));
  log(`probe[${rep}] on its own ${utts.length} training recordings: CER ${seen.cer.toFixed(4)} WER ${seen.wer.toFixed(4)}`);
  trainSets[rep] = [];
}

const pairs: Record<Rep, { ref: string; hyp: string }[]> = { encoder: [], logmel: [], mfcc: [] };
let encSeconds = 0;
let audioSeconds = 0;
const contrastRecs: Float32Array[] = [];
const nContrast = Number(a.contrastive);
for (let i = 0; i < testC.size; i++) {
  const r = testC.get(i);
  if (contrastRecs.length < nContrast) contrastRecs.push(r.samples);
  audioSeconds += r.samples.length / cfg.sampleRate;
  for (const rep of REPS) {
    const t0 = performance.now();
    const f = await feats(rep, r.samples);
    if (rep === 'encoder') encSeconds += (performance.now() - t0) / 1000;
    const { st, probe } = probes[rep];
    pairs[rep].push({ ref: r.transcript, hyp: probeDecode(probe, standardize(f.data, f.dim, st), f.frames) });
  }
  if ((i + 1) % 500 === 0) log(`  test ${i + 1}/${testC.size}`);
}
testC.close();
const rates = Object.fromEntries(REPS.map((rep) => [rep, errorRates(pairs[rep])])) as Partial<Record<Rep, { cer: number; wer: number }>>;
const cache = readCache();
cache[cacheKey] ??= {};
for (const rep of REPS) if (rep !== 'encoder') cache[cacheKey][rep] = { ...rates[rep]!, n: pairs[rep].length, at: new Date().toISOString() };
mkdirSync(dirname(a['baseline-cache']), { recursive: true });
writeFileSync(a['baseline-cache'], JSON.stringify(cache, null, 1));
const cachedNote: Partial<Record<Rep, string>> = {};
for (const rep of ALL_REPS) {
  const c = cache[cacheKey][rep];
  if (!rates[rep] && c) {
    rates[rep] = { cer: c.cer, wer: c.wer };
    cachedNote[rep] = `(cached: same data and probe settings, n=${c.n}, ${c.at})`;
  }
}
if (!enc) {
  for (const rep of REPS) log(`${rep}: probe_cer=${rates[rep]!.cer.toFixed(4)} probe_wer=${rates[rep]!.wer.toFixed(4)} (n=${pairs[rep].length}; cached for runs with --reps encoder)`);
  process.exit(0);
}
const enc0 = rates.encoder!;
const contrast = await contrastiveAccuracy(cfg, params, contrastRecs, { frames: 128 });
const rtf = encSeconds / audioSeconds;
await enc.close();

log('');
log('example (encoder probe):');
for (const p of pairs.encoder.slice(0, 3)) log(`  ref: ${p.ref}\n  hyp: ${p.hyp}`);
const ce = characterErrors(pairs.encoder);
const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
const list = (xs: [string, number][]) => xs.map(([k, v]) => `${k} ${pct(v)}`).join(', ');
log(`encoder probe character errors (share of ${ce.chars} reference characters): substitutions ${pct(ce.sub)}, deletions ${pct(ce.del)}, insertions ${pct(ce.ins)}`);
log(`  substitutions (ref>hyp): ${list(ce.subs)}`);
log(`  deleted: ${list(ce.dels)}`);
log(`  inserted: ${list(ce.inss)}`);
if (a.errors) {
  mkdirSync(dirname(a.errors), { recursive: true });
  writeFileSync(a.errors, pairs.encoder.map((p) => JSON.stringify(p)).join('\n') + '\n');
  log(`  every reference and transcript: ${a.errors}`);
}
log('');
log(`features      probe CER   probe WER   (linear CTC head, ${probeOpts.steps} steps, test5k n=${pairs.encoder.length})`);
for (const rep of ALL_REPS) {
  const r = rates[rep];
  log(`${rep.padEnd(12)}  ${r ? r.cer.toFixed(4).padStart(9) : '        -'}   ${r ? r.wer.toFixed(4).padStart(9) : '        -'}  ${cachedNote[rep] ?? ''}`);
}
log(`contrastive accuracy (held-out, ${contrastRecs.length} recordings, ${contrast.masked} masked frames, ${cfg.negatives} distractors): ${contrast.accuracy.toFixed(4)} (loss ${contrast.loss.toFixed(3)})`);
log(`speed: ${encSeconds.toFixed(1)} s encoding ${audioSeconds.toFixed(1)} s of audio (2 threads)`);

if (write) {
  // Record the figures in the package: same files, new metrics.
  setComponentMetrics(pkgDir, COMPONENT, 'audio-encoder', {
    command: `npm run eval:audio -- --data ${a.data}${a.limit ? ` --limit ${a.limit}` : ''} --probe-train ${a['probe-train']} --probe-steps ${probeOpts.steps}`,
    test_recordings: pairs.encoder.length, probe_cer: enc0.cer, probe_wer: enc0.wer,
    ...(rates.logmel ? { logmel_probe_cer: rates.logmel.cer, logmel_probe_wer: rates.logmel.wer } : {}),
    ...(rates.mfcc ? { mfcc_probe_cer: rates.mfcc.cer, mfcc_probe_wer: rates.mfcc.wer } : {}),
    contrastive_acc: contrast.accuracy, rtf, rtf_threads: 2,
  });
}
log(`probe_cer=${enc0.cer.toFixed(4)} probe_wer=${enc0.wer.toFixed(4)} contrastive_acc=${contrast.accuracy.toFixed(4)} rtf=${rtf.toFixed(4)}`);
