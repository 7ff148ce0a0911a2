// Electron main: thin. One sandboxed window (contextIsolation on, nodeIntegration off, CSP in the
// page), IPC handlers generated from the contract's channel list (validated; nothing else is
// handled), the dataset services in one utility process and the models in another, blobs over the opt-blob://
// protocol, menus.
import { app, BrowserWindow, ipcMain, Menu, MessageChannelMain, net, protocol, session, shell, utilityProcess, type IpcMainInvokeEvent, type MessagePortMain, type UtilityProcess } from 'electron';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CHANNEL_PREFIX, createRpcClient, SERVICE_CHANNELS, stoppedUnder, type BlobLocation, type Disposable, type RpcClient, type ServiceName } from '../common';
import { serveDetector } from '../workers/detector-link';
import { portTransport } from '../workers/port-transport';
import { invokeValidated } from '../workers/service-host';
import { appDir, DEMO_ASSETS_DIR, MODEL_PACKAGE_DIR } from './app-paths';
import { ElectronHostService } from './host-service';
import { OpenJobs } from '../common/open-jobs';
import { restartAfter, RestartPolicy } from '../common/restart-policy';

const here = path.dirname(fileURLToPath(import.meta.url));
const rendererIndex = path.join(here, '../../renderer/index.html');
const libraryRoot = path.join(process.env.OPT_STUDIO_HOME ?? path.join(os.homedir(), '.opt-studio'), 'datasets');
/**
 * The packaged app's emoji catalog for the demo generator (./app-paths.ts), unpacked from the asar so sharp can
 * read its images. A development checkout uses the emoji packages instead.
 */
const demoAssets = app.isPackaged ? { OPT_DEMO_ASSETS: appDir(here, DEMO_ASSETS_DIR) } : {};
/** The model package the inference process runs: $OPT_MODEL_PACKAGE when set, else the one shipped with the app. */
const modelPackage = process.env.OPT_MODEL_PACKAGE || appDir(here, MODEL_PACKAGE_DIR);

// corsEnabled: the page (file://) reads blobs with fetch() (waveforms, the bytes the inference service takes), a
// cross-origin request that Electron refuses for a supportFetchAPI-only scheme; the handler answers with CORS headers.
protocol.registerSchemesAsPrivileged([{ scheme: 'opt-blob', privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: true, stream: true } }]);

/** On every opt-blob response: only our own page is ever loaded (navigation and new windows are refused), so any origin asking is it. */
const BLOB_CORS = { 'Access-Control-Allow-Origin': '*' };

let win: BrowserWindow | null = null;
let worker: UtilityProcess | null = null;
let services: RpcClient | null = null;
let inferenceWorker: UtilityProcess | null = null;
let inference: RpcClient | null = null;
/** Why a helper process is not running any more (it kept crashing), by contract service; calls to it say so. */
const down = new Map<string, string>();
const restarts = { services: new RestartPolicy(), inference: new RestartPolicy() };

/** After a helper process exits: start it again after the policy's delay, or give up and remember why. */
function restartLater(which: 'services' | 'inference', code: number, start: () => void, serviceNames: ServiceName[]) {
  if (quitting || restartAfter(restarts[which], start, () => quitting)) return;
  const why = `The ${which} process keeps stopping (last exit code ${code}); restart OPT Studio.`;
  console.error(why);
  for (const name of serviceNames) down.set(name, why);
}
let blobPort: MessagePortMain | null = null;
/** The services process's link to the detector (its detection jobs), relayed to the inference process as it is now. */
let detectorLink: { port: MessagePortMain; served: Disposable } | null = null;
/** The jobs of the services process that have not ended: when it dies, they end as failed. */
const openJobs = new OpenJobs();

function closeDetectorLink() {
  detectorLink?.served.dispose();
  detectorLink?.port.close();
  detectorLink = null;
}
let nextBlobId = 1;
const blobRequests = new Map<number, (location: BlobLocation | null) => void>();
const host = new ElectronHostService(() => win, libraryRoot);

