// The service host's side of a WebSocket: JSON frames, with typed arrays in the tagged form both ends write and
// read (recordings and images go in; the inference service's PNGs come out).
import type { WebSocket } from 'ws';
import { typedArrayReplacer, typedArrayReviver, type Disposable, type MessageTransport, type WireMessage } from '../common';

/** Wraps an open server-side WebSocket as a MessageTransport; malformed frames are dropped and reported. */
export function wsTransport(socket: WebSocket, onBadFrame: (reason: string) => void = () => {}): MessageTransport {
  return {
    send(message: WireMessage) {
      if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message, typedArrayReplacer));
    },
    onMessage(listener): Disposable {
      const handler = (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
        if (isBinary) return onBadFrame('binary frames are not part of the protocol');
        let message: WireMessage;
        try {
          message = JSON.parse(String(data), typedArrayReviver) as WireMessage;
        } catch (e) {
          return onBadFrame(`malformed frame: ${(e as Error).message}`);
        }
        listener(message);
      };
      socket.on('message', handler);
      return { dispose: () => void socket.off('message', handler) };
    },
    onClose(listener): Disposable {
      socket.on('close', listener);
      return { dispose: () => void socket.off('close', listener) };
    },
  };
}
