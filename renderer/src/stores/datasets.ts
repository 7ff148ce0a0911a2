// Datasets: the library list, the open dataset, and import/export/detection jobs with progress and cancel.
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { Dataset, DatasetFormat, DetectDatasetReport, ExportReport, ImportReport, JobProgress, PickPathOptions } from '../../../electron/common';
import { useBridge, type UploadFile, type UploadProgress } from '../bridge';

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
  detectReport?: DetectDatasetReport;
  error?: string;
  /** Started elsewhere (before a reload, in another tab): known from its progress events, with no report. */
  followed?: boolean;
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

  /** Jobs whose end this page has heard of before listJobs answered (so an answer that crossed that end does not
   * bring them back); null once it has. */
  let endedIds: Set<string> | null = new Set<string>();
  function onProgress(p: JobProgress) {
    if (p.ended) endedIds?.add(p.jobId);
    let job = jobs.value.find((j) => j.jobId === p.jobId);
    if (!job) {
      // A job this page did not start (this page before a reload, another tab): followed from its events alone.
      if (p.ended) return;
      jobs.value.unshift({ jobId: p.jobId, kind: p.kind, datasetId: p.datasetId, done: 0, state: 'running', followed: true });
      job = jobs.value[0];
    }
    if (job.state !== 'running') return;
    Object.assign(job, { done: p.done, total: p.total, message: p.message });
    // A followed job ends with its last event (its starter gets the report); the message says what it did.
    if (p.ended && job.followed) Object.assign(job, { state: p.ended }, p.ended === 'failed' ? { error: p.message } : {});
  }
  bridge.dataset.onDidChangeDatasets(() => void refresh());
  bridge.dataset.onDidChangeJobProgress(onProgress);
  // Jobs already running when this page opened (a reload, another tab) show at once, not from their next event.
  void bridge.dataset.listJobs().then((running) => {
    for (const p of running) if (!endedIds?.has(p.jobId) && !jobs.value.some((j) => j.jobId === p.jobId)) onProgress(p);
  }, () => {}).finally(() => (endedIds = null));

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

  /**
   * A job of the dataset service, shown in the Activity panel: `call` starts it under a new jobId (its progress
   * events update the entry); it ends finished or cancelled with what `done` takes from its report, or failed.
   */
  async function serviceJob<R extends { cancelled?: boolean }>(
    job: Pick<Job, 'kind' | 'datasetId' | 'format' | 'message'>, call: (jobId: string) => Promise<R>, done: (report: R) => Partial<Job>,
  ): Promise<R> {
    jobs.value.unshift({ ...job, jobId: newJobId(), done: 0, state: 'running' });
    const live = jobs.value[0];
    try {
      const report = await call(live.jobId);
      Object.assign(live, { state: report.cancelled ? 'cancelled' : 'finished' }, done(report));
      return report;
    } catch (e) {
      Object.assign(live, { state: 'failed', error: (e as Error).message });
      throw e;
    }
  }

  async function runImport(datasetId: string, format: DatasetFormat, path: string, split?: string, cleanup?: string) {
    try {
      return await serviceJob({ kind: 'import', datasetId, format },
        (jobId) => bridge.dataset.importDataset({ jobId, datasetId, format, path, ...(split ? { split } : {}) }),
        (r) => ({ importReport: r, done: r.imported }));
    } finally {
      if (cleanup && bridge.discardUpload) await bridge.discardUpload(cleanup).catch(() => {});
      await refresh();
    }
  }

  function runExport(datasetId: string, format: DatasetFormat, path: string) {
    return serviceJob({ kind: 'export', datasetId, format },
      (jobId) => bridge.dataset.exportDataset({ jobId, datasetId, format, path }),
      (r) => ({ exportReport: r, done: r.exported }));
  }

  /** Web mode: where a finished export can be downloaded as a ZIP (undefined in Electron: it is on this disk). */
  function exportDownloadUrl(job: Job): string | undefined {
    return job.kind === 'export' && job.state === 'finished' ? bridge.exportDownloadUrl?.(job.jobId) : undefined;
  }

  /** How many items of a dataset have no regions yet (what a detection job would look at). */
  async function countWithoutRegions(datasetId: string): Promise<number> {
    return (await bridge.dataset.queryItems(datasetId, { hasRegions: false, offset: 0, limit: 1 })).total;
  }

  /**
   * Runs the region detector over every item of a dataset that has no regions yet (a job of the dataset service,
   * so it goes on when this page closes or reloads) and adds the boxes it finds as ONE undo step when done — or,
   * when cancelled, what it found so far.
   */
  async function runDetectRegions(datasetId: string): Promise<DetectDatasetReport> {
    try {
      return await serviceJob({ kind: 'detect', datasetId, message: 'listing items' },
        (jobId) => bridge.dataset.detectDatasetRegions({ jobId, datasetId }),
        (r) => ({ detectReport: r, done: r.looked }));
    } finally {
      await refresh();
    }
  }

  async function cancel(jobId: string) {
    await bridge.dataset.cancelJob(jobId);
  }

  function clearFinished() {
    jobs.value = jobs.value.filter((j) => j.state === 'running');
  }

  return {
    datasets, currentId, current, jobs, runningJob, loading, canUpload,
    refresh, open, create, rename, remove, pickPath, upload, runImport, runExport, runDetectRegions, countWithoutRegions, exportDownloadUrl, cancel, clearFinished,
  };
});
