// One onnxruntime InferenceSession behind the project's plain Tensor type. This file and the other
// runtime/ files are the only places that see ort.Tensor (STYLE.md: runtime/ is the only importer).
import ort from 'onnxruntime-node';
import { readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { isDType, type DType, type Tensor } from './tensor';
import { preferredProviders, withProviderFallback, type ProviderName, type ProviderReport } from './providers';

/** Where a model comes from: ONNX bytes, or a file path (needed when the model has external data). */
export type ModelSource = Uint8Array | string | { bytes: Uint8Array } | { path: string };

export interface SessionOptions {
  /** Threads inside one op (default 2: this project's machines are small and shared). */
  intraOpThreads?: number;
  /** Threads running independent ops in parallel (default 1; only used with parallel execution). */
  interOpThreads?: number;
  /** Run independent branches in parallel (default false: sequential is faster for 1-2 cores). */
  parallel?: boolean;
  /** ONNX Runtime's graph optimisation level (default 'all'). */
  optimization?: 'disabled' | 'basic' | 'extended' | 'layout' | 'all';
  /**
   * ONNX Runtime graph transformers to skip, by name (default: DEFAULT_DISABLED_OPTIMIZERS on the CPU provider,
   * none on others; [] skips none).
   */
  disableOptimizers?: readonly string[];
  /** Provider preference; CPU is always appended. Default: OPT_PROVIDERS or DEFAULT_PROVIDERS. */
  providers?: readonly ProviderName[];
  /** Let idle intra-op threads spin (default true: lower latency; false frees the CPU for others). */
  spin?: boolean;
  /** Write a Chrome-trace profile: file prefix (path without the timestamp ORT appends). */
  profilePrefix?: string;
  /** Save ORT's optimised graph here, to see what fusions happened. */
  optimizedModelPath?: string;
  /** A name for error messages (defaults to the file name or "model"). */
  name?: string;
}

/** An input or output as the model declares it; string dims are symbolic. */
export interface ValueInfo {
  name: string;
  dtype: DType | string;
  dims: (number | string)[];
}

export interface RunOptions {
  /** Only these outputs (default: all). */
  outputs?: readonly string[];
  /**
   * Preallocated output tensors, written by onnxruntime in place; the same objects are returned.
   * Never pass a buffer that is also a feed of the same run.
   */
  into?: Readonly<Record<string, Tensor>>;
}

function toOrt(t: Tensor): ort.Tensor {
  return new ort.Tensor(t.dtype, t.data as never, t.dims as number[]);
}

function fromOrt(v: ort.OnnxValue, name: string): Tensor {
  const t = v as ort.Tensor;
  if (!isDType(t.type)) throw new Error(`output '${name}' has dtype ${t.type}, which the runtime does not support`);
  return { dtype: t.type, dims: [...t.dims], data: t.data as Tensor['data'] };
}

function sourceName(model: ModelSource, name?: string): string {
  if (name) return name;
  if (typeof model === 'string') return basename(model);
  if (!(model instanceof Uint8Array) && 'path' in model) return basename(model.path);
  return 'model';
}

/**
 * Transformers skipped by default. SkipLayerNormFusion folds a residual Add into the following LayerNormalization;
 * onnxruntime's CPU SkipLayerNormalization kernel is several times slower than the two ops it replaces (on the
 * engine benchmark's encoder, [2048,256]: 1.2 ms against 0.2 + 0.15 ms each; the whole forward 36.1 -> 30.5 ms
 * without the fusion, see native-models/train/PERF.md).
 */
export const DEFAULT_DISABLED_OPTIMIZERS: readonly string[] = ['SkipLayerNormFusion'];

/** The transformers a session on `provider` skips: the caller's list, else the default (measured on CPU only). */
export function disabledOptimizers(o: Pick<SessionOptions, 'disableOptimizers'>, provider: ProviderName): readonly string[] {
  return o.disableOptimizers ?? (provider === 'cpu' ? DEFAULT_DISABLED_OPTIMIZERS : []);
}

/** Session options in onnxruntime-node's own form. */
function ortOptions(o: SessionOptions, provider: ProviderName): ort.InferenceSession.SessionOptions {
  const opts: ort.InferenceSession.SessionOptions = {
    executionProviders: [provider],
    intraOpNumThreads: o.intraOpThreads ?? 2,
    interOpNumThreads: o.interOpThreads ?? 1,
    executionMode: o.parallel ? 'parallel' : 'sequential',
    graphOptimizationLevel: o.optimization ?? 'all',
    enableCpuMemArena: true,
    enableMemPattern: true,
    // Errors are thrown to the caller with their text; ORT's own stderr logger only repeats them.
    logSeverityLevel: 3,
  };
  const extra: Record<string, Record<string, unknown>> = {};
  if (o.spin === false) extra.session = { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } };
  const disabled = disabledOptimizers(o, provider);
  if (disabled.length) extra.optimization = { disable_specified_optimizers: disabled.join(';') };
  if (Object.keys(extra).length) opts.extra = extra;
  if (o.profilePrefix) {
    opts.enableProfiling = true;
    opts.profileFilePrefix = o.profilePrefix;
  }
  if (o.optimizedModelPath) opts.optimizedModelFilePath = o.optimizedModelPath;
  return opts;
}

