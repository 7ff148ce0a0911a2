// The open item's spoken captions as OPT's audio encoder sees them: one speech token per 20 ms frame, and how many
// pooled audio tokens OPT takes. Asked for per recording (each takes a moment), kept while the item stays open.
import { defineStore } from 'pinia';
import { ref, shallowRef, triggerRef, watch } from 'vue';
import type { SpeechTokens } from '../../../electron/common';
import { useBridge } from '../bridge';
import { useItemStore } from './item';

export const useSpeechTokensStore = defineStore('speechTokens', () => {
  const bridge = useBridge();
  const itemStore = useItemStore();
  /** By spoken caption id. */
  const tokens = shallowRef(new Map<string, SpeechTokens>());
  const loading = ref<string | null>(null);
  let itemId: string | null = null;
  let seq = 0;

  watch(() => itemStore.item?.id ?? null, (id) => {
    if (id === itemId) return;
    itemId = id;
    seq++;
    tokens.value = new Map();
    loading.value = null;
  }, { immediate: true });

  /** Shows a recording's tokens, or hides them when shown. */
  async function toggle(spokenId: string) {
    if (tokens.value.delete(spokenId)) return triggerRef(tokens);
    const spoken = itemStore.item?.spoken.find((s) => s.id === spokenId);
    if (!spoken || loading.value) return;
    const mine = ++seq;
    loading.value = spokenId;
    try {
      const bytes = await itemStore.fileBytes(spoken.wav, 'the recording');
      const result = await bridge.inference.encodeSpeech(bytes);
      if (mine !== seq) return;
      tokens.value.set(spokenId, result);
      triggerRef(tokens);
    } finally {
      if (mine === seq) loading.value = null;
    }
  }

  return { tokens, loading, toggle };
});
