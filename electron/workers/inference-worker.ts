// Web mode's inference thread: the inference service on a worker_threads thread of its own, so a detection never
// holds up the web server or the dataset services. The contract arrives on a port, validated by hostServices.
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { LocalInferenceService } from '../services/inference-service';
import { threadPortTransport } from './thread-transport';
import { hostServices } from './service-host';

if (parentPort) {
  const { rpcPort, packageDir } = workerData as { rpcPort: MessagePort; packageDir?: string };
  const inference = new LocalInferenceService(packageDir ? { packageDir } : {});
  hostServices(threadPortTransport(rpcPort), { inference }, { onError: (e, call) => console.error(`${call.service}.${call.method}: ${(e as Error).message ?? e}`) });
  parentPort.on('message', (m) => {
    if (m === 'close') void inference.dispose().finally(() => rpcPort.close());
  });
}
