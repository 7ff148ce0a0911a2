// Datasets: the library list, the open dataset, and import/export/detection jobs with progress and cancel.
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { Dataset, DatasetFormat, ExportReport, ImportReport, JobProgress, PickPathOptions, RegionsForItem } from '../../../electron/common';
import { useBridge, type UploadFile, type UploadProgress } from '../bridge';
import { blobBytes } from './blob-bytes';

/** What a detection job did: regions added (one undo step), items looked at, images that could not be read. */
export interface DetectReport {
  items: number;
  regions: number;
  looked: number;
  unreadable: number;
}

export interface Job {
  jobId: string;
  kind: 'import' | 'export' | 'upload' | 'detect';
  datasetId: string;
  /** The file format (imports, exports, uploads). */
  format?: DatasetFormat;
  done: number;
  total?: number;
  message?: string;
  state: 'running' | 'finished' | 'failed' | 'cancelled';
  importReport?: ImportReport;
  exportReport?: ExportReport;
  detectReport?: DetectReport;
  error?: string;
}

const newJobId = () => `job-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

export const useDatasetsStore = defineStore('datasets', () => {
  const bridge = useBridge();
  const datasets = ref<Dataset[]>([]);
  const currentId = ref<string | null>(null);
  const jobs = ref<Job[]>([]);
  const loading = ref(false);

  const current = computed(() => datasets.value.find((d) => d.id === currentId.value) ?? null);
  const runningJob = computed(() => jobs.value.find((j) => j.state === 'running') ?? null);

  bridge.dataset.onDidChangeDatasets(() => void refresh());
  bridge.dataset.onDidChangeJobProgress((p: JobProgress) => {
    const job = jobs.value.find((j) => j.jobId === p.jobId);
    if (job && job.state === 'running') Object.assign(job, { done: p.done, total: p.total, message: p.message });
  });

  async function refresh() {
    loading.value = true;
    try {
      datasets.value = await bridge.dataset.listDatasets();
      if (currentId.value && !datasets.value.some((d) => d.id === currentId.value)) currentId.value = null;
    } finally {
      loading.value = false;
    }
  }

  function open(id: string | null) {
    currentId.value = id;
  }

  async function create(name: string) {
    const d = await bridge.dataset.createDataset(name);
    await refresh();
    currentId.value = d.id;
    return d;
  }

  async function rename(id: string, name: string) {
    await bridge.dataset.renameDataset(id, name);
    await refresh();
  }

  async function remove(id: string) {
    await bridge.dataset.deleteDataset(id);
    if (currentId.value === id) currentId.value = null;
    await refresh();
  }

  function pickPath(options: PickPathOptions) {
    return bridge.host.pickPath(options);
  }

  const canUpload = !!bridge.upload;

  /** Copies browser-chosen files to the host (web mode); resolves with the host folder. */
  async function upload(datasetId: string, format: DatasetFormat, files: UploadFile[]): Promise<string> {
    if (!bridge.upload) throw new Error('Uploading is only needed in web mode.');
    const job: Job = { jobId: newJobId(), kind: 'upload', datasetId, format, done: 0, total: files.length, state: 'running' };
    jobs.value.unshift(job);
    const live = jobs.value[0];
    try {
      let n = 0;
      const root = await bridge.upload(files, (p: UploadProgress) => Object.assign(live, { done: ++n, message: p.file }));
      live.state = 'finished';
      return root;
    } catch (e) {
      Object.assign(live, { state: 'failed', error: (e as Error).message });
      throw e;
    }
  }

  async function runImport(datasetId: string, format: DatasetFormat, path: string, split?: string, cleanup?: string) {
    const job: Job = { jobId: newJobId(), kind: 'import', datasetId, format, done: 0, state: 'running' };
    jobs.value.unshift(job);
    const live = jobs.value[0];
    try {
      const report = await bridge.dataset.importDataset({ jobId: job.jobId, datasetId, format, path, ...(split ? { split } : {}) });
      Object.assign(live, { state: report.cancelled ? 'cancelled' : 'finished', importReport: report, done: report.imported });
      return report;
    } catch (e) {
      Object.assign(live, { state: 'failed', error: (e as Error).message });
      throw e;
    } finally {
      if (cleanup && bridge.discardUpload) await bridge.discardUpload(cleanup).catch(() => {});
      await refresh();
    }
  }

  async function runExport(datasetId: string, format: DatasetFormat, path: string) {
    const job: Job = { jobId: newJobId(), kind: 'export', datasetId, format, done: 0, state: 'running' };
    jobs.value.unshift(job);
    const live = jobs.value[0];
    try {
      const report = await bridge.dataset.exportDataset({ jobId: job.jobId, datasetId, format, path });
      Object.assign(live, { state: report.cancelled ? 'cancelled' : 'finished', exportReport: report, done: report.exported });
      return report;
    } catch (e) {
      Object.assign(live, { state: 'failed', error: (e as Error).message });
      throw e;
    }
  }

  /** Web mode: where a finished export can be downloaded as a ZIP (undefined in Electron: it is on this disk). */
  function exportDownloadUrl(job: Job): string | undefined {
    return job.kind === 'export' && job.state === 'finished' ? bridge.exportDownloadUrl?.(job.jobId) : undefined;
  }

  /** How many items of a dataset have no regions yet (what a detection job would look at). */
  async function countWithoutRegions(datasetId: string): Promise<number> {
    return (await bridge.dataset.queryItems(datasetId, { hasRegions: false, offset: 0, limit: 1 })).total;
  }

  /** Cancel requests of detection jobs (they run here, not in the service). */
  const cancelledDetects = new Set<string>();

  /**
   * Runs the region detector over every item of a dataset that has no regions yet and adds the boxes it finds
   * (source 'detector', with their scores) as ONE undo step when done — or, when cancelled, what it found so far.
   * The items are listed first, so edits meanwhile do not shift the list; images that cannot be read are counted.
   */
  async function runDetectRegions(datasetId: string): Promise<DetectReport> {
    const job: Job = { jobId: newJobId(), kind: 'detect', datasetId, done: 0, state: 'running', message: 'listing items' };
    jobs.value.unshift(job);
    const live = jobs.value[0];
    const stopped = () => cancelledDetects.has(job.jobId);
    try {
      // id -> image: an edit while listing can shift the pages, so each item once.
      const todo = new Map<string, string>();
      for (let offset = 0; !stopped(); offset += 1000) {
        const page = await bridge.dataset.queryItems(datasetId, { hasRegions: false, offset, limit: 1000 });
        for (const i of page.items) todo.set(i.id, i.image);
        if (page.items.length < 1000) break;
      }
      live.total = todo.size;
      const entries: RegionsForItem[] = [];
      const report: DetectReport = { items: 0, regions: 0, looked: 0, unreadable: 0 };
      const t0 = performance.now();
      /** What was found so far goes in as one undo step: at the end, on Cancel, and when the run fails part-way. */
      const commit = async () => {
        if (!entries.length) return;
        const { items, regions } = await bridge.dataset.addRegionsToItems(datasetId, entries.splice(0), 'Detect regions');
        Object.assign(report, { items, regions });
      };
      let failure: Error | null = null;
      for (const [id, image] of todo) {
        if (stopped() || failure) break;
        // An item deleted meanwhile is skipped by addRegionsToItems; a failure other than an unreadable image ends
        // the run (keeping what was found).
        try {
          const { proposals } = await bridge.inference.detectRegions(await blobBytes(datasetId, image, `the image of item ${id}`), {});
          if (proposals.length) entries.push({ itemId: id, regions: proposals.map((p) => ({ box: p.box, label: p.label, score: p.score, source: 'detector' as const })) });
        } catch (e) {
          if (/image could not be read|^Could not read/.test((e as Error).message)) report.unreadable++;
          else failure = e as Error;
        }
        if (failure) break;
        report.looked++;
        live.done = report.looked;
        const rate = report.looked / ((performance.now() - t0) / 1000);
        live.message = `${rate.toFixed(1)} items/s · ${entries.length} with regions`;
      }
      const cancelled = stopped(); // a Cancel pressed while committing changes nothing any more
      await commit();
      if (failure) {
        Object.assign(live, { detectReport: report });
        throw new Error(`${(failure as Error).message}${report.regions ? ` (the ${report.regions} regions found before it were added, one undo step)` : ''}`);
      }
      Object.assign(live, { state: cancelled ? 'cancelled' : 'finished', detectReport: report });
      return report;
    } catch (e) {
      Object.assign(live, { state: 'failed', error: (e as Error).message });
      throw e;
    } finally {
      cancelledDetects.delete(job.jobId);
      await refresh();
    }
  }

  async function cancel(jobId: string) {
    if (jobs.value.find((j) => j.jobId === jobId)?.kind === 'detect') cancelledDetects.add(jobId);
    else await bridge.dataset.cancelJob(jobId);
  }

  function clearFinished() {
    jobs.value = jobs.value.filter((j) => j.state === 'running');
  }

  return {
    datasets, currentId, current, jobs, runningJob, loading, canUpload,
    refresh, open, create, rename, remove, pickPath, upload, runImport, runExport, runDetectRegions, countWithoutRegions, exportDownloadUrl, cancel, clearFinished,
  };
});
