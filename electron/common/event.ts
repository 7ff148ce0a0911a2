// The event shape every contract uses (VS Code's Event<T>): subscribe, get a handle to unsubscribe.

/** Something that can be released. */
export interface Disposable {
  dispose(): void;
}

/** Subscribe a listener; dispose the result to unsubscribe. Names start with `onDid`. */
export type Event<T> = (listener: (event: T) => void) => Disposable;
