// Contract tests: the real dataset service behind the generic proxy, over an in-memory transport.
// What a renderer sees through any host: typed calls, events, validation, unknown methods refused.
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRpcClient, SERVICE_CHANNELS, type DatasetService, type JobProgress, type RpcClient } from '../../../electron/common';
import { LocalDatasetService } from '../../../electron/services/dataset-service';
import { LocalInferenceService } from '../../../electron/services/inference-service';
import { hostServices } from '../../../electron/workers/service-host';
import { MAX_REGION_LABEL } from '../../../native-models/data/store/types';
import { WebHostService } from '../../../electron/web/host-service';
import { createProtocolPair, type ProtocolPair } from './protocol-pair';

let tmp: string;
let service: LocalDatasetService;
let pair: ProtocolPair;
let client: RpcClient;
let dataset: DatasetService;
let inferenceService: LocalInferenceService;

async function png(file: string, r: number, g: number, b: number) {
  await sharp({ create: { width: 40, height: 30, channels: 3, background: { r, g, b } } }).png().toFile(file);
}

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'opt-contract-'));
  mkdirSync(path.join(tmp, 'images/sub'), { recursive: true });
  await png(path.join(tmp, 'images/a.png'), 255, 0, 0);
  await png(path.join(tmp, 'images/sub/b.png'), 0, 255, 0);
  await png(path.join(tmp, 'images/c.png'), 0, 0, 255);
  service = new LocalDatasetService({ root: path.join(tmp, 'lib') });
  pair = createProtocolPair();
  inferenceService = new LocalInferenceService({ threads: 1 });
  hostServices(pair.server, { dataset: service, inference: inferenceService, host: new WebHostService({ version: '0.0.0', libraryRoot: service.library.root }) });
  client = createRpcClient(pair.client);
  dataset = client.service('dataset');
});

