// Execution-provider choice with fallback. Each candidate is tried by actually creating the session
// with it (the only reliable test: a listed provider can still lack its libraries or a device), and the
// outcome of every candidate is kept in a report so the UI and logs can say why a GPU was not used.
import ort from 'onnxruntime-node';

// ORT's own stderr logger repeats errors we throw (and logs every probed-but-missing GPU library);
// OPT_ORT_LOG=verbose|info|warning|error brings it back for debugging.
ort.env.logLevel = (process.env.OPT_ORT_LOG as typeof ort.env.logLevel | undefined) ?? 'fatal';

/** Provider names as onnxruntime-node spells them. */
export type ProviderName = 'cuda' | 'dml' | 'webgpu' | 'coreml' | 'tensorrt' | 'cpu';

/** Default preference: GPUs first where onnxruntime-node has them, CPU always last. */
export const DEFAULT_PROVIDERS: readonly ProviderName[] = ['cuda', 'dml', 'webgpu', 'cpu'];

export interface ProviderAttempt {
  name: ProviderName;
  /** active: this session runs on it; failed: tried and refused; unavailable: not in this build; skipped: not reached. */
  status: 'active' | 'failed' | 'unavailable' | 'skipped';
  reason: string;
}

/** Which provider a session got, and why each other candidate was not used. */
export interface ProviderReport {
  active: ProviderName;
  attempts: ProviderAttempt[];
}

/** Providers compiled into this onnxruntime-node build (bundled ones ship their libraries). */
export function availableProviders(): { name: string; bundled: boolean }[] {
  return ort.listSupportedBackends().map((b) => ({ name: b.name, bundled: b.bundled }));
}

/**
 * The preference list from OPT_PROVIDERS (comma-separated, e.g. "cpu" or "cuda,cpu") or the default.
 * CPU is appended when missing so there is always a fallback.
 */
export function preferredProviders(explicit?: readonly ProviderName[]): ProviderName[] {
  const env = process.env.OPT_PROVIDERS?.trim();
  const list = explicit ?? (env ? (env.split(',').map((s) => s.trim()).filter(Boolean) as ProviderName[]) : DEFAULT_PROVIDERS);
  const out = [...new Set(list)];
  if (!out.includes('cpu')) out.push('cpu');
  return out;
}

/** Failures remembered for the life of the process, so each missing library is probed once. */
const knownFailures = new Map<ProviderName, string>();

/** Shortens an onnxruntime error to its cause, e.g. "Failed to load shared library ... cannot open shared object file". */
export function explainProviderError(name: ProviderName, err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  const lib = /Failed to load library (\S+) with error: ([^\n]+)/.exec(msg);
  if (lib) return `${name}: ${lib[2].trim()}`;
  if (/Failed to load shared library/i.test(msg)) return `${name}: provider library not installed (onnxruntime-node ships CUDA separately; install it with --onnxruntime-node-install=cuda)`;
  const adapter = /Failed to get a WebGPU adapter[^\n]*/.exec(msg);
  if (adapter) return `${name}: ${adapter[0].slice(0, 200)}`;
  return `${name}: ${msg.split('\n')[0].slice(0, 300)}`;
}

/**
 * Tries providers in order, calling create(provider) until one succeeds. Returns its result and a
 * report of every candidate. create() must throw when the provider cannot serve the session.
 */
export async function withProviderFallback<T>(
  preference: readonly ProviderName[],
  create: (provider: ProviderName) => Promise<T>,
): Promise<{ value: T; report: ProviderReport }> {
  const built = new Map(availableProviders().map((b) => [b.name, b.bundled]));
  const attempts: ProviderAttempt[] = [];
  let lastError: unknown;
  for (let i = 0; i < preference.length; i++) {
    const name = preference[i];
    if (!built.has(name)) {
      attempts.push({ name, status: 'unavailable', reason: `${name}: not part of this onnxruntime-node build (${process.platform}-${process.arch})` });
      continue;
    }
    const known = knownFailures.get(name);
    if (known !== undefined) {
      attempts.push({ name, status: 'failed', reason: known });
      continue;
    }
    try {
      const value = await create(name);
      attempts.push({ name, status: 'active', reason: `${name}: session created` });
      for (const rest of preference.slice(i + 1)) attempts.push({ name: rest, status: 'skipped', reason: `${rest}: not needed (${name} is active)` });
      return { value, report: { active: name, attempts } };
    } catch (err) {
      lastError = err;
      const reason = explainProviderError(name, err);
      // CPU failing means the model itself is bad: report that error, never mask it as a provider issue.
      if (name === 'cpu') throw err;
      knownFailures.set(name, reason);
      attempts.push({ name, status: 'failed', reason });
    }
  }
  const why = attempts.map((a) => a.reason).join('; ');
  throw new Error(`no execution provider could run the model (${why})${lastError instanceof Error ? `: ${lastError.message}` : ''}`);
}

/** One line per candidate, for logs and the CLI: "cpu: active · cuda: failed (libcudart ...)". */
export function formatProviderReport(r: ProviderReport): string {
  return r.attempts.map((a) => (a.status === 'active' ? `${a.name}: active` : `${a.name}: ${a.status} (${a.reason.replace(`${a.name}: `, '')})`)).join(' · ');
}
