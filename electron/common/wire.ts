// Messages of the RPC protocol, the same over every transport (Electron MessagePort, WebSocket,
// in-memory pair). Values inside are plain data; typed arrays survive structured clone natively
// and JSON through the tagged form below.
import type { ServiceName } from './services';

export interface CallMessage {
  type: 'call';
  id: number;
  service: ServiceName | string;
  method: string;
  args: unknown[];
}

export interface ResultMessage {
  type: 'result';
  id: number;
  ok: true;
  value: unknown;
}

export interface RpcErrorPayload {
  /** 'ValidationError' for rejected arguments, 'UnknownMethod', 'Cancelled', or the service's error name. */
  name: string;
  message: string;
}

export interface ErrorMessage {
  type: 'result';
  id: number;
  ok: false;
  error: RpcErrorPayload;
}

export interface EventMessage {
  type: 'event';
  service: string;
  event: string;
  payload: unknown;
}

export type WireMessage = CallMessage | ResultMessage | ErrorMessage | EventMessage;

/** JSON stand-in for a typed array: `{ $typed: 'Float32Array', b64: '...' }` (little-endian bytes). */
export interface TaggedTypedArray {
  $typed: 'Uint8Array' | 'Int16Array' | 'Float32Array';
  b64: string;
}

/** Header/query parameter carrying the per-launch token. */
export const TOKEN_PARAM = 'token';

/** A bidirectional message pipe (MessagePort, WebSocket, in-memory pair) the RPC runs over. */
export interface MessageTransport {
  send(message: WireMessage): void;
  onMessage(listener: (message: WireMessage) => void): { dispose(): void };
  /** Fires once when the pipe closes; pending calls then reject. */
  onClose?(listener: () => void): { dispose(): void };
}
