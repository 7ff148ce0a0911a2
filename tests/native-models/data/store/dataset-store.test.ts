import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { DB_FILE, DatasetError, DatasetStore, Library, SCHEMA_VERSION } from '../../../../native-models/data/store';
import { writeWav } from '../../../../native-models/data/audio';
import { importFolder } from '../../../../native-models/data/formats';
import { tempDir, tinyImage } from '../helpers';

let tmp: ReturnType<typeof tempDir>;
let lib: Library;
beforeEach(() => {
  tmp = tempDir();
  lib = new Library(tmp.dir);
});
afterEach(() => {
  lib.closeAll();
  tmp.cleanup();
});

const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DatasetError);
    return (e as DatasetError).code;
  }
  return undefined;
};

function fresh(): DatasetStore {
  return lib.get(lib.create('test').id);
}

const wav = writeWav({ sampleRate: 16000, channels: [new Float32Array(1600).fill(0.1)] });

describe('Library', () => {
  it('creates, lists, renames and deletes datasets', () => {
    const a = lib.create('Cats & Dogs');
    expect(a.id).toMatch(/^cats-dogs-[0-9a-f]{8}$/);
    expect(a.itemCount).toBe(0);
    lib.create('Second');
    expect(lib.list().map((d) => d.name).sort()).toEqual(['Cats & Dogs', 'Second']);
    expect(lib.rename(a.id, 'Pets').name).toBe('Pets');
    lib.closeAll();
    expect(new Library(tmp.dir).list().map((d) => d.name).sort()).toEqual(['Pets', 'Second']);
    lib.delete(a.id);
    expect(lib.list().map((d) => d.name)).toEqual(['Second']);
    expect(fs.readdirSync(tmp.dir).length).toBe(1);
  });

  it('rejects ids that could escape the root, unknown ids and empty names', () => {
    expect(code(() => lib.get('../x'))).toBe('NOT_FOUND');
    expect(() => lib.get('nope')).toThrow(/no dataset/);
    expect(() => lib.delete('nope')).toThrow(/no dataset/);
    expect(code(() => lib.create('  '))).toBe('INVALID');
    expect(code(() => lib.rename(lib.create('x').id, ''))).toBe('INVALID');
  });

  it('upgrades a version-1 dataset (no import journal tables): its edits still undo and imports join the history', async () => {
    const d = fresh();
    const [a] = await d.addItems([{ image: await tinyImage(1) }]);
    d.addCaption(a, 'made under version 1');
    d.close();
    // Back to version 1: drop what migration 2 added.
    const db = new Database(path.join(d.dir, DB_FILE));
    db.exec('DROP TABLE journal_rows; DROP TABLE journal_items; DELETE FROM schema_migrations WHERE version > 1');
    db.close();
    const e = DatasetStore.open(d.dir);
    try {
      const src = fs.mkdtempSync(path.join(tmp.dir, 'src-'));
      fs.writeFileSync(path.join(src, 'x.png'), await tinyImage(2));
      await importFolder(e, src);
      expect(e.undo()).toMatchObject({ label: 'Import 1 item' });
      expect(e.undo()).toMatchObject({ label: 'Add caption', itemIds: [a] });
      expect(e.getItem(a).captions).toEqual([]);
    } finally {
      e.close();
    }
  });

  it('records versioned migrations and uses WAL', () => {
    const d = fresh();
    d.close();
    const db = new Database(path.join(d.dir, DB_FILE), { readonly: true });
    expect(db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get()).toEqual({ v: SCHEMA_VERSION });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });
});

