// When a crashed helper process is started again (Electron's services and inference processes, web mode's inference
// process): after a growing delay, and not at all once it keeps crashing (a native module that cannot load would
// otherwise be forked in a tight loop forever). Plain TypeScript, so it is unit-tested and both hosts share it:
// Electron main and web mode's service thread restart through restartAfter; web mode's inference process, started
// again on the next request, asks onExit alone.

export interface RestartOptions {
  /** Exits counted within this many ms. */
  windowMs: number;
  /** More exits than this within the window: give up. */
  maxExits: number;
  /** Delay before the first restart; doubled for each further exit in the window. */
  baseDelayMs: number;
}

export const DEFAULT_RESTART: RestartOptions = { windowMs: 60_000, maxExits: 3, baseDelayMs: 500 };

export class RestartPolicy {
  private exits: number[] = [];

  constructor(private readonly options: RestartOptions = DEFAULT_RESTART) {}

  /** Records an exit at `now` (ms); returns the delay before restarting, or null to give up. */
  onExit(now: number): number | null {
    this.exits = this.exits.filter((t) => now - t < this.options.windowMs);
    this.exits.push(now);
    if (this.exits.length > this.options.maxExits) return null;
    return this.options.baseDelayMs * 2 ** (this.exits.length - 1);
  }
}

/**
 * After a helper exited: `start` runs after the policy's delay, unless `stopping()` says the host is shutting down by
 * then. Returns the timer (to clear on close), or null when the policy gives up: the caller says why it is down.
 */
export function restartAfter(policy: RestartPolicy, start: () => void, stopping: () => boolean, now = Date.now()): ReturnType<typeof setTimeout> | null {
  const delay = policy.onExit(now);
  if (delay === null) return null;
  return setTimeout(() => {
    if (!stopping()) start();
  }, delay);
}
