// Preload (sandboxed, context-isolated): exposes `window.optStudio` with one function per contract
// method and one subscribe function per event, generated from the channel list. No raw ipcRenderer.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { CHANNEL_PREFIX, SERVICE_CHANNELS } from '../common';

/** Electron prefixes remote errors ("Error invoking remote method 'x': Error: msg"); keep the message. */
function clean(e: unknown): Error {
  const message = String((e as Error)?.message ?? e).replace(/^Error invoking remote method '[^']+': (\w*Error: )?/, '');
  return new Error(message);
}

const api: Record<string, unknown> = {};
for (const [service, spec] of Object.entries(SERVICE_CHANNELS)) {
  const methods: Record<string, unknown> = {};
  for (const method of spec.methods as readonly string[]) {
    const channel = `${CHANNEL_PREFIX}${service}.${method}`;
    methods[method] = (...args: unknown[]) => ipcRenderer.invoke(channel, ...args).catch((e: unknown) => Promise.reject(clean(e)));
  }
  for (const event of spec.events as readonly string[]) {
    const channel = `${CHANNEL_PREFIX}${service}.${event}`;
    methods[event] = (listener: (payload: unknown) => void) => {
      const handler = (_e: IpcRendererEvent, payload: unknown) => listener(payload);
      ipcRenderer.on(channel, handler);
      return { dispose: () => void ipcRenderer.removeListener(channel, handler) };
    };
  }
  api[service] = methods;
}
api.blobUrl = (datasetId: string, sha: string) => `opt-blob://${encodeURIComponent(datasetId)}/${sha}`;

contextBridge.exposeInMainWorld('optStudio', api);
