// A minimal event emitter producing the contract's Event<T> (VS Code's Emitter): services expose
// `emitter.event` as their onDid* member and call `fire`.
import type { Disposable, Event } from '../common';

export class Emitter<T> {
  private readonly listeners = new Set<(e: T) => void>();

  /** Subscribe; dispose the result to unsubscribe. */
  readonly event: Event<T> = (listener) => {
    this.listeners.add(listener);
    return { dispose: () => void this.listeners.delete(listener) } satisfies Disposable;
  };

  /** Calls every listener; one listener throwing does not stop the others. */
  fire(e: T): void {
    for (const l of [...this.listeners]) {
      try {
        l(e);
      } catch {
        // A faulty listener (a closed connection) must not break the service.
      }
    }
  }

  dispose(): void {
    this.listeners.clear();
  }
}
