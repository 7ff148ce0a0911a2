import { describe, it, expect } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyComponent, INCOMING_SUFFIX, loadPackage, PENDING_MANIFEST_FILE, setComponentMetrics, writeComponent, PackageError } from '../../../native-models/packages/format';

const tmp = () => mkdtempSync(join(tmpdir(), 'optpkg-'));

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
});
