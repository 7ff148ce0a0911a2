import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { encodeOggVorbis, writeWav } from '../../../../native-models/data/audio';
import { exportDataset, importDataset } from '../../../../native-models/data/formats';
import { Library, type DatasetFormat, type DatasetStore, type Progress } from '../../../../native-models/data/store';
import { hugePng, tempDir, tinyImage } from '../helpers';

let tmp: ReturnType<typeof tempDir>;
let lib: Library;
beforeEach(() => {
  tmp = tempDir();
  lib = new Library(path.join(tmp.dir, 'lib'));
});
afterEach(() => {
  lib.closeAll();
  tmp.cleanup();
});

const fresh = (name = 'd'): DatasetStore => lib.get(lib.create(name).id);

function put(rel: string, data: string | Uint8Array): string {
  const p = path.join(tmp.dir, 'in', rel);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, data);
  return p;
}
const inDir = () => path.join(tmp.dir, 'in');

/** What an item is, independent of ids and import order: keyed by image content. */
function canon(store: DatasetStore, parts: { spoken?: boolean; regions?: boolean } = {}) {
  const out: Record<string, unknown> = {};
  for (const it of store.iterateItems()) {
    out[it.image] = {
      split: it.split,
      captions: it.captions.map((c) => c.text),
      ...(parts.regions ? { regions: it.regions.map((r) => ({ box: r.box, label: r.label, score: r.score })) } : {}),
      ...(parts.spoken ? {
        spoken: it.spoken.map((s) => ({ d: Math.round(s.durationS * 10) / 10, trace: s.trace, timed: s.timedCaption ?? [] })),
      } : {}),
    };
  }
  return out;
}

const reasons = (r: { skipped: { file: string; line?: number; reason: string }[] }) =>
  r.skipped.map((s) => `${s.file}${s.line ? `:${s.line}` : ''} ${s.reason}`).sort();

/** The report lists exactly these problems (strings or matchers), in any order. */
function expectSkipped(r: { skipped: { file: string; line?: number; reason: string }[] }, expected: unknown[]): void {
  const got = reasons(r);
  if (got.length !== expected.length) console.log(got);
  expect(got).toHaveLength(expected.length);
  expect(got).toEqual(expect.arrayContaining(expected));
}

const sine = (seconds: number) => Float32Array.from({ length: 16000 * seconds }, (_, i) => 0.3 * Math.sin(i / 5));

/** A dataset with everything: splits, several captions, regions, spoken captions with traces. */
async function richDataset(): Promise<DatasetStore> {
  const d = fresh('rich');
  const ids = await d.addItems([
    { image: await tinyImage(1, 'png'), fileName: 'cat.png', split: 'train', captions: [{ text: 'a cat' }, { text: 'a small cat' }] },
    { image: await tinyImage(2, 'jpeg'), fileName: 'dog.jpg', split: 'val', captions: [{ text: 'a "quoted" dog, café' }] },
    { image: await tinyImage(3, 'webp'), fileName: 'cat.webp', split: 'train', captions: [{ text: 'same stem, other format' }] },
    { image: await tinyImage(4, 'gif'), fileName: 'x.gif', split: 'test', captions: [{ text: 'a gif' }] },
  ]);
  d.addRegion(ids[0], { box: [0.1, 0.2, 0.5, 0.6], label: 'cat', score: 0.9 });
  d.addRegion(ids[0], { box: [0, 0, 1, 1], label: 'all' });
  const wav = writeWav({ sampleRate: 16000, channels: [sine(1)] });
  d.addSpoken(ids[0], d.prepareSpoken({
    wav, durationS: 1, trace: [[{ x: 0.1, y: 0.2, t: 0 }, { x: 0.3, y: 0.4, t: 0.5 }], [{ x: 0.9, y: 0.9, t: 0.8 }]],
    timedCaption: [{ utterance: 'a', startTime: 0, endTime: 0.2 }, { utterance: 'cat', startTime: 0.2, endTime: 0.9 }],
  }));
  const ogg = await encodeOggVorbis({ sampleRate: 16000, channels: [sine(2)] });
  d.addSpoken(ids[1], d.prepareSpoken({ wav: writeWav({ sampleRate: 16000, channels: [sine(2)] }), durationS: 2, original: ogg, originalMime: 'audio/ogg', trace: [] }));
  return d;
}

