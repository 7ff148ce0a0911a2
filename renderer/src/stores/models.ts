// The model package the inference service runs, for the Models panel: which package, its components and the
// figures their evaluations measured. Read afresh each time the panel opens (a package can be replaced on disk).
import { defineStore } from 'pinia';
import { ref, shallowRef } from 'vue';
import type { ModelInfo } from '../../../electron/common';
import { useBridge } from '../bridge';

export const useModelsStore = defineStore('models', () => {
  const bridge = useBridge();
  const info = shallowRef<ModelInfo | null>(null);
  const open = ref(false);
  const loading = ref(false);

  async function show() {
    open.value = true;
    loading.value = true;
    try {
      info.value = await bridge.inference.getModelInfo();
    } finally {
      loading.value = false;
    }
  }

  return { info, open, loading, show };
});
