// Web mode's inference process: the inference service in a Node child process of the web server, so that a native
// crash in onnxruntime ends this process only (the server reports it and starts another on the next request). The
// contract arrives over the IPC channel, validated by hostServices. The model package is $OPT_MODEL_PACKAGE (else the
// shipped one).
import { LocalInferenceService } from '../services/inference-service';
import { processTransport } from './process-transport';
import { hostServices } from './service-host';

const inference = new LocalInferenceService();
hostServices(processTransport(process), { inference }, { onError: (e, call) => console.error(`${call.service}.${call.method}: ${(e as Error).message ?? e}`) });
// The server closed the channel (shutdown) or went away: release the sessions and leave. Ctrl+C in the terminal
// signals the whole process group; the server decides when this process stops (else its stop would look like a crash).
process.on('disconnect', () => void inference.dispose().finally(() => process.exit(0)));
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
