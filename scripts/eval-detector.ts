// npm run eval:detector [-- --data DIR --package DIR --limit N --record]
// Runs the packaged detector through tasks/detect-regions.ts (exactly what the CLI and the app run) on
// EmojiScenes test5k and novel; prints per-class AP50/recall, overall figures, and as the LAST line:
//   mAP50=<x> mAP50_95=<y> recall50=<z> ms_per_image=<median CPU latency, 2 threads>   (test5k)
// Latency is per image from PNG bytes to regions (decode, letterbox, both graphs, post-processing).
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readDetectionSplit, type DetectionExample } from '../native-models/detector/data';
import { recordDetectorMetrics } from '../native-models/detector/export';
import { evaluateDetections, type DetectionMetrics, type EvalImage } from '../native-models/detector/metrics';
import { defaultPackageDir } from '../native-models/packages/format';
import { RegionDetector, type DetectOptions } from '../native-models/tasks/detect-regions';

const USAGE = `Usage: npm run eval:detector -- [--data DIR] [--package DIR] [--splits test5k,novel] [--limit N]
  [--threshold X] [--max K] [--record] [--quiet]

  --data DIR       dataset folder (default /work/data/emojiscenes)
  --splits LIST    splits to evaluate; the last line reports the FIRST (default test5k,novel)
  --limit N        at most N items per split
  --threshold X    smallest objectness of a detection (default 0.05); --max K regions (default 10).
                   Detections are ranked per class by their class probability for AP.
  --record         write the figures into the package manifest
  --quiet          no per-class lines`;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};

async function evalSplit(det: RegionDetector, examples: DetectionExample[], opts: DetectOptions): Promise<{ m: DetectionMetrics; ms: number[] }> {
  const images: EvalImage[] = [];
  const ms: number[] = [];
  for (const ex of examples) {
    const bytes = await ex.read();
    const t0 = performance.now();
    const regions = await det.detect(bytes, opts, ex.id);
    ms.push(performance.now() - t0);
    images.push({
      gt: ex.boxes.map((b, i) => ({ box: b, classId: ex.classes[i] })),
      dets: regions.map((r) => ({ box: r.box, classId: r.classId, score: r.score })),
    });
  }
  return { m: evaluateDetections(images), ms };
}

const f3 = (x: number) => x.toFixed(3);

async function main(): Promise<number> {
  process.env.OPT_PROVIDERS ??= 'cpu';
  const { values: v } = parseArgs({
    options: {
      data: { type: 'string' }, package: { type: 'string' }, splits: { type: 'string' }, limit: { type: 'string' },
      threshold: { type: 'string' }, max: { type: 'string' }, record: { type: 'boolean' }, quiet: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) {
    console.log(USAGE);
    return 0;
  }
  const data = path.resolve(v.data ?? '/work/data/emojiscenes');
  const pkgDir = path.resolve(v.package ?? defaultPackageDir());
  const splits = (v.splits ?? 'test5k,novel').split(',').map((s) => s.trim()).filter(Boolean);
  const limit = v.limit ? Number(v.limit) : Infinity;
  const opts: DetectOptions = { minObjectness: v.threshold ? Number(v.threshold) : 0.05, scoreThreshold: 0, maxRegions: v.max ? Number(v.max) : 10 };
  const det = await RegionDetector.load(pkgDir, { threads: 2 });
  const results: { split: string; m: DetectionMetrics; ms: number; n: number }[] = [];
  try {
    for (const split of splits) {
      const { examples, skipped } = readDetectionSplit(data, det.classes, split, limit);
      if (examples.length === 0) throw new Error(`${data}: split "${split}" has no items with known labels`);
      const { m, ms } = await evalSplit(det, examples, opts);
      results.push({ split, m, ms: median(ms), n: examples.length });
      if (!v.quiet) {
        console.log(`== ${split}: per class (classId label gt AP50 AP50:95 recall50)`);
        for (const r of [...m.perClass].sort((a, b) => b.ap50 - a.ap50 || a.classId - b.classId)) {
          console.log(`${split} class ${r.classId} "${det.classes[r.classId]}" gt=${r.gt} AP50=${f3(r.ap50)} AP50_95=${f3(r.ap50_95)} recall50=${f3(r.recall50)}`);
        }
      }
      console.log(`== ${split}: ${examples.length} images${skipped ? ` (${skipped} skipped: unknown labels)` : ''}, ${m.perClass.length} classes with ground truth: ` +
        `mAP50=${f3(m.mAP50)} mAP50_95=${f3(m.mAP50_95)} recall50=${f3(m.recall50)} recall50_any_class=${f3(m.recall50AnyClass)} ` +
        `class_accuracy=${f3(m.classAccuracy)} ms_per_image=${median(ms).toFixed(1)}`);
    }
  } finally {
    await det.dispose();
  }
  if (v.record) {
    const rec: Record<string, number | string> = { command: `npm run eval:detector -- --data ${data}${v.limit ? ` --limit ${v.limit}` : ''}`, minObjectness: opts.minObjectness ?? 0.05, maxRegions: opts.maxRegions ?? 10 };
    for (const r of results) {
      Object.assign(rec, {
        [`${r.split}.images`]: r.n, [`${r.split}.mAP50`]: +f3(r.m.mAP50), [`${r.split}.mAP50_95`]: +f3(r.m.mAP50_95),
        [`${r.split}.recall50`]: +f3(r.m.recall50), [`${r.split}.recall50AnyClass`]: +f3(r.m.recall50AnyClass),
        [`${r.split}.classAccuracy`]: +f3(r.m.classAccuracy), [`${r.split}.msPerImage`]: +r.ms.toFixed(1),
      });
    }
    recordDetectorMetrics(pkgDir, rec);
  }
  const main0 = results[0];
  console.log(`mAP50=${f3(main0.m.mAP50)} mAP50_95=${f3(main0.m.mAP50_95)} recall50=${f3(main0.m.recall50)} ms_per_image=${main0.ms.toFixed(1)}`);
  return 0;
}

main().then((c) => {
  process.exitCode = c;
}, (e: unknown) => {
  console.error(e instanceof Error ? e.stack ?? e.message : String(e));
  process.exitCode = 1;
});
