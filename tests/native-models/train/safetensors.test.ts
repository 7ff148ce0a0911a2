import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tensor, toNumbers, type Tensor } from '../../../native-models/runtime/tensor';
import {
  decodeSafetensors, encodeSafetensors, loadTensors, readSafetensorsFile, toBF16, toTensor, writeSafetensorsFile,
} from '../../../native-models/train/safetensors';

/** Parses the container by hand, following the published format, independent of the reader under test. */
function parseBySpec(bytes: Uint8Array): { headerLen: number; header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>; dataStart: number } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const json = Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8');
  return { headerLen: n, header: JSON.parse(json), dataStart: 8 + n };
}

describe('safetensors', () => {
  const tensors: Record<string, Tensor> = {
    'enc.0.w': tensor('float32', [2, 3], [1, -2, 3.5, 4, 5, 6e-8]),
    f64: tensor('float64', [2], [Math.PI, -1e300]),
    half: tensor('float16', [3], new Uint16Array([0x3c00, 0xc000, 0x7bff])),
    ids: tensor('int64', [2, 2], [1n, -2n, 3n, 9007199254740993n]),
    i32: tensor('int32', [1], [-7]),
    mask: tensor('bool', [3], [1, 0, 1]),
    bytes: tensor('uint8', [0], []),
    scalar: tensor('float32', [], [42]),
  };

  it('round-trips every dtype, shape and the metadata exactly', () => {
    const bytes = encodeSafetensors(tensors, { format: 'pt', note: 'x' });
    const back = decodeSafetensors(bytes);
    expect(back.metadata).toEqual({ format: 'pt', note: 'x' });
    for (const [k, t] of Object.entries(tensors)) {
      const r = toTensor(back.tensors[k]);
      expect(r.dtype).toBe(t.dtype);
      expect(r.dims).toEqual(t.dims);
      expect(Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength).equals(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength))).toBe(true);
    }
  });

  it('lays the file out as the specification says (what PyTorch / HF safetensors load)', () => {
    const bytes = encodeSafetensors({ b: tensor('float32', [2], [1, 2]), a: tensor('int64', [1], [5n]) }, { format: 'pt' });
    const { headerLen, header, dataStart } = parseBySpec(bytes);
    // Header padded with spaces so the data starts 8-byte aligned; JSON starts with '{'.
    expect(dataStart % 8).toBe(0);
    expect(bytes[8]).toBe('{'.charCodeAt(0));
    expect(Buffer.from(bytes.subarray(8, 8 + headerLen)).toString().trimEnd().endsWith('}')).toBe(true);
    expect(header).toEqual({
      __metadata__: { format: 'pt' },
      a: { dtype: 'I64', shape: [1], data_offsets: [0, 8] },
      b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] },
    });
    expect(bytes.byteLength).toBe(dataStart + 16);
    expect(new DataView(bytes.buffer).getBigInt64(dataStart, true)).toBe(5n);
    expect(new DataView(bytes.buffer).getFloat32(dataStart + 12, true)).toBe(2);
  });

  it('reads a file written byte by byte from the specification', () => {
    const json = '{"w":{"dtype":"F32","shape":[2,1],"data_offsets":[0,8]},"__metadata__":{"k":"v"}}';
    const head = Buffer.alloc(8);
    head.writeBigUInt64LE(BigInt(json.length));
    const data = Buffer.alloc(8);
    data.writeFloatLE(1.5, 0);
    data.writeFloatLE(-3, 4);
    const st = decodeSafetensors(new Uint8Array(Buffer.concat([head, Buffer.from(json), data])));
    expect(st.metadata).toEqual({ k: 'v' });
    expect(toNumbers(toTensor(st.tensors.w))).toEqual([1.5, -3]);
  });

  it('writes files atomically and loads them back as tensors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'st-'));
    const p = join(dir, 'model.safetensors');
    writeSafetensorsFile(p, tensors);
    expect(readFileSync(p).equals(Buffer.from(encodeSafetensors(tensors)))).toBe(true);
    const { tensors: back } = loadTensors(p);
    expect(toNumbers(back['enc.0.w'])).toEqual(toNumbers(tensors['enc.0.w']));
  });

  it('converts float32 <-> bfloat16 with round-to-nearest-even', () => {
    const t = tensor('float32', [4], [1, 1 + 2 ** -8, 1 + 3 * 2 ** -8, -2.5]);
    const bf = toBF16(t as Tensor<'float32'>);
    expect(bf.dtype).toBe('BF16');
    expect(toNumbers(toTensor(bf))).toEqual([1, 1, 1 + 2 ** -6, -2.5]);
    const st = decodeSafetensors(encodeSafetensors({ bf }));
    expect(st.tensors.bf.dtype).toBe('BF16');
  });

  it('rejects corrupt files with the file named and the fault explained', () => {
    const dir = mkdtempSync(join(tmpdir(), 'st-'));
    const good = encodeSafetensors({ w: tensor('float32', [4], [1, 2, 3, 4]) });
    const cases: [string, Uint8Array, RegExp][] = [
      ['short', good.subarray(0, 5), /shorter than the 8-byte header length/],
      ['truncated', good.subarray(0, good.byteLength - 4), /truncated or trailing bytes/],
      ['trailing', Buffer.concat([good, Buffer.alloc(4)]), /truncated or trailing bytes/],
      ['huge-header', (() => { const b = Buffer.from(good); b.writeBigUInt64LE(1n << 40n); return b; })(), /100 MB limit/],
      ['past-end', (() => { const b = Buffer.from(good); b.writeBigUInt64LE(BigInt(good.byteLength)); return b; })(), /runs past the end/],
      ['bad-json', (() => { const b = Buffer.from(good); b[9] = 0x7d; return b; })(), /does not parse/],
    ];
    for (const [name, bytes, re] of cases) {
      const p = join(dir, `${name}.safetensors`);
      writeFileSync(p, bytes);
      expect(() => readSafetensorsFile(p), name).toThrow(re);
      expect(() => readSafetensorsFile(p), name).toThrow(p);
    }
    const json = '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}';
    const h = Buffer.alloc(8);
    h.writeBigUInt64LE(BigInt(json.length));
    expect(() => decodeSafetensors(Buffer.concat([h, Buffer.from(json), Buffer.alloc(6)]), 'x.safetensors')).toThrow(/x.safetensors: .*gap or overlap/);
  });
});
