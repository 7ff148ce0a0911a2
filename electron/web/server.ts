// Web mode: the built renderer and the same contract served to a browser. Bound to 127.0.0.1 only;
// every request that reaches data needs the random per-launch token; Host and Origin are checked
// (against DNS rebinding and cross-site pages); blobs, uploads and export downloads go over plain HTTP.
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import path from 'node:path';
import { WebSocketServer } from 'ws';
import { SERVICE_CHANNELS, TOKEN_PARAM, type DatasetBlobAccess, type DatasetService, type ServiceMap } from '../common';
import { hostServices } from '../workers/service-host';
import { wsTransport } from './ws-transport';
import { listFolder, writeZip, ZIP_LIMITS } from './zip-folder';

export interface WebServerOptions {
  services: Partial<ServiceMap>;
  blobs: DatasetBlobAccess;
  /** Built renderer (vite build output) holding index.html. */
  rendererDir: string;
  /** Where browser uploads land before import (one sub-folder per upload batch). */
  uploadDir: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Defaults to a fresh random token. */
  token?: string;
  log?(line: string): void;
}

export interface WebServer {
  /** The URL to open, token included. */
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

const HOST = '127.0.0.1';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png',
  '.ico': 'image/x-icon', '.woff2': 'font/woff2', '.wasm': 'application/wasm', '.map': 'application/json',
};

