// Starts web mode's service thread and returns typed services (over the same RPC client the renderer uses): the
// dataset and demo services, with blob look-ups. (The inference service runs in a child process:
// inference-supervisor.ts.) The thread is supervised like the Electron app's services process: if it dies, the jobs
// it was running end as failed for everyone following them, calls in flight fail with a clear error, and a fresh
// thread starts after RestartPolicy's delay (not at all once it keeps dying). The services returned stay the same
// objects across restarts, their event listeners included, so the web server holds them once. A thread that fails
// to start makes startServiceThread fail with its error; close() lets the thread close its datasets and exit.
import { MessageChannel, Worker, type MessagePort, type TransferListItem } from 'node:worker_threads';
import {
  createRpcClient, SERVICE_CHANNELS, stoppedUnder, type BlobLocation, type DatasetBlobAccess, type DatasetService, type DemoService, type Detector,
  type Disposable, type RpcClient,
} from '../common';
import { OpenJobs } from '../common/open-jobs';
import { restartAfter, RestartPolicy } from '../common/restart-policy';
import { serveDetector } from '../workers/detector-link';
import { threadPortTransport } from '../workers/thread-transport';

export interface ServiceThread {
  dataset: DatasetService;
  demo: DemoService;
  blobs: DatasetBlobAccess;
  close(): Promise<void>;
}

export interface ServiceThreadOptions {
  /** When a crashed thread is started again (default: RestartPolicy's defaults). */
  policy?: RestartPolicy;
  /** Called with each worker as it starts (tests use it to make one die). */
  onWorker?: (worker: Worker) => void;
}

/** One running thread: its worker, contract client and the ports beside it. */
interface Running {
  worker: Worker;
  client: RpcClient;
  blobPort: MessagePort;
  detectPort?: MessagePort;
  served?: Disposable;
  waiting: Map<number, (l: BlobLocation | null) => void>;
  released?: boolean;
  /** What the worker threw uncaught, if it did (a thread that fails to start says why through this). */
  error?: Error;
  /** Resolves with the exit code once the worker has exited. */
  exited: Promise<number>;
}

/** How long close() lets the thread close its datasets (SQLite folds its write-ahead log back) before stopping it. */
const CLOSE_GRACE_MS = 5000;

const HOSTED = ['dataset', 'demo'] as const;
type Hosted = (typeof HOSTED)[number];