/** An inference session over plain tensors, on the best execution provider that accepts the model. */
export class Session {
  private constructor(
    private readonly inner: ort.InferenceSession,
    readonly name: string,
    readonly inputs: readonly ValueInfo[],
    readonly outputs: readonly ValueInfo[],
    readonly provider: ProviderReport,
    private readonly profilePrefix: string | undefined,
  ) {}

  get inputNames(): string[] {
    return this.inputs.map((i) => i.name);
  }

  get outputNames(): string[] {
    return this.outputs.map((o) => o.name);
  }

  /** Loads a model, trying providers in order (see providers.ts) and recording why each was or was not used. */
  static async create(model: ModelSource, options: SessionOptions = {}): Promise<Session> {
    const name = sourceName(model, options.name);
    const src: string | Uint8Array =
      typeof model === 'string' ? model : model instanceof Uint8Array ? model : 'path' in model ? model.path : model.bytes;
    const { value, report } = await withProviderFallback(preferredProviders(options.providers), async (p) => {
      try {
        return typeof src === 'string'
          ? await ort.InferenceSession.create(src, ortOptions(options, p))
          : await ort.InferenceSession.create(src, ortOptions(options, p));
      } catch (err) {
        if (p === 'cpu') throw new Error(`cannot load ${name}: ${err instanceof Error ? err.message : String(err)}`);
        throw err;
      }
    });
    const info = (m: readonly ort.InferenceSession.ValueMetadata[]): ValueInfo[] =>
      m.map((v) => (v.isTensor ? { name: v.name, dtype: v.type, dims: [...v.shape] } : { name: v.name, dtype: 'non-tensor', dims: [] }));
    const prefix = options.profilePrefix ? resolve(options.profilePrefix) : undefined;
    return new Session(value, name, info(value.inputMetadata), info(value.outputMetadata), report, prefix);
  }

  /** Checks feeds against the model's declared inputs, so mistakes read as the model's own terms. */
  private check(feeds: Readonly<Record<string, Tensor>>): void {
    for (const inp of this.inputs) {
      const t = feeds[inp.name];
      if (!t) throw new Error(`${this.name}: missing input '${inp.name}' (${inp.dtype} [${inp.dims.join(', ')}])`);
      const dimsOk = t.dims.length === inp.dims.length && inp.dims.every((d, i) => typeof d === 'string' || d === t.dims[i]);
      if (t.dtype !== inp.dtype || !dimsOk) {
        throw new Error(`${this.name}: input '${inp.name}' expects ${inp.dtype} [${inp.dims.join(', ')}], got ${t.dtype} [${t.dims.join(', ')}]`);
      }
    }
    for (const k of Object.keys(feeds)) {
      if (!this.inputs.some((i) => i.name === k)) throw new Error(`${this.name}: unknown input '${k}' (inputs: ${this.inputNames.join(', ')})`);
    }
  }

  /**
   * Runs the model. Blocks this thread while onnxruntime computes (use the worker runtime to keep a
   * caller responsive). Feeds are read in place, without copying.
   */
  async run(feeds: Readonly<Record<string, Tensor>>, options: RunOptions = {}): Promise<Record<string, Tensor>> {
    this.check(feeds);
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [k, t] of Object.entries(feeds)) ortFeeds[k] = toOrt(t);
    const wanted = options.outputs ?? this.outputNames;
    const into = options.into ?? {};
    for (const k of Object.keys(into)) {
      if (!wanted.includes(k)) throw new Error(`${this.name}: preallocated output '${k}' is not among the requested outputs`);
      for (const f of Object.values(feeds)) {
        if (f.data.buffer === into[k].data.buffer) throw new Error(`${this.name}: output '${k}' shares its buffer with a feed`);
      }
    }
    const fetches: Record<string, ort.Tensor | null> = {};
    for (const k of wanted) {
      if (!this.outputs.some((o) => o.name === k)) throw new Error(`${this.name}: unknown output '${k}' (outputs: ${this.outputNames.join(', ')})`);
      fetches[k] = into[k] ? toOrt(into[k]) : null;
    }
    let res: ort.InferenceSession.ReturnType;
    try {
      res = await this.inner.run(ortFeeds, fetches);
    } catch (err) {
      throw new Error(`${this.name}: run failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    const out: Record<string, Tensor> = {};
    for (const k of wanted) out[k] = into[k] ?? fromOrt(res[k], k);
    return out;
  }

  /** Stops profiling and returns the trace file ORT wrote (Chrome trace JSON), if profiling was on. */
  endProfiling(): string | undefined {
    if (!this.profilePrefix) return undefined;
    const started = Date.now();
    this.inner.endProfiling();
    const dir = dirname(this.profilePrefix);
    const base = basename(this.profilePrefix);
    const files = readdirSync(dir)
      .filter((f) => f.startsWith(base) && f.endsWith('.json'))
      .map((f) => ({ f: join(dir, f), t: statSync(join(dir, f)).mtimeMs }))
      .filter((x) => x.t >= started - 60_000)
      .sort((a, b) => b.t - a.t);
    return files[0]?.f;
  }

  async dispose(): Promise<void> {
    await this.inner.release();
  }
}
