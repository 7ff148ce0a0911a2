// npm run train:detector -- --data DIR [options]
// Trains the Faster R-CNN region detector on a dataset's train split with the engine's trainer
// (checkpoints, resume, progress), then writes it into the model package (fp16 weights).
// Ctrl-C / SIGTERM checkpoints, exports what has been trained and exits.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadCatalog } from '../native-models/data/demo/catalog';
import { iou } from '../native-models/detector/boxes';
import { defaultConfig, detectorConfigSchema, shapesOf, tinyConfig, type DetectorConfig } from '../native-models/detector/config';
import { imprintPrototypes } from '../native-models/detector/imprint';
import { readDetectionSplit } from '../native-models/detector/data';
import { writeDetector } from '../native-models/detector/export';
import { trainDetector } from '../native-models/detector/train';
import { exportAfterStop, trainingExportDir } from '../native-models/packages/format';
import { InThreadRuntime, type Tensor } from '../native-models/runtime/index';
import { RegionDetector } from '../native-models/tasks/detect-regions';
import { loadCheckpoint } from '../native-models/train/checkpoint';
import { checkpointHistory, formatHistory } from '../native-models/train/trainer';

const USAGE = `Usage: npm run train:detector -- --data DIR [options]

  --data DIR            dataset folder (e.g. /work/data/emojiscenes), trained on its train split
  --package DIR         model package to write the detector into (default: native-models/packages/default)
  --run DIR             checkpoint folder (default: .cache/detector-run)
  --resume              continue from the latest checkpoint in --run
  --steps N             optimizer steps (default 3000); --batch B images per step (default 4)
  --lr X                peak learning rate (default 0.002, cosine after --warmup 100 steps, floor 5%)
  --limit N             use at most N training items; --seed S (default 0)
  --checkpoint-every N  (default 200); --threads N onnxruntime threads (default 2)
  --mosaic X            share of training images replaced by crop mosaics (default 0.75)
  --tiny                tiny model (a smoke test of the whole recipe)
  --no-export           do not write the package
  --export-only         only export the latest checkpoint in --run (no training)
  --prototypes N        imprint class prototypes from N training images into the exported classifier
                        (0 = ship the trained softmax; default 0)

Before writing, the fp16 package is compared with fp32 weights on up to 100 val images; if
they disagree on more than 1% of regions the package keeps fp32 weights.`;

/** Train images to imprint class prototypes from (0 = none). */
let protoImages = 0;

