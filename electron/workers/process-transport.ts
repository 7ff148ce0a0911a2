// A Node child process's IPC channel as a MessageTransport, usable at both ends: the parent's ChildProcess and the
// child's own `process`. Fork with serialization 'advanced' (structured clone), so typed arrays arrive as typed arrays.
import type { ChildProcess } from 'node:child_process';
import type { Disposable, MessageTransport, WireMessage } from '../common';

export function processTransport(end: ChildProcess | NodeJS.Process): MessageTransport {
  const emitter = end as NodeJS.EventEmitter;
  const on = <A extends unknown[]>(event: string, listener: (...args: A) => void): Disposable => {
    const l = listener as (...args: unknown[]) => void;
    emitter.on(event, l);
    return { dispose: () => void emitter.off(event, l) };
  };
  return {
    send(message: WireMessage) {
      if (!end.connected || !end.send) throw new Error('The process channel is closed.');
      // With a callback a failed write (EPIPE: the other side just died) is handed here instead of becoming an
      // 'error' event that nobody listens to; the channel's close then fails the pending calls.
      end.send(message, undefined, undefined, () => {});
    },
    onMessage: (listener) => on('message', listener),
    // The channel closes when either side exits or disconnects.
    onClose: (listener) => on('disconnect', listener),
  };
}
