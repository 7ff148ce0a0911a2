// Starts the dataset and demo services on a worker thread and returns what the web server needs: typed
// DatasetService and DemoService proxies (the same RPC client the renderer uses) and blob look-ups.
import { MessageChannel, Worker } from 'node:worker_threads';
import { createRpcClient, type BlobLocation, type DatasetBlobAccess, type DatasetService, type DemoService } from '../common';
import { threadPortTransport } from '../workers/dataset-worker';

export interface ServiceThread {
  dataset: DatasetService;
  demo: DemoService;
  blobs: DatasetBlobAccess;
  close(): Promise<void>;
}

/** `root` is the library folder. The worker inherits this process's loader (tsx in development). */
export async function startServiceThread(root: string): Promise<ServiceThread> {
  const rpc = new MessageChannel();
  const blob = new MessageChannel();
  const entry = new URL('../workers/dataset-worker.ts', import.meta.url).href;
  // Run from source (npm start, tests): workers do not inherit tsx's loader, so register it first.
  const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`;
  const worker = new Worker(boot, {
    eval: true,
    workerData: { root, rpcPort: rpc.port2, blobPort: blob.port2 },
    transferList: [rpc.port2, blob.port2],
  });
  worker.on('error', (e) => console.error(`dataset worker: ${e.message}`));
  const client = createRpcClient(threadPortTransport(rpc.port1));
  const dataset = client.service('dataset');
  await dataset.listDatasets(); // fails fast when the worker cannot start
  let nextId = 1;
  const waiting = new Map<number, (l: BlobLocation | null) => void>();
  blob.port1.on('message', ({ id, location }: { id: number; location: BlobLocation | null }) => {
    waiting.get(id)?.(location);
    waiting.delete(id);
  });
  return {
    dataset,
    demo: client.service('demo'),
    blobs: {
      resolveBlob: (datasetId, sha) => new Promise((resolve) => {
        const id = nextId++;
        waiting.set(id, (l) => resolve(l ?? undefined));
        blob.port1.postMessage({ id, datasetId, sha });
      }),
    },
    async close() {
      worker.postMessage('close');
      client.dispose();
      rpc.port1.close();
      blob.port1.close();
      await worker.terminate();
    },
  };
}
