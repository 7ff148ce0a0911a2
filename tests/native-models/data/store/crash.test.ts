// Kill a process in the middle of an import (SIGKILL: no cleanup runs) and check that what it
// left is consistent: every item present is whole, the database passes integrity_check.
import { afterEach, beforeEach, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { DatasetStore } from '../../../../native-models/data/store';
import { STALE_TEMP_MS } from '../../../../native-models/data/store/blob-store';
import { tempDir } from '../helpers';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => { tmp = tempDir('opt-crash-'); });
afterEach(() => tmp.cleanup());

const N = 800; // far more than the kill point (96), so a descheduled parent still kills mid-import

it('an import killed mid-way leaves only complete items and a sound database', async () => {
  const src = path.join(tmp.dir, 'src');
  fs.mkdirSync(src);
  for (let i = 0; i < N; i++) {
    // 48x48 noise PNGs: distinct, and slow enough to decode that the kill lands mid-import.
    const noise = Buffer.alloc(48 * 48 * 3);
    for (let j = 0; j < noise.length; j++) noise[j] = (i * 131 + j * 17 + ((j * j) % 251)) & 255;
    fs.writeFileSync(path.join(src, `img${i}.png`), await sharp(noise, { raw: { width: 48, height: 48, channels: 3 } }).png().toBuffer());
    fs.writeFileSync(path.join(src, `img${i}.txt`), `caption number ${i}\nsecond line ${i}\n`);
  }
  const dir = path.join(tmp.dir, 'ds');
  DatasetStore.create(dir, { name: 'crash' }).close();

  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./crash-child.ts', import.meta.url)), dir, src], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const outcome = await new Promise<string>((resolve) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const done = [...out.matchAll(/progress (\d+)/g)].map((m) => Number(m[1]));
      if (done.length && Math.max(...done) >= 96 && !child.killed) {
        child.kill('SIGKILL');
      }
    });
    child.on('exit', (code, signal) => resolve(signal ?? `exit ${code}: ${stderr}`));
  });
  expect(outcome).toBe('SIGKILL');

  // A kill that lands inside a blob write leaves its temp file. Open only clears temp files older than
  // STALE_TEMP_MS (another process may be writing right now), so age whatever the kill left first.
  const tmpBlobs = path.join(dir, 'blobs', 'tmp');
  const old = new Date(Date.now() - STALE_TEMP_MS - 60_000);
  for (const f of fs.readdirSync(tmpBlobs)) fs.utimesSync(path.join(tmpBlobs, f), old, old);
  const store = DatasetStore.open(dir);
  try {
    expect(store.integrityCheck()).toBe('ok');
    const n = store.info().itemCount;
    expect(n).toBeGreaterThanOrEqual(96);
    expect(n).toBeLessThan(N);
    expect(n % 32).toBe(0); // whole batches only: each is one transaction
    const page = store.query({ offset: 0, limit: 1000 });
    expect(page.total).toBe(n);
    for (const s of page.items) {
      const item = store.getItem(s.id);
      const i = Number(/img(\d+)\.png/.exec(item.fileName!)![1]);
      expect(item.captions.map((c) => c.text)).toEqual([`caption number ${i}`, `second line ${i}`]);
      expect(store.getBlob(item.image).equals(fs.readFileSync(path.join(src, item.fileName!)))).toBe(true);
      expect(store.getBlob(s.thumb).length).toBeGreaterThan(0);
    }
    // Temp blobs a killed writer left behind (stale by now) are cleared on open.
    expect(fs.readdirSync(tmpBlobs)).toEqual([]);
    // The search index is consistent with the rows.
    expect(store.query({ text: 'number 1', offset: 0, limit: 5 }).total).toBeGreaterThan(0);
  } finally {
    store.close();
  }
});