/** Starts the web host; resolves once listening. */
export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  const token = options.token ?? randomBytes(24).toString('base64url');
  const log = options.log ?? (() => {});
  const rendererDir = path.resolve(options.rendererDir);
  const uploadDir = path.resolve(options.uploadDir);
  let port = 0;

  // Folders of the exports finished through this server, by job id: the only host folders a browser may
  // download (GET /download/<jobId>.zip), so a token holder cannot read arbitrary server paths.
  const exports = new Map<string, string>();
  const services: Partial<ServiceMap> = { ...options.services };
  if (options.services.dataset) services.dataset = recordingExports(options.services.dataset, exports);

  const allowedHosts = () => new Set([`${HOST}:${port}`, `localhost:${port}`]);
  const allowedOrigins = () => new Set([`http://${HOST}:${port}`, `http://localhost:${port}`]);
  const tokenOk = (given: string | null) => {
    if (!given) return false;
    const a = Buffer.from(given);
    const b = Buffer.from(token);
    return a.length === b.length && timingSafeEqual(a, b);
  };
  const csp = () => [
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data: blob:",
    "media-src 'self' blob:", `connect-src 'self' ws://${HOST}:${port} ws://localhost:${port}`, "worker-src 'self' blob:",
    "font-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "form-action 'none'",
  ].join('; ');

  const send = (res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8') => {
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'X-Content-Type-Options': 'nosniff' });
    res.end(body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (!allowedHosts().has(req.headers.host ?? '')) return send(res, 421, 'Wrong Host header.');
    const url = new URL(req.url ?? '/', `http://${HOST}:${port}`);
    const origin = req.headers.origin;
    if (origin !== undefined && !allowedOrigins().has(origin)) return send(res, 403, 'Cross-origin request refused.');
    const authed = tokenOk(url.searchParams.get(TOKEN_PARAM));

    if (url.pathname.startsWith('/blob/')) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'GET only.');
      if (!authed) return send(res, 401, 'Token required.');
      return serveBlob(req, res, url);
    }
    if (url.pathname.startsWith('/upload/')) {
      if (!authed) return send(res, 401, 'Token required.');
      if (origin === undefined) return send(res, 403, 'Origin header required.');
      return handleUpload(req, res, url);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'Method not allowed.');
    if (url.pathname.startsWith('/download/')) {
      if (!authed) return send(res, 401, 'Token required.');
      return serveExport(req, res, url);
    }
    if (url.pathname === '/' || url.pathname === '/index.html') {
      if (!authed) return send(res, 401, 'OPT Studio web mode: open the URL printed by `npm start` (it carries the access token).');
      return serveFile(res, path.join(rendererDir, 'index.html'), { 'Content-Security-Policy': csp(), 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer' });
    }
    // Static build output (code and styles only; no data): resolved strictly inside rendererDir.
    const file = path.resolve(rendererDir, '.' + decodeURIComponent(url.pathname));
    if (!file.startsWith(rendererDir + path.sep)) return send(res, 404, 'Not found.');
    return serveFile(res, file, { 'Cache-Control': 'no-cache' });
  };

  const serveFile = async (res: ServerResponse, file: string, headers: Record<string, string>) => {
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) return send(res, 404, 'Not found.');
    res.writeHead(200, {
      'Content-Type': MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
      'Content-Length': info.size, 'X-Content-Type-Options': 'nosniff', ...headers,
    });
    await pipeline(createReadStream(file), res);
  };

  const serveBlob = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const sha = url.pathname.slice('/blob/'.length);
    const datasetId = url.searchParams.get('dataset');
    if (!/^[0-9a-f]{64}$/.test(sha) || !datasetId) return send(res, 400, 'Expected /blob/<sha256>?dataset=<id>.');
    const blob = await options.blobs.resolveBlob(datasetId, sha);
    if (!blob) return send(res, 404, 'No such blob.');
    const headers: Record<string, string | number> = {
      'Content-Type': blob.mime, 'Accept-Ranges': 'bytes', 'X-Content-Type-Options': 'nosniff',
      // Content-addressed: a sha never changes its bytes.
      'Cache-Control': 'private, max-age=31536000, immutable',
    };
    const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
    if (range && (range[1] || range[2])) {
      let start = range[1] ? Number(range[1]) : Math.max(0, blob.size - Number(range[2]));
      let end = range[1] && range[2] ? Math.min(Number(range[2]), blob.size - 1) : blob.size - 1;
      if (start >= blob.size || start > end) {
        res.writeHead(416, { 'Content-Range': `bytes */${blob.size}` });
        return res.end();
      }
      start = Math.max(0, start);
      end = Math.max(start, end);
      res.writeHead(206, { ...headers, 'Content-Range': `bytes ${start}-${end}/${blob.size}`, 'Content-Length': end - start + 1 });
      if (req.method === 'HEAD') return res.end();
      return pipeline(createReadStream(blob.path, { start, end }), res);
    }
    res.writeHead(200, { ...headers, 'Content-Length': blob.size });
    if (req.method === 'HEAD') return res.end();
    return pipeline(createReadStream(blob.path), res);
  };

  /** GET /download/<jobId>.zip: a finished export's folder as one ZIP, streamed. */
  const serveExport = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const m = /^\/download\/(.+)\.zip$/.exec(url.pathname);
    const folder = m ? exports.get(decodeURIComponent(m[1])) : undefined;
    if (!folder) return send(res, 404, 'No finished export with that job id on this server.');
    const listing = await listFolder(folder).catch(() => undefined);
    if (!listing) return send(res, 410, `The export folder ${folder} is gone.`);
    if (listing.files.length > ZIP_LIMITS.entries || listing.bytes > ZIP_LIMITS.bytes) {
      return send(res, 413, `The export (${listing.files.length} files, ${(listing.bytes / 1e9).toFixed(1)} GB) is too large for one ZIP download; copy ${folder} from the server instead.`);
    }
    const root = path.basename(folder);
    res.writeHead(200, {
      'Content-Type': 'application/zip', 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-store',
      'Content-Disposition': `attachment; filename="${root.replace(/[^A-Za-z0-9._-]/g, '_')}.zip"`,
    });
    if (req.method === 'HEAD') return res.end();
    try {
      await writeZip(res, folder, root, listing.files);
    } catch (e) {
      log(`web: download of ${folder} failed: ${(e as Error).message}`);
      res.destroy(); // headers are out: a cut connection is how the browser learns the download failed
    }
  };

  /** PUT /upload/<batch>?path=<relative> stores one file; DELETE /upload/<batch> drops the batch. */
  const handleUpload = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const batch = url.pathname.slice('/upload/'.length);
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(batch)) return send(res, 400, 'Bad upload batch id.');
    const batchDir = path.join(uploadDir, batch);
    if (req.method === 'DELETE') {
      await rm(batchDir, { recursive: true, force: true });
      return send(res, 200, JSON.stringify({ removed: batchDir }), 'application/json');
    }
    if (req.method !== 'PUT') return send(res, 405, 'PUT or DELETE.');
    const rel = url.searchParams.get('path') ?? '';
    const parts = rel.split('/');
    if (!rel || parts.length > 32 || parts.some((p) => !p || p === '.' || p === '..' || /[\\\0:]/.test(p))) {
      return send(res, 400, `Bad upload path '${rel}'.`);
    }
    const file = path.join(batchDir, ...parts);
    await mkdir(path.dirname(file), { recursive: true });
    await pipeline(req, createWriteStream(file));
    send(res, 200, JSON.stringify({ root: batchDir, file }), 'application/json');
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      log(`web: ${req.method} ${req.url?.split('?')[0]} failed: ${(e as Error).message}`);
      if (!res.headersSent) send(res, 500, (e as Error).message);
      else res.destroy();
    });
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 512 * 1024 * 1024 });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', `http://${HOST}:${port}`);
    const ok = url.pathname === '/ws' && allowedHosts().has(req.headers.host ?? '') &&
      allowedOrigins().has(req.headers.origin ?? '') && tokenOk(url.searchParams.get(TOKEN_PARAM));
    if (!ok) {
      socket.write('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const transport = wsTransport(ws, (reason) => {
        log(`web: closing a client: ${reason}`);
        ws.close(1007, reason.slice(0, 120));
      });
      const host = hostServices(transport, services, { onError: (e, call) => log(`web: ${call.service}.${call.method}: ${(e as Error).message ?? e}`) });
      ws.on('close', () => host.dispose());
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, HOST, () => resolve());
  });
  port = (server.address() as { port: number }).port;
  await mkdir(uploadDir, { recursive: true });

  return {
    url: `http://${HOST}:${port}/?${TOKEN_PARAM}=${token}`,
    port,
    token,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The dataset service with each finished (not cancelled) export's folder noted under its job id. */
function recordingExports(dataset: DatasetService, exports: Map<string, string>): DatasetService {
  // Every method and event of the contract forwards to the service (called on it, so `this` is intact);
  // exportDataset also notes the folder.
  const { methods, events } = SERVICE_CHANNELS.dataset;
  const forward = Object.fromEntries([...methods, ...events].map((k) => [k, (...a: unknown[]) => (dataset[k] as (...x: unknown[]) => unknown).apply(dataset, a)]));
  const exportDataset: DatasetService['exportDataset'] = async (request) => {
    const report = await dataset.exportDataset(request);
    if (!report.cancelled) {
      exports.set(request.jobId, report.path);
      if (exports.size > 500) exports.delete(exports.keys().next().value!); // the oldest
    }
    return report;
  };
  return { ...forward, exportDataset } as unknown as DatasetService;
}
