// Web mode's service thread: the dataset service (calls with typed arrays, events, blob look-ups) crosses the thread
// boundary, its detection jobs reach the server's detector over their own port; closing stops the worker. (The
// inference process: inference-supervisor.test.ts.)
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Worker } from 'node:worker_threads';
import { UNREADABLE_INPUT_ERROR, type DatasetsChange, type Detector, type JobProgress } from '../../../electron/common';
import { RestartPolicy } from '../../../electron/common/restart-policy';
import { startServiceThread, type ServiceThread } from '../../../electron/web/service-thread';

let tmp: string;
let thread: ServiceThread;
/** The server side's detector (web mode passes its inference process's): names what it was given. */
const seen: string[] = [];
const detector: Detector = {
  detectRegions: async (image, options) => {
    const { width, height, format } = await sharp(image).metadata();
    seen.push(`${format} ${width}x${height} ${JSON.stringify(options)}`);
    if (seen.length > 1) throw Object.assign(new Error('The image could not be read: test'), { name: UNREADABLE_INPUT_ERROR });
    return { proposals: [{ box: [0.1, 0.1, 0.9, 0.9], label: `${width}x${height}`, score: 0.75, objectness: 0.9, alternatives: [] }], excluded: 0, ms: 1 };
  },
};

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'opt-thread-'));
  await sharp({ create: { width: 30, height: 20, channels: 3, background: { r: 9, g: 99, b: 199 } } }).png().toFile(path.join(tmp, 'one.png'));
  thread = await startServiceThread(path.join(tmp, 'lib'), detector);
});

afterAll(async () => {
  await thread.close();
  rmSync(tmp, { recursive: true, force: true });
});

it('runs the dataset service off the server thread', async () => {
  const changes: DatasetsChange[] = [];
  thread.dataset.onDidChangeDatasets((c) => changes.push(c));
  const d = await thread.dataset.createDataset('Threaded');
  const report = await thread.dataset.importDataset({ jobId: 't1', datasetId: d.id, format: 'folder', path: tmp });
  expect(report.imported).toBe(1);
  const { items } = await thread.dataset.queryItems(d.id, { offset: 0, limit: 1 });
  const item = await thread.dataset.addSpokenCaption(d.id, items[0].id, { pcm: new Float32Array(8000).fill(0.1), sampleRate: 8000, trace: [] });
  expect(item.spoken[0].durationS).toBeCloseTo(1, 2);
  const blob = await thread.blobs.resolveBlob(d.id, item.spoken[0].wav);
  expect(blob).toMatchObject({ mime: 'audio/wav' });
  expect(await thread.blobs.resolveBlob(d.id, '0'.repeat(64))).toBeUndefined();
  await expect.poll(() => changes.map((c) => c.kind)).toContain('created');
});

it('runs detection jobs in the thread against the server\'s detector, errors keeping their names', async () => {
  const d = await thread.dataset.createDataset('Detect');
  await thread.dataset.importDataset({ jobId: 't2', datasetId: d.id, format: 'folder', path: tmp });
  const report = await thread.dataset.detectDatasetRegions({ jobId: 'd1', datasetId: d.id });
  expect(report).toEqual({ items: 1, regions: 1, looked: 1, unreadable: 0, deleted: 0 });
  expect(seen).toEqual(['png 30x20 {}']); // the item's own image bytes, across two ports
  const { items } = await thread.dataset.queryItems(d.id, { offset: 0, limit: 1 });
  expect((await thread.dataset.getItem(d.id, items[0].id)).regions).toMatchObject([{ label: '30x20', score: 0.75, source: 'detector' }]);
  await thread.dataset.undo(d.id);
  // The detector's "unreadable" crosses both ports with its name: counted, not a failure.
  expect(await thread.dataset.detectDatasetRegions({ jobId: 'd2', datasetId: d.id })).toMatchObject({ looked: 1, unreadable: 1, regions: 0 });
});

