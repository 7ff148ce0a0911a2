// Small helpers for command options, over node:util parseArgs (strict: unknown options are errors).

import { parseArgs } from 'node:util';

/** A user error: the CLI prints the message (no stack) and exits with 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string; default?: string | boolean }>;

/** Parses options; unknown options and stray positionals become a UsageError. */
export function parseOptions<T extends OptionSpec>(argv: string[], spec: T): { [K in keyof T]?: T[K]['type'] extends 'string' ? string : boolean } {
  try {
    const { values } = parseArgs({ args: argv, options: spec, strict: true, allowPositionals: false });
    return values as { [K in keyof T]?: T[K]['type'] extends 'string' ? string : boolean };
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** Parses options plus exactly one positional file (`what` names it in the error: "IMAGE", "audio file"). */
export function parseFileCommand<T extends OptionSpec>(argv: string[], spec: T, what: string): { o: { [K in keyof T]?: T[K]['type'] extends 'string' ? string : boolean }; file: string } {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: spec, strict: true, allowPositionals: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? `give one ${what}` : `give one ${what}, got ${positionals.length}: ${positionals.join(' ')}`);
  return { o: values as { [K in keyof T]?: T[K]['type'] extends 'string' ? string : boolean }, file: positionals[0] };
}

/** A whole number option, checked ("--size 0", "--size abc" and "--size 1e99" get a clear message). */
export function intOption(v: string | undefined, name: string, lo: number, hi: number, dflt?: number): number {
  if (v === undefined) {
    if (dflt === undefined) throw new UsageError(`--${name} is required`);
    return dflt;
  }
  const n = /^\s*-?\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < lo || n > hi) throw new UsageError(`--${name} must be a whole number from ${lo} to ${hi.toLocaleString('en-US')}, got "${v}"`);
  return n;
}

/** Comma-separated list option. */
export function listOption(v: string | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  return v.split(',').map((s) => s.trim()).filter(Boolean);
}

/** Seconds as "1m05s" / "42s". */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const r = Math.round(s);
  return r >= 60 ? `${Math.floor(r / 60)}m${String(r % 60).padStart(2, '0')}s` : `${r}s`;
}

/** A progress line: bar, counts, rate and ETA; redrawn in place on a terminal, every 10% otherwise. */
export class ProgressBar {
  private lastPct = -1;
  constructor(private readonly out: NodeJS.WriteStream = process.stderr, private readonly label = '') {}

  update(done: number, total: number, rate: number, etaS: number): void {
    const pct = total > 0 ? Math.floor((done / total) * 100) : 100;
    const width = 30;
    const fill = Math.round((pct / 100) * width);
    const line = `${this.label}[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${done}/${total} ${pct}% ${rate.toFixed(1)} items/s ETA ${formatDuration(etaS)}`;
    if (this.out.isTTY) {
      this.out.write(`\r${line}\x1b[K`);
      if (done >= total) this.out.write('\n');
    } else if (Math.floor(pct / 10) !== Math.floor(this.lastPct / 10) || done >= total) {
      this.out.write(`${line}\n`);
    }
    this.lastPct = pct;
  }
}
