// Web mode's host: token, Host and Origin checks; blobs with their content types and ranges;
// uploads confined to their folder; the contract over a real WebSocket, typed arrays included.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { unzipSync } from 'fflate';
import { createRpcClient, typedArrayReplacer, typedArrayReviver, type MessageTransport, type WireMessage } from '../../../electron/common';
import { LocalDatasetService } from '../../../electron/services/dataset-service';
import { LocalInferenceService } from '../../../electron/services/inference-service';
import { WebHostService } from '../../../electron/web/host-service';
import { startWebServer, type WebServer } from '../../../electron/web/server';

let tmp: string;
let service: LocalDatasetService;
const inference = new LocalInferenceService({ threads: 1 });
let server: WebServer;
let origin: string;

interface Res { status: number; headers: http.IncomingHttpHeaders; body: Buffer }

function request(p: string, opts: { method?: string; headers?: Record<string, string>; body?: Buffer | string } = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server.port, path: p, method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

function connect(query: string, headers: Record<string, string> = { Origin: origin }): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws?${query}`, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function clientTransport(ws: WebSocket): MessageTransport {
  return {
    send: (m: WireMessage) => ws.send(JSON.stringify(m, typedArrayReplacer)),
    onMessage(listener) {
      const h = (d: Buffer) => listener(JSON.parse(String(d), typedArrayReviver) as WireMessage);
      ws.on('message', h);
      return { dispose: () => void ws.off('message', h) };
    },
    onClose(listener) {
      ws.on('close', listener);
      return { dispose: () => void ws.off('close', listener) };
    },
  };
}

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'opt-web-'));
  mkdirSync(path.join(tmp, 'renderer/assets'), { recursive: true });
  writeFileSync(path.join(tmp, 'renderer/index.html'), '<!doctype html><title>t</title>');
  writeFileSync(path.join(tmp, 'renderer/assets/app.js'), 'console.log(1)');
  writeFileSync(path.join(tmp, 'secret.txt'), 'outside');
  mkdirSync(path.join(tmp, 'images'));
  await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 200, g: 30, b: 30 } } }).jpeg().toFile(path.join(tmp, 'images/red.jpg'));
  service = new LocalDatasetService({ root: path.join(tmp, 'lib') });
  server = await startWebServer({
    services: { dataset: service, inference, host: new WebHostService({ version: '1', libraryRoot: service.library.root }) },
    blobs: service, rendererDir: path.join(tmp, 'renderer'), uploadDir: path.join(tmp, 'uploads'),
  });
  origin = `http://127.0.0.1:${server.port}`;
});

