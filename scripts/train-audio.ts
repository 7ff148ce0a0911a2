// Pre-trains the compact wav2vec 2.0 (native-models/audio) on a dataset's spoken captions with the engine's
// trainer (checkpoints, exact resume), then exports the inference graphs into a model package.
//
//   npm run train:audio -- --data /work/data/emojiscenes-speech [--out .cache/audio-run] [--steps 6000] [--minutes 60]
//                          [--batch 8] [--lr 5e-4] [--config default|tiny] [--package DIR] [--no-export] [--threads N]
//                          [--seed S] [--set key=value ...] [--tau-max X] [--tau-decay X] [--limit N] [--every N]
//                          [--frame-layer TAPS] [--units FILE] [--init-from CKPT|PACKAGE_DIR]
//   npm run train:audio -- --export-only --out RUN_DIR [--package DIR] [--frame-layer TAPS]
// Run it again with the same --out to resume from the latest checkpoint; --export-only exports that checkpoint
// (e.g. of a stopped run) without training.
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { buildTrainingGraph } from '../native-models/graph/index';
import { DEFAULT_CONFIG, TINY_CONFIG, type AudioEncoderConfig } from '../native-models/audio/config';
import { allFrameTaps, AUDIO_GROW_RULE, formatFrameLayer, parseFrameLayer, pretrainModel, type FrameLayer } from '../native-models/audio/model';
import { DEFAULT_BATCHES, pretrainBatches, SpeechCorpus, unitsForCorpus } from '../native-models/audio/data';
import { readUnits } from '../native-models/audio/units';
import { exportEncoder } from '../native-models/audio/encoder';
import { trainStepSpec, initialParams } from '../native-models/train/graph-spec';
import { formatHistory, runToExport, train, type RunRecord } from '../native-models/train/trainer';
import type { Tensor } from '../native-models/runtime/index';
import { checkResumeConfig, latestCheckpoint, loadCheckpoint } from '../native-models/train/checkpoint';
import { warmStart, warmStartConfig } from '../native-models/train/grow';
import { WorkerRuntime } from '../native-models/runtime/index';
import { exportAfterStop, trainingExportDir } from '../native-models/packages/format';

const { values: a } = parseArgs({
  options: {
    data: { type: 'string' }, out: { type: 'string', default: '.cache/audio-run' }, steps: { type: 'string', default: '6000' },
    minutes: { type: 'string' }, batch: { type: 'string', default: '8' }, lr: { type: 'string', default: '5e-4' },
    config: { type: 'string', default: 'default' }, package: { type: 'string' }, 'no-export': { type: 'boolean', default: false },
    seed: { type: 'string', default: '1' }, set: { type: 'string', multiple: true }, 'tau-max': { type: 'string' }, 'tau-decay': { type: 'string' }, limit: { type: 'string' }, every: { type: 'string', default: '250' },
    'frame-layer': { type: 'string' }, units: { type: 'string' }, threads: { type: 'string' }, 'init-from': { type: 'string' }, 'export-only': { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false },
  },
});
if (a['export-only']) process.exit(exportOnly());
if (!a.data || a.help) {
  console.error('usage: npm run train:audio -- --data DATASET_DIR [--out RUN_DIR] [--steps N] [--minutes M] [--batch B] [--lr LR] [--config default|tiny] [--package DIR] [--no-export] [--frame-layer TAPS (default: input+0+...+final, all concatenated)] [--threads N] [--seed S (default 1)] [--set key=value (a numeric config field; repeatable)] [--tau-max X] [--tau-decay X (Gumbel temperature schedule)] [--limit N (at most N training recordings)] [--every N (checkpoint interval, default 250)] [--export-only (no training: export the latest checkpoint in --out)] [--units FILE (HuBERT-style unit targets from npm run audio:units: masked frames also predict their unit, with as many classes as the file has)] [--init-from CKPT|PACKAGE_DIR (new run from a checkpoint\'s weights, or a model package\'s encoder (fp16 as shipped; its config is then the base that --set changes); with --set layers=N, the added layers start as the identity, with --set ffn=N the added hidden units add nothing at first, with --set dim=N (a whole multiple) every residual channel is repeated; the grown model computes what the checkpoint did)]');
  process.exit(a.help ? 0 : 2);
}
// --init-from a model package: its encoder's config is the base (so no flags need repeat the shipped shape).
const initCfg = a['init-from'] ? warmStartConfig(a['init-from'], 'audio-encoder') : undefined;
const packageModel = initCfg?.fromPackage ? (initCfg.config?.model as AudioEncoderConfig | undefined) : undefined;
// Unit prediction follows --units: the head has the unit file's classes, and a package's own unitClasses (from the
// stage that made it) is not carried into a run without units.
const unitTargets = a.units ? readUnits(a.units) : undefined;
const cfg: AudioEncoderConfig = { ...(a.config === 'tiny' ? TINY_CONFIG : DEFAULT_CONFIG), ...packageModel, unitClasses: unitTargets?.classes ?? 0 };
// --set key=value overrides a numeric config field (e.g. --set maskSpan=5 --set codebookEntries=32).
for (const kv of a.set ?? []) {
  const [k, v] = kv.split('=');
  if (!(k in cfg) || typeof cfg[k as keyof AudioEncoderConfig] !== 'number' || !Number.isFinite(Number(v))) throw new Error(`--set ${kv}: not a numeric config field`);
  (cfg as unknown as Record<string, number>)[k] = Number(v);
}
// Checked now, used by the export after training; default: every context output, concatenated.
const frameLayer = a['frame-layer'] === undefined ? allFrameTaps(cfg) : parseFrameLayer(cfg, a['frame-layer']);
const steps = Number(a.steps);
const seed = Number(a.seed);
const batchOpts = { ...DEFAULT_BATCHES, batch: Number(a.batch), seed, ...(a['tau-max'] ? { tauMax: Number(a['tau-max']) } : {}), ...(a['tau-decay'] ? { tauDecay: Number(a['tau-decay']) } : {}) };
const adam = { weightDecay: 0.01, clipNorm: 5, beta2: 0.98 };

