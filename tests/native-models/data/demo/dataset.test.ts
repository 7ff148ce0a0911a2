// End-to-end checks of a tiny EmojiScenes dataset, read back through the dataset store.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DEMO_ASSETS_ENV, loadCatalog, plural, writeCatalogAssets } from '../../../../native-models/data/demo/catalog';
import { createDemoDataset, DemoError, generateDemoDataset, readImage64, readManifest, type DemoResult } from '../../../../native-models/data/demo/create';
import { SpeechError } from '../../../../native-models/data/demo/speech';
import { DatasetStore, Library, type Item } from '../../../../native-models/data/store';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'emojiscenes-test-'));
const SPLITS = { train: 6, val: 2, test5k: 2, novel: 2 };
const size = 12;
let a: DemoResult;
let items: Item[];

beforeAll(async () => {
  a = await generateDemoDataset(path.join(tmp, 'a'), { size, seed: 5, splitSizes: SPLITS, workers: 0 });
  const store = DatasetStore.open(path.join(tmp, 'a'));
  items = [...store.iterateItems()];
  store.close();
}, 120_000);

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function blobFiles(dir: string): string[] {
  const root = path.join(dir, 'blobs');
  return fs.readdirSync(root).filter((d) => d !== 'tmp').flatMap((d) => fs.readdirSync(path.join(root, d)).map((f) => d + f)).sort();
}

