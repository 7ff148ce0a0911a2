// The runtime contract, and its in-thread implementation. The worker runtime (worker-runtime.ts)
// hosts this same class in a worker_threads worker, so the two behave identically.
import { Session, type ModelSource, type SessionOptions, type ValueInfo } from './session';
import { allocData, cloneTensor, type Tensor } from './tensor';
import type { ProviderReport } from './providers';

/** Options when loading a model into a runtime. */
export interface LoadOptions extends SessionOptions {
  /**
   * Outputs that feed back into inputs on the next step(): { outputName: inputName }, e.g. updated
   * parameters and optimizer moments of a training graph. Their values stay inside the runtime.
   */
  carry?: Readonly<Record<string, string>>;
}

/** What a loaded model looks like, plus where it runs. */
export interface ModelInfo {
  key: string;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  provider: ProviderReport;
}

export interface CallOptions {
  /** Only these outputs (default: all, or all non-carried ones for step()). */
  outputs?: readonly string[];
  /**
   * Worker runtime only: hand the feeds' buffers to the worker instead of copying them. The caller's
   * typed arrays are detached afterwards; use it for fresh per-step data such as batches.
   */
  transfer?: boolean;
}

/** Error code when a key is not (or no longer) loaded, so callers can reload it. */
export const NOT_LOADED = 'ERR_MODEL_NOT_LOADED';

/** True when err says the key was not loaded (evicted or never loaded), so the caller may reload. */
export function isNotLoaded(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === NOT_LOADED;
}

/**
 * Runs ONNX models for the rest of the project. Keys name one model at one shape bucket
 * (see sessionKey); state holds tensors that live across step() calls (training parameters).
 */
export interface Runtime {
  load(key: string, model: ModelSource, options?: LoadOptions): Promise<ModelInfo>;
  has(key: string): Promise<boolean>;
  run(key: string, feeds: Readonly<Record<string, Tensor>>, options?: CallOptions): Promise<Record<string, Tensor>>;
  /** Sets resident state tensors (copied in; the caller keeps its arrays). */
  setState(tensors: Readonly<Record<string, Tensor>>): Promise<void>;
  /** Copies of resident state tensors (all when names is omitted). */
  getState(names?: readonly string[]): Promise<Record<string, Tensor>>;
  /** Sets every element of the named state tensors to value, in place (e.g. zeroing gradient accumulators). */
  fillState(names: readonly string[], value: number): Promise<void>;
  /**
   * Runs key with its inputs taken from state where present and from feeds otherwise; carried
   * outputs replace their state inputs (double-buffered: a run never reads and writes one buffer).
   * Returns the outputs that are not carried.
   */
  step(key: string, feeds: Readonly<Record<string, Tensor>>, options?: CallOptions): Promise<Record<string, Tensor>>;
  unload(key: string): Promise<void>;
  /** Ends profiling for key's session and returns the trace file path (when loaded with profilePrefix). */
  endProfiling(key: string): Promise<string | undefined>;
  close(): Promise<void>;
}

/** The cache key for one model at one shape bucket: one session is kept per bucket. */
export function sessionKey(model: string, bucket?: string | number | readonly number[]): string {
  if (bucket === undefined) return model;
  return `${model}@${Array.isArray(bucket) ? bucket.join('x') : String(bucket)}`;
}

interface Loaded {
  session: Session;
  carry: Readonly<Record<string, string>>;
}

/**
 * Sessions in the calling thread. run() blocks this thread for the duration of the model; fine for
 * tests, the CLI and inside the worker.
 */
export class InThreadRuntime implements Runtime {
  private readonly sessions = new Map<string, Loaded>();
  private readonly state = new Map<string, Tensor>();
  /** Back buffers for carried outputs: written by the next step, then swapped with state. */
  private readonly spare = new Map<string, Tensor>();

  /** @param maxSessions sessions kept before the least recently used is released (one per bucket). */
  constructor(private readonly maxSessions = 16) {}

  async load(key: string, model: ModelSource, options: LoadOptions = {}): Promise<ModelInfo> {
    const old = this.sessions.get(key);
    if (old) {
      this.sessions.delete(key);
      await old.session.dispose();
    }
    const session = await Session.create(model, { name: key, ...options });
    const carry = options.carry ?? {};
    for (const [o, i] of Object.entries(carry)) {
      if (!session.outputNames.includes(o)) throw new Error(`${key}: carry names output '${o}', which the model does not have`);
      if (!session.inputNames.includes(i)) throw new Error(`${key}: carry names input '${i}', which the model does not have`);
    }
    this.sessions.set(key, { session, carry });
    while (this.sessions.size > this.maxSessions) {
      const [oldest, l] = this.sessions.entries().next().value as [string, Loaded];
      this.sessions.delete(oldest);
      await l.session.dispose();
    }
    return { key, inputs: [...session.inputs], outputs: [...session.outputs], provider: session.provider };
  }

  async has(key: string): Promise<boolean> {
    return this.sessions.has(key);
  }

  private get(key: string): Loaded {
    const l = this.sessions.get(key);
    if (!l) throw Object.assign(new Error(`model '${key}' is not loaded`), { code: NOT_LOADED });
    // Move to the back: Map order is our LRU order.
    this.sessions.delete(key);
    this.sessions.set(key, l);
    return l;
  }