describe('round trips: export then re-import gives the same items', () => {
  const cases: [DatasetFormat, { spoken?: boolean; regions?: boolean }][] = [
    ['folder', {}],
    ['coco', {}],
    ['imagefolder', { regions: true }],
    ['localized-narratives', { spoken: true }],
  ];
  it.each(cases)('%s', async (format, parts) => {
    const src = await richDataset();
    const out = path.join(tmp.dir, `out-${format}`);
    const ex = await exportDataset(src, format, out);
    expect(ex.exported).toBe(4);
    expect(ex.cancelled).toBeUndefined();
    for (const f of ex.files) expect(fs.existsSync(path.join(out, f))).toBe(true);
    const dst = fresh('copy');
    const im = await importDataset(dst, format, out);
    expect(reasons(im)).toEqual([]);
    expect(im).toMatchObject({ imported: 4, duplicates: 0 });
    expect(canon(dst, parts)).toEqual(canon(src, parts));
    if (format === 'localized-narratives') {
      // The Ogg original was exported as is, and kept again as the original on re-import.
      const dog = [...dst.iterateItems()].find((i) => i.split === 'val')!;
      expect(dog.spoken[0].originalMime).toBe('audio/ogg');
      const srcDog = [...src.iterateItems()].find((i) => i.split === 'val')!;
      expect(dog.spoken[0].original).toBe(srcDog.spoken[0].original);
    }
    // Re-importing the same export into the same dataset finds only duplicates.
    const again = await importDataset(dst, format, out);
    expect(again).toMatchObject({ imported: 0, duplicates: 4 });
  });
});

describe('folder import', () => {
  it('imports images recursively with sidecar captions and split folders; reports each bad file', async () => {
    const a = await tinyImage(1);
    put('train/a.png', a);
    put('train/a.txt', 'first caption\n\nsecond caption\n');
    put('val/deep/b.jpg', await tinyImage(2, 'jpeg'));
    put('c.webp', await tinyImage(3, 'webp'));
    put('d.gif', await tinyImage(4, 'gif'));
    put('zz-copy-of-a.png', a);
    put('notes.md', '# hi');
    put('corrupt.png', Buffer.from('not really a png'));
    put('zero.png', new Uint8Array(0));
    put('orphan.txt', 'no image');
    put('bad.png', await tinyImage(5));
    put('bad.txt', Buffer.from([0x61, 0xc3, 0x28, 0x62]));
    put('huge.png', await hugePng(20000, 20000));
    const d = fresh();
    const events: Progress[] = [];
    const r = await importDataset(d, 'folder', inDir(), { split: 'train', onProgress: (p) => events.push(p) });
    expect(r.imported).toBe(4);
    expect(r.duplicates).toBe(1);
    expectSkipped(r, [
      'bad.txt bad.txt: not valid UTF-8 text',
      'corrupt.png corrupt.png: not a readable image (Input buffer contains unsupported image format)',
      'huge.png huge.png: image is 20000x20000 (400 MP), over the 100 MP limit; downscale it first',
      "notes.md unsupported file type '.md'",
      'orphan.txt caption file without an image of the same name',
      'zero.png zero.png: empty file (0 bytes)',
    ]);
    const items = [...d.iterateItems()];
    const byName = Object.fromEntries(items.map((i) => [i.fileName!, i]));
    expect(byName['a.png'].captions.map((c) => c.text)).toEqual(['first caption', 'second caption']);
    expect(byName['a.png'].split).toBe('train');
    expect(byName['b.jpg'].split).toBe('val');
    expect(byName['c.webp'].captions).toEqual([]);
    expect(events.at(-1)).toMatchObject({ phase: 'import', done: 9, total: 9 });
    expect(d.integrityCheck()).toBe('ok');
  });

  it('stops on cancel between batches, keeping only whole committed items', async () => {
    for (let i = 0; i < 80; i++) put(`img${String(i).padStart(3, '0')}.png`, await tinyImage(100 + i));
    const d = fresh();
    const ac = new AbortController();
    const r = await importDataset(d, 'folder', inDir(), {
      signal: ac.signal,
      onProgress: (p) => { if (p.done >= 32) ac.abort(); },
    });
    expect(r.cancelled).toBe(true);
    expect(r.imported).toBe(32);
    expect(d.info().itemCount).toBe(32);
    expect(d.integrityCheck()).toBe('ok');
    const ex = await exportDataset(d, 'folder', path.join(tmp.dir, 'out'), { signal: AbortSignal.abort() });
    expect(ex).toMatchObject({ exported: 0, cancelled: true });
  });
});

