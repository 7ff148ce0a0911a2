// Bridge over Electron's preload (`window.optStudio`): the preload already exposes the contract.
import type { PreloadApi } from '../../../electron/common';
import type { Bridge } from './types';

declare global {
  interface Window {
    optStudio?: PreloadApi;
  }
}

/** The bridge when running inside Electron. */
export function createElectronBridge(api: PreloadApi): Bridge {
  return {
    mode: 'electron',
    dataset: api.dataset,
    demo: api.demo,
    inference: api.inference,
    host: api.host,
    blobUrl: (datasetId, sha) => api.blobUrl(datasetId, sha),
    // The window lives and dies with its host process.
    onDidDisconnect: () => ({ dispose() {} }),
  };
}
