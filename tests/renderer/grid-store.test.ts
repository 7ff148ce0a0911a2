// The grid store against the real dataset service (in process, behind the Electron bridge shape): opening an item
// by index while the grid reloads (an edit elsewhere fired onDidChangeItems) must wait for the page, not give up.
// This is what made "accept and go to the next item" sometimes stay put.
import fs from 'node:fs';
import path from 'node:path';
import { createPinia, setActivePinia } from 'pinia';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ItemQuery, PreloadApi } from '../../electron/common';
import { LocalDatasetService } from '../../electron/services/dataset-service';
import { tempDir, tinyImage } from '../native-models/data/helpers';

let tmp: ReturnType<typeof tempDir>;
let service: LocalDatasetService;
/** While set, queryItems waits for it: a reload held in flight. */
let gate: Promise<void> | null = null;

beforeAll(async () => {
  tmp = tempDir('opt-grid-');
  service = new LocalDatasetService({ root: path.join(tmp.dir, 'lib') });
  const src = path.join(tmp.dir, 'src');
  fs.mkdirSync(src);
  for (let i = 0; i < 3; i++) fs.writeFileSync(path.join(src, `i${i}.png`), await tinyImage(i + 1));
  const ds = await service.createDataset('Grid');
  await service.importDataset({ jobId: 'g', datasetId: ds.id, format: 'folder', path: src });
  const dataset = Object.create(service) as LocalDatasetService;
  dataset.queryItems = async (id: string, q: ItemQuery) => {
    const page = await service.queryItems(id, q);
    if (gate) await gate;
    return page;
  };
  const none = () => ({ dispose() {} });
  (globalThis as { window?: unknown }).window = {
    optStudio: { dataset, demo: {}, inference: {}, host: { onDidRequestCommand: none }, blobUrl: () => '' } as unknown as PreloadApi,
  };
});
afterAll(() => {
  service.dispose();
  tmp.cleanup();
  delete (globalThis as { window?: unknown }).window;
});

describe('grid store', () => {
  it('loadAt waits for a page a reload is fetching, and for the new generation when a reload starts meanwhile', async () => {
    setActivePinia(createPinia());
    const { useDatasetsStore } = await import('../../renderer/src/stores/datasets');
    const { useGridStore } = await import('../../renderer/src/stores/grid');
    const datasets = useDatasetsStore();
    const grid = useGridStore();
    await datasets.refresh();
    datasets.open(datasets.datasets[0].id);
    await expect.poll(() => grid.total).toBe(3);
    const ids = (await service.queryItems(datasets.currentId!, { offset: 0, limit: 3 })).items.map((i) => i.id);

    // A reload in flight (held), then a request for an index on that page.
    let release!: () => void;
    gate = new Promise((r) => (release = r));
    const reloading = grid.reload(true);
    const found = grid.loadAt(1);
    await new Promise((r) => setTimeout(r, 20));
    gate = null;
    release();
    expect((await found)?.id).toBe(ids[1]);
    await reloading;

    // A second reload starting while loadAt waits: the first fetch's page is dropped, loadAt waits for the new one.
    gate = new Promise((r) => (release = r));
    const first = grid.reload(true);
    const again = grid.loadAt(2);
    await new Promise((r) => setTimeout(r, 20));
    const second = grid.reload(true);
    gate = null;
    release();
    expect((await again)?.id).toBe(ids[2]);
    await Promise.all([first, second]);
    expect(await grid.loadAt(3)).toBeUndefined(); // past the end
  });
});
