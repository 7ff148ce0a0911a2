// The preload's surface, generated from the channel list, over a real service host: every contract
// method is a function on its IPC channel, events subscribe and unsubscribe, errors read cleanly.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { CHANNEL_PREFIX, createRpcClient, SERVICE_CHANNELS, UNREADABLE_INPUT_ERROR, type DatasetsChange } from '../../../electron/common';
import { cleanIpcError, createPreloadApi, type IpcLike } from '../../../electron/preload/api';
import { LocalDatasetService } from '../../../electron/services/dataset-service';
import { WebHostService } from '../../../electron/web/host-service';
import { hostServices } from '../../../electron/workers/service-host';
import { createProtocolPair } from './protocol-pair';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'opt-preload-'));
const service = new LocalDatasetService({ root: tmp });
const pair = createProtocolPair();
hostServices(pair.server, { dataset: service, host: new WebHostService({ version: '1', libraryRoot: tmp }) });
const client = createRpcClient(pair.client);

// What Electron main does with these channels: forward invokes, send events on the event's channel.
const channels: string[] = [];
const listeners = new Map<string, Set<(e: unknown, p: unknown) => void>>();
const ipc: IpcLike = {
  invoke(channel, ...args) {
    channels.push(channel);
    const [service, method] = channel.slice(CHANNEL_PREFIX.length).split('.');
    return client.call(service, method, args).catch((e: Error) => Promise.reject(new Error(`Error invoking remote method '${channel}': ${e.name}: ${e.message}`)));
  },
  on(channel, l) {
    if (!listeners.has(channel)) listeners.set(channel, new Set());
    listeners.get(channel)!.add(l);
  },
  removeListener(channel, l) {
    listeners.get(channel)?.delete(l);
  },
};
client.service('dataset').onDidChangeDatasets((p) => listeners.get(`${CHANNEL_PREFIX}dataset.onDidChangeDatasets`)?.forEach((l) => l({}, p)));

afterAll(() => {
  client.dispose();
  service.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

it('exposes exactly the contract, each method on its own channel', async () => {
  const api = createPreloadApi(ipc);
  for (const [name, spec] of Object.entries(SERVICE_CHANNELS)) {
    expect(Object.keys(api[name as keyof typeof SERVICE_CHANNELS]).sort()).toEqual([...spec.methods, ...spec.events].sort());
  }
  const changes: DatasetsChange[] = [];
  const sub = api.dataset.onDidChangeDatasets((c) => changes.push(c));
  const d = await api.dataset.createDataset('Via preload');
  await expect.poll(() => changes.map((c) => c.kind)).toEqual(['created']);
  sub.dispose();
  await api.dataset.renameDataset(d.id, 'Renamed');
  await new Promise((r) => setTimeout(r, 20));
  expect(changes).toHaveLength(1); // unsubscribed
  expect(channels).toEqual(['opt:dataset.createDataset', 'opt:dataset.renameDataset']);
  expect(api.blobUrl(d.id, 'ab'.repeat(32))).toBe(`opt-blob://${d.id}/${'ab'.repeat(32)}`);
});

it('rejects with the service message, without Electron\'s prefix', async () => {
  const api = createPreloadApi(ipc);
  await expect(api.dataset.renameDataset('x', '')).rejects.toThrow(/^dataset\.renameDataset: invalid argument 1/);
  expect(cleanIpcError(new Error("Error invoking remote method 'opt:a.b': DatasetError: no dataset \"x\"")).message).toBe('no dataset "x"');
  // Every error name the services use ends in "Error", so the prefix goes (the inference service's unreadable input too).
  expect(cleanIpcError(new Error(`Error invoking remote method 'opt:a.b': ${UNREADABLE_INPUT_ERROR}: The image could not be read: x`)).message).toBe('The image could not be read: x');
});
