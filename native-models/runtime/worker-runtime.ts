// The Runtime contract served by a worker_threads worker, so onnxruntime's blocking run() never
// holds up the caller's thread (Electron main, a service, the trainer's event loop).
import { Worker } from 'node:worker_threads';
import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { existsSync } from 'node:fs';
import { type CallOptions, type LoadOptions, type ModelInfo, type Runtime } from './runtime';
import { transferList, type Envelope, type Reply, type ReplyValue, type Request } from './protocol';
import type { ModelSource } from './session';
import { cloneTensor, ownsBuffer, type Tensor } from './tensor';

/**
 * Bootstrap code for the worker. From compiled JavaScript it imports worker-host.js directly; from
 * TypeScript sources (tsx, vitest) it first registers tsx's loader inside the worker.
 */
function bootstrap(entry?: string): { code: string; eval: true } {
  const fail = `.catch((e) => { require('node:worker_threads').parentPort.postMessage({ id: -1, ok: false, error: { message: 'runtime worker failed to start: ' + (e && e.stack || e) } }); })`;
  if (entry) return { code: `import(${JSON.stringify(pathToFileURL(entry).href)})${fail};`, eval: true };
  const here = fileURLToPath(import.meta.url);
  const js = join(dirname(here), 'worker-host.js');
  const ts = join(dirname(here), 'worker-host.ts');
  if (existsSync(js) && !here.endsWith('.ts')) {
    return { code: `import(${JSON.stringify(pathToFileURL(js).href)})${fail};`, eval: true };
  }
  const req = createRequire(import.meta.url);
  const tsxApi = pathToFileURL(join(dirname(req.resolve('tsx/package.json')), 'dist/esm/api/index.mjs')).href;
  return {
    code: `import(${JSON.stringify(tsxApi)}).then((m) => m.register()).then(() => import(${JSON.stringify(pathToFileURL(ts).href)}))${fail};`,
    eval: true,
  };
}

export interface WorkerRuntimeOptions {
  /**
   * Path of the compiled worker-host.js, for bundled builds where it does not sit beside this module
   * (default: worker-host.js beside it, or worker-host.ts through tsx from sources).
   */
  entry?: string;
  /**
   * Host the sessions in a child process instead of a worker thread: a crash in native code cannot take
   * the caller down, and on Linux the child starts with glibc malloc tuned for onnxruntime-node's large
   * per-run output buffers (see train/PERF.md). Messages are copied, not transferred.
   */
  process?: boolean;
  /** Extra environment for the child process. */
  env?: Record<string, string>;
}

/**
 * Keeps big blocks on the heap instead of fresh mmap'd pages for every output buffer (Linux/glibc): no mmap'd
 * blocks at all (glibc caps the mmap threshold at 32 MB, so a 65 MB logits buffer was mmap'd, page-faulted and
 * unmapped on every run: 278 against 72 ms for that inference on a Zen 5 host, train/PERF.md), and the heap's top
 * is returned to the kernel only past 256 MB free. glibc reads these at process start, so they apply to child
 * processes (and to a process that re-executes itself).
 */
export const MALLOC_ENV: Record<string, string> = process.platform === 'linux' ? { MALLOC_MMAP_MAX_: '0', MALLOC_TRIM_THRESHOLD_: '268435456' } : {};