/** A worker thread running electron/workers/dataset-worker.ts; it inherits this process's loader (tsx in development). */
function startWorker(workerData: Record<string, unknown>, transferList: TransferListItem[]): { worker: Worker; client: RpcClient } {
  const rpc = new MessageChannel();
  const entry = new URL('../workers/dataset-worker.ts', import.meta.url).href;
  // Run from source (npm start, tests): workers do not inherit tsx's loader, so register it first.
  const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`;
  const worker = new Worker(boot, { eval: true, workerData: { ...workerData, rpcPort: rpc.port2 }, transferList: [rpc.port2, ...transferList] });
  return { worker, client: createRpcClient(threadPortTransport(rpc.port1)) };
}

/** `root` is the library folder; `detector` (the inference process's) runs dataset-wide detection jobs. */
export async function startServiceThread(root: string, detector?: Detector, options: ServiceThreadOptions = {}): Promise<ServiceThread> {
  const policy = options.policy ?? new RestartPolicy();
  let running: Running | null = null;
  /** Why no thread runs and none will (it kept dying); null while one runs or is about to. */
  let down: string | null = null;
  let closing = false;
  /** close()'s work, shared by every call. */
  let closed: Promise<void> | undefined;
  /** Set once the first thread has answered. */
  let started = false;
  let restartTimer: ReturnType<typeof setTimeout> | undefined;
  let nextBlobId = 1;
  /** The jobs of the running thread that have not ended, so its death can end them as failed. */
  const openJobs = new OpenJobs();
  /** Listeners of each hosted event, kept across restarts. */
  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  const emit = (key: string, payload: unknown) => {
    for (const l of [...(listeners.get(key) ?? [])]) l(payload);
  };

  const start = (): Running => {
    const blob = new MessageChannel();
    const detect = detector ? new MessageChannel() : undefined;
    const served = detect && detector ? serveDetector(threadPortTransport(detect.port1), detector) : undefined;
    const { worker, client } = startWorker({ root, blobPort: blob.port2, ...(detect ? { detectPort: detect.port2 } : {}) }, [blob.port2, ...(detect ? [detect.port2] : [])]);
    const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
    const self: Running = { worker, client, blobPort: blob.port1, ...(detect ? { detectPort: detect.port1 } : {}), ...(served ? { served } : {}), waiting: new Map(), exited };
    for (const name of HOSTED) {
      const proxy = client.service(name) as unknown as Record<string, (l: (p: unknown) => void) => Disposable>;
      for (const event of SERVICE_CHANNELS[name].events as readonly string[]) proxy[event]((payload) => emit(`${name}.${event}`, payload));
    }
    client.service('dataset').onDidChangeJobProgress(openJobs.track);
    blob.port1.on('message', ({ id, location }: { id: number; location: BlobLocation | null }) => {
      self.waiting.get(id)?.(location);
      self.waiting.delete(id);
    });
    worker.on('error', (e) => {
      self.error = e;
      console.error(`The dataset service thread: ${e.message}`);
    });
    void exited.then((code) => {
      release(self);
      if (running === self) running = null;
      // A thread that never started is not restarted: startServiceThread fails with its error instead.
      if (closing || !started) return;
      console.error(`The dataset service thread stopped (exit code ${code}).`);
      // Its jobs will never announce their end: whoever follows one hears it from here.
      for (const p of openJobs.failAll('The dataset service stopped.')) emit('dataset.onDidChangeJobProgress', p);
      const timer = restartAfter(policy, () => {
        restartTimer = undefined;
        try {
          running ??= start();
        } catch (e) {
          down = `The dataset service could not start again: ${(e as Error).message}; restart the server.`;
          console.error(down);
        }
      }, () => closing);
      if (timer) restartTimer = timer;
      else {
        down = `The dataset service keeps stopping (last exit code ${code}); restart the server.`;
        console.error(down);
      }
    });
    options.onWorker?.(worker);
    return self;
  };

  /** Fails what was waiting on `r` and closes its ports (the worker has exited or is being stopped). */
  const release = (r: Running) => {
    if (r.released) return;
    r.released = true;
    r.client.dispose(); // pending calls are rejected as ConnectionClosed
    for (const resolve of r.waiting.values()) resolve(null);
    r.waiting.clear();
    r.blobPort.close();
    r.served?.dispose();
    r.detectPort?.close();
  };

  const client = (): RpcClient => {
    if (running) return running.client;
    throw new Error(down ?? (closing ? 'The studio is shutting down.' : 'The dataset service is restarting; try again in a moment.'));
  };

  /** A service object that stays valid across restarts: calls go to the running thread, listeners stay registered. */
  const stable = (name: Hosted): unknown => {
    const spec = SERVICE_CHANNELS[name] as { methods: readonly string[]; events: readonly string[] };
    const obj: Record<string, unknown> = {};
    // The thread's channel closes under a call just before the worker's exit is reported: the service stopped.
    for (const method of spec.methods) {
      obj[method] = async (...args: unknown[]) => stoppedUnder(client().call(name, method, args),
        () => (closing ? 'The studio is shutting down.' : 'The dataset service stopped while this ran; it restarts by itself: try again in a moment.'));
    }
    for (const event of spec.events) {
      obj[event] = (listener: (payload: unknown) => void): Disposable => {
        const key = `${name}.${event}`;
        const set = listeners.get(key) ?? new Set();
        listeners.set(key, set);
        set.add(listener);
        return { dispose: () => void set.delete(listener) };
      };
    }
    return obj;
  };

  const first = start();
  running = first;
  try {
    await first.client.service('dataset').listDatasets(); // fails fast when the worker cannot start
    started = true;
  } catch (e) {
    closing = true;
    release(first);
    await first.worker.terminate();
    // The call fails because the channel closed; the worker's own error says why.
    throw first.error ? new Error(`The dataset service could not start: ${first.error.message}`, { cause: first.error }) : e;
  }

  return {
    dataset: stable('dataset') as DatasetService,
    demo: stable('demo') as DemoService,
    blobs: {
      resolveBlob: (datasetId, sha) => new Promise((resolve) => {
        const r = running;
        if (!r) return resolve(undefined); // restarting: "no such blob" until the new thread is up
        const id = nextBlobId++;
        r.waiting.set(id, (l) => resolve(l ?? undefined));
        r.blobPort.postMessage({ id, datasetId, sha });
      }),
    },
    close() {
      closed ??= (async () => {
        closing = true;
        clearTimeout(restartTimer);
        const r = running;
        running = null;
        if (!r) return;
        // The thread stops its jobs, closes its datasets and exits; one that does not in time is stopped.
        r.worker.postMessage('close');
        release(r);
        const timer = setTimeout(() => void r.worker.terminate(), CLOSE_GRACE_MS);
        await r.exited;
        clearTimeout(timer);
      })();
      return closed;
    },
  };
}
