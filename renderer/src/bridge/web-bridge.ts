// Bridge over web mode's WebSocket (electron/web/server.ts): the same contract through the generic
// RPC client; typed arrays travel base64-tagged in JSON; blobs and uploads use plain HTTP.
import { createRpcClient, TOKEN_PARAM, typedArrayReplacer, typedArrayReviver, type MessageTransport, type WireMessage } from '../../../electron/common';
import type { Bridge, UploadFile, UploadProgress } from './types';

function socketTransport(socket: WebSocket): MessageTransport {
  const queue: string[] = [];
  socket.addEventListener('open', () => queue.splice(0).forEach((m) => socket.send(m)));
  return {
    send(message: WireMessage) {
      const data = JSON.stringify(message, typedArrayReplacer);
      if (socket.readyState === WebSocket.OPEN) socket.send(data);
      else if (socket.readyState === WebSocket.CONNECTING) queue.push(data);
      else throw new Error('The connection to the studio is closed.');
    },
    onMessage(listener) {
      const handler = (e: MessageEvent) => listener(JSON.parse(String(e.data), typedArrayReviver) as WireMessage);
      socket.addEventListener('message', handler);
      return { dispose: () => socket.removeEventListener('message', handler) };
    },
    onClose(listener) {
      socket.addEventListener('close', listener);
      return { dispose: () => socket.removeEventListener('close', listener) };
    },
  };
}

/** The bridge in a browser tab opened from web mode's URL (token in the query string). */
export function createWebBridge(location: Location): Bridge {
  const token = new URLSearchParams(location.search).get(TOKEN_PARAM) ?? '';
  const q = `${TOKEN_PARAM}=${encodeURIComponent(token)}`;
  const socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws?${q}`);
  const client = createRpcClient(socketTransport(socket));

  return {
    mode: 'web',
    dataset: client.service('dataset'),
    demo: client.service('demo'),
    inference: client.service('inference'),
    host: client.service('host'),
    blobUrl: (datasetId, sha) => `/blob/${sha}?dataset=${encodeURIComponent(datasetId)}&${q}`,
    exportDownloadUrl: (jobId) => `/download/${encodeURIComponent(jobId)}.zip?${q}`,
    async upload(files: UploadFile[], onProgress?: (p: UploadProgress) => void): Promise<string> {
      const batch = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
      const totalBytes = files.reduce((s, f) => s + f.file.size, 0);
      let doneBytes = 0;
      let root = '';
      for (const f of files) {
        const res = await fetch(`/upload/${batch}?path=${encodeURIComponent(f.relativePath)}&${q}`, { method: 'PUT', body: f.file });
        if (!res.ok) throw new Error(`Upload of ${f.relativePath} failed: ${await res.text()}`);
        root = ((await res.json()) as { root: string }).root;
        doneBytes += f.file.size;
        onProgress?.({ doneBytes, totalBytes, file: f.relativePath });
      }
      return root;
    },
    async discardUpload(folder: string) {
      const batch = folder.split(/[\\/]/).pop() ?? '';
      await fetch(`/upload/${batch}?${q}`, { method: 'DELETE' });
    },
    onDidDisconnect(listener) {
      socket.addEventListener('close', listener);
      return { dispose: () => socket.removeEventListener('close', listener) };
    },
  };
}
