// Electron utility process hosting the services (imports, exports and SQLite stay off the main
// process). Main sends three MessagePorts: one carries the contract (validated by hostServices), one
// answers main's blob look-ups for the opt-blob:// protocol (never reachable from the renderer), and
// one reaches the region detector in the inference process, through main (./detector-link.ts). A later 'close'
// message (main quitting) closes the services and exits.
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

process.parentPort.on('message', (e) => {
  // Main quitting: exit, which closes the services (below).
  if (e.data === 'close') process.exit(0);
  if (linked || e.ports.length !== 3) return; // the ports come once
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

// Main asks this process to close when the app quits (the 'close' message above) and kills it if it has not exited
// 5 s later; on POSIX that kill is a SIGTERM, which also exits normally, so the handler below closes the datasets
// (SQLite folds its write-ahead log back) instead of the signal ending the process where it stands.
process.once('SIGTERM', () => process.exit(0));
process.on('exit', () => {
  demo.dispose();
  dataset.dispose();
});
