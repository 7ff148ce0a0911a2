// The open item's image as OPT's image tokenizer (the dVAE) sees it: the 64x64 input, its 8x8 codes and the image
// those codes decode back to (what OPT's generated images are made of). Asked for, not computed on every open.
import { defineStore } from 'pinia';
import { computed, ref, shallowRef, watch } from 'vue';
import type { ImageTokens } from '../../../electron/common';
import { useBridge } from '../bridge';
import { useItemStore } from './item';

export const useImageTokensStore = defineStore('imageTokens', () => {
  const bridge = useBridge();
  const itemStore = useItemStore();
  const tokens = shallowRef<ImageTokens | null>(null);
  /** Object URLs of the two PNGs (revoked when replaced). */
  const urls = shallowRef<{ input: string; reconstruction: string } | null>(null);
  const itemId = ref<string | null>(null);
  const loading = ref(false);
  /** The code cell under the pointer (row-major index), outlined on both images. */
  const hovered = ref<number | null>(null);
  let seq = 0;

  const shown = computed(() => (itemId.value !== null && itemId.value === itemStore.item?.id ? tokens.value : null));

  function clear() {
    seq++;
    if (urls.value) {
      URL.revokeObjectURL(urls.value.input);
      URL.revokeObjectURL(urls.value.reconstruction);
    }
    urls.value = null;
    tokens.value = null;
    itemId.value = null;
    loading.value = false;
    hovered.value = null;
  }
  watch(() => itemStore.item?.id, (id) => {
    if (id !== itemId.value) clear();
  });

  /** Tokenizes the open item's image (dropped if the item changes meanwhile). */
  async function show() {
    const it = itemStore.item;
    if (!it || loading.value) return;
    clear();
    const mine = seq;
    itemId.value = it.id;
    loading.value = true;
    try {
      const bytes = await itemStore.fileBytes(it.image, "the item's image");
      const result = await bridge.inference.tokenizeImage(bytes);
      if (mine !== seq) return;
      const url = (png: Uint8Array) => URL.createObjectURL(new Blob([png as BlobPart], { type: 'image/png' }));
      urls.value = { input: url(result.input), reconstruction: url(result.reconstruction) };
      tokens.value = result;
    } finally {
      if (mine === seq) loading.value = false;
    }
  }

  /** T: shows the tokens, or hides them when shown. */
  async function toggle() {
    if (shown.value) clear();
    else await show();
  }

  return { tokens: shown, urls, loading, hovered, show, toggle, clear };
});
