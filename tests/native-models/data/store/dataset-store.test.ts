import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { DatasetError, DatasetStore, Library } from '../../../../native-models/data/store';
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

  it('rejects ids that could escape the root and unknown ids', () => {
    expect(() => lib.get('../x')).toThrow(DatasetError);
    expect(() => lib.get('nope')).toThrow(/no dataset/);
    expect(() => lib.delete('nope')).toThrow(/no dataset/);
    expect(() => lib.create('  ')).toThrow(/name/);
  });
});

describe('DatasetStore', () => {
  it('adds items with images and reads them back', async () => {
    const d = lib.get(lib.create('x').id);
    const item = await d.addItem({ image: await tinyImage(1), fileName: 'a.png', captions: [{ text: 'a red cat' }], split: 'val' });
    expect(item.width).toBe(8);
    expect(item.height).toBe(9);
    expect(item.split).toBe('val');
    expect(item.captions.map((c) => c.text)).toEqual(['a red cat']);
    expect(d.getBlob(item.image).length).toBeGreaterThan(0);
    const q = d.query({ offset: 0, limit: 10 });
    expect(q.total).toBe(1);
    expect(q.items[0]).toMatchObject({ id: item.id, caption: 'a red cat', hasSpoken: false, hasRegions: false, split: 'val' });
    expect(d.blobPath(q.items[0].thumb)).toContain(path.join('blobs', q.items[0].thumb.slice(0, 2)));
    expect(d.integrityCheck()).toBe('ok');
  });
});