async function main(): Promise<number> {
  process.env.OPT_PROVIDERS ??= 'cpu';
  const { values: v } = parseArgs({
    options: {
      data: { type: 'string' }, package: { type: 'string' }, run: { type: 'string' }, resume: { type: 'boolean' },
      steps: { type: 'string' }, batch: { type: 'string' }, lr: { type: 'string' }, warmup: { type: 'string' },
      limit: { type: 'string' }, seed: { type: 'string' }, 'checkpoint-every': { type: 'string' }, threads: { type: 'string' },
      mosaic: { type: 'string' }, tiny: { type: 'boolean' }, 'no-export': { type: 'boolean' }, 'export-only': { type: 'boolean' }, prototypes: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) {
    console.log(USAGE);
    return 0;
  }
  if (!v.data) {
    console.error(`--data is required\n\n${USAGE}`);
    return 2;
  }
  const num = (s: string | undefined, d: number, name: string) => {
    const n = s === undefined ? d : Number(s);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, got "${s}"`);
    return n;
  };
  const steps = num(v.steps, 3000, 'steps');
  protoImages = num(v.prototypes, 0, 'prototypes');
  const batch = num(v.batch, 4, 'batch');
  const lr = num(v.lr, 0.002, 'lr');
  const warmup = num(v.warmup, 100, 'warmup');
  const seed = num(v.seed, 0, 'seed');
  const runDir = path.resolve(v.run ?? '.cache/detector-run');
  if (v['no-export'] && v['export-only']) throw new Error('--export-only and --no-export contradict each other');
  const pkgDir = v['no-export'] ? '' : trainingExportDir(v.package);

  const classes = loadCatalog().map((c) => c.label);
  const cfg = v.tiny ? tinyConfig(classes.length) : defaultConfig(classes.length);
  const t0 = performance.now();
  const { examples, skipped, unknownLabels } = readDetectionSplit(path.resolve(v.data), classes, 'train', v.limit ? num(v.limit, 0, 'limit') : Infinity);
  console.log(`train split: ${examples.length} items (${skipped} skipped${unknownLabels.length ? `, unknown labels e.g. ${unknownLabels.join(', ')}` : ''}), indexed in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
  if (examples.length === 0) throw new Error(`${v.data}: no items in the train split with known labels`);

  if (v['export-only']) {
    const ck = loadCheckpoint(runDir);
    const saved = (ck.config as { detector?: unknown } | null)?.detector;
    const cfgSaved = saved ? detectorConfigSchema.parse(saved) : cfg;
    console.log(`exporting step ${ck.step} from ${runDir}`);
    await exportChecked(pkgDir, cfgSaved, classes, ck.params, path.resolve(v.data), {
      command: `npm run train:detector -- --data ${v.data} --steps ${steps} --batch ${batch} --lr ${lr} (exported at step ${ck.step})`,
      history: formatHistory(checkpointHistory(ck)), dataset: path.resolve(v.data), trainItems: examples.length, steps: ck.step, batch, seed, lr, imagesSeen: ck.step * batch,
    });
    return 0;
  }

  const ac = new AbortController();
  const stop = () => {
    if (ac.signal.aborted) process.exit(130);
    console.error(`\nstopping: checkpointing${v.package === undefined || v['no-export'] ? '' : ' and exporting'} (signal again to quit now)`);
    ac.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  const runtime = new InThreadRuntime();
  const started = Date.now();
  const command = `npm run train:detector -- --data ${v.data} --run ${v.run ?? '.cache/detector-run'} --steps ${steps} --batch ${batch} --lr ${lr}` +
    `${v.limit ? ` --limit ${v.limit}` : ''}${v.tiny ? ' --tiny' : ''}${v.mosaic ? ` --mosaic ${v.mosaic}` : ''}${v.seed ? ` --seed ${seed}` : ''}`;
  const res = await trainDetector({
    runtime, config: cfg, command, examples, batch, steps, seed, runDir, resume: v.resume ?? false, mosaic: num(v.mosaic, 0.75, 'mosaic'),
    checkpointEvery: num(v['checkpoint-every'], 200, 'checkpoint-every'),
    schedule: { kind: 'cosine', peak: lr, warmup, total: steps, minRatio: 0.05 },
    meta: { classes: classes.length, data: path.resolve(v.data) },
    signal: ac.signal,
    onProgress: (p) => {
      if (p.step % 10 !== 0 && p.step !== p.totalSteps) return;
      const m = Object.entries(p.metrics).map(([k, x]) => `${k.replace('metric:', '')}=${x.toFixed(3)}`).join(' ');
      console.log(`step ${p.step}/${p.totalSteps} loss=${p.loss.toFixed(4)} ${m} lr=${p.lr.toExponential(2)} ${p.meanStepMs.toFixed(0)}ms/step eta=${Math.round(p.etaSeconds / 60)}min`);
    },
  });
  await runtime.close();
  const minutes = (Date.now() - started) / 60000;
  console.log(`trained to step ${res.step}${res.cancelled ? ' (stopped early)' : ''} in ${minutes.toFixed(1)} min, ${res.meanStepMs.toFixed(0)} ms/step; checkpoint ${res.checkpoint ?? '-'}`);
  if (v['no-export'] || !exportAfterStop(v.package, ac.signal.aborted && res.cancelled)) return 0;
  await exportChecked(pkgDir, cfg, classes, res.params, path.resolve(v.data), {
      command, history: formatHistory(res.history),
      mosaic: num(v.mosaic, 0.75, 'mosaic'), dataset: path.resolve(v.data), trainItems: examples.length, steps: res.step, batch, seed, lr,
      imagesSeen: res.step * batch, meanStepMs: Math.round(res.meanStepMs),
  });
  return 0;
}

/**
 * Writes the package with fp16 weights if they hold up: detections of fp16 and fp32 weights on up to
 * 100 val images must agree (same class, box IoU >= 0.9) on at least 99% of regions; else fp32.
 */
async function exportChecked(pkgDir: string, cfgIn: DetectorConfig, classes: string[], paramsIn: Record<string, Tensor>, data: string, trainingIn: Record<string, string | number>): Promise<void> {
  let cfg = cfgIn;
  let params = paramsIn;
  let training = trainingIn;
  if (protoImages > 0) {
    const { examples } = readDetectionSplit(data, classes, 'train', protoImages);
    const t0 = performance.now();
    const { prototypes, covered } = await imprintPrototypes(cfg, params, examples, (d, n) => {
      if (d % 250 === 0 || d === n) console.log(`imprinting prototypes: ${d}/${n} images`);
    });
    console.log(`prototypes for ${covered} of ${classes.length} classes from ${examples.length} train images in ${((performance.now() - t0) / 1000).toFixed(0)}s`);
    cfg = { ...cfg, prototypes: true };
    params = { ...params, 'head.proto.weight': { dtype: 'float32', dims: [shapesOf(cfg).featureDim, cfg.numClasses], data: prototypes } };
    training = { ...training, prototypeImages: examples.length, prototypeClasses: covered };
  }
  const tmp = mkdtempSync(path.join(tmpdir(), 'detector-fp32-'));
  try {
    writeDetector(tmp, cfg, classes, params, { storage: 'float32' });
    const { examples: val } = readDetectionSplit(data, classes, 'val', 100);
    writeDetector(pkgDir, cfg, classes, params, { storage: 'float16', training });
    const [a, b] = [await RegionDetector.load(tmp), await RegionDetector.load(pkgDir)];
    let same = 0;
    let total = 0;
    try {
      for (const ex of val) {
        const bytes = await ex.read();
        const ra = await a.detect(bytes);
        const rb = await b.detect(bytes);
        total += Math.max(ra.length, rb.length);
        for (const r of ra) if (rb.some((q) => q.classId === r.classId && iou(q.box, 0, r.box, 0) >= 0.9)) same++;
      }
    } finally {
      await a.dispose();
      await b.dispose();
    }
    const agree = total ? same / total : 1;
    console.log(`fp16 vs fp32 on ${val.length} val images: ${(100 * agree).toFixed(1)}% of ${total} regions agree`);
    if (agree < 0.99) {
      writeDetector(pkgDir, cfg, classes, params, { storage: 'float32', training: { ...training, storageNote: `fp16 agreed on ${(100 * agree).toFixed(1)}% only` } });
      console.log(`wrote the detector (fp32) into ${pkgDir}`);
    } else {
      writeDetector(pkgDir, cfg, classes, params, { storage: 'float16', training: { ...training, fp16Agreement: +agree.toFixed(4) } });
      console.log(`wrote the detector (fp16) into ${pkgDir}`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().then((c) => {
  process.exitCode = c;
}, (e: unknown) => {
  console.error(e instanceof Error ? e.stack ?? e.message : String(e));
  process.exitCode = 1;
});