afterAll(async () => {
  client.dispose();
  service.dispose();
  await inferenceService.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

describe('contract over an in-memory transport', () => {
  it('exposes exactly the channel list as methods and events', () => {
    expect(Object.keys(dataset).sort()).toEqual([...SERVICE_CHANNELS.dataset.methods, ...SERVICE_CHANNELS.dataset.events].sort());
  });

  it('creates, lists, renames and deletes datasets, with change events', async () => {
    const changes: string[] = [];
    const sub = dataset.onDidChangeDatasets((c) => changes.push(c.kind));
    const d = await dataset.createDataset('Birds');
    expect(d).toMatchObject({ name: 'Birds', itemCount: 0 });
    expect((await dataset.listDatasets()).map((x) => x.name)).toContain('Birds');
    expect((await dataset.renameDataset(d.id, 'Birds 2')).name).toBe('Birds 2');
    await dataset.deleteDataset(d.id);
    expect((await dataset.listDatasets()).some((x) => x.id === d.id)).toBe(false);
    await new Promise((r) => setImmediate(r));
    expect(changes).toEqual(['created', 'renamed', 'deleted']);
    sub.dispose();
  });

  it('imports with progress events, queries pages, edits with undo/redo, records, boxes', async () => {
    const d = await dataset.createDataset('Flow');
    const progress: JobProgress[] = [];
    const sub = dataset.onDidChangeJobProgress((p) => progress.push(p));
    const report = await dataset.importDataset({ jobId: 'j1', datasetId: d.id, format: 'folder', path: path.join(tmp, 'images') });
    sub.dispose();
    expect(report).toMatchObject({ imported: 3, duplicates: 0 });
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.every((p) => p.jobId === 'j1' && p.kind === 'import')).toBe(true);

    const page = await dataset.queryItems(d.id, { offset: 1, limit: 10 });
    expect(page.total).toBe(3);
    expect(page.items).toHaveLength(2);
    const id = page.items[0].id;

    let item = await dataset.addCaption(d.id, id, 'a red square');
    const captionId = item.captions[0].id;
    item = await dataset.updateCaption(d.id, id, captionId, { text: 'a crimson square' });
    expect(item.captions[0].text).toBe('a crimson square');
    const undone = await dataset.undo(d.id);
    expect(undone.item?.captions[0].text ?? (await dataset.getItem(d.id, id)).captions[0].text).toBe('a red square');
    expect((await dataset.redo(d.id)).canUndo).toBe(true);
    expect((await dataset.getItem(d.id, id)).captions[0].text).toBe('a crimson square');

    item = await dataset.addRegion(d.id, id, { box: [0.1, 0.2, 0.5, 0.6], label: 'square' });
    expect(item.regions[0]).toMatchObject({ box: [0.1, 0.2, 0.5, 0.6], label: 'square' });
    item = await dataset.updateRegion(d.id, id, item.regions[0].id, { label: 'block' });
    expect(item.regions[0].label).toBe('block');

    // A Float32Array crosses the boundary intact (structured clone) and becomes 16 kHz WAV.
    const pcm = new Float32Array(48000).map((_, i) => 0.3 * Math.sin((2 * Math.PI * 440 * i) / 48000));
    item = await dataset.addSpokenCaption(d.id, id, { pcm, sampleRate: 48000, trace: [[{ x: 0.1, y: 0.1, t: 0 }, { x: 0.4, y: 0.5, t: 0.5 }]] });
    expect(item.spoken[0]).toMatchObject({ sampleRate: 16000 });
    expect(item.spoken[0].durationS).toBeCloseTo(1, 2);
    expect(item.spoken[0].trace[0]).toHaveLength(2);

    expect((await dataset.queryItems(d.id, { offset: 0, limit: 10, hasSpoken: true, hasRegions: true })).total).toBe(1);
    expect((await dataset.queryItems(d.id, { offset: 0, limit: 10, text: 'crimson' })).items.map((x) => x.id)).toEqual([id]);
  });

  it('cancels an import by its jobId through the proxy; what was imported stays', async () => {
    const many = path.join(tmp, 'many');
    mkdirSync(many);
    for (let i = 0; i < 30; i++) await png(path.join(many, `m${i}.png`), i * 8, 255 - i * 8, 128);
    const d = await dataset.createDataset('Cancelled');
    let cancelled = false;
    const sub = dataset.onDidChangeJobProgress((p) => {
      if (p.jobId === 'c1' && !cancelled) {
        cancelled = true;
        void dataset.cancelJob('c1');
      }
    });
    const report = await dataset.importDataset({ jobId: 'c1', datasetId: d.id, format: 'folder', path: many });
    sub.dispose();
    expect(report.cancelled).toBe(true);
    expect(report.imported).toBeLessThan(30);
    expect((await dataset.queryItems(d.id, { offset: 0, limit: 50 })).total).toBe(report.imported);
  });

  it('rejects arguments that do not fit the contract before the service sees them', async () => {
    const bad = dataset as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    await expect(bad.createDataset(42)).rejects.toMatchObject({ name: 'ValidationError', message: expect.stringContaining('createDataset') });
    await expect(bad.createDataset('   ')).rejects.toMatchObject({ name: 'ValidationError' });
    await expect(bad.queryItems('x', { offset: -1, limit: 10 })).rejects.toMatchObject({ name: 'ValidationError', message: expect.stringContaining('offset') });
    await expect(bad.addRegion('x', 'y', { box: [0.5, 0.5, 0.2, 0.9], label: '' })).rejects.toMatchObject({ name: 'ValidationError', message: expect.stringContaining('x0 <= x1') });
    await expect(bad.addSpokenCaption('x', 'y', { pcm: [0.1, 0.2], sampleRate: 16000, trace: [] })).rejects.toMatchObject({ name: 'ValidationError' });
    await expect(bad.listDatasets('extra')).rejects.toMatchObject({ name: 'ValidationError' });
    // The same bound as the store's (it once allowed 500 characters, which the store then refused less clearly).
    await expect(bad.addRegion('x', 'y', { box: [0, 0, 1, 1], label: 'a'.repeat(MAX_REGION_LABEL + 1) })).rejects.toMatchObject({ name: 'ValidationError' });
    await expect(bad.updateRegion('x', 'y', 'z', { label: 'a'.repeat(MAX_REGION_LABEL + 1) })).rejects.toMatchObject({ name: 'ValidationError' });
    await expect(bad.addRegions('x', 'y', [])).rejects.toMatchObject({ name: 'ValidationError', message: expect.stringContaining('no regions given') });
    await expect(bad.addRegionsToItems('x', [])).rejects.toMatchObject({ name: 'ValidationError' });
    await expect(bad.detectDatasetRegions({ jobId: '', datasetId: 'x' })).rejects.toMatchObject({ name: 'ValidationError', message: expect.stringContaining('jobId') });
    await expect(bad.detectDatasetRegions('x')).rejects.toMatchObject({ name: 'ValidationError' });
    await expect(bad.addRegionsToItems('x', [{ itemId: 'y', regions: [{ box: [0, 0, 2, 1], label: '' }] }])).rejects.toMatchObject({ name: 'ValidationError' });
    await expect(bad.addRegionsToItems('x', [{ itemId: 'y', regions: [{ box: [0, 0, 1, 1], label: '' }] }], '')).rejects.toMatchObject({ name: 'ValidationError' });
    const inference = client.service('inference') as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    await expect(inference.detectRegions(new Uint8Array(0), {})).rejects.toMatchObject({ name: 'ValidationError', message: expect.stringContaining('the image is empty') });
    await expect(inference.detectRegions([1, 2, 3], {})).rejects.toMatchObject({ name: 'ValidationError' });
    await expect(inference.detectRegions(new Uint8Array(8), { maxRegions: 0 })).rejects.toMatchObject({ name: 'ValidationError', message: expect.stringContaining('maxRegions') });
    await expect(inference.detectRegions(new Uint8Array(8), { minObjectness: 2 })).rejects.toMatchObject({ name: 'ValidationError' });
  });

  it('runs the detector on image bytes sent over the transport and answers plain proposals', async () => {
    const inference = client.service('inference');
    expect((await inference.getModelInfo()).components.map((c) => c.kind)).toContain('detector');
    const image = new Uint8Array(await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 200, g: 200, b: 200 } } }).png().toBuffer());
    const result = await inference.detectRegions(image, { minObjectness: 0, maxRegions: 3 });
    expect(result.proposals.length).toBeGreaterThan(0); // objectness 0: every proposal the RPN keeps is one
    expect(result.proposals.length).toBeLessThanOrEqual(3);
    for (const p of result.proposals) expect(p.box.every((v) => v >= 0 && v <= 1)).toBe(true);
    await expect(inference.detectRegions(new Uint8Array([1, 2, 3]), {})).rejects.toMatchObject({ message: expect.stringContaining('image could not be read') });
  });

  it('refuses unknown services and methods, and passes service errors through by name', async () => {
    await expect(client.call('dataset', 'dropEverything', [])).rejects.toMatchObject({ name: 'ValidationError', message: "Unknown method 'dataset.dropEverything'" });
    await expect(client.call('shell', 'exec', ['rm -rf /'])).rejects.toMatchObject({ name: 'ValidationError', message: "Unknown service 'shell'" });
    await expect(client.call('dataset', 'constructor', [])).rejects.toMatchObject({ name: 'ValidationError' });
    await expect(dataset.getItem('no-such-dataset', 'x')).rejects.toMatchObject({ message: expect.stringMatching(/no-such-dataset|not found|no dataset/i) });
  });

  it('rejects pending calls when the connection closes', async () => {
    const p2 = createProtocolPair();
    const c2 = createRpcClient(p2.client); // nothing serves p2: the call stays pending until close
    const pending = c2.service('dataset').listDatasets();
    p2.close();
    await expect(pending).rejects.toMatchObject({ name: 'ConnectionClosed' });
  });

  it('serves the host service', async () => {
    const info = await client.service('host').getAppInfo();
    expect(info).toMatchObject({ mode: 'web', canUpload: true, canPickPaths: false, libraryRoot: service.library.root });
    await expect(client.service('host').pickPath({ kind: 'folder' })).rejects.toThrow(/web mode/);
  });
});
