import { describe, it, expect } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, renameSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BREAK_FILE, copyComponent, exportAfterStop, INCOMING_SUFFIX, loadPackage, LOCK_FILE, lockHolder, PENDING_MANIFEST_FILE, setComponentMetrics, takeOver, withPackageLock, writeComponent, PackageError } from '../../../native-models/packages/format';

const tmp = () => mkdtempSync(join(tmpdir(), 'optpkg-'));

const pidns = readlinkSync('/proc/self/ns/pid'); // a pid is checked only within the same namespace
/** A lock file's contents naming `pid` (on `host`, in namespace `ns`). */
const holder = (pid: number, host = hostname(), ns = pidns) => JSON.stringify({ pid, host, since: '2026-01-01T00:00:00Z', pidns: ns });

describe('model package format', () => {
  it('writes components one at a time and loads them back verified', () => {
    const dir = tmp();
    writeComponent(dir, 'dvae', { kind: 'dvae', config: { codes: 1024 }, metrics: { psnr: 25.1 }, training: {} }, {
      encode: { name: 'dvae/encode.onnx', bytes: new Uint8Array([1, 2, 3]) },
      decode: { name: 'dvae/decode.onnx', bytes: new Uint8Array([4, 5]) },
    });
    writeComponent(dir, 'detector', { kind: 'detector', config: {}, metrics: {}, training: {} }, {
      model: { name: 'detector.onnx', bytes: new Uint8Array([9]) },
      classes: { name: 'detector-classes.json', bytes: '["apple"]' },
    });
    const pkg = loadPackage(dir);
    expect(Object.keys(pkg.manifest.components).sort()).toEqual(['detector', 'dvae']);
    expect(readFileSync(pkg.file('dvae', 'decode'))).toEqual(Buffer.from([4, 5]));
    expect(pkg.component('dvae', 'dvae').config).toEqual({ codes: 1024 });
    expect(() => pkg.component('dvae', 'detector')).toThrow(/is a dvae, not a detector/);
    expect(() => pkg.component('opt', 'opt')).toThrow(/has no component "opt"/);
  });

  it('rejects a replaced file, a missing manifest, a bad manifest and paths escaping the package', () => {
    const dir = tmp();
    writeComponent(dir, 'd', { kind: 'dvae', config: {}, metrics: {}, training: {} }, { encode: { name: 'e.onnx', bytes: new Uint8Array([1]) } });
    writeFileSync(join(dir, 'e.onnx'), Buffer.from([2]));
    expect(() => loadPackage(dir)).toThrow(/does not match its sha256/);
    expect(() => loadPackage(tmp())).toThrow(PackageError);
    const bad = tmp();
    writeFileSync(join(bad, 'manifest.json'), '{"format":"opt-studio-model-package","formatVersion":1}');
    expect(() => loadPackage(bad)).toThrow(/manifest.json at name/);
    expect(() => writeComponent(tmp(), 'x', { kind: 'dvae', config: {}, metrics: {}, training: {} }, { a: { name: '../evil', bytes: '' } })).toThrow(/relative path inside the package/);
    for (const name of ['.', 'sub/', 'manifest.json', 'Manifest.JSON', 'manifest.pending.json', 'x.onnx.incoming']) {
      expect(() => writeComponent(dir, 'x', { kind: 'dvae', config: {}, metrics: {}, training: {} }, { a: { name, bytes: '' } })).toThrow(/must name a file|must not be manifest\.json/);
    }
    expect(Object.keys(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')).components)).toEqual(['d']);
  });

  const entry = { kind: 'dvae' as const, config: {}, metrics: {}, training: {} };
  const v = (n: number) => ({ encode: { name: 'dvae/encode.onnx', bytes: new Uint8Array([n, 1]) }, decode: { name: 'dvae/decode.onnx', bytes: new Uint8Array([n, 2]) } });

  it('a write interrupted before its commit point leaves the old component whole; the next write clears what it left', () => {
    const dir = tmp();
    writeComponent(dir, 'dvae', { ...entry, metrics: { psnr: 1 } }, v(1));
    // The state of a crash after step 1: new files beside the old ones, no pending manifest.
    writeFileSync(join(dir, 'dvae/encode.onnx' + INCOMING_SUFFIX), Buffer.from([2, 1]));
    const pkg = loadPackage(dir);
    expect(pkg.manifest.components.dvae.metrics).toEqual({ psnr: 1 });
    expect([...readFileSync(pkg.file('dvae', 'encode'))]).toEqual([1, 1]);
    writeComponent(dir, 'dvae', { ...entry, metrics: { psnr: 3 } }, v(3));
    expect(existsSync(join(dir, 'dvae/encode.onnx' + INCOMING_SUFFIX))).toBe(false);
    expect([...readFileSync(loadPackage(dir).file('dvae', 'encode'))]).toEqual([3, 1]);
  });

  it('a write interrupted after its commit point is finished by the next load', () => {
    const dir = tmp();
    writeComponent(dir, 'dvae', { ...entry, metrics: { psnr: 1 } }, v(1));
    const other = tmp();
    writeComponent(other, 'dvae', { ...entry, metrics: { psnr: 2 } }, v(2));
    // The state of a crash in step 3: the pending manifest written, one file moved into place, one still incoming.
    writeFileSync(join(dir, PENDING_MANIFEST_FILE), readFileSync(join(other, 'manifest.json')));
    writeFileSync(join(dir, 'dvae/encode.onnx'), Buffer.from([2, 1]));
    writeFileSync(join(dir, 'dvae/decode.onnx' + INCOMING_SUFFIX), Buffer.from([2, 2]));
    const pkg = loadPackage(dir);
    expect(pkg.manifest.components.dvae.metrics).toEqual({ psnr: 2 });
    expect([...readFileSync(pkg.file('dvae', 'decode'))]).toEqual([2, 2]);
    expect(existsSync(join(dir, PENDING_MANIFEST_FILE))).toBe(false);
    // A pending manifest that is not one: a clear error, nothing moved.
    writeFileSync(join(dir, PENDING_MANIFEST_FILE), '{"format":');
    expect(() => loadPackage(dir)).toThrow(/manifest\.pending\.json \(an interrupted write\) is unreadable/);
  });

  it('replacing a component removes the files no component names any more, and keeps shared ones', () => {
    const dir = tmp();
    writeComponent(dir, 'dvae', entry, { ...v(1), vocab: { name: 'shared.json', bytes: '[]' } });
    writeComponent(dir, 'detector', { ...entry, kind: 'detector' }, { model: { name: 'det.onnx', bytes: new Uint8Array([7]) }, vocab: { name: 'shared.json', bytes: '[]' } });
    writeComponent(dir, 'dvae', entry, { encode: { name: 'dvae/encode-v2.onnx', bytes: new Uint8Array([5]) }, decode: { name: 'dvae/decode.onnx', bytes: new Uint8Array([6]) } });
    expect(existsSync(join(dir, 'dvae/encode.onnx'))).toBe(false);
    expect(existsSync(join(dir, 'shared.json'))).toBe(true);
    const pkg = loadPackage(dir);
    expect([...readFileSync(pkg.file('dvae', 'encode'))]).toEqual([5]);
    expect([...readFileSync(pkg.file('dvae', 'decode'))]).toEqual([6]);
    expect(readFileSync(pkg.file('detector', 'vocab'), 'utf8')).toBe('[]');
    // A shared file rewritten with other contents would break the other component: refused, nothing written.
    expect(() => writeComponent(dir, 'dvae', entry, { ...v(2), vocab: { name: 'shared.json', bytes: '["x"]' } })).toThrow(/shared\.json is also component detector's, with other contents/);
    expect([...readFileSync(loadPackage(dir).file('dvae', 'decode'))]).toEqual([6]);
  });

  it('copies a verified component from another package, replacing its namesake; refuses an unknown one, a corrupt source and its own package', () => {
    const from = tmp();
    writeComponent(from, 'dvae', { ...entry, metrics: { psnr: 24 } }, v(4));
    writeComponent(from, 'detector', { ...entry, kind: 'detector' }, { model: { name: 'det.onnx', bytes: new Uint8Array([7]) } });
    const to = tmp();
    writeComponent(to, 'dvae', { ...entry, metrics: { psnr: 20 } }, v(1));
    writeComponent(to, 'audio', { ...entry, kind: 'audio-encoder' }, { model: { name: 'a.onnx', bytes: new Uint8Array([8]) } });
    copyComponent(from, 'dvae', to);
    const pkg = loadPackage(to);
    expect(Object.keys(pkg.manifest.components).sort()).toEqual(['audio', 'dvae']);
    expect(pkg.manifest.components.dvae.metrics).toEqual({ psnr: 24 });
    expect([...readFileSync(pkg.file('dvae', 'encode'))]).toEqual([4, 1]);
    expect(() => copyComponent(from, 'opt', to)).toThrow(/has no component "opt" \(it has: dvae, detector\)/);
    expect(() => copyComponent(from, 'dvae', from)).toThrow(/onto its own package/);
    renameSync(join(from, 'det.onnx'), join(from, 'gone.onnx'));
    expect(() => copyComponent(from, 'dvae', to)).toThrow(/det\.onnx \(model\) is missing/);
    expect(loadPackage(to).manifest.components.dvae.metrics).toEqual({ psnr: 24 });
  });

  it('replaces the metrics of one component without touching its files, config or the other components; refuses a corrupt package', () => {
    const dir = tmp();
    writeComponent(dir, 'dvae', { ...entry, config: { codes: 8 }, metrics: { psnr: 1 } }, v(1));
    writeComponent(dir, 'detector', { ...entry, kind: 'detector', metrics: { mAP50: 0.5 } }, { model: { name: 'det.onnx', bytes: new Uint8Array([7]) } });
    const before = loadPackage(dir).manifest;
    setComponentMetrics(dir, 'dvae', 'dvae', { psnr: 2, split: 'test5k' });
    const after = loadPackage(dir).manifest;
    expect(after.components.dvae).toEqual({ ...before.components.dvae, metrics: { psnr: 2, split: 'test5k' } });
    expect(after.components.detector).toEqual(before.components.detector);
    expect(() => setComponentMetrics(dir, 'dvae', 'detector', {})).toThrow(/is a dvae, not a detector/);
    writeFileSync(join(dir, 'det.onnx'), Buffer.from([8]));
    expect(() => setComponentMetrics(dir, 'dvae', 'dvae', { psnr: 3 })).toThrow(/does not match its sha256/);
  });

  it('serialises writers with a lock file: a second writer waits for the first, a dead writer\'s lock is taken over, a live one is named', async () => {
    const dir = tmp();
    const entry = { kind: 'dvae' as const, config: {}, metrics: {}, training: {} };
    writeComponent(dir, 'd', entry, { encode: { name: 'e.onnx', bytes: new Uint8Array([1]) } });
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false); // released after the write
    expect(withPackageLock(dir, () => lockHolder(dir)?.pid)).toBe(process.pid); // `package show` names the writer
    expect(lockHolder(dir)).toBeUndefined();
    const lock = join(dir, LOCK_FILE);
    // A live holder (another process) that finishes in ~0.4 s: the write waits for it, then goes ahead.
    const other = spawn('sleep', ['5']);
    try {
      writeFileSync(lock, holder(other.pid!));
      spawn('sh', ['-c', `sleep 0.4; rm -f '${lock}'`]);
      const t = Date.now();
      writeComponent(dir, 'd', entry, { encode: { name: 'e.onnx', bytes: new Uint8Array([2]) } });
      expect(Date.now() - t).toBeGreaterThanOrEqual(300);
      expect(readFileSync(join(dir, 'e.onnx'))).toEqual(Buffer.from([2]));
      // Held and not released: the writer gives up naming the holder; nothing was written.
      writeFileSync(lock, holder(other.pid!));
      expect(() => withPackageLock(dir, () => 1, { waitMs: 100 })).toThrow(new RegExp(`is being written by process ${other.pid} on .* since 2026-01-01T00:00:00Z \\(manifest\\.lock\\)`));
      // A holder on another machine (shared folder) cannot be checked: it is waited for too.
      writeFileSync(lock, holder(1, 'elsewhere'));
      expect(() => withPackageLock(dir, () => 1, { waitMs: 50 })).toThrow(/process 1 on elsewhere/);
    } finally {
      other.kill();
    }
    // A writer that died left its lock: taken over at once, and removed afterwards.
    const dead = spawnSync('true').pid!;
    writeFileSync(lock, holder(dead));
    expect(withPackageLock(dir, () => 'ran', { waitMs: 0 })).toBe('ran');
    expect(existsSync(lock)).toBe(false);
    // ... but not from another pid namespace (a container): that pid cannot be checked from here.
    writeFileSync(lock, holder(dead, hostname(), 'pid:[1]'));
    expect(() => withPackageLock(dir, () => 1, { waitMs: 0 })).toThrow(/being written by process/);
    // An unreadable lock (a writer died before filling it) is taken over once it is 10 s old, not before.
    writeFileSync(lock, '');
    expect(() => withPackageLock(dir, () => 1, { waitMs: 0 })).toThrow(/being written by another process/);
    utimesSync(lock, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    expect(setComponentMetrics(dir, 'd', 'dvae', { psnr: 1 }).components.d.metrics).toEqual({ psnr: 1 });
    expect(existsSync(lock)).toBe(false);
    // A take-over under way in another process (its short-lived manifest.lock.break): waited for, not joined, for
    // as long as its maker runs; one left by a process that died in it is cleared (unreadable: once 10 s old).
    const breakFile = join(dir, BREAK_FILE);
    const old = new Date(Date.now() - 60_000);
    const busy = spawn('sleep', ['5']);
    try {
      writeFileSync(lock, holder(dead));
      writeFileSync(breakFile, holder(busy.pid!));
      utimesSync(breakFile, old, old);
      expect(() => withPackageLock(dir, () => 1, { waitMs: 100 })).toThrow(/being written by process/);
      expect([existsSync(lock), existsSync(breakFile)]).toEqual([true, true]);
    } finally {
      busy.kill();
    }
    writeFileSync(breakFile, holder(dead)); // its maker is gone
    expect(withPackageLock(dir, () => 'ran', { waitMs: 1000 })).toBe('ran');
    expect([existsSync(lock), existsSync(breakFile)]).toEqual([false, false]);
    // The take-over itself: a lock that changed since it was seen (another writer took it) is left alone.
    writeFileSync(lock, holder(process.pid));
    expect(takeOver(lock, holder(dead))).toBe(true);
    expect(readFileSync(lock, 'utf8')).toBe(holder(process.pid));
    expect(takeOver(lock, holder(process.pid))).toBe(true);
    expect(existsSync(lock)).toBe(false);
    writeFileSync(lock, holder(dead));
    writeFileSync(breakFile, '');
    expect(() => withPackageLock(dir, () => 1, { waitMs: 0 })).toThrow(/being written by process/);
    utimesSync(breakFile, old, old);
    expect(withPackageLock(dir, () => 'ran', { waitMs: 1000 })).toBe('ran');
    expect([existsSync(lock), existsSync(breakFile)]).toEqual([false, false]);
    // Released when the writer fails; re-entrant within a process (a locked writer calling another).
    expect(() => withPackageLock(dir, () => { throw new Error('boom'); })).toThrow('boom');
    expect(existsSync(lock)).toBe(false);
    expect(withPackageLock(dir, () => setComponentMetrics(dir, 'd', 'dvae', (old) => ({ ...old, ssim: 0.5 })).components.d.metrics)).toEqual({ psnr: 1, ssim: 0.5 });
    expect(existsSync(lock)).toBe(false);
    expect(() => withPackageLock(join(dir, 'nope'), () => 1)).toThrow(/nope: does not exist/);
    // The lock's name is the package's own.
    expect(() => writeComponent(dir, 'x', entry, { a: { name: LOCK_FILE, bytes: new Uint8Array([1]) } })).toThrow(/must not be .*manifest\.lock/);
  });

  // Mutual exclusion across real processes while take-overs happen all the time (the narrow races of a take-over are
  // pinned down one by one above).
  it('keeps writers apart while they die holding the lock and take it over from each other (4 processes)', async () => {
    const dir = tmp();
    writeComponent(dir, 'd', { kind: 'dvae', config: {}, metrics: {}, training: {} }, { encode: { name: 'e.onnx', bytes: new Uint8Array([1]) } });
    const dead = spawnSync('true').pid!;
    // They start with a take-over left half-done by a process that died in it.
    writeFileSync(join(dir, LOCK_FILE), holder(dead));
    writeFileSync(join(dir, BREAK_FILE), holder(dead));
    const child = fileURLToPath(new URL('./lock-child.ts', import.meta.url));
    const company = await Promise.all([0, 1, 2, 3].map(() => new Promise<string>((resolve, reject) => {
      const p = spawn(process.execPath, ['--import', 'tsx', child, dir, String(dead), '60'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      p.stdout.on('data', (d: Buffer) => (out += d.toString()));
      p.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`lock-child exited ${code}`))));
    })));
    expect(company).toEqual(['0', '0', '0', '0']); // never two inside at once
    expect([existsSync(join(dir, LOCK_FILE)), existsSync(join(dir, BREAK_FILE))]).toEqual([false, false]); // each one's last write released it
  }, 60_000);

  it('a run stopped by a signal exports only into a package named with --package', () => {
    const lines: string[] = [];
    const log = (l: string) => lines.push(l);
    expect(exportAfterStop(undefined, false, log)).toBe(true); // finished (or its time budget ran out)
    expect(exportAfterStop('/tmp/pkg', true, log)).toBe(true);
    expect(lines).toEqual([]);
    expect(exportAfterStop(undefined, true, log)).toBe(false);
    expect(lines.join('\n')).toMatch(/shipped default package .* is left as it is/);
  });
});