describe('EmojiScenes (tiny)', () => {
  test('completes as a dataset the store opens, with the digest as the last word', () => {
    expect(a.items).toBe(size);
    expect(a.digest).toMatch(/^[0-9a-f]{64}$/);
    const store = DatasetStore.open(path.join(tmp, 'a'));
    expect(store.info()).toMatchObject({ name: `EmojiScenes ${size} (seed 5)`, itemCount: size });
    store.close();
    expect(readManifest(path.join(tmp, 'a'))).toMatchObject({ status: 'complete', digest: a.digest, size, seed: 5 });
    const classes = readManifest(path.join(tmp, 'a'))?.classList ?? [];
    expect(classes.length).toBe(loadCatalog().length);
    expect(classes.find((c) => c.label === 'red apple')).toMatchObject({ superclass: 'food-fruit', emoji: '🍎' });
  });

  test('same seed and size: same digest and byte-identical files, with worker threads too', async () => {
    const b = await generateDemoDataset(path.join(tmp, 'b'), { size, seed: 5, splitSizes: SPLITS, workers: 2 });
    expect(b.digest).toBe(a.digest);
    expect(blobFiles(path.join(tmp, 'b'))).toEqual(blobFiles(path.join(tmp, 'a')));
  }, 120_000);

  test('another seed: another digest', async () => {
    const c = await generateDemoDataset(path.join(tmp, 'c'), { size, seed: 6, splitSizes: SPLITS, workers: 0, speech: false });
    expect(c.digest).not.toBe(a.digest);
  }, 60_000);

  test('from the catalog folder the packaged app ships ($OPT_DEMO_ASSETS): the same catalog and the same dataset', async () => {
    const assets = path.join(tmp, 'assets');
    const packages = loadCatalog();
    expect(writeCatalogAssets(assets)).toMatchObject({ classes: packages.length });
    expect(fs.readdirSync(assets).sort()).toEqual(['ATTRIBUTION.md', 'LICENSE-Apache-2.0.txt', 'LICENSE-emoji-datasource', 'LICENSE-emojilib', 'catalog.json', 'img']);
    const opts = { size: 6, seed: 9, splitSizes: { train: 3, val: 1, test5k: 1, novel: 1 }, speech: false } as const;
    const fromPackages = await generateDemoDataset(path.join(tmp, 'pk'), { ...opts, workers: 0 });
    process.env[DEMO_ASSETS_ENV] = path.relative(process.cwd(), assets);
    try {
      const shipped = loadCatalog();
      expect(shipped.map(({ pngPath, ...c }) => ({ ...c, image: path.basename(pngPath) })))
        .toEqual(packages.map(({ pngPath, ...c }) => ({ ...c, image: path.basename(pngPath) })));
      expect(shipped.every((c) => c.pngPath.startsWith(assets))).toBe(true);
      expect(fs.readFileSync(shipped[7].pngPath)).toEqual(fs.readFileSync(packages[7].pngPath));
      expect((await generateDemoDataset(path.join(tmp, 'as'), { ...opts, workers: 0 })).digest).toBe(fromPackages.digest);
      // Worker threads read the folder too: with every class drawn as the first one's image, both differ alike.
      const file = path.join(assets, 'catalog.json');
      const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { classes: { image: string }[] };
      fs.writeFileSync(file, JSON.stringify({ ...json, classes: json.classes.map((c) => ({ ...c, image: json.classes[0].image })) }));
      const one = await generateDemoDataset(path.join(tmp, 'one0'), { ...opts, workers: 0 });
      expect(one.digest).not.toBe(fromPackages.digest);
      expect((await generateDemoDataset(path.join(tmp, 'one2'), { ...opts, workers: 2 })).digest).toBe(one.digest);
      // A damaged folder fails with a message that names it.
      json.classes[3].image = '../../etc/passwd';
      fs.writeFileSync(file, JSON.stringify(json));
      expect(() => loadCatalog()).toThrow(/catalog.json: class 3 is malformed/);
      fs.writeFileSync(file, '{"format":"other"}');
      expect(() => loadCatalog()).toThrow(/catalog.json is not an EmojiScenes catalog/);
    } finally {
      delete process.env[DEMO_ASSETS_ENV];
    }
    expect(loadCatalog()).toEqual(packages);
  }, 60_000);

  test('images are 256x256 PNG with a 64x64 downscale; boxes lie inside the image', async () => {
    const image64 = readImage64(path.join(tmp, 'a'));
    const store = DatasetStore.open(path.join(tmp, 'a'));
    for (const it of items) {
      expect([it.width, it.height]).toEqual([256, 256]);
      const small = await sharp(store.getBlob(image64.get(it.image) as string)).metadata();
      expect([small.format, small.width, small.height]).toEqual(['png', 64, 64]);
      expect(it.regions.length).toBeGreaterThanOrEqual(1);
      expect(it.regions.length).toBeLessThanOrEqual(4);
      for (const r of it.regions) {
        const [x0, y0, x1, y1] = r.box;
        expect(0 <= x0 && x0 < x1 && x1 <= 1 && 0 <= y0 && y0 < y1 && y1 <= 1).toBe(true);
        expect(r.source).toBe('generated');
      }
    }
    store.close();
  });

  test('every object is named in every caption', () => {
    const byLabel = new Map(loadCatalog().map((c) => [c.label, c]));
    for (const it of items) {
      expect(it.captions.length).toBe(3);
      for (const cap of it.captions) {
        const text = cap.text.toLowerCase();
        for (const r of it.regions) {
          const names = (byLabel.get(r.label)?.names ?? []).flatMap((n) => [n, plural(n)]);
          expect(names.some((n) => text.includes(n)), `"${cap.text}" should name ${r.label}`).toBe(true);
        }
      }
    }
  });

  test('each item has a spoken narrative: 16 kHz WAV of plausible length, word timings and a trace', () => {
    const store = DatasetStore.open(path.join(tmp, 'a'));
    for (const it of items) {
      expect(it.spoken.length).toBe(1);
      const s = it.spoken[0];
      const wav = store.getBlob(s.wav);
      expect(wav.toString('ascii', 0, 4)).toBe('RIFF');
      expect(wav.readUInt16LE(22)).toBe(1); // mono
      expect(wav.readUInt32LE(24)).toBe(16000);
      expect(wav.readUInt16LE(34)).toBe(16);
      expect(wav.readUInt32LE(40) / 2 / 16000).toBeCloseTo(s.durationS, 6);
      const words = (s.transcript ?? '').split(/\s+/).length;
      expect(s.transcript).toBe(it.captions[0].text);
      expect(words / s.durationS).toBeGreaterThan(1); // 60 to 360 words per minute (eSpeak at 150-200 wpm)
      expect(words / s.durationS).toBeLessThan(6);
      const tc = s.timedCaption ?? [];
      expect(tc.length).toBe(words);
      for (let i = 1; i < tc.length; i++) expect(tc[i].startTime).toBeGreaterThanOrEqual(tc[i - 1].startTime);
      expect(tc[tc.length - 1].endTime).toBeLessThanOrEqual(s.durationS + 1e-9);
      const pts = s.trace.flat();
      expect(pts.length).toBeGreaterThan(10);
      expect(pts.every((p) => p.x >= 0 && p.x <= 1 && p.y >= 0 && p.y <= 1 && p.t >= 0 && p.t <= s.durationS + 1e-9)).toBe(true);
    }
    store.close();
  });

  test('the trace is over an object while its words are spoken', () => {
    const byLabel = new Map(loadCatalog().map((c) => [c.label, c]));
    let checked = 0;
    for (const it of items) {
      const s = it.spoken[0];
      const pts = s.trace.flat();
      for (const r of it.regions.filter((x, _, all) => all.filter((y) => y.label === x.label).length === 1)) {
        const names = byLabel.get(r.label)?.names ?? [];
        const tc = s.timedCaption ?? [];
        // the last word of the object's name in the narrative
        const i = tc.findIndex((w, k) => names.some((n) => {
          const ws = n.split(' ');
          return ws.every((x, j) => tc[k - ws.length + 1 + j]?.utterance.toLowerCase().replace(/[.,;]$/, '') === x);
        }));
        if (i < 0) continue;
        const mid = (tc[i].startTime + tc[i].endTime) / 2;
        const p = pts.reduce((best, q) => (Math.abs(q.t - mid) < Math.abs(best.t - mid) ? q : best));
        const [x0, y0, x1, y1] = r.box;
        expect(p.x >= x0 - 0.02 && p.x <= x1 + 0.02 && p.y >= y0 - 0.02 && p.y <= y1 + 0.02, `${r.label} at t=${mid}`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(size / 2);
  });

  test('splits are disjoint and sized; novel pairs never occur together in train', () => {
    const bySplit = new Map<string, Item[]>();
    for (const it of items) bySplit.set(it.split, [...(bySplit.get(it.split) ?? []), it]);
    expect(Object.fromEntries([...bySplit].map(([k, v]) => [k, v.length]))).toEqual(SPLITS);
    const images = [...bySplit.values()].map((v) => new Set(v.map((x) => x.image)));
    expect(images.reduce((n, s) => n + s.size, 0)).toBe(new Set(items.map((x) => x.image)).size);
    const m = readManifest(path.join(tmp, 'a'));
    const held = new Set((m?.heldOutPairs ?? []).map(([x, y]) => [x, y].sort().join('|')));
    expect(held.size).toBeGreaterThan(0);
    for (const it of bySplit.get('novel') ?? []) {
      const labels = [...new Set(it.regions.map((r) => r.label))].sort();
      expect(labels.length).toBe(2);
      expect(held.has(labels.join('|'))).toBe(true);
    }
    for (const split of ['train', 'val', 'test5k']) {
      for (const it of bySplit.get(split) ?? []) {
        const labels = it.regions.map((r) => r.label);
        for (const x of labels) for (const y of labels) if (x !== y) expect(held.has([x, y].sort().join('|'))).toBe(false);
      }
    }
  });

  test('an interrupted run resumes to the same result', async () => {
    const opts = { size: 20, seed: 8, speech: false, workers: 0, splitSizes: 'val=2,test5k=2,novel=2' };
    const full = await generateDemoDataset(path.join(tmp, 'full'), opts);
    const ac = new AbortController();
    await expect(generateDemoDataset(path.join(tmp, 'cut'), { ...opts, signal: ac.signal, onProgress: () => ac.abort() })).rejects.toThrow(/cancelled/);
    const store = DatasetStore.open(path.join(tmp, 'cut'));
    expect(store.info().name).toMatch(/incomplete/);
    expect(store.info().itemCount).toBe(16);
    store.close();
    expect(readManifest(path.join(tmp, 'cut'))?.status).toBe('incomplete');
    const resumed = await generateDemoDataset(path.join(tmp, 'cut'), opts);
    expect(resumed).toMatchObject({ resumed: 16, generated: 4, digest: full.digest });
    const again = await generateDemoDataset(path.join(tmp, 'cut'), opts);
    expect(again).toMatchObject({ alreadyComplete: true, generated: 0, digest: full.digest });
  }, 60_000);
});

describe('bad input', () => {
  test('sizes, classes and split sizes are checked before anything is written', async () => {
    const dir = path.join(tmp, 'bad');
    await expect(generateDemoDataset(dir, { size: 0 })).rejects.toThrow(/size must be a whole number from 1/);
    await expect(generateDemoDataset(dir, { size: 1e9 })).rejects.toThrow(/1,000,000/);
    await expect(generateDemoDataset(dir, { size: 2.5 })).rejects.toThrow(DemoError);
    await expect(generateDemoDataset(dir, { size: 5, classes: ['red apple', 'flying teapot'] })).rejects.toThrow(/unknown emoji class: "flying teapot"/);
    await expect(generateDemoDataset(dir, { size: 5, splitSizes: 'test5k=9' })).rejects.toThrow(/more than --size 5/);
    await expect(generateDemoDataset(dir, { size: 5, classes: ['red apple'], splitSizes: 'novel=1' })).rejects.toThrow(/at least 2 classes/);
    expect(fs.existsSync(dir)).toBe(false);
  });

  test('a folder holding another dataset, or other files, is refused untouched', async () => {
    const other = path.join(tmp, 'other');
    DatasetStore.create(other, { name: 'My photos' }).close();
    const before = fs.readdirSync(other).sort();
    await expect(generateDemoDataset(other, { size: 3, speech: false, workers: 0 })).rejects.toThrow(/already holds another dataset/);
    expect(fs.readdirSync(other).sort()).toEqual(before);
    const files = path.join(tmp, 'files');
    fs.mkdirSync(files);
    fs.writeFileSync(path.join(files, 'notes.txt'), 'keep me');
    await expect(generateDemoDataset(files, { size: 3, speech: false, workers: 0 })).rejects.toThrow(/not empty/);
    await expect(generateDemoDataset(path.join(tmp, 'a'), { size: 3, seed: 5 })).rejects.toThrow(/other settings/);
  });

  test('a failing speech synthesiser stops the run with a clear error and leaves no dataset', async () => {
    const dir = path.join(tmp, 'mute');
    await expect(generateDemoDataset(dir, { size: 3, voices: ['xx-nowhere'], workers: 0 })).rejects.toThrow(SpeechError);
    await expect(generateDemoDataset(dir, { size: 3, voices: ['xx-nowhere'], workers: 1 })).rejects.toThrow(/refused voice "xx-nowhere"/);
    expect(fs.existsSync(dir)).toBe(false);
  }, 60_000);
});

describe('createDemoDataset (the studio\'s first-start action)', () => {
  test('adds emojiscenes-<size>-s<seed> to a library', async () => {
    const lib = new Library(path.join(tmp, 'lib'));
    const { dataset, result } = await createDemoDataset(lib, { size: 4, seed: 2, speech: false, workers: 0, splitSizes: 'novel=0,val=0,test5k=0' });
    expect(dataset).toMatchObject({ id: 'emojiscenes-4-s2', itemCount: 4, name: 'EmojiScenes 4 (seed 2)' });
    expect(result.items).toBe(4);
    expect(lib.list().map((d) => d.id)).toEqual(['emojiscenes-4-s2']);
    lib.closeAll();
  }, 30_000);
});
