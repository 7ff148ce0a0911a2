// The item grid of the open dataset: filters, the total, and pages of summaries fetched by offset
// on demand (a 50,000-item dataset only ever holds the pages near the viewport).
import { defineStore } from 'pinia';
import { markRaw, reactive, ref, shallowReactive, watch } from 'vue';
import type { ItemSummary } from '../../../electron/common';
import { useBridge } from '../bridge';
import { useDatasetsStore } from './datasets';

export const PAGE_SIZE = 150;
/** Pages kept in memory; far-away pages are dropped as the user scrolls. */
const MAX_PAGES = 40;

export interface GridFilters {
  text: string;
  split: string;
  hasSpoken: 'any' | 'yes' | 'no';
  hasRegions: 'any' | 'yes' | 'no';
}

export const useGridStore = defineStore('grid', () => {
  const bridge = useBridge();
  const datasets = useDatasetsStore();
  const filters = reactive<GridFilters>({ text: '', split: '', hasSpoken: 'any', hasRegions: 'any' });
  const total = ref(0);
  const pages = shallowReactive(new Map<number, readonly ItemSummary[]>());
  /** Fetches in flight, by page, with the generation they belong to. */
  const loadingPages = new Map<number, { gen: number; done: Promise<void> }>();
  /** Index (in the filtered order) of the selected item, -1 when none. */
  const selected = ref(-1);
  const ready = ref(false);
  let generation = 0;
  let lastRange: [number, number] = [0, 0];

  const tri = (v: 'any' | 'yes' | 'no') => (v === 'any' ? undefined : v === 'yes');

  function queryFor(offset: number, limit: number) {
    return {
      offset, limit,
      ...(filters.text.trim() ? { text: filters.text.trim() } : {}),
      ...(filters.split ? { split: filters.split } : {}),
      ...(tri(filters.hasSpoken) !== undefined ? { hasSpoken: tri(filters.hasSpoken) } : {}),
      ...(tri(filters.hasRegions) !== undefined ? { hasRegions: tri(filters.hasRegions) } : {}),
    };
  }

  /** Fetches a page for generation `gen`; a fetch of the same page and generation already in flight is shared. */
  function fetchPage(page: number, gen: number): Promise<void> {
    const datasetId = datasets.currentId;
    if (!datasetId) return Promise.resolve();
    const inFlight = loadingPages.get(page);
    if (inFlight && inFlight.gen === gen) return inFlight.done;
    const entry = { gen, done: Promise.resolve() };
    entry.done = (async () => {
      await Promise.resolve(); // the entry is in the map before the request goes (and a throw arrives as a rejection)
      const result = await bridge.dataset.queryItems(datasetId, queryFor(page * PAGE_SIZE, PAGE_SIZE));
      if (gen !== generation) return;
      total.value = result.total;
      pages.set(page, markRaw(result.items));
      if (pages.size > MAX_PAGES) {
        const keepFrom = Math.floor(lastRange[0] / PAGE_SIZE) - 4;
        const keepTo = Math.floor(lastRange[1] / PAGE_SIZE) + 4;
        for (const p of [...pages.keys()]) if (p < keepFrom || p > keepTo) pages.delete(p);
      }
    })().finally(() => {
      if (loadingPages.get(page) === entry) loadingPages.delete(page);
    });
    loadingPages.set(page, entry);
    return entry.done;
  }

  /** Makes sure the summaries for indices [start, end) are loaded (or loading). */
  function ensureRange(start: number, end: number) {
    lastRange = [start, end];
    const gen = generation;
    for (let p = Math.floor(start / PAGE_SIZE); p <= Math.floor(Math.max(start, end - 1) / PAGE_SIZE); p++) {
      if (!pages.has(p)) void fetchPage(p, gen);
    }
  }

  function itemAt(index: number): ItemSummary | undefined {
    return pages.get(Math.floor(index / PAGE_SIZE))?.[index % PAGE_SIZE];
  }

  /**
   * Resolves the summary at `index`, fetching its page if needed: it waits for a fetch already in flight, and when
   * a reload (an edit, a filter) starts meanwhile, for the new generation's page (undefined only past the end).
   */
  async function loadAt(index: number): Promise<ItemSummary | undefined> {
    const page = Math.floor(index / PAGE_SIZE);
    const datasetId = datasets.currentId;
    for (let tries = 0; tries < 5 && datasetId && datasets.currentId === datasetId && !pages.has(page); tries++) await fetchPage(page, generation);
    return datasets.currentId === datasetId ? itemAt(index) : undefined; // another dataset opened meanwhile: not its item
  }

  /** Drops every page and refetches the total and the visible window (filters or data changed). */
  async function reload(keepSelection = false) {
    generation++;
    pages.clear();
    loadingPages.clear();
    if (!keepSelection) selected.value = -1;
    if (!datasets.currentId) {
      total.value = 0;
      ready.value = false;
      return;
    }
    await fetchPage(Math.floor(lastRange[0] / PAGE_SIZE), generation);
    ready.value = true;
    ensureRange(lastRange[0], lastRange[1]);
  }

  let reloadTimer: ReturnType<typeof setTimeout> | undefined;
  function reloadSoon(keepSelection = true) {
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(() => void reload(keepSelection), 150);
  }

  watch(() => datasets.currentId, () => {
    lastRange = [0, 0];
    Object.assign(filters, { text: '', split: '', hasSpoken: 'any', hasRegions: 'any' });
    void reload();
  });
  watch(() => [filters.split, filters.hasSpoken, filters.hasRegions], () => void reload());
  watch(() => filters.text, () => reloadSoon(false));

  bridge.dataset.onDidChangeItems((change) => {
    if (change.datasetId === datasets.currentId) reloadSoon(true);
  });

  return { filters, total, pages, selected, ready, ensureRange, itemAt, loadAt, reload };
});
