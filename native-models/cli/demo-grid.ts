// `demo-grid`: a picture of a few EmojiScenes items (boxes and labels drawn on) plus their captions,
// for the README. Not part of the dataset: made here with sharp, no speech.

import fs from 'node:fs';
import path from 'node:path';
import sharp, { type OverlayOptions } from 'sharp';
import { loadCatalog } from '../data/demo/catalog';
import { generateItem, makePlan, Workshop } from '../data/demo/generate';
import { IMAGE_SIZE } from '../data/demo/scene';
import { defaultSplitSizes } from '../data/demo/splits';
import { intOption, parseOptions, UsageError } from './args';
import type { Command } from './main';

const USAGE = `Usage: npm run cli -- demo-grid --out FILE.png [--count N] [--cols C] [--seed S] [--first I]

Draws items I..I+N-1 of the EmojiScenes dataset with the given seed (as made by demo-data with
--size 5000) in a grid with their region boxes and labels, and prints their first two captions.`;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export const demoGridCommand: Command = {
  summary: 'draw example EmojiScenes items (boxes, labels) into a PNG grid and print their captions',
  usage: USAGE,
  async run(argv) {
    try {
      const o = parseOptions(argv, { out: { type: 'string' }, count: { type: 'string' }, cols: { type: 'string' }, seed: { type: 'string' }, first: { type: 'string' } });
      if (!o.out) throw new UsageError('--out is required');
      const count = intOption(o.count, 'count', 1, 64, 8);
      const cols = intOption(o.cols, 'cols', 1, 16, 4);
      const seed = intOption(o.seed, 'seed', 0, 0xffffffff, 1);
      const first = intOption(o.first, 'first', 0, 4999, 0);
      const catalog = loadCatalog();
      const size = 5000;
      const plan = makePlan({ seed, size, splitSizes: defaultSplitSizes(size), classes: catalog.map((c) => c.index), speech: false });
      const ws = new Workshop();
      const pad = 8;
      const rows = Math.ceil(count / cols);
      const tiles: OverlayOptions[] = [];
      for (let k = 0; k < count; k++) {
        const it = await generateItem(plan, first + k, ws);
        const boxes = it.regions.map((r) => {
          const [x0, y0, x1, y1] = r.box.map((v) => v * IMAGE_SIZE);
          return `<rect x="${x0}" y="${y0}" width="${x1 - x0}" height="${y1 - y0}" fill="none" stroke="#ff2d55" stroke-width="2"/>` +
            `<rect x="${x0}" y="${Math.max(0, y0 - 13)}" width="${Math.min(IMAGE_SIZE - x0, 6.2 * r.label.length + 6)}" height="13" fill="#ff2d55"/>` +
            `<text x="${x0 + 3}" y="${Math.max(0, y0 - 13) + 10}" font-family="DejaVu Sans, sans-serif" font-size="10" fill="#fff">${esc(r.label)}</text>`;
        }).join('');
        const svg = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${IMAGE_SIZE}" height="${IMAGE_SIZE}">${boxes}</svg>`);
        const tile = await sharp(it.png).composite([{ input: svg }]).png().toBuffer();
        tiles.push({ input: tile, left: pad + (k % cols) * (IMAGE_SIZE + pad), top: pad + Math.floor(k / cols) * (IMAGE_SIZE + pad) });
        console.log(`${first + k} [${it.split}] ${it.regions.map((r) => r.label).join(', ')}`);
        for (const c of it.captions.slice(0, 2)) console.log(`    ${c}`);
      }
      const width = pad + cols * (IMAGE_SIZE + pad);
      const height = pad + rows * (IMAGE_SIZE + pad);
      fs.mkdirSync(path.dirname(path.resolve(o.out)), { recursive: true });
      await sharp({ create: { width, height, channels: 3, background: '#ffffff' } }).composite(tiles).png({ compressionLevel: 9 }).toFile(o.out);
      console.log(`wrote ${o.out} (${width}x${height})`);
      return 0;
    } catch (e) {
      if (e instanceof UsageError) {
        console.error(`demo-grid: ${e.message}\n\n${USAGE}`);
        return 2;
      }
      throw e;
    }
  },
};
