import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { LocalDatasetService } from '../../../electron/services/dataset-service';
import { LocalDemoService, type DemoProgress } from '../../../electron/services/demo-service';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-service-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

test('creates the first-start demo dataset in the library, with progress; cancelling removes it', async () => {
  const datasets = new LocalDatasetService({ root });
  const demo = new LocalDemoService(datasets);
  expect(await demo.getDemoAvailability()).toEqual({ available: true, speech: true });
  const events: DemoProgress[] = [];
  demo.onDidChangeDemoProgress((p) => events.push(p));
  const d = await demo.createDemoDataset({ jobId: 'j1', size: 6, seed: 3 });
  expect(d).toMatchObject({ id: 'emojiscenes-6-s3', itemCount: 6 });
  expect(d.digest).toMatch(/^[0-9a-f]{64}$/);
  expect(events.at(-1)).toMatchObject({ jobId: 'j1', done: 6, total: 6 });
  const page = await datasets.queryItems(d.id, { offset: 0, limit: 10 });
  expect(page.total).toBe(6);

  const pending = demo.createDemoDataset({ jobId: 'j2', size: 40, seed: 4 });
  await demo.cancelDemo('j2');
  await expect(pending).rejects.toThrow(/cancelled/);
  expect((await datasets.listDatasets()).map((x) => x.id)).toEqual(['emojiscenes-6-s3']);
  await expect(demo.createDemoDataset({ jobId: 'j3', size: 0 })).rejects.toThrow(/1 to 5000/);
  demo.dispose();
  datasets.dispose();
}, 90_000);
