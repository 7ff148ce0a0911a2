// The open item and every edit to it: captions, split, regions, spoken captions, undo/redo.
// Each edit returns the item as stored, which replaces the local copy (no optimistic guessing).
import { defineStore } from 'pinia';
import { computed, ref, shallowRef, watch } from 'vue';
import type { Box, HistoryState, Item, RegionInput, SpokenRecording } from '../../../electron/common';
import { useBridge } from '../bridge';
import { blobBytes } from './blob-bytes';
import { useDatasetsStore } from './datasets';
import { useGridStore } from './grid';

export const useItemStore = defineStore('item', () => {
  const bridge = useBridge();
  const datasets = useDatasetsStore();
  const grid = useGridStore();
  const item = shallowRef<Item | null>(null);
  const history = ref<HistoryState>({ canUndo: false, canRedo: false });
  const selectedRegionId = ref<string | null>(null);
  const busy = ref(false);
  /**
   * The undo or redo in flight, with its step's label (undoing a large import takes seconds): the views show it and
   * disable their buttons, and further presses are ignored until it is done rather than queued behind it.
   */
  const historyRunning = ref<{ which: 'undo' | 'redo'; label: string } | null>(null);

  const datasetId = computed(() => datasets.currentId);
  const isOpen = computed(() => item.value !== null);

  function need(): { ds: string; it: Item } {
    if (!datasetId.value || !item.value) throw new Error('No item is open.');
    return { ds: datasetId.value, it: item.value };
  }

  async function refreshHistory() {
    const ds = datasetId.value;
    if (!ds) return;
    const h = await bridge.dataset.getHistory(ds);
    if (ds === datasetId.value) history.value = h;
  }

  // The history changes with imports too (each is an undo step), and with the dataset shown.
  let historyTimer: ReturnType<typeof setTimeout> | undefined;
  /** Items this view is deleting itself (it opens the next one; their delete events must not close it). */
  const deleting = new Set<string>();
  /** The item last deleted from the open view and its grid index: undoing that delete shows it again there. */
  let deletedFromView: { id: string; index: number } | null = null;
  watch(datasetId, () => {
    history.value = { canUndo: false, canRedo: false };
    void refreshHistory().catch(() => {});
  }, { immediate: true });
  bridge.dataset.onDidChangeItems((change) => {
    if (change.datasetId !== datasetId.value) return;
    // An undone import (or a redone delete) can take the open item away: close it.
    if (item.value && !deleting.has(item.value.id) && change.deletedIds?.includes(item.value.id)) close();
    clearTimeout(historyTimer);
    historyTimer = setTimeout(() => void refreshHistory().catch(() => {}), 150);
  });

  async function apply(p: Promise<Item>) {
    busy.value = true;
    try {
      const next = await p;
      if (item.value && next.id === item.value.id) item.value = next;
      await refreshHistory();
      return next;
    } finally {
      busy.value = false;
    }
  }

  /** Opens the item at `index` of the grid's filtered order. */
  /** Bumped by every open/close, so a slow open that was overtaken (or closed) is dropped. */
  let openSeq = 0;
  /** Index being opened (keys pressed faster than items load still step from it), -1 when idle. */
  let opening = -1;

  /** Opens the item at `index` of the grid's filtered order; the position changes once it is shown. */
  async function openAt(index: number) {
    if (!datasetId.value || index < 0 || index >= grid.total) return;
    const seq = ++openSeq;
    opening = index;
    const ds = datasetId.value;
    try {
      const summary = await grid.loadAt(index);
      if (!summary || seq !== openSeq) return;
      const next = await bridge.dataset.getItem(ds, summary.id);
      if (seq !== openSeq) return;
      item.value = next;
      grid.selected = index;
      selectedRegionId.value = null;
      await refreshHistory();
    } finally {
      if (seq === openSeq) opening = -1;
    }
  }

  function close() {
    openSeq++;
    opening = -1;
    item.value = null;
    selectedRegionId.value = null;
  }

  const from = () => (opening >= 0 ? opening : grid.selected);
  const next = () => openAt(Math.min(from() + 1, grid.total - 1));
  const prev = () => openAt(Math.max(from() - 1, 0));

  /** A file of the open item (its image, a spoken caption's WAV) as bytes: what the inference service takes. */
  function fileBytes(sha: string, what: string): Promise<Uint8Array> {
    return blobBytes(need().ds, sha, what);
  }

  async function reloadItem() {
    if (item.value && datasetId.value) item.value = await bridge.dataset.getItem(datasetId.value, item.value.id);
  }

  const setCaption = (captionId: string, text: string) => {
    const { ds, it } = need();
    return apply(bridge.dataset.updateCaption(ds, it.id, captionId, { text }));
  };
  const addCaption = (text: string) => {
    const { ds, it } = need();
    return apply(bridge.dataset.addCaption(ds, it.id, text));
  };
  const deleteCaption = (captionId: string) => {
    const { ds, it } = need();
    return apply(bridge.dataset.deleteCaption(ds, it.id, captionId));
  };
  /** Marks every caption of the item as user-approved (curation's "accept"). */
  async function acceptCaptions() {
    const { ds, it } = need();
    await apply(bridge.dataset.acceptCaptions(ds, it.id));
  }
  const setSplit = (split: string) => {
    const { ds, it } = need();
    return apply(bridge.dataset.updateItem(ds, it.id, { split }));
  };

  async function addRegion(box: Box, label = '') {
    const { ds, it } = need();
    const before = new Set(it.regions.map((r) => r.id));
    const next = await apply(bridge.dataset.addRegion(ds, it.id, { box, label, source: 'user' }));
    selectedRegionId.value = next.regions.find((r) => !before.has(r.id))?.id ?? null;
  }
  /** Adds several regions as one undo step (a detector's proposals); resolves with the item as stored. */
  const addRegions = (regions: RegionInput[]) => {
    const { ds, it } = need();
    return apply(bridge.dataset.addRegions(ds, it.id, regions));
  };
  const updateRegion = (regionId: string, patch: { box?: Box; label?: string }) => {
    const { ds, it } = need();
    return apply(bridge.dataset.updateRegion(ds, it.id, regionId, patch));
  };
  async function deleteRegion(regionId: string) {
    const { ds, it } = need();
    if (selectedRegionId.value === regionId) selectedRegionId.value = null;
    await apply(bridge.dataset.deleteRegion(ds, it.id, regionId));
  }

  const addSpoken = (recording: SpokenRecording) => {
    const { ds, it } = need();
    return apply(bridge.dataset.addSpokenCaption(ds, it.id, recording));
  };
  const deleteSpoken = (spokenId: string) => {
    const { ds, it } = need();
    return apply(bridge.dataset.deleteSpokenCaption(ds, it.id, spokenId));
  };

  /** Deletes an item (undoable) and reloads the grid; with the item open, opens the one that takes its place. True when deleted. */
  async function deleteItem(itemId: string): Promise<boolean> {
    const ds = datasetId.value;
    if (!ds) return false;
    const wasOpen = item.value?.id === itemId;
    const index = grid.selected;
    deleting.add(itemId);
    busy.value = true;
    try {
      await bridge.dataset.deleteItem(ds, itemId);
      await grid.reload(true);
      await refreshHistory();
      if (grid.total === 0) grid.selected = -1;
      else if (index >= 0) grid.selected = Math.min(index, grid.total - 1);
      if (wasOpen) {
        deletedFromView = { id: itemId, index };
        if (grid.total === 0) close();
        else await openAt(grid.selected);
      }
      return true;
    } finally {
      busy.value = false;
      deleting.delete(itemId);
    }
  }

  async function undoRedo(which: 'undo' | 'redo') {
    if (!datasetId.value || historyRunning.value) return;
    historyRunning.value = { which, label: (which === 'undo' ? history.value.undoLabel : history.value.redoLabel) ?? '' };
    try {
      return await runUndoRedo(datasetId.value, which);
    } finally {
      historyRunning.value = null;
    }
  }

  async function runUndoRedo(ds: string, which: 'undo' | 'redo') {
    const result = await bridge.dataset[which](ds);
    history.value = { canUndo: result.canUndo, canRedo: result.canRedo, undoLabel: result.undoLabel, redoLabel: result.redoLabel };
    if (result.item && deletedFromView?.id === result.item.id && item.value) {
      // The delete made in this view is undone: show the item again, in its old place (if the list has not
      // changed meanwhile; otherwise the view stays where it is).
      const at = Math.max(0, deletedFromView.index);
      const id = result.item.id;
      deletedFromView = null;
      await grid.reload(true);
      if ((await grid.loadAt(at))?.id === id) await openAt(at);
    } else if (result.item && item.value && result.item.id === item.value.id) item.value = result.item;
    else if (result.itemId && item.value && result.itemId === item.value.id) close(); // it no longer exists
    return result;
  }

  return {
    item, history, historyRunning, selectedRegionId, busy, isOpen,
    openAt, close, next, prev, reloadItem, refreshHistory, fileBytes,
    setCaption, addCaption, deleteCaption, acceptCaptions, setSplit,
    addRegion, addRegions, updateRegion, deleteRegion, addSpoken, deleteSpoken, deleteItem,
    undo: () => undoRedo('undo'), redo: () => undoRedo('redo'),
  };
});