describe('COCO import', () => {
  it('groups captions by image, finds images in the split folder, reports bad entries', async () => {
    put('train2017/000000000001.jpg', await tinyImage(1, 'jpeg'));
    put('train2017/000000000002.png', await tinyImage(2));
    put('train2017/000000000004.png', await tinyImage(4));
    const json = {
      images: [
        { id: 1, file_name: '000000000001.jpg', width: 8, height: 9 },
        { id: 2, file_name: '000000000002.png' },
        { id: 3, file_name: 'missing.png' },
        { id: 4, file_name: '000000000004.png' },
        { file_name: 'no-id.png' },
      ],
      annotations: [
        { id: 10, image_id: 1, caption: 'A man riding a horse.' },
        { id: 11, image_id: 1, caption: '   ' },
        { id: 12, image_id: 1, caption: 'Someone on a horse.' },
        { id: 13, image_id: 2, caption: 'A plate of food.' },
        { id: 14, image_id: 99, caption: 'orphan' },
        { id: 15, image_id: 3, caption: 'no file' },
        { id: 16, image_id: 4, caption: 'bad \ud800 surrogate' },
      ],
    };
    put('annotations/captions_train2017.json', JSON.stringify(json, null, 1));
    put('annotations/captions_val2017.json', '{\n "images": [],\n "annotations": [,]\n}');
    const d = fresh();
    const r = await importDataset(d, 'coco', path.join(inDir(), 'annotations'));
    expect(r.imported).toBe(2);
    expectSkipped(r, [
      'captions_train2017.json annotations[4]: image_id 99 is not in "images"',
      'captions_train2017.json images[4]: needs an id and a file_name',
      expect.stringMatching(/^captions_train2017\.json captions_train2017\.json: empty caption/),
      expect.stringMatching(/^captions_train2017\.json captions_train2017\.json: caption is not valid Unicode/),
      expect.stringMatching(/^captions_val2017\.json:3 captions_val2017\.json:3: malformed JSON/),
      'captions_train2017.json missing.png: image file not found',
    ]);
    const items = [...d.iterateItems()];
    expect(items.map((i) => [i.fileName, i.split, i.captions.map((c) => c.text)])).toEqual([
      ['000000000001.jpg', 'train', ['A man riding a horse.', 'Someone on a horse.']],
      ['000000000002.png', 'train', ['A plate of food.']],
    ]);
  });
});

