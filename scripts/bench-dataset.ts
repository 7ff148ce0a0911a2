// Benchmark of the dataset store at grid scale: inserts N items' metadata (default 50,000; images
// are 64 shared tiny generated blobs, so the figures measure the database, not sharp), then times
// the grid's queries and a full scroll, printing medians. The text filter is compared with a
// plain LIKE scan over the same captions (the peer an index has to beat), measured in the same run.
//
// It ends with a real import of generated 640x480 JPEGs (decode, thumbnail, fsynced blobs, batched
// transactions) to show import throughput.
//
//   npm run bench:dataset [-- --items 50000 --runs 25 --import 300 --keep]

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import Database from 'better-sqlite3';
import { writeWav } from '../native-models/data/audio';
import { importDataset } from '../native-models/data/formats';
import { DatasetStore, type PreparedItem, type Query } from '../native-models/data/store';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const N = arg('items', 50_000);
const RUNS = arg('runs', 25);
const IMPORT = arg('import', 300);
const KEEP = process.argv.includes('--keep');

const WORDS = ('a the dog cat man woman child horse car bus street tree table plate food red blue green small large ' +
  'sitting standing riding holding next to on in with near front of white black wooden grass field beach water sky ' +
  'building window person people group bicycle train kitchen pizza umbrella phone computer snow mountain boat bird').split(' ');

let seed = 42;
const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
const pick = <T>(a: T[]) => a[Math.floor(rand() * a.length)];
const sentence = () => Array.from({ length: 6 + Math.floor(rand() * 10) }, () => pick(WORDS)).join(' ');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function time(fn: () => unknown, runs = RUNS): number {
  fn(); // warm the statement and page caches
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    t.push(performance.now() - t0);
  }
  return median(t);
}