/** Starts the service process and wires its two ports (contract, blob look-ups). */
function startServices() {
  worker = utilityProcess.fork(path.join(here, '../workers/service-process.js'), [], {
    serviceName: 'OPT Studio services', env: { ...process.env, ...demoAssets, OPT_STUDIO_LIBRARY: libraryRoot }, stdio: 'inherit',
  });
  const rpc = new MessageChannelMain();
  const blobs = new MessageChannelMain();
  const detect = new MessageChannelMain();
  worker.postMessage(null, [rpc.port2, blobs.port2, detect.port2]);
  closeDetectorLink();
  const served = serveDetector(portTransport(detect.port1), {
    detectRegions: async (image, options) => {
      if (!inference) throw new Error(down.get('inference') ?? 'The inference process is restarting; try again in a moment.');
      // Its connection closed under the call: the process stopped (web mode's supervisor says the same).
      return stoppedUnder(inference.service('inference').detectRegions(image, options), () => 'The inference process stopped while it looked at an image.');
    },
  });
  detectorLink = { port: detect.port1, served };
  detect.port1.start();
  services?.dispose();
  services = createRpcClient(portTransport(rpc.port1));
  forwardEvents(services, ['dataset', 'demo']);
  services.service('dataset').onDidChangeJobProgress(openJobs.track);
  blobPort = blobs.port1;
  blobPort.on('message', ({ data }: { data: { id: number; location: BlobLocation | null } }) => {
    blobRequests.get(data.id)?.(data.location);
    blobRequests.delete(data.id);
  });
  rpc.port1.start();
  blobPort.start();
  worker.on('exit', (code) => {
    console.error(`The services process exited (${code}).`);
    for (const resolve of blobRequests.values()) resolve(null);
    blobRequests.clear();
    closeDetectorLink();
    // Its jobs will never announce their end: the window hears it from here (a page that follows a job it did not
    // start would otherwise show it running, with undo held, until reloaded).
    for (const p of openJobs.failAll('The services process stopped.')) win?.webContents.send(`${CHANNEL_PREFIX}dataset.onDidChangeJobProgress`, p);
    blobPort?.close(); // look-ups answer "no such blob" until a restarted process brings a new port
    blobPort = null;
    services?.dispose(); // pending calls are rejected; new ones wait for the restart (or say why there is none)
    services = null;
    restartLater('services', code, startServices, ['dataset', 'demo']);
  });
}

/** Starts the inference process (models load there on first use); restarted if it dies, like the services. */
function startInference() {
  inferenceWorker = utilityProcess.fork(path.join(here, '../workers/inference-process.js'), [], {
    serviceName: 'OPT Studio inference', env: { ...process.env, OPT_MODEL_PACKAGE: modelPackage }, stdio: 'inherit',
  });
  const rpc = new MessageChannelMain();
  inferenceWorker.postMessage(null, [rpc.port2]);
  inference?.dispose();
  inference = createRpcClient(portTransport(rpc.port1));
  forwardEvents(inference, ['inference']);
  rpc.port1.start();
  inferenceWorker.on('exit', (code) => {
    console.error(`The inference process exited (${code}).`);
    inference?.dispose();
    inference = null;
    restartLater('inference', code, startInference, ['inference']);
  });
}

/** Forwards every event of these services (hosted behind `client`) to the window, on the event's own channel. */
function forwardEvents(client: RpcClient, names: ServiceName[]) {
  for (const name of names) {
    const proxy = client.service(name) as unknown as Record<string, (l: (p: unknown) => void) => Disposable>;
    for (const event of SERVICE_CHANNELS[name].events as readonly string[]) proxy[event]((payload) => win?.webContents.send(`${CHANNEL_PREFIX}${name}.${event}`, payload));
  }
}

function resolveBlob(datasetId: string, sha: string): Promise<BlobLocation | null> {
  const port = blobPort;
  if (!port) return Promise.resolve(null);
  const id = nextBlobId++;
  return new Promise((resolve) => {
    blobRequests.set(id, resolve);
    port.postMessage({ id, datasetId, sha });
  });
}

/** Only our own page may call: its top frame, loaded from the built renderer. */
function trustedSender(event: IpcMainInvokeEvent): boolean {
  const frame = event.senderFrame;
  return !!frame && frame === event.sender.mainFrame && frame.url.startsWith(pathToFileURL(rendererIndex).href);
}

/** One handler per contract method, generated from the channel list; unknown channels have no handler. */
function registerIpc() {
  for (const [service, spec] of Object.entries(SERVICE_CHANNELS)) {
    for (const method of spec.methods as readonly string[]) {
      ipcMain.handle(`${CHANNEL_PREFIX}${service}.${method}`, (event, ...args: unknown[]) => {
        if (!trustedSender(event)) throw new Error('IPC from an untrusted frame was refused.');
        if (service === 'host') return invokeValidated({ host }, { service, method, args });
        const client = service === 'inference' ? inference : services;
        const which = service === 'inference' ? 'inference' : 'services';
        if (!client) throw new Error(down.get(service) ?? `The ${which} process is restarting; try again in a moment.`);
        return stoppedUnder(client.call(service, method, args), () => `The ${which} process stopped while this ran; it restarts by itself: try again in a moment.`);
      });
    }
  }
}

