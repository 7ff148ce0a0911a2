// Evaluates the packaged dVAE on a dataset split (default test5k): PSNR, SSIM, code usage (share of the
// codebook used and perplexity), and ms per image for encode+decode at 2 threads. Writes the figures into
// the package's component metrics, and optionally a grid PNG of originals beside reconstructions.
//   npm run eval:dvae -- --data /work/data/emojiscenes [--grid docs/dvae-recon.png]
// LAST line: psnr=<dB> ssim=<x> code_usage=<share> ms_per_image=<ms>
import { parseArgs } from 'node:util';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Dvae } from '../native-models/dvae/codec';
import { loadSplit } from '../native-models/dvae/data';
import { planarToRgb, toPlanar } from '../native-models/dvae/pixels';
import { codeUsage, psnr, ssim } from '../native-models/dvae/metrics';
import { setDvaeMetrics } from '../native-models/dvae/codec';
import { encodePng } from '../native-models/data/demo/raster';
import { backgroundKindInCaption } from '../native-models/data/demo/scene';
import { readManifest } from '../native-models/data/demo/create';
import { DatasetStore } from '../native-models/data/store/index';
import { defaultPackageDir } from '../native-models/packages/format';

const USAGE = `Usage: npm run eval:dvae -- --data DIR [--split test5k] [--limit N] [--package DIR] [--grid FILE.png] [--no-write]
  --data DIR      dataset folder
  --split NAME    split to evaluate (default test5k)
  --limit N       at most N images (default: all of the split)
  --package DIR   model package (default: the shipped default package)
  --threads N     ORT threads (default 2)
  --grid FILE     also write a PNG: rows of originals above their reconstructions (first 16 images, 2x)
  --no-write      do not store the figures in the package's manifest`;

const { values: a } = parseArgs({
  options: {
    data: { type: 'string' }, split: { type: 'string' }, limit: { type: 'string' }, package: { type: 'string' },
    threads: { type: 'string' }, grid: { type: 'string' }, 'no-write': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
  },
  strict: true,
});
if (a.help || !a.data) {
  console.log(USAGE);
  process.exit(a.help ? 0 : 2);
}
const split = a.split ?? 'test5k';
const pkg = resolve(a.package ?? defaultPackageDir());
const threads = Number(a.threads ?? 2);
const set = await loadSplit(resolve(a.data), split, { limit: a.limit ? Number(a.limit) : undefined });
// An EmojiScenes item's first caption (the narrative) names its background (solid, gradient, stripes, ...): figures
// per kind show where the error is. Only for EmojiScenes datasets (their other captions carry object keywords such
// as a zebra's "stripes", so only the narrative is read).
const kinds: (string | undefined)[] = [];
if (readManifest(resolve(a.data)) !== undefined) {
  const store = DatasetStore.open(resolve(a.data));
  for (const id of set.ids) kinds.push(backgroundKindInCaption(store.getItem(id).captions[0]?.text ?? ''));
  store.close();
}
const perKind = new Map<string, { images: number; psnr: number; ssim: number }>();
const dvae = await Dvae.load(pkg, { intraOpThreads: threads });
const { imageSize: s, codebookSize: k } = dvae.config;
console.log(`dvae: ${k} codes, ${dvae.grid}x${dvae.grid} grid, ${dvae.config.storage} weights; ${split}: ${set.count} images; ${threads} threads`);

