// The first-start demo: whether this host can make an EmojiScenes dataset, the offer's visibility,
// and the one running demo job (progress, ETA, cancel). When a job finishes it opens the new dataset.
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { DEMO_DEFAULT_SIZE, type DemoAvailability, type DemoDataset, type DemoProgress } from '../../../electron/common';
import { useBridge } from '../bridge';
import { useDatasetsStore } from './datasets';
import { useItemStore } from './item';

/** Sizes the offer lets a user pick; DEMO_DEFAULT_SIZE (300) is the default. */
export const DEMO_SIZES = [12, 60, DEMO_DEFAULT_SIZE, 1000, 3000] as const;
export { DEMO_DEFAULT_SIZE };

/**
 * Items per second on 2 cores, measured by the generator's README (native-models/data/demo/README.md,
 * "Rate"), used only for the estimate shown before starting; the live ETA comes from the job itself.
 */
const MEASURED_RATE = { speech: 4.0, silent: 8.2 };

export interface DemoJob {
  jobId: string;
  size: number;
  speech: boolean;
  done: number;
  total: number;
  rate: number;
  etaS: number;
  state: 'running' | 'finished' | 'failed' | 'cancelled';
  error?: string;
}

/** "a few seconds", "under a minute", "about a minute", "about 4 minutes". */
export function roughDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 20) return 'a few seconds';
  if (seconds < 50) return 'under a minute';
  if (seconds < 100) return 'about a minute';
  return `about ${Math.round(seconds / 60)} minutes`;
}

export const useDemoStore = defineStore('demo', () => {
  const bridge = useBridge();
  const datasets = useDatasetsStore();
  const availability = ref<DemoAvailability | null>(null);
  /** Opened from the "New" menu; the empty library shows the offer without it. */
  const offerOpen = ref(false);
  const job = ref<DemoJob | null>(null);
  let cancelRequested = false;

  const available = computed(() => !!availability.value?.available);
  const running = computed(() => job.value?.state === 'running');
  /** The offer shows in an empty library, when asked for, and while a demo job runs. */
  // Not gated on datasets.loading: a refresh would unmount the offer and lose the user's choices.
  // availability is only checked after the first listing, so an unloaded library never shows it.
  const showOffer = computed(() => available.value && (running.value || offerOpen.value || datasets.datasets.length === 0));

  bridge.demo.onDidChangeDemoProgress((p: DemoProgress) => {
    const j = job.value;
    if (j && j.jobId === p.jobId && j.state === 'running') Object.assign(j, { done: p.done, total: p.total, rate: p.rate, etaS: p.etaS });
  });

  async function check() {
    availability.value = await bridge.demo.getDemoAvailability();
  }

  /** Seconds a demo of `size` items should take here, before it starts. */
  function estimateS(size: number, speech: boolean) {
    return size / (speech ? MEASURED_RATE.speech : MEASURED_RATE.silent);
  }

  /** Generates the demo dataset, then opens it; resolves undefined when cancelled. */
  async function create(size: number, speech: boolean): Promise<DemoDataset | undefined> {
    if (running.value) throw new Error('A demo dataset is already being created.');
    const jobId = `demo-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    cancelRequested = false;
    job.value = { jobId, size, speech, done: 0, total: size, rate: 0, etaS: Number.NaN, state: 'running' };
    const live = job.value;
    try {
      const d = await bridge.demo.createDemoDataset({ jobId, size, speech });
      live.state = 'finished';
      offerOpen.value = false;
      await datasets.refresh();
      useItemStore().close();
      datasets.open(d.id);
      return d;
    } catch (e) {
      if (cancelRequested) {
        live.state = 'cancelled';
        await datasets.refresh();
        return undefined;
      }
      Object.assign(live, { state: 'failed', error: (e as Error).message });
      throw e;
    }
  }

  async function cancel() {
    const j = job.value;
    if (!j || j.state !== 'running') return;
    cancelRequested = true;
    await bridge.demo.cancelDemo(j.jobId);
  }

  function openOffer() {
    if (job.value?.state !== 'running') job.value = null;
    offerOpen.value = true;
  }

  function closeOffer() {
    offerOpen.value = false;
  }

  return { availability, available, offerOpen, job, running, showOffer, check, estimateS, create, cancel, openOffer, closeOffer };
});
