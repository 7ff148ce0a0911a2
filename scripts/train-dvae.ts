// Trains the dVAE (image tokenizer) on a dataset's train split and writes it into a model package.
//   npm run train:dvae -- --data /work/data/emojiscenes --out out/dvae-run --steps 4000
// Re-running the same command resumes from the run folder's latest checkpoint. See native-models/dvae/README.md.
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { DEFAULT_CONFIG, TINY_CONFIG, withBlockDefaults, type DvaeConfig } from '../native-models/dvae/model';
import { loadSplit } from '../native-models/dvae/data';
import { trainDvae, evalPsnr } from '../native-models/dvae/train';
import { formatHistory, runToExport } from '../native-models/train/trainer';
import { exportOnnx, inferenceWeights, packageDvaeConfig, writeDvaeComponent } from '../native-models/dvae/codec';
import { warmStartConfig } from '../native-models/train/grow';
import { exportAfterStop, trainingExportDir } from '../native-models/packages/format';

const USAGE = `Usage: npm run train:dvae -- --data DIR --out RUN_DIR --steps N [options]
  --data DIR            dataset folder (its "train" split is used; "val" for progress figures)
  --out DIR             run folder: checkpoints, cached 64x64 pixels; resumes from it when it has a checkpoint
  --steps N             total optimizer steps (default 2000)
  --batch N             images per step (default 32)
  --lr X                peak learning rate, cosine decay (default 2e-3)
  --codebook K          codebook entries (default 1024)
  --stage-blocks N      residual blocks at each intermediate resolution (default: the default config's)
  --attn-blocks N       transformer layers over the 8x8 code grid in encoder and decoder (default: the default config's)
  --out-blocks N        residual blocks of the decoder's full-resolution refinement branch (default: the default config's; 0 = none)
  --channels A,B,C      channels at 32, 16 and 8 px (default: the default config's, 64,96,128)
  --init-from CKPT|PKG  start a new run from a checkpoint's weights, or a model package's dVAE (fp16 as shipped;
                        its EMA statistics rebuilt; its config is then the base the flags above change)
                        (e.g. a model without stage blocks, with fewer channels at
                        32/16 px, or a smaller codebook: the added blocks and channels start as the identity and
                        new codes as copies, so training continues from its reconstructions)
  --tiny                the tiny test config (fast smoke run)
  --max-images N        the first N training images (default 6000: the CPU budget sees each ~10 times)
  --threads N           ORT threads (default 1: the machine is shared)
  --eval-every N        validation PSNR every N steps (default 500; 0 = never)
  --package DIR         model package to write the component into (default: the shipped default package)
  --no-export           train only
  --export-only         no training: export the latest checkpoint in --out (e.g. of a stopped run) into --package
  --seed S              init and data-order seed (default 0)
  --ssim-weight W       add W * (1 - SSIM) to the loss (default 0: MSE only); part of the model config
  --flat-fraction F     share of each batch replaced by flat images of random colours (default 0)`;

const { values: a } = parseArgs({
  options: {
    data: { type: 'string' }, out: { type: 'string' }, steps: { type: 'string' }, batch: { type: 'string' }, lr: { type: 'string' },
    codebook: { type: 'string' }, 'stage-blocks': { type: 'string' }, 'attn-blocks': { type: 'string' }, 'out-blocks': { type: 'string' }, channels: { type: 'string' }, 'init-from': { type: 'string' }, tiny: { type: 'boolean' }, 'max-images': { type: 'string' }, threads: { type: 'string' },
    'eval-every': { type: 'string' }, package: { type: 'string' }, 'no-export': { type: 'boolean' }, 'export-only': { type: 'boolean' }, seed: { type: 'string' }, 'ssim-weight': { type: 'string' }, 'flat-fraction': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
  strict: true,
});
if (a.help || !a.data || !a.out) {
  console.log(USAGE);
  process.exit(a.help ? 0 : 2);
}
const num = (v: string | undefined, name: string, dflt: number): number => {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) {
    console.error(`--${name} must be a non-negative number, got "${v}"`);
    process.exit(2);
  }
  return n;
};