/** The process flavour's channel, shaped like a Worker for the parts used here. */
function forkHost(entry: string | undefined, env: Record<string, string>): ChildProcess {
  const here = fileURLToPath(import.meta.url);
  const js = entry ?? join(dirname(here), 'worker-host.js');
  const useJs = entry !== undefined || (existsSync(js) && !here.endsWith('.ts'));
  const req = createRequire(import.meta.url);
  const execArgv = useJs ? [] : ['--import', pathToFileURL(req.resolve('tsx')).href];
  return fork(useJs ? js : join(dirname(here), 'worker-host.ts'), [], {
    execArgv,
    env: { ...process.env, ...MALLOC_ENV, ...env },
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

/** A runtime whose sessions live in a worker thread (or a child process). Requests are answered in order. */
export class WorkerRuntime implements Runtime {
  private readonly worker: Worker | undefined;
  private readonly child: ChildProcess | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private dead: Error | undefined;

  constructor(options: WorkerRuntimeOptions = {}) {
    if (options.process) {
      const child = forkHost(options.entry, options.env ?? {});
      this.child = child;
      child.on('message', (r) => this.onReply(r as Reply));
      child.on('error', (e) => this.fail(e));
      child.on('exit', (code, signal) => this.fail(new Error(`runtime process exited (${signal ?? `code ${code}`})`)));
    } else {
      const b = bootstrap(options.entry);
      const worker = new Worker(b.code, { eval: b.eval });
      this.worker = worker;
      worker.on('message', (r: Reply) => this.onReply(r));
      worker.on('error', (e) => this.fail(e));
      worker.on('exit', (code) => this.fail(new Error(`runtime worker exited (code ${code})`)));
    }
    // An idle host must not keep the process alive; pending requests ref it again.
    this.setRef(false);
  }

  private setRef(on: boolean): void {
    const h = this.worker ?? this.child!;
    if (on) h.ref();
    else h.unref();
    // The IPC channel holds its own reference.
    const ch = (this.child as unknown as { channel?: { ref(): void; unref(): void } } | undefined)?.channel;
    if (ch) {
      if (on) ch.ref();
      else ch.unref();
    }
  }

  private onReply(r: Reply): void {
    if (r.id === -1 && !r.ok) return this.fail(new Error(r.error.message));
    const p = this.pending.get(r.id);
    if (!p) return;
    this.pending.delete(r.id);
    if (this.pending.size === 0) this.setRef(false);
    if (r.ok) p.resolve(r.value);
    else p.reject(Object.assign(new Error(r.error.message), { code: r.error.code }));
  }

  private fail(e: Error): void {
    this.dead ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  private call<K extends Request['op']>(req: Extract<Request, { op: K }>, transfer: ArrayBuffer[] = []): Promise<ReplyValue[K]> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise<ReplyValue[K]>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.setRef(true);
      if (this.worker) this.worker.postMessage({ ...req, id } as Envelope, transfer);
      else this.child!.send({ ...req, id } as Envelope);
    });
  }

  /** Feeds for posting: moved when transfer is set (copied first where a tensor is a view), else cloned by postMessage. */
  private prepare(feeds: Readonly<Record<string, Tensor>>, transfer: boolean | undefined): { feeds: Record<string, Tensor>; list: ArrayBuffer[] } {
    if (!transfer) return { feeds: { ...feeds }, list: [] };
    const out: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(feeds)) out[k] = ownsBuffer(t) ? t : cloneTensor(t);
    return { feeds: out, list: transferList(Object.values(out)) };
  }

  load(key: string, model: ModelSource, options?: LoadOptions): Promise<ModelInfo> {
    return this.call({ op: 'load', key, model, options });
  }

  has(key: string): Promise<boolean> {
    return this.call({ op: 'has', key });
  }

  run(key: string, feeds: Readonly<Record<string, Tensor>>, options: CallOptions = {}): Promise<Record<string, Tensor>> {
    const p = this.prepare(feeds, options.transfer);
    return this.call({ op: 'run', key, feeds: p.feeds, options: { outputs: options.outputs } }, p.list);
  }

  step(key: string, feeds: Readonly<Record<string, Tensor>>, options: CallOptions = {}): Promise<Record<string, Tensor>> {
    const p = this.prepare(feeds, options.transfer);
    return this.call({ op: 'step', key, feeds: p.feeds, options: { outputs: options.outputs } }, p.list);
  }

  /** Copies the tensors into the worker (the caller keeps its arrays). */
  setState(tensors: Readonly<Record<string, Tensor>>): Promise<void> {
    return this.call({ op: 'setState', tensors: { ...tensors }, transferred: false });
  }

  /** Moves the tensors' buffers into the worker without copying; the caller's arrays are detached. */
  moveState(tensors: Readonly<Record<string, Tensor>>): Promise<void> {
    const p = this.prepare(tensors, true);
    return this.call({ op: 'setState', tensors: p.feeds, transferred: true }, p.list);
  }

  getState(names?: readonly string[]): Promise<Record<string, Tensor>> {
    return this.call({ op: 'getState', names });
  }

  fillState(names: readonly string[], value: number): Promise<void> {
    return this.call({ op: 'fillState', names, value });
  }

  unload(key: string): Promise<void> {
    return this.call({ op: 'unload', key });
  }

  endProfiling(key: string): Promise<string | undefined> {
    return this.call({ op: 'endProfiling', key });
  }

  /** Releases the sessions and stops the worker. */
  async close(): Promise<void> {
    if (!this.dead) {
      try {
        await this.call({ op: 'close' });
      } catch {
        // The worker is going away either way.
      }
    }
    this.dead ??= new Error('runtime closed');
    if (this.worker) await this.worker.terminate();
    else if (this.child && this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((r) => this.child!.once('exit', r));
      // Hold the loop open until the exit event arrives (the idle host is unref'd).
      this.child.ref();
      this.child.kill();
      await exited;
    }
  }
}
