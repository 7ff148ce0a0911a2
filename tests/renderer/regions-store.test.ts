// The detector-proposals store over a bridge the test controls: a detection overtaken by another item is dropped,
// the item's own boxes are sent as `exclude`, and a double click on Add adds the proposals once (one undo step).
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import type { DetectRegionsOptions, DetectRegionsResult, Item, PreloadApi, RegionInput } from '../../electron/common';

const item = (id: string, boxes: [number, number, number, number][] = []): Item => ({
  id, datasetId: 'd1', split: 'train', image: 'a'.repeat(64), width: 64, height: 64, captions: [], spoken: [],
  regions: boxes.map((box, i) => ({ id: `${id}-r${i}`, box, label: 'old', source: 'user' })),
} as unknown as Item);

const PROPOSALS: DetectRegionsResult = {
  proposals: [
    { box: [0.1, 0.1, 0.4, 0.4], label: 'cat face', score: 0.9, objectness: 0.95, alternatives: [] },
    { box: [0.5, 0.5, 0.9, 0.9], label: 'rocket', score: 0.8, objectness: 0.9, alternatives: [] },
  ],
  excluded: 1, ms: 12,
};

let gate: Promise<void> | null;
let asked: DetectRegionsOptions[];
let added: RegionInput[][];

beforeEach(() => {
  gate = null;
  asked = [];
  added = [];
  const none = () => ({ dispose() {} });
  const dataset = {
    listDatasets: async () => [{ id: 'd1', name: 'D', itemCount: 2 }],
    queryItems: async () => ({ items: [], total: 0 }),
    getHistory: async () => ({ canUndo: true, canRedo: false }),
    addRegions: async (_d: string, id: string, regions: RegionInput[]) => {
      added.push(regions);
      await new Promise((r) => setTimeout(r, 20));
      return item(id, regions.map((r) => r.box));
    },
    onDidChangeDatasets: none, onDidChangeItems: none, onDidChangeJobProgress: none,
  };
  const inference = {
    detectRegions: async (_image: Uint8Array, options: DetectRegionsOptions) => {
      asked.push(options);
      if (gate) await gate;
      return PROPOSALS;
    },
  };
  (globalThis as { window?: unknown }).window = {
    optStudio: { dataset, demo: {}, inference, host: { onDidRequestCommand: none }, blobUrl: () => 'data:image/png;base64,iVBORw0KGgo=' } as unknown as PreloadApi,
  };
  setActivePinia(createPinia());
});

async function stores() {
  const { useDatasetsStore } = await import('../../renderer/src/stores/datasets');
  const { useItemStore } = await import('../../renderer/src/stores/item');
  const { useRegionsStore } = await import('../../renderer/src/stores/regions');
  const datasets = useDatasetsStore();
  await datasets.refresh();
  datasets.open('d1');
  return { itemStore: useItemStore(), regions: useRegionsStore() };
}

describe('regions store', () => {
  it("sends the item's boxes to leave out, shows the rest, and drops a detection overtaken by another item", async () => {
    const { itemStore, regions } = await stores();
    itemStore.item = item('i1', [[0, 0, 0.2, 0.2]]);
    await regions.detect();
    expect(asked[0].exclude).toEqual([[0, 0, 0.2, 0.2]]);
    expect(regions.proposals.map((p) => p.label)).toEqual(['cat face', 'rocket']);
    expect(regions.last).toEqual({ ms: 12, known: 1 });

    let release!: () => void;
    gate = new Promise((r) => (release = r));
    const pending = regions.detect();
    expect(regions.detecting).toBe(true);
    itemStore.item = item('i2');
    await Promise.resolve();
    release();
    await pending;
    expect(regions.proposals).toEqual([]);
    expect(regions.detecting).toBe(false);
    expect(regions.last).toBeNull();
  });

  it('adds the proposals once however often Add is pressed while adding, as one call', async () => {
    const { itemStore, regions } = await stores();
    itemStore.item = item('i1');
    await regions.detect();
    await Promise.all([regions.add(), regions.add(), regions.add([0])]);
    expect(added).toHaveLength(1);
    expect(added[0].map((r) => [r.label, r.source, r.score])).toEqual([['cat face', 'detector', 0.9], ['rocket', 'detector', 0.8]]);
    expect(regions.proposals).toEqual([]);
    expect(itemStore.item?.regions).toHaveLength(2);
  });
});