  async run(key: string, feeds: Readonly<Record<string, Tensor>>, options: CallOptions = {}): Promise<Record<string, Tensor>> {
    return this.get(key).session.run(feeds, { outputs: options.outputs });
  }

  async setState(tensors: Readonly<Record<string, Tensor>>): Promise<void> {
    for (const [k, t] of Object.entries(tensors)) {
      this.state.set(k, cloneTensor(t));
      this.spare.delete(k);
    }
  }

  /** Takes ownership of tensors without copying (the worker host uses it for transferred buffers). */
  adoptState(tensors: Readonly<Record<string, Tensor>>): void {
    for (const [k, t] of Object.entries(tensors)) {
      this.state.set(k, t);
      this.spare.delete(k);
    }
  }

  async getState(names?: readonly string[]): Promise<Record<string, Tensor>> {
    const out: Record<string, Tensor> = {};
    for (const k of names ?? [...this.state.keys()]) {
      const t = this.state.get(k);
      if (!t) throw new Error(`no state tensor '${k}'`);
      out[k] = cloneTensor(t);
    }
    return out;
  }

  async fillState(names: readonly string[], value: number): Promise<void> {
    for (const k of names) {
      const t = this.state.get(k);
      if (!t) throw new Error(`no state tensor '${k}'`);
      if (t.data instanceof BigInt64Array) t.data.fill(BigInt(value));
      else t.data.fill(value);
    }
  }

  async step(key: string, feeds: Readonly<Record<string, Tensor>>, options: CallOptions = {}): Promise<Record<string, Tensor>> {
    const { session, carry } = this.get(key);
    const all: Record<string, Tensor> = {};
    for (const name of session.inputNames) {
      const t = feeds[name] ?? this.state.get(name);
      if (t) all[name] = t;
    }
    for (const k of Object.keys(feeds)) if (!(k in all)) all[k] = feeds[k];
    const into: Record<string, Tensor> = {};
    for (const [o, i] of Object.entries(carry)) {
      const cur = this.state.get(i);
      if (!cur) throw new Error(`${key}: carried input '${i}' has no state; call setState first`);
      let back = this.spare.get(i);
      if (!back || back.dtype !== cur.dtype || back.data.length !== cur.data.length) {
        back = { dtype: cur.dtype, dims: [...cur.dims], data: allocData(cur.dtype, cur.data.length) };
      }
      into[o] = back;
    }
    const carried = new Set(Object.keys(carry));
    const wanted = options.outputs ?? session.outputNames.filter((o) => !carried.has(o));
    const res = await session.run(all, { outputs: [...new Set([...wanted, ...carried])], into });
    for (const [o, i] of Object.entries(carry)) {
      const prev = this.state.get(i)!;
      this.state.set(i, res[o]);
      this.spare.set(i, prev);
    }
    const out: Record<string, Tensor> = {};
    // A carried output asked for explicitly is copied: the runtime keeps owning its state buffers.
    for (const k of wanted) out[k] = carried.has(k) ? cloneTensor(res[k]) : res[k];
    return out;
  }

  async unload(key: string): Promise<void> {
    const l = this.sessions.get(key);
    if (!l) return;
    this.sessions.delete(key);
    await l.session.dispose();
  }

  async endProfiling(key: string): Promise<string | undefined> {
    return this.get(key).session.endProfiling();
  }

  async close(): Promise<void> {
    for (const l of this.sessions.values()) await l.session.dispose();
    this.sessions.clear();
    this.state.clear();
    this.spare.clear();
  }
}

/**
 * One model at several static shape buckets (e.g. sequence lengths 32/64/128): builds and loads each
 * bucket's ONNX on first use, and again if the runtime evicted it. One cached session per bucket.
 */
export class BucketedModel {
  private readonly loaded = new Map<string, Promise<ModelInfo>>();

  constructor(
    private readonly runtime: Runtime,
    readonly name: string,
    private readonly build: (bucket: string) => ModelSource | Promise<ModelSource>,
    private readonly options: LoadOptions = {},
  ) {}

  /** Loads bucket (once) and returns its runtime key and info. */
  async ensure(bucket: string): Promise<ModelInfo> {
    const key = sessionKey(this.name, bucket);
    let p = this.loaded.get(key);
    if (!p) {
      p = (async () => this.runtime.load(key, await this.build(bucket), this.options))();
      this.loaded.set(key, p);
      p.catch(() => this.loaded.delete(key));
    }
    return p;
  }

  private async withReload<T>(bucket: string, f: (key: string) => Promise<T>): Promise<T> {
    const { key } = await this.ensure(bucket);
    try {
      return await f(key);
    } catch (err) {
      if (!isNotLoaded(err)) throw err;
      this.loaded.delete(key);
      await this.ensure(bucket);
      return f(key);
    }
  }

  run(bucket: string, feeds: Readonly<Record<string, Tensor>>, options?: CallOptions): Promise<Record<string, Tensor>> {
    return this.withReload(bucket, (key) => this.runtime.run(key, feeds, options));
  }

  step(bucket: string, feeds: Readonly<Record<string, Tensor>>, options?: CallOptions): Promise<Record<string, Tensor>> {
    return this.withReload(bucket, (key) => this.runtime.step(key, feeds, options));
  }
}
