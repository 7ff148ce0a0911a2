// The stores that work for the open item (detector proposals, image tokens, speech tokens) over a bridge the test
// controls: a result overtaken by another item is dropped, the item's own boxes are sent as `exclude`, a double click
// on Add adds the proposals once (one undo step), object URLs are revoked when the tokens go, and one recording is
// encoded at a time.
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { nextTick } from 'vue';
import type { DetectRegionsOptions, DetectRegionsResult, ImageTokens, Item, PreloadApi, RegionInput, SpeechTokens } from '../../electron/common';

const item = (id: string, boxes: [number, number, number, number][] = []): Item => ({
  id, datasetId: 'd1', split: 'train', image: 'a'.repeat(64), width: 64, height: 64, captions: [],
  spoken: ['s1', 's2'].map((s) => ({ id: `${id}-${s}`, wav: 'b'.repeat(64) })),
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
let encoded: number;

beforeEach(() => {
  gate = null;
  asked = [];
  added = [];
  encoded = 0;
  const none = () => ({ dispose() {} });
  const dataset = {
    listDatasets: async () => [{ id: 'd1', name: 'D', itemCount: 2 }],
    listJobs: async () => [],
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
    tokenizeImage: async (): Promise<ImageTokens> => {
      if (gate) await gate;
      return { grid: 8, codebookSize: 8192, codes: new Array(64).fill(7), size: 64, input: new Uint8Array([1]), reconstruction: new Uint8Array([2]), psnr: 24, ms: 5 };
    },
    encodeSpeech: async (): Promise<SpeechTokens> => {
      encoded++;
      if (gate) await gate;
      return { frameRate: 50, tokens: [1, 2, 3], vocab: 4096, durationS: 0.06, pooled: 3, window: 1, silent: false, clipped: false, gainDb: 0, ms: 3 };
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
  const { useImageTokensStore } = await import('../../renderer/src/stores/image-tokens');
  const { useSpeechTokensStore } = await import('../../renderer/src/stores/speech-tokens');
  const datasets = useDatasetsStore();
  await datasets.refresh();
  datasets.open('d1');
  return { itemStore: useItemStore(), regions: useRegionsStore(), imageTokens: useImageTokensStore(), speech: useSpeechTokensStore() };
}

describe('regions store', () => {
  it("sends the item's boxes to leave out, shows the rest, and drops a detection overtaken by another item", async () => {
    const { itemStore, regions } = await stores();
    itemStore.item = item('i1', [[0, 0, 0.2, 0.2]]);
    await nextTick(); // the item is shown before the user can press D
    await regions.detect();
    expect(asked[0].exclude).toEqual([[0, 0, 0.2, 0.2]]);
    expect(regions.proposals.map((p) => p.label)).toEqual(['cat face', 'rocket']);
    expect(regions.last).toEqual({ ms: 12, known: 1 });

    let release!: () => void;
    gate = new Promise((r) => (release = r));
    const pending = regions.detect();
    expect(regions.detecting).toBe(true);
    itemStore.item = item('i2');
    await nextTick();
    release();
    await pending;
    expect(regions.proposals).toEqual([]);
    expect(regions.detecting).toBe(false);
    expect(regions.last).toBeNull();
  });

  it('adds the proposals once however often Add is pressed while adding, as one call', async () => {
    const { itemStore, regions } = await stores();
    itemStore.item = item('i1');
    await nextTick();
    await regions.detect();
    await Promise.all([regions.add(), regions.add(), regions.add([0])]);
    expect(added).toHaveLength(1);
    expect(added[0].map((r) => [r.label, r.source, r.score])).toEqual([['cat face', 'detector', 0.9], ['rocket', 'detector', 0.8]]);
    expect(regions.proposals).toEqual([]);
    expect(itemStore.item?.regions).toHaveLength(2);
  });

  it('image tokens: object URLs made for a result are revoked when hidden or when another item opens; an overtaken result is dropped', async () => {
    const { itemStore, imageTokens } = await stores();
    const made: string[] = [];
    const revoked: string[] = [];
    const create = vi.spyOn(URL, 'createObjectURL').mockImplementation(() => `blob:t/${made.push('x')}`);
    const revoke = vi.spyOn(URL, 'revokeObjectURL').mockImplementation((u) => void revoked.push(u));
    try {
      itemStore.item = item('i1');
      await nextTick();
      await imageTokens.toggle();
      expect(imageTokens.tokens?.codes).toHaveLength(64);
      expect(imageTokens.urls).toEqual({ input: 'blob:t/1', reconstruction: 'blob:t/2' });
      await imageTokens.toggle(); // hide
      expect(imageTokens.tokens).toBeNull();
      expect(revoked).toEqual(['blob:t/1', 'blob:t/2']);
      await imageTokens.toggle();
      itemStore.item = item('i2');
      await nextTick();
      expect(revoked).toEqual(['blob:t/1', 'blob:t/2', 'blob:t/3', 'blob:t/4']);

      let release!: () => void;
      gate = new Promise((r) => (release = r));
      const pending = imageTokens.show();
      itemStore.item = item('i3');
      await nextTick();
      release();
      await pending;
      expect(imageTokens.tokens).toBeNull();
      expect(imageTokens.loading).toBe(false);
      expect(made).toHaveLength(4); // the dropped result made no URLs
    } finally {
      create.mockRestore();
      revoke.mockRestore();
    }
  });

  it('speech tokens: one recording at a time, shown per recording, hidden again, and dropped with the item', async () => {
    const { itemStore, speech } = await stores();
    itemStore.item = item('i1');
    await nextTick();
    let release!: () => void;
    gate = new Promise((r) => (release = r));
    const first = speech.toggle('i1-s1');
    await speech.toggle('i1-s2'); // ignored while the first is encoding
    expect(speech.loading).toBe('i1-s1');
    gate = null;
    release();
    await first;
    expect(encoded).toBe(1);
    expect([...speech.tokens.keys()]).toEqual(['i1-s1']);
    await speech.toggle('i1-s2');
    expect([...speech.tokens.keys()]).toEqual(['i1-s1', 'i1-s2']);
    await speech.toggle('i1-s1'); // hide
    expect([...speech.tokens.keys()]).toEqual(['i1-s2']);
    itemStore.item = item('i2');
    await nextTick();
    expect(speech.tokens.size).toBe(0);
  });
});
