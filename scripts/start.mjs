// `npm start`: the desktop app where the Electron binary is installed, else web mode (one line says
// why) with the URL printed. Builds the renderer first when its build is missing or older than its sources.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const bin = (name) => path.join(root, 'node_modules', '.bin', process.platform === 'win32' ? `${name}.cmd` : name);

function newest(dir) {
  let t = 0;
  if (!existsSync(dir)) return t;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const built = path.join(root, 'dist/renderer/index.html');
const sources = Math.max(newest(path.join(root, 'renderer')), newest(path.join(root, 'electron/common')));
if (!existsSync(built) || statSync(built).mtimeMs < sources) {
  console.log('Building the renderer…');
  run(bin('vite'), ['build', '-c', 'build/vite.renderer.config.ts', '--logLevel', 'warn']);
}

let electronPath = null;
let why = '';
try {
  electronPath = require('electron'); // the package's index resolves the downloaded binary's path, or throws
  if (typeof electronPath !== 'string' || !existsSync(electronPath)) {
    why = `its binary is missing (${electronPath})`;
    electronPath = null;
  }
} catch (e) {
  why = String(e?.message ?? e).split('\n')[0];
}

const args = process.argv.slice(2);
let child;
if (electronPath) {
  if (!existsSync(path.join(root, 'dist/electron/main/index.js')) || newest(path.join(root, 'electron')) > statSync(path.join(root, 'dist/electron/main/index.js')).mtimeMs) {
    run(process.execPath, [path.join(root, 'build/build-electron.mjs')]);
  }
  child = spawn(electronPath, [root, ...args], { cwd: root, stdio: 'inherit' });
} else {
  console.log(`Electron is not installed here (${why}); starting web mode instead.`);
  child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'electron/web/main.ts'), ...args], { cwd: root, stdio: 'inherit' });
}
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