const counts = new Array<number>(k).fill(0);
let psnrSum = 0;
let ssimSum = 0;
let ms = 0;
const recons: Float32Array[] = [];
// Warm-up (first runs allocate), not timed.
for (let i = 0; i < Math.min(3, set.count); i++) await dvae.decode(await dvae.encode(toPlanar(set, [i], 0)));
for (let i = 0; i < set.count; i++) {
  const x = toPlanar(set, [i], 0);
  const t = performance.now();
  const codes = await dvae.encode(x);
  const y = await dvae.decode(codes);
  ms += performance.now() - t;
  for (const c of codes) counts[Number(c)]++;
  const p = psnr(x, y);
  const q = ssim(x, y, s);
  psnrSum += p;
  ssimSum += q;
  const kind = kinds[i];
  if (kind) {
    const e = perKind.get(kind) ?? { images: 0, psnr: 0, ssim: 0 };
    perKind.set(kind, { images: e.images + 1, psnr: e.psnr + p, ssim: e.ssim + q });
  }
  if (i < 16) recons.push(y);
  if (i % 1000 === 999) console.log(`  ${i + 1}/${set.count}: psnr ${(psnrSum / (i + 1)).toFixed(2)} ssim ${(ssimSum / (i + 1)).toFixed(4)}`);
}
await dvae.dispose();
const n = set.count;
const usage = codeUsage(counts);
const figures = {
  psnr: +(psnrSum / n).toFixed(2), ssim: +(ssimSum / n).toFixed(4), code_usage: +usage.share.toFixed(4),
  perplexity: +usage.perplexity.toFixed(1), ms_per_image: +(ms / n).toFixed(2),
};
const byBackground = Object.fromEntries([...perKind].sort(([x], [y]) => (x < y ? -1 : 1))
  .map(([kind, e]) => [kind, { images: e.images, psnr: +(e.psnr / e.images).toFixed(2), ssim: +(e.ssim / e.images).toFixed(4) }]));
if (perKind.size) {
  console.log('by background (EmojiScenes captions):');
  for (const [kind, e] of Object.entries(byBackground)) console.log(`  ${kind.padEnd(9)} ${String(e.images).padStart(5)} images  psnr ${e.psnr.toFixed(2)}  ssim ${e.ssim.toFixed(4)}`);
}
console.log(`codes used ${usage.used}/${k} (${(usage.share * 100).toFixed(1)}%), perplexity ${usage.perplexity.toFixed(1)}`);

if (a.grid) {
  // Blocks of 8 columns: a row of originals, below it their reconstructions; each image scaled 2x.
  const cols = 8;
  const z = 2;
  const cell = s * z;
  const m = Math.min(16, n);
  const blocks = Math.ceil(m / cols);
  const gap = 4;
  const w = cols * cell + (cols - 1) * gap;
  const h = blocks * 2 * cell + (blocks * 2 - 1) * gap;
  const out = new Uint8Array(w * h * 3).fill(255);
  const put = (rgb: Uint8Array, x0: number, y0: number) => {
    for (let y = 0; y < cell; y++) {
      for (let x = 0; x < cell; x++) {
        const src = (Math.floor(y / z) * s + Math.floor(x / z)) * 3;
        const dst = ((y0 + y) * w + x0 + x) * 3;
        out[dst] = rgb[src];
        out[dst + 1] = rgb[src + 1];
        out[dst + 2] = rgb[src + 2];
      }
    }
  };
  for (let i = 0; i < m; i++) {
    const bx = (i % cols) * (cell + gap);
    const by = Math.floor(i / cols) * 2 * (cell + gap);
    put(set.rgb.subarray(i * s * s * 3, (i + 1) * s * s * 3), bx, by);
    put(planarToRgb(recons[i], s), bx, by + cell + gap);
  }
  mkdirSync(dirname(resolve(a.grid)), { recursive: true });
  writeFileSync(resolve(a.grid), encodePng(out, w, h));
  console.log(`grid: ${a.grid} (${m} originals, each above its reconstruction)`);
}
if (!a['no-write']) {
  setDvaeMetrics(pkg, { ...figures, split, images: n, threads, ...Object.fromEntries(Object.entries(byBackground).flatMap(([kind, e]) =>
    [[`bg_${kind}_images`, e.images], [`bg_${kind}_psnr`, e.psnr], [`bg_${kind}_ssim`, e.ssim]])), command: `npm run eval:dvae -- --data ${a.data}${a.split ? ` --split ${split}` : ''}` });
}
console.log(`psnr=${figures.psnr} ssim=${figures.ssim} code_usage=${figures.code_usage} ms_per_image=${figures.ms_per_image}`);
