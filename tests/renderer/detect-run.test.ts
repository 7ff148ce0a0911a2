// The Activity panel's jobs (stores/datasets.ts) over a bridge the test controls: dataset-wide Detect regions is a
// job of the dataset service — the page starts it, follows its progress events and shows its report — and a job
// this page did not start (the page was reloaded, another tab started it) is followed from its events alone.
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import type { DetectDatasetReport, DetectDatasetRequest, JobProgress, PreloadApi } from '../../electron/common';

let progressListener: (p: JobProgress) => void;
let cancelled: string[];
/** What the service's listJobs answers (the jobs running when the page opens). */
let runningNow: () => Promise<JobProgress[]>;
/** What the service's detection job does, given the request and a way to send its progress. */
let job: (request: DetectDatasetRequest, send: (p: Omit<JobProgress, 'jobId' | 'kind' | 'datasetId'>) => void) => Promise<DetectDatasetReport>;

beforeEach(() => {
  cancelled = [];
  runningNow = async () => [];
  const none = () => ({ dispose() {} });
  const dataset = {
    listDatasets: async () => [{ id: 'd1', name: 'D', itemCount: 4 }],
    detectDatasetRegions: (r: DetectDatasetRequest) => job(r, (p) => progressListener({ jobId: r.jobId, kind: 'detect', datasetId: r.datasetId, ...p })),
    cancelJob: async (id: string) => void cancelled.push(id),
    listJobs: () => runningNow(),
    onDidChangeDatasets: none, onDidChangeItems: none,
    onDidChangeJobProgress: (l: (p: JobProgress) => void) => {
      progressListener = l;
      return { dispose() {} };
    },
  };
  (globalThis as { window?: unknown }).window = {
    optStudio: { dataset, demo: {}, inference: {}, host: { onDidRequestCommand: none }, blobUrl: () => '' } as unknown as PreloadApi,
  };
  setActivePinia(createPinia());
});

async function store() {
  const { useDatasetsStore } = await import('../../renderer/src/stores/datasets');
  return useDatasetsStore();
}

describe('Detect regions over a dataset, as a service job', () => {
  it('shows the job\'s progress, cancels it through the service, and keeps its report', async () => {
    const s = await store();
    let midway: unknown;
    job = async (r, send) => {
      send({ done: 0, total: 4, message: 'detecting' });
      send({ done: 2, total: 4, message: '3.0 items/s · 1 with regions' });
      midway = { ...s.jobs[0] };
      await s.cancel(r.jobId);
      send({ done: 2, total: 2, message: '1 regions added to 1 of 2 items', ended: 'cancelled' });
      return { items: 1, regions: 1, looked: 2, unreadable: 0, deleted: 0, cancelled: true };
    };
    const report = await s.runDetectRegions('d1');
    expect(midway).toMatchObject({ kind: 'detect', state: 'running', done: 2, total: 4, message: '3.0 items/s · 1 with regions' });
    expect(cancelled).toEqual([s.jobs[0].jobId]);
    expect(report).toMatchObject({ regions: 1, cancelled: true });
    expect(s.jobs).toHaveLength(1);
    expect(s.jobs[0]).toMatchObject({ state: 'cancelled', detectReport: report, done: 2 });
  });

  it('a failed job says why (the service kept what was found and says so)', async () => {
    const s = await store();
    job = async () => {
      throw new Error('Region detection stopped after 1 of 4 items: the inference process stopped (the 2 regions found before it were added, one undo step)');
    };
    await expect(s.runDetectRegions('d1')).rejects.toThrow(/the 2 regions found before it were added/);
    expect(s.jobs[0]).toMatchObject({ state: 'failed', error: expect.stringMatching(/^Region detection stopped after 1 of 4 items/) });
  });

  it('follows a job it did not start, to its end', async () => {
    const s = await store();
    progressListener({ jobId: 'elsewhere', kind: 'detect', datasetId: 'd1', done: 10, total: 50, message: '2.0 items/s · 4 with regions' });
    expect(s.jobs).toMatchObject([{ jobId: 'elsewhere', kind: 'detect', state: 'running', done: 10, total: 50, followed: true }]);
    expect(s.runningJob?.jobId).toBe('elsewhere');
    await s.cancel('elsewhere'); // its Cancel works from here too
    expect(cancelled).toEqual(['elsewhere']);
    progressListener({ jobId: 'elsewhere', kind: 'detect', datasetId: 'd1', done: 12, total: 12, message: '5 regions added to 5 of 12 items', ended: 'cancelled' });
    expect(s.jobs[0]).toMatchObject({ state: 'cancelled', done: 12, message: '5 regions added to 5 of 12 items' });
    // A failure's message becomes its error; the end of a job never seen running adds nothing.
    progressListener({ jobId: 'other', kind: 'import', datasetId: 'd1', done: 0, message: 'scan' });
    progressListener({ jobId: 'other', kind: 'import', datasetId: 'd1', done: 3, total: 3, message: 'disk full', ended: 'failed' });
    progressListener({ jobId: 'unseen', kind: 'export', datasetId: 'd1', done: 3, total: 3, message: '3 exported', ended: 'finished' });
    expect(s.jobs.map((j) => [j.jobId, j.state, j.error])).toEqual([['other', 'failed', 'disk full'], ['elsewhere', 'cancelled', undefined]]);
  });

  it('shows the jobs already running when the page opens, unless their end arrived first', async () => {
    let answer!: (jobs: JobProgress[]) => void;
    runningNow = () => new Promise((r) => (answer = r));
    const s = await store();
    // One job ends while the answer is on its way; the other is still running.
    progressListener({ jobId: 'gone', kind: 'import', datasetId: 'd1', done: 5, total: 5, message: '5 imported', ended: 'finished' });
    answer([
      { jobId: 'gone', kind: 'import', datasetId: 'd1', done: 4, total: 5, message: 'b.png' },
      { jobId: 'busy', kind: 'export', datasetId: 'd1', done: 7, total: 9, message: 'c.png' },
    ]);
    await expect.poll(() => s.jobs.map((j) => [j.jobId, j.state, j.done, j.followed])).toEqual([['busy', 'running', 7, true]]);
  });
});