describe('COCO with invalid UTF-8 inside', () => {
  it('skips only the captions (and captionless images) holding invalid bytes', async () => {
    put('images/1.png', await tinyImage(1));
    put('images/2.png', await tinyImage(2));
    const head = '{"images": [{"id": 1, "file_name": "1.png"}, {"id": 2, "file_name": "2.png"}], "annotations": [';
    const bad = Buffer.from([0x62, 0x61, 0xff, 0x64]);
    const body = Buffer.concat([
      Buffer.from(`${head}{"id": 1, "image_id": 1, "caption": "good one"}, {"id": 2, "image_id": 1, "caption": "`), bad,
      Buffer.from('"}, {"id": 3, "image_id": 2, "caption": "'), bad, Buffer.from('"}]}'),
    ]);
    put('captions_val.json', body);
    const d = fresh();
    const r = await importDataset(d, 'coco', path.join(inDir(), 'captions_val.json'));
    expect(r.imported).toBe(1);
    expectSkipped(r, [
      'captions_val.json captions_val.json: annotations[1]: caption is not valid UTF-8',
      'captions_val.json captions_val.json: annotations[2]: caption is not valid UTF-8',
    ]);
    const [item] = [...d.iterateItems()];
    expect([item.fileName, item.split, item.captions.map((c) => c.text)]).toEqual(['1.png', 'val', ['good one']]);
  });
});

describe('whole-dataset failures during an import', () => {
  it('a dataset folder deleted mid-import stops it with DATASET_MISSING', async () => {
    for (let i = 0; i < 70; i++) put(`i${i}.png`, await tinyImage(300 + i));
    const d = fresh();
    await expect(importDataset(d, 'folder', inDir(), {
      onProgress: (p) => { if (p.done >= 32) fs.rmSync(d.dir, { recursive: true, force: true }); },
    })).rejects.toMatchObject({ code: 'DATASET_MISSING' });
    expect(() => d.info()).toThrow(/disappeared/);
  });
});

describe('Localized Narratives import', () => {
  it('imports narratives with voice, traces and timing; merges narratives of one image; skips bad lines', async () => {
    put('images/000000000139.jpg', await tinyImage(1, 'jpeg'));
    put('images/7b3a.png', await tinyImage(2));
    const ogg = await encodeOggVorbis({ sampleRate: 16000, channels: [sine(1)] });
    put('voice/coco_val/coco_val_139_1.ogg', ogg);
    put('voice/coco_val/coco_val_139_2.ogg', ogg);
    put('voice/bad.ogg', ogg.subarray(0, 100));
    const rec = (o: Record<string, unknown>) => JSON.stringify({ dataset_id: 'mscoco_val2017', annotator_id: 1, ...o });
    const lines = [
      rec({
        image_id: '139', caption: 'In this image we can see a table.', voice_recording: 'voice/coco_val/coco_val_139_1.ogg',
        timed_caption: [{ utterance: 'In this', start_time: 0.1, end_time: 0.5 }], traces: [[{ x: 0.1, y: 0.2, t: 0.1 }, { x: 0.2, y: 0.3, t: 0.2 }]],
      }),
      '{"image_id": "139", "caption": broken',
      '',
      rec({ image_id: '7b3a', caption: 'A picture.', voice_recording: '', traces: [] }),
      rec({ image_id: 'nope', caption: 'no image' }),
      rec({ image_id: '139', caption: 'Second narrative.', voice_recording: 'coco_val_139_2.ogg', traces: [] }),
      rec({ image_id: '7b3a', caption: 'x', voice_recording: 'voice/missing.ogg' }),
      rec({ image_id: '7b3a', caption: 'y', voice_recording: 'voice/bad.ogg' }),
      rec({ image_id: '7b3a', caption: 'z', traces: [[{ x: 'a' }]] }),
      rec({ image_id: '7b3a', caption: '' }),
    ];
    const body = Buffer.concat([Buffer.from(`${lines.join('\n')}\n`), Buffer.from([0x7b, 0xff, 0x7d, 0x0a])]);
    put('coco_val_localized_narratives.jsonl', body);
    const d = fresh();
    const r = await importDataset(d, 'localized-narratives', path.join(inDir(), 'coco_val_localized_narratives.jsonl'));
    expect(r.imported).toBe(2);
    const f = 'coco_val_localized_narratives.jsonl';
    expectSkipped(r, [
      expect.stringMatching(new RegExp(`^${f}:2 ${f}:2: malformed JSON`)),
      `${f}:5 ${f}:5: no image file named nope under ${inDir()}`,
      `${f}:7 ${f}:7: voice file voice/missing.ogg not found`,
      `${f}:8 voice/bad.ogg: no audio could be decoded (truncated or corrupt vorbis)`,
      `${f}:9 ${f}:9: traces[0] has a point without numeric x, y, t`,
      `${f}:10 ${f}:10: empty caption and no voice recording`,
      `${f}:11 ${f}:11: not valid UTF-8 text`,
    ]);
    const [a, b] = [...d.iterateItems()];
    expect(a.split).toBe('val');
    expect(a.captions.map((c) => c.text)).toEqual(['In this image we can see a table.', 'Second narrative.']);
    expect(a.spoken).toHaveLength(2);
    expect(a.spoken[0]).toMatchObject({
      sampleRate: 16000, originalMime: 'audio/ogg', transcript: 'In this image we can see a table.',
      timedCaption: [{ utterance: 'In this', startTime: 0.1, endTime: 0.5 }], trace: [[{ x: 0.1, y: 0.2, t: 0.1 }, { x: 0.2, y: 0.3, t: 0.2 }]],
    });
    expect(a.spoken[0].durationS).toBeCloseTo(1, 1);
    expect(Buffer.compare(d.getBlob(a.spoken[0].original!), ogg)).toBe(0);
    expect(d.getBlob(a.spoken[0].wav).subarray(0, 4).toString()).toBe('RIFF');
    expect(b.captions.map((c) => c.text)).toEqual(['A picture.']);
    expect(b.spoken).toEqual([]);
  });
});

