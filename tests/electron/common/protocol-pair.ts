// VS Code's createProtocolPair idea: two connected in-memory transports. Every message is
// structured-cloned and delivered on a later task, as across a real process boundary.
import type { Disposable, MessageTransport, WireMessage } from '../../../electron/common';

export interface ProtocolPair {
  client: MessageTransport;
  server: MessageTransport;
  /** Closes both ends (pending client calls then reject). */
  close(): void;
  /** Every message sent, in order, for assertions. */
  log: WireMessage[];
}

export function createProtocolPair(): ProtocolPair {
  const listeners = { client: new Set<(m: WireMessage) => void>(), server: new Set<(m: WireMessage) => void>() };
  const closers = new Set<() => void>();
  const log: WireMessage[] = [];
  let closed = false;
  const end = (self: 'client' | 'server', other: 'client' | 'server'): MessageTransport => ({
    send(message) {
      if (closed) throw new Error('closed');
      const copy = structuredClone(message);
      log.push(copy);
      setImmediate(() => listeners[other].forEach((l) => l(structuredClone(copy))));
    },
    onMessage(listener): Disposable {
      listeners[self].add(listener);
      return { dispose: () => void listeners[self].delete(listener) };
    },
    onClose(listener): Disposable {
      closers.add(listener);
      return { dispose: () => void closers.delete(listener) };
    },
  });
  return {
    client: end('client', 'server'),
    server: end('server', 'client'),
    log,
    close() {
      closed = true;
      closers.forEach((c) => c());
    },
  };
}
