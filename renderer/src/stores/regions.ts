// The region detector's proposals for the open item: the inference service runs the model package's detector on
// the item's image, the stage shows the proposals dashed, and the user adds them (as regions with source 'detector',
// one undo step) or dismisses them. Nothing is stored until added.
import { defineStore } from 'pinia';
import { computed, ref, shallowRef, watch } from 'vue';
import type { Box, RegionProposal } from '../../../electron/common';
import { useBridge } from '../bridge';
import { useItemStore } from './item';

/** A proposal this close (IoU) to a region the item already has is that region: not proposed again. */
const SAME_REGION_IOU = 0.7;

function iou(a: Box, b: Box): number {
  const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = w * h;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return union > 0 ? inter / union : 0;
}

export const useRegionsStore = defineStore('regions', () => {
  const bridge = useBridge();
  const itemStore = useItemStore();
  /** Proposals for `itemId`, most object-like first. */
  const proposals = shallowRef<RegionProposal[]>([]);
  const itemId = ref<string | null>(null);
  const detecting = ref(false);
  /** After a detection: how long it took and how many of its regions the item already had. */
  const last = ref<{ ms: number; found: number; known: number } | null>(null);
  /** Smallest objectness shown (the detector's own default). */
  const minObjectness = ref(0.5);
  /** The proposal under the pointer in the list, highlighted on the stage. */
  const highlighted = ref<number | null>(null);
  let seq = 0;

  const shown = computed(() => (itemId.value !== null && itemId.value === itemStore.item?.id ? proposals.value : []));

  function clear() {
    seq++;
    proposals.value = [];
    itemId.value = null;
    detecting.value = false;
    last.value = null;
    highlighted.value = null;
  }
  // Proposals belong to the item they were made for.
  watch(() => itemStore.item?.id, (id) => {
    if (id !== itemId.value) clear();
  });

  /** Runs the detector on the open item's image. A detection overtaken by another item is dropped. */
  async function detect() {
    const it = itemStore.item;
    if (!it || detecting.value) return;
    const mine = ++seq;
    proposals.value = [];
    itemId.value = it.id;
    last.value = null;
    detecting.value = true;
    try {
      const bytes = await itemStore.fileBytes(it.image, "the item's image");
      const result = await bridge.inference.detectRegions(bytes, { minObjectness: minObjectness.value });
      if (mine !== seq) return;
      const existing = itemStore.item?.id === it.id ? itemStore.item.regions : it.regions;
      const fresh = result.proposals.filter((p) => !existing.some((r) => iou(r.box, p.box) >= SAME_REGION_IOU));
      proposals.value = fresh;
      last.value = { ms: result.ms, found: result.proposals.length, known: result.proposals.length - fresh.length };
    } finally {
      if (mine === seq) detecting.value = false;
    }
  }

  /** Adds these proposals (default: all) to the item as regions, one undo step, and takes them off the list. */
  async function add(indices?: number[]) {
    const picked = (indices ?? shown.value.map((_, i) => i)).map((i) => shown.value[i]).filter((p): p is RegionProposal => !!p);
    if (picked.length === 0) return;
    await itemStore.addRegions(picked.map((p) => ({ box: p.box, label: p.label, score: p.score, source: 'detector' as const })));
    proposals.value = proposals.value.filter((p) => !picked.includes(p));
    highlighted.value = null;
  }

  function dismiss(index?: number) {
    proposals.value = index === undefined ? [] : proposals.value.filter((_, i) => i !== index);
    highlighted.value = null;
  }

  return { proposals: shown, detecting, last, minObjectness, highlighted, detect, add, dismiss, clear };
});
