// Web mode's service threads: the dataset service (calls with typed arrays, events, blob look-ups) and the inference
// service cross the thread boundary; closing stops each worker.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DatasetsChange } from '../../../electron/common';
import { startInferenceThread, startServiceThread, type ServiceThread } from '../../../electron/web/service-thread';

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

it('runs the inference service on a thread of its own: image bytes in, proposals out, closing stops it', async () => {
  const models = await startInferenceThread();
  try {
    expect((await models.inference.getModelInfo()).components.map((c) => c.kind)).toEqual(expect.arrayContaining(['detector', 'dvae', 'audio-encoder']));
    const image = new Uint8Array(await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 20, g: 120, b: 220 } } }).png().toBuffer());
    const result = await models.inference.detectRegions(image, { minObjectness: 0, maxRegions: 2 });
    expect(result.proposals.length).toBeLessThanOrEqual(2);
    expect(result.ms).toBeGreaterThan(0);
    await expect(models.inference.detectRegions(new Uint8Array([7, 7, 7]), {})).rejects.toThrow(/image could not be read/);
  } finally {
    await models.close();
  }
  await expect(models.inference.getModelInfo()).rejects.toThrow();
});