const fmt = (ms: number) => `${ms < 10 ? ms.toFixed(2) : ms.toFixed(1)} ms`;

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opt-bench-'));
  const store = DatasetStore.create(path.join(dir, 'ds'), { name: 'bench' });
  console.log(`dataset store benchmark: ${N} items, median of ${RUNS} runs, ${os.cpus()[0]?.model ?? 'cpu'} (${os.cpus().length} cores)`);

  const images = [];
  for (let i = 0; i < 64; i++) {
    const png = await sharp({ create: { width: 32, height: 24, channels: 3, background: { r: i * 4, g: 255 - i * 4, b: (i * 37) % 256 } } }).png().toBuffer();
    images.push(await store.prepareImage(png, `gen${i}.png`));
  }
  const wav = store.prepareSpoken({ wav: writeWav({ sampleRate: 16000, channels: [new Float32Array(16000)] }), durationS: 1, trace: [[{ x: 0.5, y: 0.5, t: 0 }]] });

  const BATCH = 1000;
  const t0 = performance.now();
  for (let done = 0; done < N; done += BATCH) {
    const batch: PreparedItem[] = [];
    for (let i = done; i < Math.min(N, done + BATCH); i++) {
      const r = rand();
      batch.push({
        image: images[i % images.length],
        fileName: `img${i}.png`,
        split: r < 0.8 ? 'train' : r < 0.9 ? 'val' : 'test',
        captions: Array.from({ length: 1 + Math.floor(rand() * 3) }, () => ({ text: sentence() })),
        // A rare word on 1% of items, for a selective filter.
        ...(i % 100 === 7 ? { captions: [{ text: `${sentence()} zebra` }] } : {}),
        spoken: rand() < 0.2 ? [wav] : [],
        regions: rand() < 0.3 ? [{ box: [0.1, 0.1, 0.6, 0.7], label: pick(WORDS) }] : [],
      });
    }
    store.insertItems(batch);
  }
  const insertMs = performance.now() - t0;
  console.log(`insert: ${N} items in ${(insertMs / 1000).toFixed(1)} s (${Math.round(N / (insertMs / 1000))} items/s, transactions of ${BATCH})`);
  const size = fs.statSync(path.join(store.dir, 'dataset.sqlite')).size + (fs.statSync(path.join(store.dir, 'dataset.sqlite-wal'), { throwIfNoEntry: false })?.size ?? 0);
  console.log(`database size: ${(size / 1e6).toFixed(1)} MB\n`);

  const PAGE = 100;
  const q = (extra: Partial<Query>) => () => store.query({ offset: 0, limit: PAGE, ...extra });
  const rows: [string, () => unknown][] = [
    ['first page (100)', q({})],
    ['offset 25,000', q({ offset: 25_000 })],
    ['offset 49,900 (last page)', q({ offset: N - PAGE })],
    ['split = val', q({ split: 'val' })],
    ['split = val, offset 4,000', q({ split: 'val', offset: 4000 })],
    ['has spoken', q({ hasSpoken: true })],
    ['has regions, offset 10,000', q({ hasRegions: true, offset: 10_000 })],
    ['text "horse" (common)', q({ text: 'horse' })],
    ['text "zebra" (rare, 1%)', q({ text: 'zebra' })],
    ['text "riding a horse"', q({ text: 'riding a horse' })],
    ['text "ca" (2 chars: LIKE scan)', q({ text: 'ca' })],
    ['text "zebra" + val + spoken', q({ text: 'zebra', split: 'val', hasSpoken: true })],
  ];
  console.log('grid query (count + one page of 100)'.padEnd(44), 'median');
  for (const [name, fn] of rows) console.log(`  ${name.padEnd(42)}${fmt(time(fn))}`);
  // A text filter's hit set is cached until the next write; these force a miss every time
  // (another text first), so they show what typing a new filter costs.
  for (const text of ['horse', 'zebra', 'ca']) {
    const other = () => store.query({ text: 'qqqq', offset: 0, limit: 1 });
    const cold = time(() => { other(); store.query({ text, offset: 0, limit: PAGE }); }) - time(other);
    console.log(`  ${`text "${text}", uncached (new filter)`.padEnd(42)}${fmt(cold)}`);
  }

  const ids = store.query({ offset: 0, limit: 1000 }).items.map((s) => s.id);
  let k = 0;
  console.log(`  ${'getItem (full item)'.padEnd(42)}${fmt(time(() => store.getItem(ids[k++ % ids.length]), RUNS * 4))}`);

  // Scrolling: the grid asks for consecutive windows while the user scrolls through everything.
  const pageTimes: number[] = [];
  const s0 = performance.now();
  for (let off = 0; off < N; off += PAGE) {
    const t = performance.now();
    store.query({ offset: off, limit: PAGE });
    pageTimes.push(performance.now() - t);
  }
  const scrollMs = performance.now() - s0;
  console.log(`\nscroll through all ${N} items, pages of ${PAGE}: median ${fmt(median(pageTimes))} per page, ` +
    `max ${fmt(Math.max(...pageTimes))}, total ${(scrollMs / 1000).toFixed(2)} s`);
  const filtered: number[] = [];
  const total = store.query({ text: 'horse', offset: 0, limit: 0 }).total;
  for (let off = 0; off < total; off += PAGE * 10) {
    const t = performance.now();
    store.query({ text: 'horse', offset: off, limit: PAGE });
    filtered.push(performance.now() - t);
  }
  console.log(`scroll a text filter ("horse", ${total} hits), every 10th page: median ${fmt(median(filtered))} per page`);

  // Peer: the same text filter as a LIKE scan over all captions, no index (same data, same run).
  store.close();
  const db = new Database(path.join(dir, 'ds', 'dataset.sqlite'), { readonly: true });
  const like = db.prepare(`SELECT COUNT(*) FROM items i WHERE i.id IN (SELECT item_id FROM captions WHERE text LIKE ?)`).pluck();
  const fts = db.prepare(`SELECT COUNT(*) FROM items i WHERE i.id IN (SELECT c.item_id FROM captions c WHERE c.seq IN (SELECT rowid FROM captions_fts WHERE captions_fts MATCH ?))`).pluck();
  for (const word of ['zebra', 'horse']) {
    const a = time(() => like.get(`%${word}%`));
    const b = time(() => fts.get(`"${word}"`));
    if (like.get(`%${word}%`) !== fts.get(`"${word}"`)) throw new Error(`FTS and LIKE disagree on ${word}`);
    console.log(`count "${word}": FTS5 trigram ${fmt(b)} vs LIKE scan ${fmt(a)}  (${(a / b).toFixed(1)}x faster)`);
  }
  db.close();

  if (IMPORT > 0) {
    const src = path.join(dir, 'jpegs');
    fs.mkdirSync(src);
    for (let i = 0; i < IMPORT; i++) {
      const px = Buffer.alloc(640 * 480 * 3);
      for (let j = 0; j < px.length; j++) px[j] = ((j % 1920) * (i + 1) + (j / 1920) * 3) & 255;
      px.fill(i & 255, 0, 3 * 640 * 16); // a distinct band per image, so none is a duplicate
      px.fill(i >> 8, 3 * 640 * 16, 3 * 640 * 32);
      fs.writeFileSync(path.join(src, `p${i}.jpg`), await sharp(px, { raw: { width: 640, height: 480, channels: 3 } }).jpeg({ quality: 85 }).toBuffer());
      fs.writeFileSync(path.join(src, `p${i}.txt`), sentence());
    }
    const target = DatasetStore.create(path.join(dir, 'imp'), { name: 'import' });
    const t1 = performance.now();
    const rep = await importDataset(target, 'folder', src);
    const s = (performance.now() - t1) / 1000;
    console.log(`\nimport of ${rep.imported} (duplicates ${rep.duplicates}, skipped ${rep.skipped.length}) generated 640x480 JPEGs + captions (folder format): ${s.toFixed(2)} s, ${Math.round(rep.imported / s)} items/s`);
    target.close();
  }
  if (KEEP) console.log(`\nkept: ${dir}`);
  else fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
