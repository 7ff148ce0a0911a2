// The region detector's proposals for the open item: the inference service runs the model package's detector on
// the item's image, the stage shows the proposals dashed, and the user adds them (as regions with source 'detector',
// one undo step) or dismisses them. Nothing is stored until added.
import { defineStore } from 'pinia';
import { computed, ref, shallowRef, watch } from 'vue';
import type { RegionProposal } from '../../../electron/common';
import { useBridge } from '../bridge';
import { useItemStore } from './item';

export const useRegionsStore = defineStore('regions', () => {
  const bridge = useBridge();
  const itemStore = useItemStore();
  /** Proposals for `itemId`, most object-like first. */
  const proposals = shallowRef<RegionProposal[]>([]);
  const itemId = ref<string | null>(null);
  const detecting = ref(false);
  /** After a detection: how long it took and how many of its regions the item already had. */
  const last = ref<{ ms: number; known: number } | null>(null);
  /** Proposals being added: the add buttons wait (a double click must not add them twice). */
  const adding = ref(false);
  /** The proposal under the pointer in the list, highlighted on the stage. */
  const highlighted = ref<number | null>(null);
  let seq = 0;

  const shown = computed(() => (itemId.value !== null && itemId.value === itemStore.item?.id ? proposals.value : []));

  function clear() {
    seq++;
    proposals.value = [];
    itemId.value = null;
    detecting.value = false;
    adding.value = false;
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
      // Boxes the item already has are not proposed again (the service leaves them out and counts them).
      const result = await bridge.inference.detectRegions(bytes, { exclude: it.regions.map((r) => r.box) });
      if (mine !== seq) return;
      proposals.value = result.proposals;
      last.value = { ms: result.ms, known: result.excluded };
    } finally {
      if (mine === seq) detecting.value = false;
    }
  }

  /** Adds these proposals (default: all) to the item as regions, one undo step, and takes them off the list. */
  async function add(indices?: number[]) {
    const picked = (indices ?? shown.value.map((_, i) => i)).map((i) => shown.value[i]).filter((p): p is RegionProposal => !!p);
    if (picked.length === 0 || adding.value) return;
    adding.value = true;
    try {
      await itemStore.addRegions(picked.map((p) => ({ box: p.box, label: p.label, score: p.score, source: 'detector' as const })));
      proposals.value = proposals.value.filter((p) => !picked.includes(p));
      highlighted.value = null;
    } finally {
      adding.value = false;
    }
  }

  function dismiss(index?: number) {
    proposals.value = index === undefined ? [] : proposals.value.filter((_, i) => i !== index);
    highlighted.value = null;
  }

  return { proposals: shown, detecting, adding, last, highlighted, detect, add, dismiss, clear };
});
