// Web mode's service thread: the dataset service (calls with typed arrays, events, blob look-ups) crosses the thread
// boundary; closing stops the worker. (The inference process: inference-supervisor.test.ts.)
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DatasetsChange } from '../../../electron/common';
import { startServiceThread, type ServiceThread } from '../../../electron/web/service-thread';

let tmp: string;
let thread: ServiceThread;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'opt-thread-'));
  await sharp({ create: { width: 30, height: 20, channels: 3, background: { r: 9, g: 99, b: 199 } } }).png().toFile(path.join(tmp, 'one.png'));
  thread = await startServiceThread(path.join(tmp, 'lib'));
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