it('restarts a thread that dies: its jobs end as failed for their followers, calls fail clearly, listeners stay', async () => {
  const workers: Worker[] = [];
  let asked!: () => void;
  const detectorAsked = new Promise<void>((r) => (asked = r));
  // A detector that never answers keeps a detection job running until the thread dies under it.
  const hanging: Detector = { detectRegions: () => { asked(); return new Promise(() => {}); } };
  const t = await startServiceThread(path.join(tmp, 'lib2'), hanging, {
    policy: new RestartPolicy({ windowMs: 60_000, maxExits: 1, baseDelayMs: 10 }),
    onWorker: (w) => workers.push(w),
  });
  try {
    const progress: JobProgress[] = [];
    const changes: DatasetsChange[] = [];
    t.dataset.onDidChangeJobProgress((p) => progress.push(p));
    t.dataset.onDidChangeDatasets((c) => changes.push(c));
    const d = await t.dataset.createDataset('Survives');
    await t.dataset.importDataset({ jobId: 'i1', datasetId: d.id, format: 'folder', path: tmp });
    const job = t.dataset.detectDatasetRegions({ jobId: 'dies', datasetId: d.id }).then(() => 'finished', (e: Error) => e);
    await detectorAsked;
    await expect.poll(() => progress.some((p) => p.jobId === 'dies' && !p.ended)).toBe(true);

    await workers[0].terminate(); // the thread dies (as on an uncaught error)
    expect(await job).toMatchObject({ message: 'The dataset service stopped while this ran; it restarts by itself: try again in a moment.' });
    expect(progress.filter((p) => p.jobId === 'dies').at(-1)).toMatchObject({ ended: 'failed', message: 'The dataset service stopped.' });

    // A fresh thread on the same library: the data is there, calls and events work through the same objects.
    await expect.poll(() => workers.length).toBe(2);
    await expect.poll(() => t.dataset.listDatasets().then((l) => l.map((x) => x.name), () => [])).toEqual(['Survives']);
    await t.dataset.renameDataset(d.id, 'Still here');
    await expect.poll(() => changes.map((c) => c.kind)).toContain('renamed');

    // Once it keeps dying (maxExits 1 here), it stays down and says why.
    await workers[1].terminate();
    await expect.poll(() => t.dataset.listDatasets().then(() => '', (e: Error) => e.message)).toMatch(/keeps stopping .* restart the server/);
    expect(workers).toHaveLength(2);
  } finally {
    await t.close();
  }
});

it('closing stops the running jobs and lets the thread close its datasets and exit by itself', async () => {
  const workers: Worker[] = [];
  const lib = path.join(tmp, 'lib3');
  let asked!: () => void;
  const detectorAsked = new Promise<void>((r) => (asked = r));
  const hanging: Detector = { detectRegions: () => { asked(); return new Promise(() => {}); } };
  const t = await startServiceThread(lib, hanging, { onWorker: (w) => workers.push(w) });
  const exitCode = new Promise<number>((r) => workers[0].once('exit', r));
  const d = await t.dataset.createDataset('Closed cleanly');
  await t.dataset.importDataset({ jobId: 'c1', datasetId: d.id, format: 'folder', path: tmp });
  // A detection job still running (its detector never answers) when the server closes.
  const job = t.dataset.detectDatasetRegions({ jobId: 'c2', datasetId: d.id }).then(() => 'finished', (e: Error) => e.message);
  await detectorAsked;
  expect(readdirSync(lib, { recursive: true }).some((f) => String(f).endsWith('-wal'))).toBe(true); // open: a write-ahead log
  const [a, b] = [t.close(), t.close()];
  await a;
  expect(await Promise.race([b.then(() => 'closed'), new Promise((r) => setTimeout(() => r('pending'), 0))])).toBe('closed'); // one close for both calls
  expect(await job).toBe('The studio is shutting down.');
  expect(await exitCode).toBe(0); // exited, not stopped (terminate() gives 1)
  // Its connection closed: SQLite folded the write-ahead log back into the database and removed it.
  expect(readdirSync(lib, { recursive: true }).filter((f) => String(f).endsWith('-wal'))).toEqual([]);
});

it('a thread that cannot start fails with its own error and is not started again', async () => {
  const workers: Worker[] = [];
  const notAFolder = path.join(tmp, 'one.png');
  const failed = await startServiceThread(notAFolder, detector, {
    policy: new RestartPolicy({ windowMs: 60_000, maxExits: 3, baseDelayMs: 10 }),
    onWorker: (w) => workers.push(w),
  }).then(() => 'started', (e: Error) => e.message);
  expect(failed).toMatch(/^The dataset service could not start: .*(EEXIST|ENOTDIR)/);
  await new Promise((r) => setTimeout(r, 100)); // past the policy's delay
  expect(workers).toHaveLength(1);
});
