// Web mode's service thread: the dataset service (and the demo generator, on the same library) runs here (imports, exports, SQLite, audio
// encoding), so the web server's event loop stays free to serve thumbnails while an import runs.
// The contract arrives validated-again by hostServices; blob look-ups come on a second port, and the region detector
// (for detection jobs: ./detector-link.ts) is reached over a third.
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { LocalDatasetService } from '../services/dataset-service';
import { LocalDemoService } from '../services/demo-service';
import { detectorOver } from './detector-link';
import { hostServices } from './service-host';
import { threadPortTransport } from './thread-transport';

if (parentPort) {
  const { root, rpcPort, blobPort, detectPort } = workerData as { root: string; rpcPort: MessagePort; blobPort: MessagePort; detectPort?: MessagePort };
  const dataset = new LocalDatasetService({ root, ...(detectPort ? { detector: detectorOver(threadPortTransport(detectPort)) } : {}) });
  const demo = new LocalDemoService(dataset);
  hostServices(threadPortTransport(rpcPort), { dataset, demo }, { onError: (e, call) => console.error(`${call.service}.${call.method}: ${(e as Error).message ?? e}`) });
  blobPort.on('message', async ({ id, datasetId, sha }: { id: number; datasetId: string; sha: string }) => {
    blobPort.postMessage({ id, location: (await dataset.resolveBlob(datasetId, sha).catch(() => undefined)) ?? null });
  });
  parentPort.on('message', (m) => {
    if (m === 'close') {
      demo.dispose();
      dataset.dispose();
      rpcPort.close();
      blobPort.close();
      detectPort?.close();
      // Nothing is left to keep the thread alive once the aborted jobs have unwound: it exits by itself (the
      // server stops it after a grace period otherwise).
      parentPort?.unref();
    }
  });
}
