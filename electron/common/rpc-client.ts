// The client half of the generic proxy: turns any contract service into calls over a transport
// (VS Code's ProxyChannel.toService). Methods and events come from SERVICE_CHANNELS, so a service
// added to the contract needs no code here. It lives in common/ (import-free, environment-free)
// because both sides use it: the renderer's web bridge, Electron main's forwarding, and the tests.
import { SERVICE_CHANNELS } from './channels';
import type { Disposable } from './event';
import type { ServiceMap, ServiceName } from './services';
import type { EventMessage, MessageTransport, RpcErrorPayload, WireMessage } from './wire';

/** An error raised by the far side, with its name kept (e.g. 'ValidationError', 'DatasetError'). */
export class RemoteError extends Error {
  constructor(payload: RpcErrorPayload) {
    super(payload.message);
    this.name = payload.name;
  }
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/** A connection over one transport; `service(name)` gives a typed proxy of that contract service. */
export interface RpcClient extends Disposable {
  service<S extends ServiceName>(name: S): ServiceMap[S];
  /** Untyped call, for hosts that forward (e.g. Electron main). */
  call(service: string, method: string, args: unknown[]): Promise<unknown>;
}

/**
 * `call`'s outcome, where its connection closing under it reads as `stopped()`: for hosts whose service (a process
 * or thread) stopped, which must not read like the page's own connection ("The connection to the studio closed.").
 */
export async function stoppedUnder<T>(call: Promise<T>, stopped: () => string): Promise<T> {
  try {
    return await call;
  } catch (e) {
    throw (e as Error).name === 'ConnectionClosed' ? new Error(stopped()) : e;
  }
}

/** Creates the client side of the protocol over `transport`. */
export function createRpcClient(transport: MessageTransport): RpcClient {
  let nextId = 1;
  let closed = false;
  const pending = new Map<number, Pending>();
  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  const proxies = new Map<string, unknown>();

  const failAll = (message: string) => {
    closed = true;
    for (const p of pending.values()) p.reject(new RemoteError({ name: 'ConnectionClosed', message }));
    pending.clear();
  };

  const subs: Disposable[] = [
    transport.onMessage((message: WireMessage) => {
      if (message.type === 'result') {
        const p = pending.get(message.id);
        if (!p) return;
        pending.delete(message.id);
        if (message.ok) p.resolve(message.value);
        else p.reject(new RemoteError(message.error));
      } else if (message.type === 'event') {
        const set = listeners.get(eventKey(message));
        if (set) for (const l of [...set]) l(message.payload);
      }
    }),
  ];
  if (transport.onClose) subs.push(transport.onClose(() => failAll('The connection to the studio closed.')));

  const call = (service: string, method: string, args: unknown[]): Promise<unknown> => {
    if (closed) return Promise.reject(new RemoteError({ name: 'ConnectionClosed', message: 'The connection to the studio is closed.' }));
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      try {
        transport.send({ type: 'call', id, service, method, args });
      } catch (e) {
        pending.delete(id);
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  };

  const makeProxy = (name: ServiceName): unknown => {
    const spec = SERVICE_CHANNELS[name] as { methods: readonly string[]; events: readonly string[] };
    const proxy: Record<string, unknown> = {};
    for (const method of spec.methods) proxy[method] = (...args: unknown[]) => call(name, method, args);
    for (const event of spec.events) {
      proxy[event] = (listener: (payload: unknown) => void): Disposable => {
        const key = `${name}.${event}`;
        let set = listeners.get(key);
        if (!set) listeners.set(key, (set = new Set()));
        set.add(listener);
        return { dispose: () => void set.delete(listener) };
      };
    }
    return Object.freeze(proxy);
  };

  return {
    service<S extends ServiceName>(name: S): ServiceMap[S] {
      if (!(name in SERVICE_CHANNELS)) throw new Error(`Unknown service '${name}'`);
      let proxy = proxies.get(name);
      if (!proxy) proxies.set(name, (proxy = makeProxy(name)));
      return proxy as ServiceMap[S];
    },
    call,
    dispose() {
      for (const s of subs) s.dispose();
      failAll('The client was disposed.');
      listeners.clear();
    },
  };
}

function eventKey(message: EventMessage): string {
  return `${message.service}.${message.event}`;
}
