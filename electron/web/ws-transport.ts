// The service host's side of a WebSocket: JSON frames, with typed arrays arriving in the tagged
// form the web bridge writes (results and events carry no binary, so only the inbound side decodes).
import type { WebSocket } from 'ws';
import type { Disposable, MessageTransport, TaggedTypedArray, WireMessage } from '../common';

const TYPED = { Uint8Array, Int16Array, Float32Array } as const;

/** JSON.parse reviver turning `{ $typed, b64 }` back into the typed array. */
export function reviveTypedArrays(_key: string, value: unknown): unknown {
  if (value && typeof value === 'object' && typeof (value as TaggedTypedArray).$typed === 'string' && typeof (value as TaggedTypedArray).b64 === 'string') {
    const { $typed, b64 } = value as TaggedTypedArray;
    const Ctor = TYPED[$typed];
    if (!Ctor) throw new Error(`unknown typed array '${String($typed)}'`);
    const bytes = Buffer.from(b64, 'base64');
    if (bytes.length % Ctor.BYTES_PER_ELEMENT !== 0) throw new Error(`${$typed}: ${bytes.length} bytes is not a whole number of elements`);
    const copy = new ArrayBuffer(bytes.length);
    new Uint8Array(copy).set(bytes);
    return new Ctor(copy);
  }
  return value;
}

/** Wraps an open server-side WebSocket as a MessageTransport; malformed frames are dropped and reported. */
export function wsTransport(socket: WebSocket, onBadFrame: (reason: string) => void = () => {}): MessageTransport {
  return {
    send(message: WireMessage) {
      if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
    },
    onMessage(listener): Disposable {
      const handler = (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
        if (isBinary) return onBadFrame('binary frames are not part of the protocol');
        let message: WireMessage;
        try {
          message = JSON.parse(String(data), reviveTypedArrays) as WireMessage;
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
