// The region detector's proposals for the open item: the inference service runs the model package's detector on
// the item's image, the stage shows the proposals dashed, and the user adds them (as regions with source 'detector',
// one undo step) or dismisses them. Nothing is stored until added.
import { defineStore } from 'pinia';
import { ref, shallowRef } from 'vue';
import type { RegionProposal } from '../../../electron/common';
import { useBridge } from '../bridge';
import { useItemScope } from './item-scope';
import { useItemStore } from './item';

export const useRegionsStore = defineStore('regions', () => {
  const bridge = useBridge();
  const itemStore = useItemStore();
  /** Proposals for the open item, most object-like first. */
  const proposals = shallowRef<RegionProposal[]>([]);
  const detecting = ref(false);
  /** After a detection: how long it took and how many of its regions the item already had. */
  const last = ref<{ ms: number; known: number } | null>(null);
  /** Proposals being added: the add buttons wait (a double click must not add them twice). */
  const adding = ref(false);
  /** The proposal under the pointer in the list, highlighted on the stage. */
  const highlighted = ref<number | null>(null);

  const scope = useItemScope(() => {
    proposals.value = [];
    detecting.value = false;
    adding.value = false;
    last.value = null;
    highlighted.value = null;
  });

  /** Runs the detector on the open item's image. A detection overtaken by another item is dropped. */
  function detect() {
    return scope.fresh(detecting, async (item) => {
      const bytes = await itemStore.fileBytes(item.image, "the item's image");
      // Boxes the item has are not proposed again (the service leaves them out and counts them); read when the
      // request goes, so boxes drawn while the image loads count too.
      const exclude = (itemStore.item?.id === item.id ? itemStore.item : item).regions.map((r) => r.box);
      return bridge.inference.detectRegions(bytes, { exclude });
    }, (result) => {
      proposals.value = result.proposals;
      last.value = { ms: result.ms, known: result.excluded };
    });
  }

  /** Adds these proposals (default: all) to the item as regions, one undo step, and takes them off the list. */
  async function add(indices?: number[]) {
    const picked = (indices ?? proposals.value.map((_, i) => i)).map((i) => proposals.value[i]).filter((p): p is RegionProposal => !!p);
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

  return { proposals, detecting, adding, last, highlighted, detect, add, dismiss, clear: scope.reset };
});
