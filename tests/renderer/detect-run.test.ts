// The dataset-wide Detect regions run (stores/datasets.ts) over a bridge the test controls: the items come from the
// listing with their image refs (no getItem per item), an unreadable image is counted and skipped, everything found
// goes in as one addRegionsToItems call, and a failure part-way keeps what was found before it.
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import type { DetectRegionsResult, ItemSummary, PreloadApi, RegionsForItem } from '../../electron/common';

const ITEMS = ['i1', 'i2', 'i3', 'i4'];
const summary = (id: string): ItemSummary => ({ id, split: 'train', image: `sha-${id}`, thumb: `thumb-${id}`, width: 64, height: 64, caption: '', hasSpoken: false, hasRegions: false });
const found = (label: string): DetectRegionsResult => ({
  proposals: [{ box: [0.1, 0.1, 0.5, 0.5], label, score: 0.9, objectness: 0.95, alternatives: [] }], excluded: 0, ms: 1,
});

let calls: RegionsForItem[][];
let itemReads: number;
/** What the detector does with each image (by the image ref the bytes carry). */
let detect: (image: string) => DetectRegionsResult;

beforeEach(() => {
  calls = [];
  itemReads = 0;
  const none = () => ({ dispose() {} });
  const dataset = {
    listDatasets: async () => [{ id: 'd1', name: 'D', itemCount: ITEMS.length }],
    queryItems: async (_d: string, q: { offset: number; limit: number }) => ({ items: ITEMS.slice(q.offset, q.offset + q.limit).map(summary), total: ITEMS.length }),
    getItem: async () => {
      itemReads++;
      throw new Error('not needed');
    },
    addRegionsToItems: async (_d: string, entries: RegionsForItem[]) => {
      calls.push(entries);
      return { items: entries.length, regions: entries.reduce((n, e) => n + e.regions.length, 0) };
    },
    onDidChangeDatasets: none, onDidChangeItems: none, onDidChangeJobProgress: none,
  };
  const inference = { detectRegions: async (bytes: Uint8Array) => detect(new TextDecoder().decode(bytes)) };
  (globalThis as { window?: unknown }).window = {
    optStudio: { dataset, demo: {}, inference, host: { onDidRequestCommand: none }, blobUrl: (_d: string, sha: string) => `data:text/plain,${sha}` } as unknown as PreloadApi,
  };
  setActivePinia(createPinia());
});

async function store() {
  const { useDatasetsStore } = await import('../../renderer/src/stores/datasets');
  return useDatasetsStore();
}

describe('Detect regions over a dataset', () => {
  it('reads each listed image once, counts an unreadable one, and adds everything as one step', async () => {
    detect = (image) => {
      if (image === 'sha-i2') throw new Error('The image could not be read: bad header');
      return image === 'sha-i4' ? { proposals: [], excluded: 0, ms: 1 } : found(image);
    };
    const s = await store();
    const report = await s.runDetectRegions('d1');
    expect(report).toEqual({ items: 2, regions: 2, looked: 4, unreadable: 1 });
    expect(itemReads).toBe(0);
    expect(calls).toHaveLength(1);
    expect(calls[0].map((e) => [e.itemId, e.regions[0].label, e.regions[0].source])).toEqual([['i1', 'sha-i1', 'detector'], ['i3', 'sha-i3', 'detector']]);
    expect(s.jobs[0]).toMatchObject({ kind: 'detect', state: 'finished', total: 4, done: 4 });
  });

  it('a failure part-way ends the run, keeps what was found before it (one step) and says so', async () => {
    detect = (image) => {
      if (image === 'sha-i3') throw new Error('the inference process stopped');
      return found(image);
    };
    const s = await store();
    await expect(s.runDetectRegions('d1')).rejects.toThrow(/the inference process stopped \(the 2 regions found before it were added, one undo step\)/);
    expect(calls).toHaveLength(1);
    expect(calls[0].map((e) => e.itemId)).toEqual(['i1', 'i2']);
    expect(s.jobs[0]).toMatchObject({ state: 'failed' });
  });
});
