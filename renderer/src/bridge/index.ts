// Picks the bridge for where the renderer runs: Electron's preload if present, else web mode.
import { createElectronBridge } from './electron-bridge';
import { createWebBridge } from './web-bridge';
import type { Bridge } from './types';

export type { Bridge, UploadFile, UploadProgress } from './types';

let bridge: Bridge | undefined;

/** The process-wide bridge (created on first use). Only stores call this. */
export function useBridge(): Bridge {
  bridge ??= window.optStudio ? createElectronBridge(window.optStudio) : createWebBridge(window.location);
  return bridge;
}
