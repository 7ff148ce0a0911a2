// Contract test of the first-start demo: the real LocalDemoService beside the real dataset service
// (same library), behind the generic proxy over an in-memory transport — what the renderer's demo
// store sees: availability, progress events for its job, the new dataset listed and queryable with
// captions, validation before the service, cancel through the proxy.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRpcClient, SERVICE_CHANNELS, type DatasetService, type DemoProgress, type DemoService, type RpcClient } from '../../../electron/common';
import { LocalDatasetService } from '../../../electron/services/dataset-service';
import { LocalDemoService } from '../../../electron/services/demo-service';
import { hostServices } from '../../../electron/workers/service-host';
import { createProtocolPair } from './protocol-pair';

let tmp: string;
let datasetService: LocalDatasetService;
let demoService: LocalDemoService;
let client: RpcClient;
let dataset: DatasetService;
let demo: DemoService;

beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'opt-demo-contract-'));
  datasetService = new LocalDatasetService({ root: path.join(tmp, 'lib') });
  demoService = new LocalDemoService(datasetService);
  const pair = createProtocolPair();
  hostServices(pair.server, { dataset: datasetService, demo: demoService });
  client = createRpcClient(pair.client);
  dataset = client.service('dataset');
  demo = client.service('demo');
});

afterAll(() => {
  client.dispose();
  demoService.dispose();
  datasetService.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

describe('demo service over an in-memory transport', () => {
  it('exposes exactly the channel list', () => {
    expect(Object.keys(demo).sort()).toEqual([...SERVICE_CHANNELS.demo.methods, ...SERVICE_CHANNELS.demo.events].sort());
  });

  it('creates a tiny demo dataset without speech, with progress, into the dataset service\'s library', async () => {
    expect(await demo.getDemoAvailability()).toMatchObject({ available: true });
    const progress: DemoProgress[] = [];
    const sub = demo.onDidChangeDemoProgress((p) => progress.push(p));
    const d = await demo.createDemoDataset({ jobId: 'd1', size: 6, seed: 5, speech: false });
    sub.dispose();
    expect(d).toMatchObject({ itemCount: 6, spoken: false });
    expect(d.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.every((p) => p.jobId === 'd1' && p.total === 6)).toBe(true);
    expect(progress.at(-1)).toMatchObject({ done: 6, total: 6 });

    expect((await dataset.listDatasets()).map((x) => x.id)).toContain(d.id);
    const page = await dataset.queryItems(d.id, { offset: 0, limit: 10 });
    expect(page.total).toBe(6);
    expect(page.items.every((i) => i.caption && i.caption.length > 3 && i.hasRegions && !i.hasSpoken)).toBe(true);

    // The same request again finds the dataset complete: same id and digest, nothing regenerated.
    const again = await demo.createDemoDataset({ jobId: 'd2', size: 6, seed: 5, speech: false });
    expect(again).toMatchObject({ id: d.id, digest: d.digest, itemCount: 6 });
  }, 60_000);

  it('validates arguments before the service sees them', async () => {
    const bad = demo as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    await expect(bad.createDemoDataset({ jobId: 'x', size: 0 })).rejects.toMatchObject({ name: 'ValidationError', message: expect.stringContaining('1 to 5000') });
    await expect(bad.createDemoDataset({ jobId: 'x', size: 2.5 })).rejects.toMatchObject({ name: 'ValidationError' });
    await expect(bad.createDemoDataset({ jobId: 'x', size: 10, speech: 'yes' })).rejects.toMatchObject({ name: 'ValidationError' });
    await expect(bad.createDemoDataset({ size: 10 })).rejects.toMatchObject({ name: 'ValidationError', message: expect.stringContaining('jobId') });
    await expect(bad.cancelDemo('')).rejects.toMatchObject({ name: 'ValidationError' });
  });

  it('cancels a job through the proxy: the call rejects and nothing half-made stays listed', async () => {
    const before = (await dataset.listDatasets()).map((x) => x.id).sort();
    let cancelled = false;
    const sub = demo.onDidChangeDemoProgress((p) => {
      if (p.jobId === 'c1' && !cancelled) {
        cancelled = true;
        void demo.cancelDemo('c1');
      }
    });
    const pending = demo.createDemoDataset({ jobId: 'c1', size: 200, seed: 9, speech: false });
    await expect(pending).rejects.toThrow(/cancel/i);
    sub.dispose();
    expect((await dataset.listDatasets()).map((x) => x.id).sort()).toEqual(before);
    await demo.cancelDemo('no-such-job'); // a no-op
  }, 60_000);
});
