// Entry point of the runtime worker: hosts an InThreadRuntime and answers protocol.ts requests, one
// at a time (onnxruntime's run blocks this thread, which is the point: it is not the caller's). It runs in a
// worker_threads worker (messages with transferred buffers) or in a child process (IPC with structured clone).
import { parentPort } from 'node:worker_threads';
import { InThreadRuntime } from './runtime';
import { transferList, type Envelope, type Reply } from './protocol';
import type { Tensor } from './tensor';

interface Port {
  on(event: 'message', f: (m: Envelope) => void): void;
  postMessage(m: Reply, transfer: ArrayBuffer[]): void;
}

function processPort(): Port | undefined {
  if (!process.send) return undefined;
  // The parent went away: nothing will ever ask again.
  process.on('disconnect', () => process.exit(0));
  return {
    on: (_e, f) => process.on('message', (m) => f(m as Envelope)),
    postMessage: (m) => process.send!(m),
  };
}

const port: Port | undefined = parentPort ?? processPort();
if (!port) throw new Error('worker-host.ts must run in a worker thread or a forked process (use WorkerRuntime)');

const rt = new InThreadRuntime();
let queue: Promise<void> = Promise.resolve();

async function handle(m: Envelope): Promise<{ value: unknown; transfer: ArrayBuffer[] }> {
  switch (m.op) {
    case 'load':
      return { value: await rt.load(m.key, m.model, m.options), transfer: [] };
    case 'has':
      return { value: await rt.has(m.key), transfer: [] };
    case 'run': {
      const out = await rt.run(m.key, m.feeds, m.options);
      return { value: out, transfer: transferList(Object.values(out)) };
    }
    case 'step': {
      const out = await rt.step(m.key, m.feeds, m.options);
      return { value: out, transfer: transferList(Object.values(out)) };
    }
    case 'setState':
      if (m.transferred) rt.adoptState(m.tensors);
      else await rt.setState(m.tensors);
      return { value: undefined, transfer: [] };
    case 'getState': {
      const out = await rt.getState(m.names);
      return { value: out, transfer: transferList(Object.values(out) as Tensor[]) };
    }
    case 'fillState':
      return { value: await rt.fillState(m.names, m.value), transfer: [] };
    case 'unload':
      return { value: await rt.unload(m.key), transfer: [] };
    case 'endProfiling':
      return { value: await rt.endProfiling(m.key), transfer: [] };
    case 'close':
      await rt.close();
      return { value: undefined, transfer: [] };
  }
}

port.on('message', (m: Envelope) => {
  // Serialise requests: a step must see the state the previous step left.
  queue = queue.then(async () => {
    let reply: Reply;
    let transfer: ArrayBuffer[] = [];
    try {
      const r = await handle(m);
      reply = { id: m.id, ok: true, value: r.value };
      transfer = r.transfer;
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      reply = { id: m.id, ok: false, error: { message: e.message, code: (e as { code?: string }).code, stack: e.stack } };
    }
    port.postMessage(reply, transfer);
  });
});