describe('imagefolder import', () => {
  it('reads metadata.jsonl per split, with captions and regions; skips bad rows only', async () => {
    put('train/a.png', await tinyImage(1));
    put('train/sub/b.png', await tinyImage(2));
    put('validation/c.png', await tinyImage(3));
    put('train/metadata.jsonl', [
      JSON.stringify({ file_name: 'a.png', text: 'an a', regions: [{ box: [0, 0, 0.5, 0.5], label: 'q', score: 0.5 }] }),
      JSON.stringify({ file_name: 'sub/b.png', captions: ['b one', 'b two'] }),
      'not json',
      JSON.stringify({ file_name: '../escape.png', text: 'x' }),
      JSON.stringify({ file_name: 'gone.png', text: 'x' }),
      JSON.stringify({ file_name: 'a.png', text: 'again' }),
      JSON.stringify({ file_name: 'sub/b.png', regions: [{ box: [0, 0, 2, 2], label: 'bad' }] }),
    ].join('\n'));
    put('validation/metadata.jsonl', `${JSON.stringify({ file_name: 'c.png', caption: 'see' })}\n`);
    const d = fresh();
    const r = await importDataset(d, 'imagefolder', inDir());
    expect(r.imported).toBe(3);
    const m = path.join('train', 'metadata.jsonl');
    expectSkipped(r, [
      expect.stringMatching(new RegExp(`^${m}:3 ${m}:3: malformed JSON`)),
      `${m}:4 ${m}:4: "file_name" must be a relative path`,
      `${m}:5 ${path.join('train', 'gone.png')}: image file not found`,
      expect.stringMatching(new RegExp(`^${m}:7 region box \\[0,0,2,2\\] must be normalised`)),
    ]);
    const items = [...d.iterateItems()];
    expect(items.map((i) => [i.fileName, i.split, i.captions.map((c) => c.text), i.regions.length])).toEqual([
      ['a.png', 'train', ['an a', 'again'], 1],
      ['b.png', 'train', ['b one', 'b two'], 0],
      ['c.png', 'val', ['see'], 0],
    ]);
    expect(items[0].regions[0]).toMatchObject({ box: [0, 0, 0.5, 0.5], label: 'q', score: 0.5, source: 'import' });
  });

  it('reports a folder with no metadata.jsonl', async () => {
    put('x.png', await tinyImage(1));
    const r = await importDataset(fresh(), 'imagefolder', inDir());
    expect(r.imported).toBe(0);
    expect(r.skipped[0].reason).toMatch(/no metadata\.jsonl/);
  });
});
