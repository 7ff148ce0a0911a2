// The open item's image as OPT's image tokenizer (the dVAE) sees it: the 64x64 input, its 8x8 codes and the image
// those codes decode back to (what OPT's generated images are made of). Asked for, not computed on every open.
import { defineStore } from 'pinia';
import { ref, shallowRef } from 'vue';
import type { ImageTokens } from '../../../electron/common';
import { useBridge } from '../bridge';
import { useItemScope } from './item-scope';
import { useItemStore } from './item';

export const useImageTokensStore = defineStore('imageTokens', () => {
  const bridge = useBridge();
  const itemStore = useItemStore();
  const tokens = shallowRef<ImageTokens | null>(null);
  /** Object URLs of the two PNGs, revoked when the tokens go. */
  const urls = shallowRef<{ input: string; reconstruction: string } | null>(null);
  const loading = ref(false);
  /** The code cell under the pointer (row-major index), outlined on both images. */
  const hovered = ref<number | null>(null);

  const scope = useItemScope(() => {
    if (urls.value) {
      URL.revokeObjectURL(urls.value.input);
      URL.revokeObjectURL(urls.value.reconstruction);
    }
    urls.value = null;
    tokens.value = null;
    loading.value = false;
    hovered.value = null;
  });

  /** Tokenizes the open item's image (dropped if the item changes meanwhile). */
  function show() {
    return scope.fresh(loading, async (item) => bridge.inference.tokenizeImage(await itemStore.fileBytes(item.image, "the item's image")), (result) => {
      const url = (png: Uint8Array) => URL.createObjectURL(new Blob([png as BlobPart], { type: 'image/png' }));
      urls.value = { input: url(result.input), reconstruction: url(result.reconstruction) };
      tokens.value = result;
    });
  }

  /** T: shows the tokens, or hides them when shown. */
  async function toggle() {
    if (tokens.value) scope.reset();
    else await show();
  }

  return { tokens, urls, loading, hovered, show, toggle, clear: scope.reset };
});
