// Electron utility process hosting the services (imports, exports and SQLite stay off the main
// process). Main sends three MessagePorts: one carries the contract (validated by hostServices), one
// answers main's blob look-ups for the opt-blob:// protocol (never reachable from the renderer), and
// one reaches the region detector in the inference process, through main (./detector-link.ts).
import type { Detector } from '../common';
import { LocalDatasetService } from '../services/dataset-service';
import { LocalDemoService } from '../services/demo-service';
import { detectorOver } from './detector-link';
import { portTransport } from './port-transport';
import { hostServices } from './service-host';

// Linked when main's ports arrive, which is also when the first call can (they come in the same message).
let linked: Detector | undefined;
const detector: Detector = {
  detectRegions: (image, options) => linked ? linked.detectRegions(image, options) : Promise.reject(new Error('The region detector is not connected yet.')),
};
const dataset = new LocalDatasetService({ ...(process.env.OPT_STUDIO_LIBRARY ? { root: process.env.OPT_STUDIO_LIBRARY } : {}), detector });
// The first-start demo writes into the same library (without speech in a packaged app: no eSpeak there).
const demo = new LocalDemoService(dataset);

process.parentPort.once('message', (e) => {
  const [rpcPort, blobPort, detect] = e.ports;
  linked = detectorOver(portTransport(detect));
  detect.start();
  hostServices(portTransport(rpcPort), { dataset, demo }, { onError: (err, call) => console.error(`${call.service}.${call.method}:`, err) });
  blobPort.on('message', async ({ data }: { data: { id: number; datasetId: string; sha: string } }) => {
    const location = await dataset.resolveBlob(data.datasetId, data.sha).catch(() => undefined);
    blobPort.postMessage({ id: data.id, location: location ?? null });
  });
  rpcPort.start();
  blobPort.start();
});

// Main stops this process with SIGTERM (utilityProcess.kill on quit): exit normally, so the handler below closes the
// datasets (SQLite folds its write-ahead log back) instead of the signal ending the process where it stands.
process.once('SIGTERM', () => process.exit(0));
process.on('exit', () => {
  demo.dispose();
  dataset.dispose();
});