// --init-from a model package: its dVAE's config is the base (so no flags need repeat the shipped shape).
const initCfg = a['init-from'] ? warmStartConfig(a['init-from'], 'dvae') : undefined;
const packageModel = initCfg?.fromPackage ? packageDvaeConfig(initCfg.config) : undefined;
const base: DvaeConfig = packageModel ?? (a.tiny ? TINY_CONFIG : DEFAULT_CONFIG);
const ssimWeight = num(a['ssim-weight'], 'ssim-weight', base.ssimWeight ?? 0);
const flatFraction = num(a['flat-fraction'], 'flat-fraction', 0);
const channels = a.channels === undefined ? base.channels : a.channels.split(',').map((v) => num(v, 'channels', 0));
if (channels.length !== base.channels.length || channels.some((c) => !Number.isInteger(c) || c < 2 || c % 2)) {
  console.error(`--channels takes ${base.channels.length} even whole numbers separated by commas (32, 16 and 8 px), got "${a.channels}"`);
  process.exit(2);
}
const { ssimWeight: _baseSsim, ...baseModel } = base;
const config: DvaeConfig = {
  ...baseModel, channels, codebookSize: num(a.codebook, 'codebook', base.codebookSize), stageBlocks: num(a['stage-blocks'], 'stage-blocks', base.stageBlocks ?? 0),
  attnBlocks: num(a['attn-blocks'], 'attn-blocks', base.attnBlocks ?? 0), outBlocks: num(a['out-blocks'], 'out-blocks', base.outBlocks ?? 0),
  ...(ssimWeight > 0 ? { ssimWeight } : {}),
};
const steps = num(a.steps, 'steps', 2000);
const batch = num(a.batch, 'batch', 32);
const lr = num(a.lr, 'lr', 2e-3);
const threads = num(a.threads, 'threads', 1);
const seed = num(a.seed, 'seed', 0);
const data = resolve(a.data);
const out = resolve(a.out);
if (a['no-export'] && a['export-only']) {
  console.error('--export-only and --no-export contradict each other');
  process.exit(2);
}
const pkg = a['no-export'] ? '' : trainingExportDir(a.package);
const maxImages = num(a['max-images'], 'max-images', 6000);