describe('DatasetStore items and queries', () => {
  it('adds items with images and reads them back, deduplicating blobs', async () => {
    const d = fresh();
    const img = await tinyImage(1);
    const item = await d.addItem({ image: img, fileName: 'a.png', captions: [{ text: 'a red cat' }], split: 'val' });
    expect(item).toMatchObject({ width: 8, height: 9, split: 'val', fileName: 'a.png' });
    expect(item.captions.map((c) => c.text)).toEqual(['a red cat']);
    expect(Buffer.compare(d.getBlob(item.image), img)).toBe(0);
    const again = await d.addItem({ image: img });
    expect(again.image).toBe(item.image);
    expect(d.findByImage(item.image)).toBe(item.id);
    const q = d.query({ offset: 0, limit: 10 });
    expect(q.total).toBe(2);
    expect(q.items[0]).toMatchObject({ id: item.id, image: item.image, caption: 'a red cat', hasSpoken: false, hasRegions: false, split: 'val' });
    expect(fs.existsSync(d.blobPath(q.items[0].thumb))).toBe(true);
    expect(d.info().itemCount).toBe(2);
    expect(d.integrityCheck()).toBe('ok');
  });

  it('filters by caption substring, split, spoken and regions, with offset/limit', async () => {
    const d = fresh();
    const ids = await d.addItems(await Promise.all(Array.from({ length: 12 }, async (_, i) => ({
      image: await tinyImage(i + 10),
      split: i % 3 === 0 ? 'test' : 'train',
      captions: [{ text: i % 2 ? `A Dog number ${i}` : `a cat, café ${i}` }],
      regions: i % 4 === 0 ? [{ box: [0, 0, 0.5, 0.5] as [number, number, number, number], label: 'x' }] : [],
    }))));
    d.addSpoken(ids[5], d.prepareSpoken({ wav, durationS: 0.1 }));
    expect(d.query({ text: 'dog', offset: 0, limit: 100 }).total).toBe(6);
    expect(d.query({ text: 'DOG NUM', offset: 0, limit: 100 }).total).toBe(6);
    expect(d.query({ text: 'og numb', offset: 0, limit: 100 }).total).toBe(6); // substring, not word prefix
    expect(d.query({ text: 'cafe', offset: 0, limit: 100 }).total).toBe(6); // diacritics folded
    expect(d.query({ text: '11', offset: 0, limit: 100 }).items.map((s) => s.id)).toEqual([ids[11]]); // short: LIKE scan
    expect(d.query({ text: '%', offset: 0, limit: 100 }).total).toBe(0);
    expect(d.query({ text: '"', offset: 0, limit: 100 }).total).toBe(0);
    expect(d.query({ split: 'test', offset: 0, limit: 100 }).total).toBe(4);
    expect(d.query({ hasRegions: true, offset: 0, limit: 100 }).total).toBe(3);
    expect(d.query({ hasRegions: false, offset: 0, limit: 100 }).total).toBe(9);
    expect(d.query({ hasSpoken: true, offset: 0, limit: 100 }).items.map((s) => s.id)).toEqual([ids[5]]);
    expect(d.query({ text: 'dog', split: 'train', offset: 0, limit: 100 }).total).toBe(4);
    const page = d.query({ offset: 10, limit: 5 });
    expect(page.total).toBe(12);
    expect(page.items.map((s) => s.id)).toEqual(ids.slice(10));
    expect(d.indexOf(ids[7])).toBe(7);
    // The text-hit cache follows writes: edits, undo and new items.
    expect(d.query({ text: 'zebra', offset: 0, limit: 10 }).total).toBe(0);
    const c = d.addCaption(ids[3], 'a zebra');
    expect(d.query({ text: 'zebra', offset: 0, limit: 10 }).items.map((s) => s.id)).toEqual([ids[3]]);
    d.updateCaption(c.id, { text: 'a horse' });
    expect(d.query({ text: 'zebra', offset: 0, limit: 10 }).total).toBe(0);
    d.undo();
    expect(d.query({ text: 'zebra', offset: 0, limit: 10 }).total).toBe(1);
    await d.addItem({ image: await tinyImage(99), captions: [{ text: 'zebra two' }] });
    expect(d.query({ text: 'zebra', offset: 0, limit: 10 }).total).toBe(2);
    // ...and writes by another connection (another process writing into the same dataset).
    const other = new Database(path.join(d.dir, DB_FILE));
    other.prepare("UPDATE captions SET text = 'no stripes' WHERE text = 'zebra two'").run();
    other.close();
    expect(d.query({ text: 'zebra', offset: 0, limit: 10 }).total).toBe(1);
  });

  it('inserts a batch all-or-nothing', async () => {
    const d = fresh();
    const good = await d.prepareImage(await tinyImage(1));
    expect(code(() => d.insertItems([{ image: good, captions: [{ text: 'ok' }] }, { image: good, regions: [{ box: [0, 0, 2, 2], label: 'bad' }] }]))).toBe('INVALID');
    expect(code(() => d.insertItems([{ image: good }, { image: good, split: '../evil' }]))).toBe('INVALID');
    expect(d.info().itemCount).toBe(0);
  });

  it('fails cleanly on bad ids', async () => {
    const d = fresh();
    expect(code(() => d.getItem('nope'))).toBe('NOT_FOUND');
    expect(code(() => d.addCaption('nope', 'x'))).toBe('NOT_FOUND');
    expect(code(() => d.updateCaption('nope', { text: 'x' }))).toBe('NOT_FOUND');
    expect(code(() => d.deleteRegion('nope'))).toBe('NOT_FOUND');
    expect(code(() => d.deleteItems(['nope']))).toBe('NOT_FOUND');
    expect(code(() => d.getBlob('0'.repeat(64)))).toBe('NOT_FOUND');
    expect(code(() => d.getBlob('../../etc/passwd'))).toBe('INVALID');
  });
});

