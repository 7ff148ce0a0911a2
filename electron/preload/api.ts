// The object the preload exposes as `window.optStudio`, built from the channel list over whatever
// carries IPC (ipcRenderer in the preload; a real service host in the tests).
import { CHANNEL_PREFIX, SERVICE_CHANNELS, type PreloadApi } from '../common';

/** The part of ipcRenderer the preload uses. */
export interface IpcLike {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
  on(channel: string, listener: (event: unknown, payload: unknown) => void): unknown;
  removeListener(channel: string, listener: (event: unknown, payload: unknown) => void): unknown;
}

/** Electron prefixes remote errors ("Error invoking remote method 'x': Error: msg"); keep the message. */
export function cleanIpcError(e: unknown): Error {
  const message = String((e as Error)?.message ?? e).replace(/^Error invoking remote method '[^']+': (\w*Error: )?/, '');
  return new Error(message);
}

/** One function per contract method and one subscribe function per event, for every service. */
export function createPreloadApi(ipc: IpcLike): PreloadApi {
  const api: Record<string, unknown> = {};
  for (const [service, spec] of Object.entries(SERVICE_CHANNELS)) {
    const members: Record<string, unknown> = {};
    for (const method of spec.methods as readonly string[]) {
      const channel = `${CHANNEL_PREFIX}${service}.${method}`;
      members[method] = (...args: unknown[]) => ipc.invoke(channel, ...args).catch((e: unknown) => Promise.reject(cleanIpcError(e)));
    }
    for (const event of spec.events as readonly string[]) {
      const channel = `${CHANNEL_PREFIX}${service}.${event}`;
      members[event] = (listener: (payload: unknown) => void) => {
        const handler = (_e: unknown, payload: unknown) => listener(payload);
        ipc.on(channel, handler);
        return { dispose: () => void ipc.removeListener(channel, handler) };
      };
    }
    api[service] = members;
  }
  api.blobUrl = (datasetId: string, sha: string) => `opt-blob://${encodeURIComponent(datasetId)}/${sha}`;
  return api as PreloadApi;
}
