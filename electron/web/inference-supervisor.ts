// Web mode's inference service, supervised: it runs in a child process of the server (electron/workers/
// inference-child.ts), so a native crash in onnxruntime costs one request, not the server. The requests that were
// running then fail with a clear error, and the next request starts a fresh process — unless it keeps crashing
// (RestartPolicy: more than 3 exits a minute), after which every request says so. The Electron app does the same
// with its utility process (electron/main).
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createRpcClient, SERVICE_CHANNELS, type InferenceService, type RpcClient } from '../common';
import { RestartPolicy } from '../common/restart-policy';
import { processTransport } from '../workers/process-transport';

export interface InferenceProcess {
  inference: InferenceService;
  /** The running process's pid (undefined while none runs). */
  pid(): number | undefined;
  close(): Promise<void>;
}

const ENTRY = fileURLToPath(new URL('../workers/inference-child.ts', import.meta.url));

interface Running {
  child: ChildProcess;
  client: RpcClient;
  /** How it ended ('signal SIGSEGV', 'exit code 1'), once it has. */
  exited: Promise<string>;
}

/**
 * Starts the inference process. `packageDir`: the model package (default: $OPT_MODEL_PACKAGE, else the shipped
 * one); models load on first use. Resolves once the process answers (getModelInfo), so a broken start fails here.
 */
export async function startInferenceProcess(packageDir?: string, policy = new RestartPolicy()): Promise<InferenceProcess> {
  let running: Running | null = null;
  let down: string | null = null;
  let closed = false;

  const start = (): Running => {
    const child = fork(ENTRY, [], {
      // From source (npm start, tests) the entry is TypeScript: the child loads tsx first.
      // (The server's own flags come along, except a debugger port the child could not share.)
      execArgv: [...process.execArgv.filter((f) => !f.startsWith('--inspect')), '--import', import.meta.resolve('tsx')],
      env: { ...process.env, ...(packageDir ? { OPT_MODEL_PACKAGE: packageDir } : {}) },
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const client = createRpcClient(processTransport(child));
    const exited = new Promise<string>((resolve) => {
      child.once('exit', (code, signal) => resolve(signal ? `signal ${signal}` : `exit code ${code}`));
      // A process that could not be started (EAGAIN, EMFILE) sends 'error' and never 'exit'.
      child.on('error', (e) => {
        if (child.pid === undefined) resolve(`could not start: ${e.message}`);
        else console.error(`The inference process: ${e.message}`);
      });
    });
    const self: Running = { child, client, exited };
    void exited.then((how) => {
      client.dispose(); // pending calls are rejected (call() below says why)
      if (running === self) running = null;
      if (closed) return;
      console.error(`The inference process exited (${how}).`);
      if (policy.onExit(Date.now()) === null) down = `The inference process keeps stopping (last: ${how}); restart the studio server.`;
    });
    return self;
  };

  const call = async (method: string, args: unknown[]): Promise<unknown> => {
    if (closed) throw new Error('The inference service is closed.');
    if (down) throw new Error(down);
    running ??= start();
    const { client, exited } = running;
    try {
      return await (client.service('inference') as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[method](...args);
    } catch (e) {
      if ((e as Error).name !== 'ConnectionClosed') throw e;
      if (closed) throw new Error('The inference service is closed.');
      const how = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('its channel closed'), 2000))]);
      throw new Error(`The inference process stopped (${how}); the next request starts it again.`);
    }
  };

  const inference = Object.fromEntries(SERVICE_CHANNELS.inference.methods.map((m) => [m, (...args: unknown[]) => call(m, args)])) as unknown as InferenceService;
  const handle: InferenceProcess = {
    inference,
    pid: () => running?.child.pid,
    async close() {
      closed = true;
      const r = running;
      running = null;
      if (!r) return;
      r.client.dispose();
      // The child disposes its sessions when the channel closes, then exits; a stuck one is killed.
      if (r.child.connected) r.child.disconnect();
      const timer = setTimeout(() => r.child.kill('SIGKILL'), 5000);
      await r.exited;
      clearTimeout(timer);
    },
  };
  try {
    await inference.getModelInfo(); // fails fast when the process cannot start
  } catch (e) {
    await handle.close();
    throw new Error(`The inference process could not start: ${(e as Error).message.replace(/; the next request starts it again\.$/, '')} (see its output above)`);
  }
  return handle;
}
