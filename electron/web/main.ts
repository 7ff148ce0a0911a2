// Web mode's entry: `npx tsx electron/web/main.ts [--port N] [--home DIR] [--renderer DIR] [--models PACKAGE_DIR]`.
// Hosts the real services in this process and prints the URL (with its per-launch token) to open.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WebHostService } from './host-service';
import { startWebServer } from './server';
import { startInferenceProcess } from './inference-supervisor';
import { startServiceThread } from './service-thread';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.OPT_STUDIO_PORT ?? '0' },
    home: { type: 'string', default: process.env.OPT_STUDIO_HOME ?? path.join(os.homedir(), '.opt-studio') },
    renderer: { type: 'string', default: path.join(repo, 'dist/renderer') },
    token: { type: 'string' },
    // The model package the inference service runs (default: $OPT_MODEL_PACKAGE, else the shipped one).
    models: { type: 'string' },
  },
});

const home = path.resolve(values.home!);
process.env.OPT_STUDIO_HOME = home;
const version = (JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')) as { version: string }).version;
const libraryRoot = path.join(home, 'datasets');
// Models run in a child process (a native crash there costs a request, not the server), loaded on first use.
const models = await startInferenceProcess(values.models ? path.resolve(values.models) : undefined);
// The dataset and demo services work on their own thread (its detection jobs call the models' detector through
// this one); this thread only serves HTTP and WebSocket.
const thread = await startServiceThread(libraryRoot, models.inference);
const host = new WebHostService({ version, libraryRoot });

const server = await startWebServer({
  services: { dataset: thread.dataset, demo: thread.demo, inference: models.inference, host },
  blobs: thread.blobs,
  rendererDir: values.renderer!,
  uploadDir: path.join(home, 'uploads'),
  port: Number(values.port),
  ...(values.token ? { token: values.token } : {}),
  log: (line) => console.error(line),
});

console.log(`OPT Studio (web mode) is running. Open: ${server.url}`);
console.log(`Library: ${libraryRoot}   (Ctrl+C to stop)`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await server.close();
  await Promise.all([thread.close(), models.close()]);
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