const t0 = performance.now();
const log = (s: string) => console.log(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(5)}s] ${s}`);
const loadVal = () => loadSplit(data, 'val', { limit: 256, cache: `${out}/pixels-val-256.u8` }).catch((e: Error) => {
  log(`no validation images (${e.message}); training without progress PSNR`);
  return undefined;
});

if (a['export-only']) {
  // The run's own config and history, whatever the flags say: the checkpoint is what gets exported.
  let run: ReturnType<typeof runToExport<DvaeConfig>>;
  try {
    run = runToExport<DvaeConfig>(out, 'a dVAE', (m) => typeof m?.codebookSize === 'number' && Array.isArray(m.channels));
  } catch (e) {
    console.error((e as Error).message);
    process.exit(2);
  }
  const { ck, at, model, history } = run;
  log(`exporting step ${ck.step} of ${at}`);
  await exportRun(withBlockDefaults(model), new Map(Object.entries(ck.params).map(([k, t]) => [k, t.data as Float32Array])), await loadVal(), {
    command: history.at(-1)?.command ?? '', history: formatHistory(history), dataset: data, steps: ck.step,
  });
  process.exit(0);
}

const trainSet = await loadSplit(data, 'train', { limit: maxImages, cache: `${out}/pixels-train-${maxImages}.u8`, onProgress: (d, n) => log(`decoded ${d}/${n} train images`) });
const val = await loadVal();
log(`train images ${trainSet.count}, val ${val?.count ?? 0}; config ${JSON.stringify(config)}; steps ${steps}, batch ${batch}, lr ${lr}`);

// This run's command line, kept in the checkpoints' run history and the package manifest.
const command = `npm run train:dvae -- --data ${a.data} --out ${a.out} --steps ${steps} --lr ${lr} --max-images ${maxImages}` +
  `${a.tiny ? ' --tiny' : ''}${config.stageBlocks ? ` --stage-blocks ${config.stageBlocks}` : ''}${config.attnBlocks ? ` --attn-blocks ${config.attnBlocks}` : ''}${config.outBlocks ? ` --out-blocks ${config.outBlocks}` : ''}` +
  `${a.channels === undefined ? '' : ` --channels ${channels.join(',')}`}` +
  `${a['init-from'] ? ` --init-from ${a['init-from']}` : ''}${a.batch ? ` --batch ${batch}` : ''}${a.codebook ? ` --codebook ${config.codebookSize}` : ''}${a.seed ? ` --seed ${seed}` : ''}${config.ssimWeight ? ` --ssim-weight ${config.ssimWeight}` : ''}${flatFraction ? ` --flat-fraction ${flatFraction}` : ''}`;

// Ctrl-C / SIGTERM: stop after the current step and checkpoint; export what was trained only into a package named
// with --package (exportAfterStop).
const stop = new AbortController();
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`${sig}: stopping after this step (checkpoint${a.package === undefined || a['no-export'] ? '' : ', then export'})`);
    stop.abort();
  });
}
const res = await trainDvae({
  config, train: trainSet, val, steps, batch, lr, out, seed, threads, signal: stop.signal, command, initFrom: a['init-from'] ? resolve(a['init-from']) : undefined, flatFraction,
  evalEvery: num(a['eval-every'], 'eval-every', 500), checkpointEvery: 250,
  onProgress: (p) => {
    if (p.step % 25 !== 0 && p.step !== steps) return;
    const m = p.metrics;
    const psnr = 10 * Math.log10(1 / m['metric:mse']);
    log(`step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(5)} psnr~${psnr.toFixed(2)} commit ${m['metric:commit'].toFixed(5)} ` +
      `${m['metric:ssim'] === undefined ? '' : `ssim ${m['metric:ssim'].toFixed(4)} `}perplexity ${m['metric:perplexity'].toFixed(0)} restarted ${m['metric:restarted']} lr ${p.lr.toExponential(2)} ` +
      `${p.meanStepMs.toFixed(0)} ms/step eta ${(p.etaSeconds / 60).toFixed(1)} min`);
  },
  onEval: (step, m) => log(`step ${step}: val psnr ${m.val_psnr.toFixed(2)} dB, ssim ${m.val_ssim.toFixed(4)}`),
});
log(`trained to step ${res.step}${res.cancelled ? ' (cancelled)' : ''}; checkpoint ${res.checkpoint ?? '-'}`);

if (!a['no-export'] && exportAfterStop(a.package, stop.signal.aborted && res.cancelled, log)) {
  await exportRun(config, res.params, val, {
    command, history: formatHistory(res.history), dataset: data, steps: res.step, batch, lr, seed, trainImages: trainSet.count,
  });
}

/** Writes trained weights into the package: fp16 storage when it costs (almost) nothing on the validation images. */
async function exportRun(c: DvaeConfig, params: ReadonlyMap<string, Float32Array>, valSet: typeof val, training: Record<string, string | number>): Promise<void> {
  const weights = inferenceWeights(params);
  let storage: 'float16' | 'float32' = 'float16';
  if (valSet) {
    const p32 = await evalPsnr(c, weights, valSet, { storage: 'float32', threads });
    const p16 = await evalPsnr(c, weights, valSet, { storage: 'float16', threads });
    storage = p32 - p16 < 0.05 ? 'float16' : 'float32';
    log(`val psnr fp32 ${p32.toFixed(3)} dB, fp16 ${p16.toFixed(3)} dB -> ${storage} storage`);
  }
  writeDvaeComponent(pkg, c, exportOnnx(c, weights, { batch: 1, storage }), { batch: 1, storage, training });
  log(`wrote component "dvae" (encode.onnx, decode.onnx) into ${pkg}`);
}
