// The open item's spoken captions as OPT's audio encoder sees them: one speech token per 20 ms frame, and how many
// pooled audio tokens OPT takes. Asked for per recording (each takes a moment), kept while the item stays open.
import { defineStore } from 'pinia';
import { ref, shallowRef, triggerRef } from 'vue';
import type { SpeechTokens } from '../../../electron/common';
import { useBridge } from '../bridge';
import { useItemScope } from './item-scope';
import { useItemStore } from './item';

export const useSpeechTokensStore = defineStore('speechTokens', () => {
  const bridge = useBridge();
  const itemStore = useItemStore();
  /** By spoken caption id. */
  const tokens = shallowRef(new Map<string, SpeechTokens>());
  /** The recording being encoded (one at a time: every Tokens button waits). */
  const loading = ref<string | null>(null);

  const scope = useItemScope(() => {
    tokens.value = new Map();
    loading.value = null;
  });

  /** Shows a recording's tokens, or hides them when shown. */
  async function toggle(spokenId: string) {
    if (tokens.value.delete(spokenId)) return triggerRef(tokens);
    if (loading.value) return;
    const run = scope.begin();
    const spoken = run?.item.spoken.find((s) => s.id === spokenId);
    if (!run || !spoken) return;
    loading.value = spokenId;
    try {
      const bytes = await itemStore.fileBytes(spoken.wav, 'the recording');
      const result = await bridge.inference.encodeSpeech(bytes);
      if (!run.live()) return;
      tokens.value.set(spokenId, result);
      triggerRef(tokens);
    } finally {
      if (run.live()) loading.value = null;
    }
  }

  return { tokens, loading, toggle };
});
