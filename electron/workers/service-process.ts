// Electron utility process hosting the services (imports, exports and SQLite stay off the main
// process). Main sends two MessagePorts: one carries the contract (validated by hostServices), the
// other answers main's blob look-ups for the opt-blob:// protocol (never reachable from the renderer).
import { LocalDatasetService } from '../services/dataset-service';
import { LocalDemoService } from '../services/demo-service';
import { portTransport } from './port-transport';
import { hostServices } from './service-host';

const dataset = new LocalDatasetService(process.env.OPT_STUDIO_LIBRARY ? { root: process.env.OPT_STUDIO_LIBRARY } : {});
// The first-start demo writes into the same library (without speech in a packaged app: no eSpeak there).
const demo = new LocalDemoService(dataset);

process.parentPort.once('message', (e) => {
  const [rpcPort, blobPort] = e.ports;
  hostServices(portTransport(rpcPort), { dataset, demo }, { onError: (err, call) => console.error(`${call.service}.${call.method}:`, err) });
  blobPort.on('message', async ({ data }: { data: { id: number; datasetId: string; sha: string } }) => {
    const location = await dataset.resolveBlob(data.datasetId, data.sha).catch(() => undefined);
    blobPort.postMessage({ id: data.id, location: location ?? null });
  });
  rpcPort.start();
  blobPort.start();
});

process.on('exit', () => {
  demo.dispose();
  dataset.dispose();
});
