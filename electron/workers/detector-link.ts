// Dataset-wide region detection is a job of the dataset service (so it outlives the page that started it), but the
// detector runs in the inference process. Each host links the two with one port: the host serves the inference
// service's detectRegions on its end (validated like any contract call, and nothing else of the contract), and the
// dataset service calls it from the other.
import { createRpcClient, type Detector, type Disposable, type InferenceService, type MessageTransport } from '../common';
import { hostServices } from './service-host';

/** The host's end: answers detectRegions calls with `detector` (the host's client of the inference process). */
export function serveDetector(transport: MessageTransport, detector: Detector): Disposable {
  const only = { detectRegions: (image: Uint8Array, options: Parameters<Detector['detectRegions']>[1]) => detector.detectRegions(image, options) };
  // hostServices answers "not available in this host" for the inference methods `only` lacks.
  return hostServices(transport, { inference: only as unknown as InferenceService });
}

/** The dataset service's end: the detector behind the port. */
export function detectorOver(transport: MessageTransport): Detector {
  return createRpcClient(transport).service('inference');
}