function createWindow() {
  win = new BrowserWindow({
    width: 1440, height: 900, minWidth: 960, minHeight: 600, title: 'OPT Studio', backgroundColor: '#f6f7f9', show: false,
    webPreferences: {
      preload: path.join(here, '../preload/index.cjs'),
      contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true, spellcheck: true,
    },
  });
  win.once('ready-to-show', () => win?.show());
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (/^https:\/\//.test(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  win.webContents.on('will-navigate', (e) => e.preventDefault());
  win.on('closed', () => (win = null));
  void win.loadFile(rendererIndex);
}

function buildMenu() {
  const isMac = process.platform === 'darwin';
  Menu.setApplicationMenu(Menu.buildFromTemplate([
    ...(isMac ? [{ role: 'appMenu' as const }] : []),
    {
      label: 'File', submenu: [
        { label: 'New Dataset…', accelerator: 'CmdOrCtrl+N', click: () => host.requestCommand('new-dataset') },
        { label: 'Import…', accelerator: 'CmdOrCtrl+I', click: () => host.requestCommand('import') },
        { label: 'Export…', accelerator: 'CmdOrCtrl+E', click: () => host.requestCommand('export') },
        { type: 'separator' },
        isMac ? { role: 'close' as const } : { role: 'quit' as const },
      ],
    },
    // No undo/redo roles: Ctrl+Z goes to the page, which undoes dataset edits (or native text edits).
    { label: 'Edit', submenu: [{ role: 'cut' }, { role: 'copy' }, { role: 'paste' }, { role: 'selectAll' }] },
    { label: 'View', submenu: [{ role: 'reload' }, { role: 'toggleDevTools' }, { type: 'separator' }, { role: 'resetZoom' }, { role: 'zoomIn' }, { role: 'zoomOut' }, { type: 'separator' }, { role: 'togglefullscreen' }] },
    {
      label: 'Help', submenu: [
        { label: 'Keyboard Shortcuts', click: () => host.requestCommand('help') },
        { role: 'about' },
      ],
    },
  ]));
}

let quitting = false;
/** Set once the services process has been asked to close (quitting waits for it once). */
let servicesClosing = false;
app.on('before-quit', (e) => {
  quitting = true;
  inferenceWorker?.kill();
  const services = worker;
  if (servicesClosing || !services?.pid) return;
  // The services process stops its jobs and closes its datasets (SQLite folds its write-ahead log back) and exits;
  // the app quits after that, or after 5 s with the process killed.
  servicesClosing = true;
  e.preventDefault();
  const timer = setTimeout(() => services.kill(), 5000);
  services.once('exit', () => {
    clearTimeout(timer);
    app.quit();
  });
  services.postMessage('close');
});
app.on('window-all-closed', () => app.quit());

void app.whenReady().then(() => {
  // Microphone only, for our page; every other permission is refused.
  session.defaultSession.setPermissionRequestHandler((_wc, permission, callback, details) => {
    const audioOnly = 'mediaTypes' in details ? (details.mediaTypes ?? []).every((t) => t === 'audio') : false;
    callback(permission === 'media' && audioOnly && details.requestingUrl.startsWith('file://'));
  });
  protocol.handle('opt-blob', async (req) => {
    const url = new URL(req.url);
    const datasetId = url.hostname;
    const sha = url.pathname.replace(/^\//, '');
    if (!/^[0-9a-f]{64}$/.test(sha)) return new Response('bad blob url', { status: 400, headers: BLOB_CORS });
    const location = await resolveBlob(datasetId, sha);
    if (!location) return new Response('no such blob', { status: 404, headers: BLOB_CORS });
    const res = await net.fetch(pathToFileURL(location.path).href, { headers: req.headers });
    const headers = new Headers(res.headers);
    headers.set('Content-Type', location.mime);
    for (const [k, v] of Object.entries(BLOB_CORS)) headers.set(k, v);
    return new Response(res.body, { status: res.status, headers });
  });
  startServices();
  startInference();
  registerIpc();
  host.onDidRequestCommand((command) => win?.webContents.send(`${CHANNEL_PREFIX}host.onDidRequestCommand`, command));
  buildMenu();
  createWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow();
  });
});
