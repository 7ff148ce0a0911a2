// `detect`: the regions of any image file through the packaged Faster R-CNN (tasks/detect-regions.ts),
// printed one per line (or as JSON), optionally drawn onto a copy of the image.

import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { DatasetError } from '../data/store/errors';
import { PackageError } from '../packages/format';
import { DEFAULT_DETECT, RegionDetector, type DetectedRegion } from '../tasks/detect-regions';
import { intOption, parseFileCommand, UsageError } from './args';
import type { Command } from './main';

const USAGE = `Usage: npm run cli -- detect IMAGE [--out boxed.png] [options]

Runs the region detector (a Faster R-CNN) on IMAGE (png, jpeg, webp or gif; any size: it is
letterboxed to the 256x256 input) and prints up to K regions, most object-like first: class,
class probability, objectness (1 - p(background)), box normalised to the image as
[x0, y0, x1, y1], and the top-5 classes.

Options:
  --out FILE        also write the image with the boxes and labels drawn (PNG)
  --max K           most regions (default ${DEFAULT_DETECT.maxRegions})
  --threshold X     smallest objectness, 0..1 (default ${DEFAULT_DETECT.minObjectness})
  --min-score X     smallest class probability, 0..1 (default ${DEFAULT_DETECT.scoreThreshold})
  --json            print JSON (regions with top5; add --features for the region feature vectors)
  --features        include feature vectors in --json output
  --package DIR     model package (default: native-models/packages/default)`;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const COLOURS = ['#ff2d55', '#007aff', '#34c759', '#ff9500', '#af52de', '#5ac8fa', '#ffcc00', '#ff3b30', '#5856d6', '#00c7be'];

/** Draws regions onto the image (boxes and "label 0.93" tags), returns PNG bytes. */
export async function drawRegions(image: Uint8Array, regions: readonly DetectedRegion[]): Promise<Buffer> {
  const img = sharp(image).rotate();
  const meta = await img.metadata();
  const swap = (meta.orientation ?? 1) >= 5;
  const w = (swap ? meta.height : meta.width) ?? 1;
  const h = (swap ? meta.width : meta.height) ?? 1;
  const fs0 = Math.max(10, Math.round(Math.max(w, h) / 40));
  const body = regions.map((r, i) => {
    const c = COLOURS[i % COLOURS.length];
    const [x0, y0, x1, y1] = [r.box[0] * w, r.box[1] * h, r.box[2] * w, r.box[3] * h];
    const text = `${r.label} ${r.score.toFixed(2)}`;
    const ty = Math.max(0, y0 - fs0 - 3);
    return `<rect x="${x0}" y="${y0}" width="${x1 - x0}" height="${y1 - y0}" fill="none" stroke="${c}" stroke-width="${Math.max(2, fs0 / 5)}"/>` +
      `<rect x="${x0}" y="${ty}" width="${Math.min(w - x0, 0.62 * fs0 * text.length + 6)}" height="${fs0 + 3}" fill="${c}"/>` +
      `<text x="${x0 + 3}" y="${ty + fs0}" font-family="DejaVu Sans, sans-serif" font-size="${fs0}" fill="#fff">${esc(text)}</text>`;
  }).join('');
  const svg = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">${body}</svg>`);
  return img.composite([{ input: svg }]).png().toBuffer();
}

export const detectCommand: Command = {
  summary: 'print the regions (boxes, classes, confidences) the detector finds in an image; --out draws them',
  usage: USAGE,
  async run(argv) {
    let det: RegionDetector | undefined;
    try {
      const { o, file } = parseFileCommand(argv, {
        out: { type: 'string' }, max: { type: 'string' }, threshold: { type: 'string' }, 'min-score': { type: 'string' }, json: { type: 'boolean' }, features: { type: 'boolean' }, package: { type: 'string' },
      }, 'IMAGE file');
      const maxRegions = intOption(o.max, 'max', 1, 1000, DEFAULT_DETECT.maxRegions);
      const unit = (x: string | undefined, name: string, d: number) => {
        const n = x === undefined ? d : Number(x);
        if (!(n >= 0 && n <= 1)) throw new UsageError(`--${name} must be a number from 0 to 1, got "${x}"`);
        return n;
      };
      const minObjectness = unit(o.threshold, 'threshold', DEFAULT_DETECT.minObjectness);
      const scoreThreshold = unit(o['min-score'], 'min-score', DEFAULT_DETECT.scoreThreshold);
      if (!fs.existsSync(file)) throw new UsageError(`${file}: no such file`);
      const bytes = fs.readFileSync(file);
      det = await RegionDetector.load(o.package ? path.resolve(o.package) : undefined);
      const regions = await det.detect(bytes, { maxRegions, minObjectness, scoreThreshold }, file);
      if (o.json) {
        console.log(JSON.stringify(regions.map((r) => ({ ...r, feature: o.features ? Array.from(r.feature) : undefined })), null, 2));
      } else {
        console.log(`${file}: ${regions.length} region${regions.length === 1 ? '' : 's'} (feature dim ${det.featureDim})`);
        regions.forEach((r, i) => {
          console.log(`${String(i + 1).padStart(2)}. ${r.label} p=${r.score.toFixed(3)} objectness=${r.objectness.toFixed(3)} box=[${r.box.map((v) => v.toFixed(3)).join(', ')}]`);
          console.log(`    top5: ${r.top5.map((t) => `${t.label} ${t.score.toFixed(3)}`).join(' | ')}`);
        });
      }
      if (o.out) {
        fs.mkdirSync(path.dirname(path.resolve(o.out)), { recursive: true });
        fs.writeFileSync(o.out, await drawRegions(bytes, regions));
        if (!o.json) console.log(`wrote ${o.out}`);
      }
      return 0;
    } catch (e) {
      if (e instanceof UsageError) {
        console.error(`detect: ${e.message}\n\n${USAGE}`);
        return 2;
      }
      if (e instanceof DatasetError || e instanceof PackageError) {
        console.error(`detect: ${e.message}`);
        return 1;
      }
      throw e;
    } finally {
      await det?.dispose();
    }
  },
};
