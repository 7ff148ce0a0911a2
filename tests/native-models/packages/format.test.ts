import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPackage, writeComponent, PackageError } from '../../../native-models/packages/format';

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
  });
});
