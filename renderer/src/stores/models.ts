// The model package the inference service runs, for the Models panel: which package, its components and the
// figures their evaluations measured. Read afresh each time the panel opens (a package can be replaced on disk).
import { defineStore } from 'pinia';
import { ref, shallowRef } from 'vue';
import type { ModelInfo } from '../../../electron/common';
import { useBridge } from '../bridge';
import { useAppStore } from './app';

export const useModelsStore = defineStore('models', () => {
  const bridge = useBridge();
  const app = useAppStore();
  const info = shallowRef<ModelInfo | null>(null);
  const loading = ref(false);

  /** Opens the panel and reads the package; a failure shows in the panel. */
  async function show() {
    app.modelsOpen = true;
    loading.value = true;
    try {
      info.value = await bridge.inference.getModelInfo();
    } catch (e) {
      info.value = { packageDir: '', components: [], error: `The inference service did not answer: ${(e as Error).message}` };
    } finally {
      loading.value = false;
    }
  }

  return { info, loading, show };
});
