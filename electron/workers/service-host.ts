// The server half of the generic proxy: dispatches calls arriving over a transport to service
// objects, validating every argument against ARG_SCHEMAS first, rejecting unknown services and
// methods, and forwarding each service's onDid* events (VS Code's validateIPC + ProxyChannel.fromService).
import {
  SERVICE_CHANNELS, type CallMessage, type Disposable, type MessageTransport, type RpcErrorPayload, type ServiceMap,
} from '../common';
import { ARG_SCHEMAS } from './schemas';

/** Raised for calls that do not fit the contract; its message names the method and the bad argument. */
export class ValidationError extends Error {
  override name = 'ValidationError';
}

export interface ServiceHostOptions {
  /** Called with errors thrown by services (for the host's log). */
  onError?(error: unknown, call: CallMessage): void;
}

/**
 * Serves `services` over `transport` until disposed. Only services present in `services` are reachable;
 * everything else (unknown service, method, malformed message) is answered with an error.
 */
export function hostServices(transport: MessageTransport, services: Partial<ServiceMap>, options: ServiceHostOptions = {}): Disposable {
  const subs: Disposable[] = [];

  for (const [serviceName, service] of Object.entries(services) as unknown as [keyof ServiceMap, Record<string, unknown>][]) {
    if (!service) continue;
    for (const event of SERVICE_CHANNELS[serviceName].events as readonly string[]) {
      const subscribe = service[event] as ((l: (e: unknown) => void) => Disposable) | undefined;
      if (typeof subscribe !== 'function') continue;
      subs.push(subscribe.call(service, (payload: unknown) => {
        try {
          transport.send({ type: 'event', service: serviceName, event, payload });
        } catch { /* the connection is gone; the host disposes us on close */ }
      }));
    }
  }

  const reply = (id: number, result: { ok: true; value: unknown } | { ok: false; error: RpcErrorPayload }) => {
    try {
      transport.send({ type: 'result', id, ...result });
    } catch { /* closed */ }
  };

  subs.push(transport.onMessage(async (message) => {
    if (!message || message.type !== 'call') return;
    const call = message;
    if (typeof call.id !== 'number') return;
    try {
      const value = await invokeValidated(services, call);
      reply(call.id, { ok: true, value: value === undefined ? null : value });
    } catch (e) {
      if (!(e instanceof ValidationError)) options.onError?.(e, call);
      reply(call.id, { ok: false, error: toPayload(e) });
    }
  }));

  return { dispose: () => subs.splice(0).forEach((s) => s.dispose()) };
}

/**
 * One call, checked like hostServices checks it (known service and method, arguments valid),
 * for hosts that dispatch without a transport (Electron main's own HostService).
 */
export async function invokeValidated(services: Partial<ServiceMap>, call: Pick<CallMessage, 'service' | 'method' | 'args'>): Promise<unknown> {
  const { fn, self, args } = resolveCall(services, call);
  return fn.apply(self, args);
}

function resolveCall(services: Partial<ServiceMap>, call: Pick<CallMessage, 'service' | 'method' | 'args'>) {
  const serviceName = call.service;
  if (typeof serviceName !== 'string' || !Object.hasOwn(SERVICE_CHANNELS, serviceName)) {
    throw new ValidationError(`Unknown service '${String(serviceName)}'`);
  }
  const name = serviceName as keyof ServiceMap;
  const methods = SERVICE_CHANNELS[name].methods as readonly string[];
  if (typeof call.method !== 'string' || !methods.includes(call.method)) {
    throw new ValidationError(`Unknown method '${name}.${String(call.method)}'`);
  }
  const service = services[name] as Record<string, unknown> | undefined;
  const fn = service?.[call.method];
  if (typeof fn !== 'function') throw new ValidationError(`'${name}.${call.method}' is not available in this host`);
  const schema = (ARG_SCHEMAS[name] as Record<string, { safeParse(v: unknown): { success: boolean; data?: unknown; error?: { issues: { path: PropertyKey[]; message: string }[] } } }>)[call.method];
  const parsed = schema.safeParse(call.args);
  if (!parsed.success) {
    const issue = parsed.error!.issues[0];
    const where = issue.path.length ? `argument ${issue.path.map(String).join('.')}` : 'arguments';
    throw new ValidationError(`${name}.${call.method}: invalid ${where}: ${issue.message}`);
  }
  return { fn: fn as (...a: unknown[]) => Promise<unknown>, self: service, args: parsed.data as unknown[] };
}

function toPayload(e: unknown): RpcErrorPayload {
  if (e instanceof Error) return { name: e.name || 'Error', message: e.message };
  return { name: 'Error', message: String(e) };
}