const dir = a['no-export'] ? '' : trainingExportDir(a.package);

const corpus = SpeechCorpus.open(a.data, 'train', a.limit ? Number(a.limit) : Infinity);
console.log(`train split: ${corpus.size} recordings; buckets ${batchOpts.buckets.join('/')} frames, batch ${batchOpts.batch}`);
if (!unitTargets && (cfg.unitClasses ?? 0) > 0) throw new Error('--set unitClasses=K needs --units FILE (the unit targets, from npm run audio:units)');
const units = unitTargets ? unitsForCorpus(cfg, corpus, unitTargets) : undefined;
if (units) console.log(`unit targets: ${a.units}, ${cfg.unitClasses} classes, weight ${cfg.unitWeight ?? 1}`);
const spec = trainStepSpec((bucket) => buildTrainingGraph(pretrainModel(cfg, batchOpts.batch, Number(bucket), true), adam), String(batchOpts.buckets[0]), { optimizer: adam });
const nParams = spec.params.reduce((s, p) => s + p.dims.reduce((x, y) => x * y, 1), 0);
console.log(`model: ${nParams.toLocaleString('en-US')} parameters`);

const runtime = new WorkerRuntime();
const ctl = new AbortController();
if (a.minutes) setTimeout(() => ctl.abort(), Number(a.minutes) * 60_000).unref();
let signalled = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    signalled = true;
    ctl.abort();
  });
}
const runConfig = { model: cfg, batches: batchOpts, adam };
const resume = latestCheckpoint(a.out);
if (resume) {
  checkResumeConfig(resume, runConfig, 'give the same --config/--set/--batch/--seed/--tau-* as the run being resumed, or another --out');
  console.log(`resuming from ${resume}${a['init-from'] ? ' (--init-from applies only to the run\'s first start)' : ''}`);
}
// This run's command line, kept in the checkpoints' run history and the package manifest: every option that shapes it.
const command = `npm run train:audio -- --data ${a.data} --out ${a.out} --steps ${steps} --batch ${batchOpts.batch} --lr ${a.lr} --seed ${seed}` +
  `${a.config === 'default' ? '' : ` --config ${a.config}`}${(a.set ?? []).map((kv) => ` --set ${kv}`).join('')}` +
  `${a['tau-max'] ? ` --tau-max ${a['tau-max']}` : ''}${a['tau-decay'] ? ` --tau-decay ${a['tau-decay']}` : ''}${a.limit ? ` --limit ${a.limit}` : ''}` +
  `${a.units ? ` --units ${a.units}` : ''}${a['init-from'] ? ` --init-from ${a['init-from']}` : ''}${a['frame-layer'] === undefined ? '' : ` --frame-layer ${formatFrameLayer(frameLayer)}`}`;
