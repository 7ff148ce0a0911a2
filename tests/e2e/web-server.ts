// Starts the real web-mode server (electron/web/main.ts) as a child process and reads its URL.
// E2E_SERVER_LOG=1 prints the server's stderr when the test stops it.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface RunningServer {
  url: string;
  origin: string;
  token: string;
  stop(): Promise<void>;
}

export async function startServer(home: string): Promise<RunningServer> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'electron/web/main.ts', '--home', home, '--port', '0'], {
    cwd: root, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`web server did not start in 30 s:\n${out}\n${log}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /Open: (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => reject(new Error(`web server exited (${code}):\n${out}\n${log}`)));
  });
  let stopping = false;
  // A server that dies mid-test shows up in the browser as a lost connection: say why here.
  child.once('exit', (code, signal) => {
    if (!stopping) console.error(`web server exited unexpectedly (${code ?? signal}):\n${log}`);
  });
  const u = new URL(url);
  return {
    url, origin: u.origin, token: u.searchParams.get('token')!,
    stop: () => new Promise<void>((resolve) => {
      stopping = true;
      if (process.env.E2E_SERVER_LOG) console.error(log);
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}