afterAll(async () => {
  await inference.dispose();
  await server.close();
  service.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

describe('web mode server', () => {
  it('binds 127.0.0.1 and prints a URL carrying a long random token', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{32}$/);
  });

  it('serves the app only with the token, with a strict CSP', async () => {
    expect((await request('/')).status).toBe(401);
    expect((await request('/?token=wrong')).status).toBe(401);
    const ok = await request(`/?token=${server.token}`);
    expect(ok.status).toBe(200);
    expect(ok.headers['content-security-policy']).toContain("script-src 'self'");
    expect(ok.headers['content-security-policy']).toContain("object-src 'none'");
    const js = await request('/assets/app.js');
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toMatch(/javascript/);
  });

  it('refuses other Host headers (DNS rebinding), foreign Origins and paths outside the build', async () => {
    expect((await request(`/?token=${server.token}`, { headers: { Host: 'evil.example:80' } })).status).toBe(421);
    expect((await request(`/?token=${server.token}`, { headers: { Origin: 'http://evil.example' } })).status).toBe(403);
    expect((await request('/../secret.txt')).status).toBe(404);
    expect((await request('/%2e%2e/secret.txt')).status).toBe(404);
  });

  it('refuses WebSocket handshakes without the token or from another origin', async () => {
    await expect(connect('token=nope')).rejects.toThrow(/401/);
    await expect(connect(`token=${server.token}`, { Origin: 'http://evil.example' })).rejects.toThrow(/401/);
    await expect(connect(`token=${server.token}`, {})).rejects.toThrow(/401/);
  });

  it('brings typed arrays back over WebSocket too: the inference service\'s PNGs arrive as bytes', async () => {
    const ws = await connect(`token=${server.token}`);
    const client = createRpcClient(clientTransport(ws));
    const image = new Uint8Array(readFileSync(path.join(tmp, 'images/red.jpg')));
    const tokens = await client.service('inference').tokenizeImage(image);
    for (const png of [tokens.input, tokens.reconstruction]) {
      expect(png).toBeInstanceOf(Uint8Array);
      expect(Array.from(png.subarray(0, 4))).toEqual([0x89, 0x50, 0x4e, 0x47]);
      expect(await sharp(png).metadata()).toMatchObject({ width: 64, height: 64 });
    }
    client.dispose();
    ws.close();
  });

  it('runs the contract over WebSocket, Float32Array recordings included, and serves blobs', async () => {
    const ws = await connect(`token=${server.token}`);
    const client = createRpcClient(clientTransport(ws));
    const dataset = client.service('dataset');
    const d = await dataset.createDataset('Web');
    const report = await dataset.importDataset({ jobId: 'w1', datasetId: d.id, format: 'folder', path: path.join(tmp, 'images') });
    expect(report.imported).toBe(1);
    const { items } = await dataset.queryItems(d.id, { offset: 0, limit: 5 });
    const item = await dataset.getItem(d.id, items[0].id);

    const pcm = new Float32Array(16000 * 2).map((_, i) => 0.25 * Math.sin((2 * Math.PI * 300 * i) / 16000));
    const withSpoken = await dataset.addSpokenCaption(d.id, item.id, {
      pcm, sampleRate: 16000, original: new Uint8Array([79, 103, 103, 83, 1, 2, 3]), originalMime: 'audio/ogg',
      trace: [[{ x: 0.5, y: 0.5, t: 0.1 }]],
    });
    expect(withSpoken.spoken[0].durationS).toBeCloseTo(2, 2);

    const img = await request(`/blob/${item.image}?dataset=${d.id}&token=${server.token}`);
    expect(img.status).toBe(200);
    expect(img.headers['content-type']).toBe('image/jpeg');
    const thumb = await request(`/blob/${items[0].thumb}?dataset=${d.id}&token=${server.token}`);
    expect(thumb.headers['content-type']).toMatch(/^image\//);
    const wavUrl = `/blob/${withSpoken.spoken[0].wav}?dataset=${d.id}&token=${server.token}`;
    const wav = await request(wavUrl);
    expect(wav.headers['content-type']).toBe('audio/wav');
    expect(wav.body.readUInt32LE(24)).toBe(16000); // fmt chunk: sample rate
    expect(wav.body.readUInt16LE(22)).toBe(1); // mono
    const part = await request(wavUrl, { headers: { Range: 'bytes=0-3' } });
    expect(part.status).toBe(206);
    expect(part.body.toString('latin1')).toBe('RIFF');
    expect((await request(`/blob/${item.image}?dataset=${d.id}`)).status).toBe(401);
    expect((await request(`/blob/${'0'.repeat(64)}?dataset=${d.id}&token=${server.token}`)).status).toBe(404);

    client.dispose();
    ws.close();
  });

  it('offers a finished export as a ZIP download, only with the token and only for exports it ran', async () => {
    const ws = await connect(`token=${server.token}`);
    const client = createRpcClient(clientTransport(ws));
    const dataset = client.service('dataset');
    const d = await dataset.createDataset('Zipped');
    await dataset.importDataset({ jobId: 'z0', datasetId: d.id, format: 'folder', path: path.join(tmp, 'images') });
    const out = path.join(tmp, 'exports/zipped');
    const report = await dataset.exportDataset({ jobId: 'z1', datasetId: d.id, format: 'imagefolder', path: out });
    expect(report.exported).toBe(1);
    const zip = await request(`/download/z1.zip?token=${server.token}`);
    expect(zip.status).toBe(200);
    expect(zip.headers['content-type']).toBe('application/zip');
    expect(zip.headers['content-disposition']).toBe('attachment; filename="zipped.zip"');
    const files = unzipSync(new Uint8Array(zip.body));
    const names = Object.keys(files).sort();
    expect(names.some((n) => n.endsWith('metadata.jsonl'))).toBe(true);
    expect(names.every((n) => n.startsWith('zipped/'))).toBe(true);
    for (const n of names) expect(Buffer.from(files[n]).equals(readFileSync(path.join(tmp, 'exports', n)))).toBe(true);
    expect((await request('/download/z1.zip')).status).toBe(401);
    expect((await request(`/download/z0.zip?token=${server.token}`)).status).toBe(404); // an import, not an export
    await service.exportDataset({ jobId: 'z2', datasetId: d.id, format: 'coco', path: path.join(tmp, 'exports/direct') });
    expect((await request(`/download/z2.zip?token=${server.token}`)).status).toBe(404); // not run through this server
    rmSync(out, { recursive: true });
    expect((await request(`/download/z1.zip?token=${server.token}`)).status).toBe(410);
    client.dispose();
    ws.close();
  });

  it('rejects malformed and unknown calls over WebSocket without dropping the connection', async () => {
    const ws = await connect(`token=${server.token}`);
    const client = createRpcClient(clientTransport(ws));
    await expect(client.call('dataset', '__proto__', [])).rejects.toMatchObject({ name: 'ValidationError' });
    await expect(client.call('dataset', 'renameDataset', ['x'])).rejects.toMatchObject({ name: 'ValidationError' });
    expect(Array.isArray(await client.service('dataset').listDatasets())).toBe(true);
    client.dispose();
    ws.close();
  });

  it('stores uploads under their batch folder only, then imports and discards them', async () => {
    const bytes = readFileSync(path.join(tmp, 'images/red.jpg'));
    const put = (rel: string, headers: Record<string, string> = { Origin: origin }) =>
      request(`/upload/b1?path=${encodeURIComponent(rel)}&token=${server.token}`, { method: 'PUT', headers, body: bytes });
    expect((await put('../escape.jpg')).status).toBe(400);
    expect((await put('/abs.jpg')).status).toBe(400);
    expect((await put('pics/red.jpg', {})).status).toBe(403); // no Origin: not from our page
    const ok = await put('pics/red.jpg');
    expect(ok.status).toBe(200);
    const { root, file } = JSON.parse(ok.body.toString()) as { root: string; file: string };
    expect(file).toBe(path.join(tmp, 'uploads/b1/pics/red.jpg'));
    const d = await service.createDataset('Uploaded');
    expect((await service.importDataset({ jobId: 'u1', datasetId: d.id, format: 'folder', path: root })).imported).toBe(1);
    expect((await request(`/upload/b1?token=${server.token}`, { method: 'DELETE', headers: { Origin: origin } })).status).toBe(200);
    expect(existsSync(root)).toBe(false);
  });
});
