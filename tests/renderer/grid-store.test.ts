// The grid store over a bridge whose queryItems the test holds in flight: opening an item by index while the grid
// reloads (an edit elsewhere fired onDidChangeItems) must wait for the page, not give up. This is what made
// "accept and go to the next item" sometimes stay put.
import { createPinia, setActivePinia } from 'pinia';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ItemPage, ItemQuery, ItemSummary, PreloadApi } from '../../electron/common';

/** Three items; queryItems answers a page of them, and waits while `gate` is set (a reload held in flight). */
const ITEMS = ['a', 'b', 'c'].map((id) => ({ id }) as ItemSummary);
const ids = ITEMS.map((i) => i.id);
let gate: Promise<void> | null = null;

beforeAll(() => {
  const none = () => ({ dispose() {} });
  const dataset = {
    listDatasets: async () => [{ id: 'd1', name: 'Grid', itemCount: ITEMS.length }],
    listJobs: async () => [],
    queryItems: async (_id: string, q: ItemQuery): Promise<ItemPage> => {
      const page = { items: ITEMS.slice(q.offset, q.offset + q.limit), total: ITEMS.length } as ItemPage;
      if (gate) await gate;
      return page;
    },
    onDidChangeDatasets: none, onDidChangeItems: none, onDidChangeJobProgress: none,
  };
  (globalThis as { window?: unknown }).window = {
    optStudio: { dataset, demo: {}, inference: {}, host: { onDidRequestCommand: none }, blobUrl: () => '' } as unknown as PreloadApi,
  };
});
afterAll(() => {
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
