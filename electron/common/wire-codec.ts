// JSON form of typed arrays for text transports (web mode's WebSocket): `{ $typed, b64 }`.
// Structured-clone transports (Electron ports, the in-memory pair) need none of this.
import type { TaggedTypedArray } from './wire';

const CTORS = { Uint8Array, Int16Array, Float32Array } as const;

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** JSON.stringify replacer writing Uint8Array, Int16Array and Float32Array as tagged base64. */
export function typedArrayReplacer(_key: string, value: unknown): unknown {
  for (const [name, Ctor] of Object.entries(CTORS)) {
    if (value instanceof Ctor) {
      const tagged: TaggedTypedArray = { $typed: name as TaggedTypedArray['$typed'], b64: toBase64(new Uint8Array(value.buffer, value.byteOffset, value.byteLength)) };
      return tagged;
    }
  }
  return value;
}

/** JSON.parse reviver turning `{ $typed, b64 }` back into the typed array (throws on a malformed tag). */
export function typedArrayReviver(_key: string, value: unknown): unknown {
  if (!value || typeof value !== 'object' || typeof (value as TaggedTypedArray).$typed !== 'string') return value;
  const { $typed, b64 } = value as TaggedTypedArray;
  const Ctor = Object.hasOwn(CTORS, $typed) ? CTORS[$typed] : undefined;
  if (!Ctor || typeof b64 !== 'string') throw new Error(`malformed typed array '${String($typed)}'`);
  const binary = atob(b64);
  if (binary.length % Ctor.BYTES_PER_ELEMENT !== 0) throw new Error(`${$typed}: ${binary.length} bytes is not a whole number of elements`);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return new Ctor(bytes.buffer);
}