// A new run: the seeded init, or (--init-from) a checkpoint's weights grown into this config, whose history it carries.
function startParams(): { params: Record<string, Tensor>; before?: RunRecord[] } {
  const init = initialParams(spec.graph.graph, seed);
  if (!a['init-from']) return { params: init };
  // The weights cannot tell how many heads they were trained with; a warm start must keep them.
  const src = a['init-from'];
  const heads = (initCfg?.config as { model?: { heads?: number } } | undefined)?.model?.heads;
  if (heads !== undefined && heads !== cfg.heads) throw new Error(`--init-from: the ${initCfg?.fromPackage ? 'package\'s encoder' : 'checkpoint'} has ${heads} attention heads, this config ${cfg.heads}; a warm start keeps the heads (drop --set heads)`);
  const w = warmStart(init, src, AUDIO_GROW_RULE);
  const wider = w.reshaped.length ? `, the residual stream widened to ${cfg.dim} (${w.reshaped.length} tensors; each channel repeated)` : '';
  console.log(`warm start from ${w.source}: ${w.added.length} tensors added, ${w.widened.length} widened${wider} (the grown model computes what the checkpoint did)`);
  return { params: w.params, before: w.before };
}
const start = resume ? undefined : startParams();
const started = Date.now();
const res = await train({
  runtime, spec, data: pretrainBatches(cfg, corpus, batchOpts, units),
  schedule: { kind: 'cosine', peak: Number(a.lr), warmup: Math.min(500, Math.floor(steps / 10)), total: steps, minRatio: 0.05 },
  steps, seed, ...(start ? { params: start.params } : { resume }), run: { command, ...(start?.before ? { before: start.before } : {}) },
  ...(a.threads ? { threads: Number(a.threads) } : {}),
  checkpoint: { dir: a.out, every: Number(a.every), keep: 2, config: runConfig },
  signal: ctl.signal,
  onProgress: (p) => {
    if (p.step % 25 === 0 || p.step === 1) {
      const m = Object.entries(p.metrics).map(([k, v]) => `${k.replace('metric:', '')}=${v.toFixed(3)}`).join(' ');
      console.log(`step ${p.step}/${p.totalSteps} loss=${p.loss.toFixed(4)} ${m} lr=${p.lr.toExponential(2)} ${p.meanStepMs.toFixed(0)}ms/step`);
    }
  },
});
await runtime.close();
corpus.close();
console.log(`stopped at step ${res.step}${res.cancelled ? ' (time budget / signal)' : ''}; checkpoint ${res.checkpoint ?? '(none)'}; ${((Date.now() - started) / 60000).toFixed(1)} min`);

if (!a['no-export'] && exportAfterStop(a.package, signalled && res.cancelled)) {
  const ck = loadCheckpoint(latestCheckpoint(a.out) ?? join(a.out));
  exportRun(dir, ck.params, cfg, frameLayer, { command, history: formatHistory(res.history), steps: ck.step, seed, dataset: a.data, recordings: corpus.size });
}

/** Writes checkpointed weights into the package (fp16) and says so. */
function exportRun(dir: string, ckParams: Record<string, Tensor>, model: AudioEncoderConfig, taps: FrameLayer, training: Record<string, string | number>): void {
  const params: Record<string, Float32Array> = {};
  for (const [k, t] of Object.entries(ckParams)) params[k] = t.data as Float32Array;
  exportEncoder(dir, model, params, { storage: 'float16', frameLayer: taps, training });
  console.log(`exported the encoder (fp16) into ${dir}; run npm run eval:audio to measure it`);
}

/** --export-only: the latest checkpoint in --out with the run's own config and history, whatever the other flags say. */
function exportOnly(): number {
  if (a['no-export']) {
    console.error('--export-only and --no-export contradict each other');
    return 2;
  }
  let run: ReturnType<typeof runToExport<AudioEncoderConfig>>;
  try {
    run = runToExport<AudioEncoderConfig>(a.out, 'an audio encoder', (m) => typeof m?.dim === 'number' && Array.isArray(m.conv));
  } catch (e) {
    console.error((e as Error).message);
    return 2;
  }
  const { ck, at, model, history } = run;
  console.log(`exporting step ${ck.step} of ${at}`);
  exportRun(trainingExportDir(a.package), ck.params, model, a['frame-layer'] === undefined ? allFrameTaps(model) : parseFrameLayer(model, a['frame-layer']), {
    command: history.at(-1)?.command ?? '', history: formatHistory(history), steps: ck.step, ...(a.data ? { dataset: a.data } : {}),
  });
  return 0;
}
