// Electron utility process hosting the inference service (onnxruntime's run() blocks its thread, so models never
// run in main or in the dataset services' process). Main sends one MessagePort carrying the contract.
import { LocalInferenceService } from '../services/inference-service';
import { portTransport } from './port-transport';
import { hostServices } from './service-host';

const inference = new LocalInferenceService();

process.parentPort.once('message', (e) => {
  const [rpcPort] = e.ports;
  hostServices(portTransport(rpcPort), { inference }, { onError: (err, call) => console.error(`${call.service}.${call.method}:`, err) });
  rpcPort.start();
});
// No exit hook: dispose() is asynchronous and the sessions go with the process.
