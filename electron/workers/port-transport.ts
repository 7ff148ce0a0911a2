// An Electron MessagePortMain as a MessageTransport (structured clone keeps typed arrays).
import type { MessagePortMain } from 'electron';
import type { Disposable, MessageTransport, WireMessage } from '../common';

export function portTransport(port: MessagePortMain): MessageTransport {
  return {
    send: (message: WireMessage) => port.postMessage(message),
    onMessage(listener): Disposable {
      const h = (e: { data: unknown }) => listener(e.data as WireMessage);
      port.on('message', h);
      return { dispose: () => void port.off('message', h) };
    },
    onClose(listener): Disposable {
      port.on('close', listener);
      return { dispose: () => void port.off('close', listener) };
    },
  };
}
