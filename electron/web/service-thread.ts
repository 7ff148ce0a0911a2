// Starts web mode's service thread and returns typed proxies (the same RPC client the renderer uses): the dataset
// and demo services, with blob look-ups. (The inference service runs in a child process: inference-supervisor.ts.)
import { MessageChannel, Worker, type TransferListItem } from 'node:worker_threads';
import { createRpcClient, type BlobLocation, type DatasetBlobAccess, type DatasetService, type DemoService, type Detector, type RpcClient } from '../common';
import { serveDetector } from '../workers/detector-link';
import { threadPortTransport } from '../workers/thread-transport';

export interface ServiceThread {
  dataset: DatasetService;
  demo: DemoService;
  blobs: DatasetBlobAccess;
  close(): Promise<void>;
}

/** A worker thread running `file` (in electron/workers/) with an RPC port; it inherits this process's loader (tsx in development). */
function startWorker(file: string, label: string, workerData: Record<string, unknown>, transferList: TransferListItem[]) {
  const rpc = new MessageChannel();
  const entry = new URL(`../workers/${file}`, import.meta.url).href;
  // Run from source (npm start, tests): workers do not inherit tsx's loader, so register it first.
  const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`;
  const worker = new Worker(boot, { eval: true, workerData: { ...workerData, rpcPort: rpc.port2 }, transferList: [rpc.port2, ...transferList] });
  worker.on('error', (e) => console.error(`${label}: ${e.message}`));
  const client: RpcClient = createRpcClient(threadPortTransport(rpc.port1));
  return {
    client,
    async close() {
      worker.postMessage('close');
      client.dispose();
      rpc.port1.close();
      await worker.terminate();
    },
  };
}

/** `root` is the library folder; `detector` (the inference process's) runs dataset-wide detection jobs. */
export async function startServiceThread(root: string, detector?: Detector): Promise<ServiceThread> {
  const blob = new MessageChannel();
  const detect = detector ? new MessageChannel() : undefined;
  const served = detect && detector ? serveDetector(threadPortTransport(detect.port1), detector) : undefined;
  const { client, close } = startWorker('dataset-worker.ts', 'dataset worker', { root, blobPort: blob.port2, ...(detect ? { detectPort: detect.port2 } : {}) }, [blob.port2, ...(detect ? [detect.port2] : [])]);
  const dataset = client.service('dataset');
  try {
    await dataset.listDatasets(); // fails fast when the worker cannot start
  } catch (e) {
    blob.port1.close();
    served?.dispose();
    detect?.port1.close();
    await close();
    throw e;
  }
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
      blob.port1.close();
      served?.dispose();
      detect?.port1.close();
      await close();
    },
  };
}