describe('edits with undo/redo', () => {
  it('undoes and redoes caption, region, split and spoken edits in order, across reopen', async () => {
    const d = fresh();
    const item = await d.addItem({ image: await tinyImage(3), captions: [{ text: 'first' }] });
    const c0 = item.captions[0];
    d.updateCaption(c0.id, { text: 'edited' });
    const c1 = d.addCaption(item.id, 'second');
    const r = d.addRegion(item.id, { box: [0.1, 0.1, 0.5, 0.5], label: 'cat' });
    d.updateRegion(r.id, { box: [0.2, 0.2, 0.6, 0.7] });
    d.updateRegion(r.id, { label: 'dog' });
    d.setSplit([item.id], 'test');
    const s = d.addSpoken(item.id, d.prepareSpoken({ wav, durationS: 0.1, trace: [[{ x: 0.5, y: 0.5, t: 0 }]] }));
    expect(d.getItem(item.id).spoken[0]).toMatchObject({ id: s.id, durationS: 0.1, sampleRate: 16000, trace: [[{ x: 0.5, y: 0.5, t: 0 }]] });
    expect(d.query({ hasSpoken: true, hasRegions: true, offset: 0, limit: 5 }).total).toBe(1);
    const final = d.getItem(item.id);
    expect(d.undoState()).toMatchObject({ canUndo: true, canRedo: false, undoLabel: 'Record spoken caption' });

    // Reopen: the journal is on disk.
    lib.closeAll();
    const e = lib.get(d.info === undefined ? '' : path.basename(d.dir));
    expect(e.undo()?.itemIds).toEqual([item.id]);
    expect(e.getItem(item.id).spoken).toEqual([]);
    expect(e.query({ hasSpoken: true, offset: 0, limit: 5 }).total).toBe(0);
    e.undo(); // split
    expect(e.getItem(item.id).split).toBe('train');
    e.undo(); // label
    expect(e.getItem(item.id).regions[0]).toMatchObject({ label: 'cat', box: [0.2, 0.2, 0.6, 0.7] });
    e.undo(); // move
    expect(e.getItem(item.id).regions[0].box).toEqual([0.1, 0.1, 0.5, 0.5]);
    e.undo(); // add region
    expect(e.getItem(item.id).regions).toEqual([]);
    e.undo(); // add caption
    e.undo(); // edit caption
    expect(e.getItem(item.id).captions).toEqual([{ ...c0, text: 'first' }]);
    expect(e.undo()).toBeNull();
    expect(e.undoState()).toMatchObject({ canUndo: false, canRedo: true, redoLabel: 'Edit caption' });
    for (let i = 0; i < 7; i++) expect(e.redo()).not.toBeNull();
    expect(e.redo()).toBeNull();
    const redone = e.getItem(item.id);
    expect({ ...redone, updatedAt: '' }).toEqual({ ...final, updatedAt: '' });
    expect(redone.captions[1].id).toBe(c1.id);
    // A new edit after an undo drops the redo branch.
    e.undo();
    e.addCaption(item.id, 'branch');
    expect(e.undoState().canRedo).toBe(false);
    expect(e.integrityCheck()).toBe('ok');
  });

  it("accepts all of an item's captions in one undo step, and nothing twice", async () => {
    const d = fresh();
    const item = await d.addItem({ image: await tinyImage(4), captions: [{ text: 'one', source: 'import' }, { text: 'two', source: 'generated' }, { text: 'three', source: 'user' }] });
    const other = await d.addItem({ image: await tinyImage(5), captions: [{ text: 'elsewhere', source: 'import' }] });
    const sources = (id: string) => d.getItem(id).captions.map((c) => c.source);
    expect(d.acceptCaptions(item.id)).toBe(2);
    expect(sources(item.id)).toEqual(['user', 'user', 'user']);
    expect(sources(other.id)).toEqual(['import']);
    expect(d.undoState()).toMatchObject({ canUndo: true, undoLabel: 'Accept 2 captions' });
    // Accepting again changes nothing and adds no step.
    expect(d.acceptCaptions(item.id)).toBe(0);
    expect(d.undo()?.itemIds).toEqual([item.id]);
    expect(sources(item.id)).toEqual(['import', 'generated', 'user']);
    expect(d.undoState()).toMatchObject({ redoLabel: 'Accept 2 captions' });
    d.redo();
    expect(sources(item.id)).toEqual(['user', 'user', 'user']);
    expect(d.acceptCaptions(other.id)).toBe(1);
    expect(d.undoState().undoLabel).toBe('Accept caption');
    expect(() => d.acceptCaptions('nope')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
  });

  it('adds several regions as one undo step, and none when one of them is bad', async () => {
    const d = fresh();
    const item = await d.addItem({ image: await tinyImage(6) });
    const added = d.addRegions(item.id, [
      { box: [0.1, 0.1, 0.4, 0.5], label: 'cat', score: 0.9, source: 'detector' },
      { box: [0.5, 0.2, 0.9, 0.8], label: 'dog', score: 0.7, source: 'detector' },
    ]);
    expect(added.map((r) => [r.label, r.source, r.score])).toEqual([['cat', 'detector', 0.9], ['dog', 'detector', 0.7]]);
    expect(d.getItem(item.id).regions.map((r) => r.id)).toEqual(added.map((r) => r.id));
    expect(d.undoState()).toMatchObject({ undoLabel: 'Add 2 regions' });
    const bad = () => d.addRegions(item.id, [{ box: [0, 0, 0.5, 0.5], label: 'fine' }, { box: [0.6, 0, 0.2, 1], label: 'inverted' }]);
    expect(code(bad)).toBe('INVALID');
    expect(code(() => d.addRegions(item.id, []))).toBe('INVALID');
    expect(d.getItem(item.id).regions).toHaveLength(2);
    d.undo();
    expect(d.getItem(item.id).regions).toEqual([]);
    d.redo();
    expect(d.getItem(item.id).regions.map((r) => r.label)).toEqual(['cat', 'dog']);
  });

  it('adds regions to several items as one undo step; a bad entry or a missing item writes nothing', async () => {
    const d = fresh();
    const [a, b, c] = await d.addItems([{ image: await tinyImage(21) }, { image: await tinyImage(22) }, { image: await tinyImage(23) }]);
    const box: [number, number, number, number] = [0.2, 0.2, 0.6, 0.6];
    const added = d.addRegionsToItems([{ itemId: a, regions: [{ box, label: 'cat', score: 0.9, source: 'detector' }] }, { itemId: c, regions: [{ box, label: 'x' }, { box, label: 'y' }] }], 'Detect regions');
    expect(added.map((r) => r.length)).toEqual([1, 2]);
    expect(d.undoState().undoLabel).toBe('Detect regions in 2 items');
    expect([a, b, c].map((id) => d.getItem(id).regions.length)).toEqual([1, 0, 2]);
    expect(code(() => d.addRegionsToItems([{ itemId: b, regions: [{ box, label: 'ok' }] }, { itemId: 'gone', regions: [{ box, label: 'z' }] }]))).toBe('NOT_FOUND');
    expect(code(() => d.addRegionsToItems([{ itemId: b, regions: [{ box, label: 'ok' }] }, { itemId: b, regions: [{ box, label: 'twice' }] }]))).toBe('INVALID');
    expect(code(() => d.addRegionsToItems([{ itemId: b, regions: [] }]))).toBe('INVALID');
    expect(code(() => d.addRegionsToItems([]))).toBe('INVALID');
    expect(d.getItem(b).regions).toEqual([]);
    expect(d.addRegionsToItems([{ itemId: b, regions: [{ box, label: 'one' }] }])[0]).toHaveLength(1);
    expect(d.undoState().undoLabel).toBe('Add region');
    d.undo();
    d.undo();
    expect([a, b, c].map((id) => d.getItem(id).regions.length)).toEqual([0, 0, 0]);
    d.redo();
    expect([a, b, c].map((id) => d.getItem(id).regions.length)).toEqual([1, 0, 2]);
  });

  it('an edit that changes nothing leaves no undo step and no new updatedAt; one that does, and its undo, touch only the items it changed', async () => {
    const d = fresh();
    const [a, b] = await d.addItems([{ image: await tinyImage(6), split: 'train', captions: [{ text: 'same', source: 'user' }] }, { image: await tinyImage(7), split: 'val' }]);
    const stamp = (id: string) => d.getItem(id).updatedAt;
    const [ta, tb] = [stamp(a), stamp(b)];
    const undoBefore = d.undoState();
    await new Promise((r) => setTimeout(r, 5)); // a later edit would get a later timestamp
    expect(d.acceptCaptions(a)).toBe(0);
    d.updateCaption(d.getItem(a).captions[0].id, { text: 'same' });
    d.setSplit([a], 'train');
    expect(d.undoState()).toEqual(undoBefore);
    expect([stamp(a), stamp(b)]).toEqual([ta, tb]);
    d.setSplit([a, b], 'train'); // only b moves
    expect(d.undoState().undoLabel).toBe('Move to train');
    expect(stamp(a)).toBe(ta);
    expect(stamp(b) > tb).toBe(true);
    const moved = stamp(b);
    await new Promise((r) => setTimeout(r, 5));
    d.undo(); // so does its undo
    expect(d.getItem(b).split).toBe('val');
    expect(stamp(a)).toBe(ta);
    expect(stamp(b) > moved).toBe(true);
  });

  it('undoes an item delete with its captions, regions and spoken captions, in its old place', async () => {
    const d = fresh();
    const ids = await d.addItems([
      { image: await tinyImage(1), captions: [{ text: 'one' }] },
      { image: await tinyImage(2), captions: [{ text: 'two' }, { text: 'deux' }], regions: [{ box: [0, 0, 1, 1], label: 'all' }] },
      { image: await tinyImage(3) },
    ]);
    d.addSpoken(ids[1], d.prepareSpoken({ wav, durationS: 0.1 }));
    const before = d.getItem(ids[1]);
    d.deleteItems([ids[1]]);
    expect(d.hasItem(ids[1])).toBe(false);
    expect(d.query({ text: 'deux', offset: 0, limit: 10 }).total).toBe(0);
    d.undo();
    expect({ ...d.getItem(ids[1]), updatedAt: '' }).toEqual({ ...before, updatedAt: '' });
    expect(d.query({ offset: 0, limit: 10 }).items.map((s) => s.id)).toEqual(ids);
    expect(d.query({ text: 'deux', hasSpoken: true, hasRegions: true, offset: 0, limit: 10 }).total).toBe(1);
    d.redo();
    expect(d.hasItem(ids[1])).toBe(false);
    expect(d.integrityCheck()).toBe('ok');
  });

  it('re-record replaces a spoken caption in one undoable step', async () => {
    const d = fresh();
    const item = await d.addItem({ image: await tinyImage(4) });
    const a = d.addSpoken(item.id, d.prepareSpoken({ wav, durationS: 0.1 }));
    const b = d.addSpoken(item.id, d.prepareSpoken({ wav, durationS: 0.2 }), a.id);
    expect(d.getItem(item.id).spoken.map((s) => s.id)).toEqual([b.id]);
    d.undo();
    expect(d.getItem(item.id).spoken.map((s) => s.id)).toEqual([a.id]);
    expect(code(() => d.addSpoken(item.id, d.prepareSpoken({ wav, durationS: 0.1 }), 'nope'))).toBe('NOT_FOUND');
    expect(d.getItem(item.id).spoken.map((s) => s.id)).toEqual([a.id]);
  });

  it('undo and redo of an import bring back every row exactly: regions with odd floats, spoken captions with traces, nulls', async () => {
    const d = fresh();
    const image = await d.prepareImage(await tinyImage(11));
    const spoken = d.prepareSpoken({ wav, durationS: 1 / 3, trace: [[{ x: 0.1 + 0.2, y: 1 / 7, t: 0 }], [{ x: 0.5, y: 0.5, t: 0.25 }]] });
    const undo = {};
    d.insertItems([
      { image, fileName: 'a.png', captions: [{ text: 'ünïcödé "quoted" \\ caption' }], regions: [{ box: [1 / 3, 0.1 + 0.2, 2 / 3, 0.9999999999999999], label: 'x', score: Math.fround(0.7123) }], spoken: [spoken] },
      { image, split: 'val', regions: [{ box: [0, 0, 1, 1], label: '' }] },
    ], undo);
    const ids = d.query({ offset: 0, limit: 10 }).items.map((i) => i.id);
    const before = ids.map((id) => d.getItem(id));
    expect(d.undo()?.itemIds).toEqual(ids);
    expect(d.query({ offset: 0, limit: 10 }).total).toBe(0);
    expect(d.query({ hasRegions: true, offset: 0, limit: 10 }).total).toBe(0);
    d.redo();
    expect(ids.map((id) => d.getItem(id))).toEqual(before);
    expect(d.query({ hasSpoken: true, hasRegions: true, offset: 0, limit: 10 }).items.map((i) => i.id)).toEqual([ids[0]]);
    expect(d.query({ text: 'quoted', offset: 0, limit: 10 }).total).toBe(1);
    expect(d.integrityCheck()).toBe('ok');
  });

  it('redoes an import undone by the earlier row-by-row code (rows item by item, written by JSON.stringify)', async () => {
    const d = fresh();
    const image = await d.prepareImage(await tinyImage(12));
    d.insertItems([
      { image, fileName: 'a.png', captions: [{ text: 'first' }, { text: '42' }], regions: [{ box: [1 / 3, 0, 1, 1], label: 'x', score: 0.1 + 0.2 }] },
      { image, fileName: 'b.png', captions: [{ text: '[1,2]' }] },
    ], {});
    const ids = d.query({ offset: 0, limit: 10 }).items.map((i) => i.id);
    const before = ids.map((id) => d.getItem(id));
    d.undo();
    d.close();
    // Rewrite the journal as the old code left it: each item followed by its own rows, JSON from JavaScript.
    const db = new Database(path.join(d.dir, DB_FILE));
    const rows = db.prepare('SELECT seq, tbl, row FROM journal_rows ORDER BY pos').all() as { seq: number; tbl: string; row: string }[];
    const owner = (r: { tbl: string; row: string }) => (JSON.parse(r.row) as Record<string, string>)[r.tbl === 'items' ? 'id' : 'item_id'];
    const old = ids.flatMap((id) => rows.filter((r) => owner(r) === id).sort((a, b) => Number(b.tbl === 'items') - Number(a.tbl === 'items')));
    db.prepare('DELETE FROM journal_rows').run();
    old.forEach((r, pos) => db.prepare('INSERT INTO journal_rows (seq, pos, tbl, row) VALUES (?, ?, ?, ?)').run(r.seq, pos, r.tbl, JSON.stringify(JSON.parse(r.row))));
    db.close();
    const e = DatasetStore.open(d.dir);
    try {
      e.redo();
      expect(ids.map((id) => e.getItem(id))).toEqual(before);
      expect(e.integrityCheck()).toBe('ok');
    } finally {
      e.close();
    }
  });

  it('undoes and redoes a whole import as one step (batches, cancel, reopen), its blobs kept while undone', async () => {
    const src = fs.mkdtempSync(path.join(tmp.dir, 'src-'));
    for (let i = 0; i < 70; i++) {
      fs.writeFileSync(path.join(src, `i${i}.png`), await tinyImage(7000 + i));
      fs.writeFileSync(path.join(src, `i${i}.txt`), `caption ${i}`);
    }
    const d = fresh();
    const [mine] = await d.addItems([{ image: await tinyImage(1), captions: [{ text: 'kept' }] }]);
    d.addCaption(mine, 'an edit before the import');
    const r = await importFolder(d, src);
    expect(r.imported).toBe(70);
    const all = () => d.query({ offset: 0, limit: 1000 }).items.map((s) => s.id);
    const imported = all().filter((id) => id !== mine);
    const before = imported.map((id) => ({ ...d.getItem(id), updatedAt: '' }));
    // 70 items came in three batches, one undo step.
    expect(d.undoState()).toMatchObject({ canUndo: true, undoLabel: 'Import 70 items' });
    expect(d.undo()).toMatchObject({ label: 'Import 70 items' });
    expect(all()).toEqual([mine]);
    expect(d.query({ text: 'caption', offset: 0, limit: 10 }).total).toBe(0);
    expect(d.undoState()).toMatchObject({ undoLabel: 'Add caption', redoLabel: 'Import 70 items' });
    // Undone, its images are referenced only by the journal: garbage collection keeps them.
    const past = new Date(Date.now() - 60_000);
    for (const x of [...d.blobs.list()]) fs.utimesSync(d.blobs.pathOf(x.sha), past, past);
    expect(d.collectGarbage(0).removed).toBe(0);
    // Redo after a reopen: the same items, in their old places, with their captions.
    const dir = d.dir;
    lib.closeAll();
    const e = DatasetStore.open(dir);
    try {
      expect(e.redo()).toMatchObject({ label: 'Import 70 items' });
      expect(e.query({ offset: 0, limit: 1000 }).items.map((s) => s.id)).toEqual([mine, ...imported]);
      expect(imported.map((id) => ({ ...e.getItem(id), updatedAt: '' }))).toEqual(before);
      expect(e.getBlob(e.getItem(imported[5]).image).length).toBeGreaterThan(0);
      // An edit to an imported item is its own step, undone first; then the import; the earlier edit stays.
      e.addCaption(imported[0], 'added later');
      e.undo();
      e.undo();
      expect(e.query({ offset: 0, limit: 1000 }).items.map((s) => s.id)).toEqual([mine]);
      expect(e.getItem(mine).captions.map((c) => c.text)).toEqual(['kept', 'an edit before the import']);
      // A cancelled import is undone as one step too (its committed batches).
      const ctl = new AbortController();
      const r2 = await importFolder(e, src, { signal: ctl.signal, onProgress: (p) => { if (p.done >= 40) ctl.abort(); } });
      expect(r2.cancelled).toBe(true);
      expect(r2.imported).toBeGreaterThan(0);
      expect(e.undoState().undoLabel).toBe(`Import ${r2.imported} items`);
      expect(e.undoState().canRedo).toBe(false); // a new step clears redo
      e.undo();
      expect(e.query({ offset: 0, limit: 1000 }).items.map((s) => s.id)).toEqual([mine]);
      expect(e.integrityCheck()).toBe('ok');
    } finally {
      e.close();
    }
  });

  it('an edit made while an import runs splits it into steps that undo in the order they were written', async () => {
    const d = fresh();
    const prep = async (seed: number) => ({ image: await d.prepareImage(await tinyImage(seed)), captions: [{ text: `c${seed}` }] });
    const undo = {};
    const [a] = d.insertItems([await prep(1)], undo);
    const [b] = d.insertItems([await prep(2)], undo);
    expect(d.undoState().undoLabel).toBe('Import 2 items');
    d.addCaption(a, 'edited while importing');
    const [c] = d.insertItems([await prep(3)], undo);
    expect(d.undoState().undoLabel).toBe('Import 1 item');
    d.undo();
    expect(d.hasItem(c)).toBe(false);
    d.undo();
    expect(d.getItem(a).captions.map((x) => x.text)).toEqual(['c1']);
    expect(d.undo()).toMatchObject({ label: 'Import 2 items', itemIds: [a, b] });
    expect([a, b].some((id) => d.hasItem(id))).toBe(false);
    // A batch after its entry was undone starts a new entry (and clears redo).
    const [e] = d.insertItems([await prep(4)], undo);
    expect(d.undoState()).toMatchObject({ undoLabel: 'Import 1 item', canRedo: false });
    d.undo();
    expect(d.hasItem(e)).toBe(false);
    expect(d.undo()).toBeNull();
    // Plain inserts (no undo object) are not journaled.
    d.insertItems([await prep(5)]);
    expect(d.undoState().canUndo).toBe(false);
  });

  it('collects only unreferenced, old blobs (journal references count)', async () => {
    const d = fresh();
    const [a, b] = await d.addItems([{ image: await tinyImage(1) }, { image: await tinyImage(2) }]);
    const orphan = d.putBlob(Buffer.from('left by a killed import'));
    const item = d.getItem(b);
    d.deleteItems([b]); // undoable: its blobs must stay
    // Age every blob, so only references (not a write in the same millisecond as the cutoff) keep one.
    const past = new Date(Date.now() - 60_000);
    for (const x of [...d.blobs.list()]) fs.utimesSync(d.blobs.pathOf(x.sha), past, past);
    expect(d.collectGarbage(0)).toMatchObject({ removed: 1 });
    expect(d.blobs.has(orphan)).toBe(false);
    expect(d.blobs.has(item.image)).toBe(true);
    d.undo();
    expect(d.getBlob(d.getItem(b).image).length).toBeGreaterThan(0);
    const fresh2 = d.putBlob(Buffer.from('just written'));
    expect(d.collectGarbage().removed).toBe(0); // younger than an hour: may belong to a running import
    expect(d.blobs.has(fresh2)).toBe(true);
    expect(d.getItem(a).image).toBeTruthy();
  });

  it('collects garbage when the library closes a dataset', async () => {
    const { id } = lib.create('tidy');
    const d = lib.get(id);
    const [a] = await d.addItems([{ image: await tinyImage(3) }]);
    const old = d.putBlob(Buffer.from('orphan from yesterday'));
    const recent = d.putBlob(Buffer.from('orphan from a running import'));
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
    fs.utimesSync(d.blobs.pathOf(old), twoHoursAgo, twoHoursAgo);
    const image = d.getItem(a).image;
    fs.utimesSync(d.blobs.pathOf(image), twoHoursAgo, twoHoursAgo);
    lib.close(id);
    expect(fs.existsSync(d.blobs.pathOf(old))).toBe(false);
    expect(fs.existsSync(d.blobs.pathOf(recent))).toBe(true);
    const again = lib.get(id);
    expect(again.getBlob(again.getItem(a).image).length).toBeGreaterThan(0);
  });

  it('validates boxes, labels and traces', async () => {
    const d = fresh();
    const item = await d.addItem({ image: await tinyImage(5) });
    expect(code(() => d.addRegion(item.id, { box: [0.5, 0, 0.4, 1], label: 'x' }))).toBe('INVALID');
    expect(code(() => d.addRegion(item.id, { box: [0, 0, NaN, 1], label: 'x' }))).toBe('INVALID');
    expect(code(() => d.addRegion(item.id, { box: [0, 0, 1] as never, label: 'x' }))).toBe('INVALID');
    const r = d.addRegion(item.id, { box: [0, 0, 1, 1], label: 'ok' });
    expect(code(() => d.updateRegion(r.id, { box: [-1, 0, 1, 1] }))).toBe('INVALID');
    expect(code(() => d.addSpoken(item.id, d.prepareSpoken({ wav, durationS: 1, trace: [[{ x: 'a' }]] as never })))).toBe('INVALID');
    expect(d.getItem(item.id).regions).toHaveLength(1);
  });
});

describe('failures', () => {
  it('reports a dataset folder that disappears while open, without crashing', async () => {
    const d = fresh();
    const item = await d.addItem({ image: await tinyImage(1) });
    fs.rmSync(d.dir, { recursive: true, force: true });
    expect(code(() => d.getItem(item.id))).toBe('DATASET_MISSING');
    expect(code(() => d.query({ offset: 0, limit: 10 }))).toBe('DATASET_MISSING');
    await expect(d.addItem({ image: await tinyImage(2) })).rejects.toMatchObject({ code: 'DATASET_MISSING' });
    expect(() => d.getItem(item.id)).toThrow(/disappeared/);
    expect(lib.list()).toEqual([]);
  });

  it('a full database (SQLITE_FULL) fails the write with DISK_FULL and keeps everything committed', async () => {
    const created = DatasetStore.create(path.join(tmp.dir, 'full'), { name: 'full' });
    created.close();
    const d = DatasetStore.open(path.join(tmp.dir, 'full'), { maxPageCount: 60 });
    const long = 'x'.repeat(3000);
    let committed = 0;
    let err: unknown;
    const img = await d.prepareImage(await tinyImage(1));
    for (let i = 0; i < 200 && !err; i++) {
      try {
        d.insertItems(Array.from({ length: 5 }, () => ({ image: img, captions: [{ text: `${long} ${i}` }] })));
        committed += 5;
      } catch (e) {
        err = e;
      }
    }
    expect(err).toMatchObject({ code: 'DISK_FULL' });
    expect((err as Error).message).toMatch(/disk is full/);
    expect(d.info().itemCount).toBe(committed);
    expect(d.integrityCheck()).toBe('ok');
    d.close();
    const again = DatasetStore.open(path.join(tmp.dir, 'full'));
    expect(again.info().itemCount).toBe(committed);
    expect(again.query({ offset: 0, limit: 1000 }).items.every((s) => s.caption.startsWith('xxx'))).toBe(true);
    again.close();
  });

  const canMount = (() => {
    if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
    const probe = fs.mkdtempSync('/tmp/opt-mnt-');
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'ignore' });
      execFileSync('umount', [probe], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    } finally {
      fs.rmSync(probe, { recursive: true, force: true });
    }
  })();

  /** Runs fn with a fresh tmpfs of `size` mounted; stores opened by fn must be closed by it. */
  async function withTmpfs(size: string, fn: (mnt: string) => Promise<void>): Promise<void> {
    const mnt = fs.mkdtempSync('/tmp/opt-full-');
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', mnt]);
    try {
      await fn(mnt);
    } finally {
      execFileSync('umount', ['-l', mnt]);
      fs.rmSync(mnt, { recursive: true, force: true });
    }
  }

  /** Every item is whole: image blob readable, its one caption present; no temp blob left. */
  function expectWhole(d: DatasetStore): void {
    expect(d.integrityCheck()).toBe('ok');
    expect(fs.readdirSync(path.join(d.dir, 'blobs', 'tmp'))).toEqual([]);
    for (const s of d.query({ offset: 0, limit: 1000 }).items) {
      const it = d.getItem(s.id);
      expect(d.getBlob(it.image).length).toBeGreaterThan(0);
      expect(d.getBlob(s.thumb).length).toBeGreaterThan(0);
      expect(it.captions).toHaveLength(1);
    }
  }

  it.skipIf(!canMount)('a real full disk (small tmpfs) gives DISK_FULL, no partial blob, no half item', async () => {
    await withTmpfs('1200k', async (mnt) => {
      const d = DatasetStore.create(path.join(mnt, 'ds'), { name: 'full' });
      try {
        let err: unknown;
        let n = 0;
        for (let i = 0; i < 400 && !err; i++) {
          try {
            await d.addItems([{ image: await tinyImage(1000 + i, 'png', 64), captions: [{ text: `caption ${i} ${'y'.repeat(500)}` }] }]);
            n++;
          } catch (e) {
            err = e;
          }
        }
        expect(err).toMatchObject({ code: 'DISK_FULL' });
        expect(n).toBeGreaterThan(0);
        expect(d.info().itemCount).toBe(n);
        expectWhole(d);
      } finally {
        d.close();
      }
    });
  });

  it.skipIf(!canMount)('an import onto a full disk stops with DISK_FULL and leaves whole items only', async () => {
    const src = fs.mkdtempSync(path.join(tmp.dir, 'src-'));
    for (let i = 0; i < 200; i++) {
      fs.writeFileSync(path.join(src, `i${i}.png`), await tinyImage(5000 + i, 'png', 64));
      fs.writeFileSync(path.join(src, `i${i}.txt`), `caption ${i}`);
    }
    await withTmpfs('1200k', async (mnt) => {
      const d = DatasetStore.create(path.join(mnt, 'ds'), { name: 'full' });
      try {
        await expect(importFolder(d, src)).rejects.toMatchObject({ code: 'DISK_FULL' });
        expectWhole(d);
      } finally {
        d.close();
      }
    });
  });
});
