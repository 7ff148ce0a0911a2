// A worker_threads MessagePort as a MessageTransport: web mode's service threads and the server's clients of them.
import type { MessagePort } from 'node:worker_threads';
import type { Disposable, MessageTransport, WireMessage } from '../common';

/** A worker_threads MessagePort as a MessageTransport (structured clone keeps typed arrays). */
export function threadPortTransport(port: MessagePort): MessageTransport {
  return {
    send: (message: WireMessage) => port.postMessage(message),
    onMessage(listener): Disposable {
      port.on('message', listener);
      return { dispose: () => void port.off('message', listener) };
    },
    onClose(listener): Disposable {
      port.on('close', listener);
      return { dispose: () => void port.off('close', listener) };
    },
  };
}
