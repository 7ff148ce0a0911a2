import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tensor, toNumbers } from '../../../native-models/runtime/tensor';
import { checkResumeConfig, latestCheckpoint, listCheckpoints, loadCheckpoint, readCheckpointMeta, saveCheckpoint, type CheckpointData } from '../../../native-models/train/checkpoint';
import { decodeSafetensors } from '../../../native-models/train/safetensors';

function data(step: number): CheckpointData {
  return {
    step,
    params: { w: tensor('float32', [2, 2], [step, 2, 3, 4]), 'ln.bias': tensor('float32', [2], [0.5, -0.5]) },
    optimizer: { 'w.exp_avg': tensor('float32', [2, 2], [0.1, 0.2, 0.3, 0.4]) },
    config: { d: 2 },
    optimizerInfo: { kind: 'adamw', beta1: 0.9 },
    rng: { seed: [1, 2, 3, 4] },
    data: { epoch: 1, pos: 3 },
  };
}

describe('checkpoints', () => {
  it('save, list, latest and load round-trip exactly; model.safetensors is a plain safetensors file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ck-'));
    saveCheckpoint(dir, data(10));
    const p = saveCheckpoint(dir, data(20));
    expect(listCheckpoints(dir).map((c) => c.step)).toEqual([10, 20]);
    expect(latestCheckpoint(dir)).toBe(p);
    const c = loadCheckpoint(dir);
    expect(c.step).toBe(20);
    expect(toNumbers(c.params.w)).toEqual([20, 2, 3, 4]);
    expect(toNumbers(c.optimizer['w.exp_avg'])).toEqual(Array.from(new Float32Array([0.1, 0.2, 0.3, 0.4])));
    expect(c.optimizerInfo).toEqual({ kind: 'adamw', beta1: 0.9 });
    expect(c.rng).toEqual({ seed: [1, 2, 3, 4] });
    expect(c.data).toEqual({ epoch: 1, pos: 3 });
    const meta = readCheckpointMeta(dir);
    expect(meta.step).toBe(20);
    expect(meta.config).toEqual({ d: 2 });
    expect(meta.dir).toBe(p);
    const st = decodeSafetensors(readFileSync(join(p, 'model.safetensors')));
    expect(st.metadata.format).toBe('pt');
    expect(Object.keys(st.tensors).sort()).toEqual(['ln.bias', 'w']);
  });

  it('keeps the newest N and ignores temp directories left by a crashed save', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ck-'));
    for (const s of [1, 2, 3, 4]) saveCheckpoint(dir, data(s), 2);
    expect(listCheckpoints(dir).map((c) => c.step)).toEqual([3, 4]);
    // A crash mid-save: a half-written temp directory with a higher step.
    mkdirSync(join(dir, '.step-00000005.999999.abcd.tmp'));
    writeFileSync(join(dir, '.step-00000005.999999.abcd.tmp', 'model.safetensors'), 'partial');
    expect(loadCheckpoint(dir).step).toBe(4);
    saveCheckpoint(dir, data(5), 2);
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('falls back to the newest complete checkpoint when `latest` points nowhere', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ck-'));
    saveCheckpoint(dir, data(7));
    writeFileSync(join(dir, 'latest'), 'step-00000099\n');
    expect(loadCheckpoint(dir).step).toBe(7);
  });

  it('refuses corrupt checkpoints with a clear error naming the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ck-'));
    const p = saveCheckpoint(dir, data(3));
    const model = join(p, 'model.safetensors');
    const bytes = readFileSync(model);
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(model, bytes);
    expect(() => loadCheckpoint(p)).toThrow(new RegExp(`${model.replace(/[.]/g, '\\.')}: corrupt checkpoint file: SHA-256`));
    writeFileSync(model, bytes.subarray(0, 10));
    expect(() => loadCheckpoint(p)).toThrow(/corrupt checkpoint file: 10 bytes, checkpoint.json says/);
    writeFileSync(join(p, 'checkpoint.json'), '{"format": "opt-studio-checkpoint", "step": ');
    expect(() => loadCheckpoint(p)).toThrow(/checkpoint\.json: corrupt checkpoint metadata/);
    expect(() => loadCheckpoint(join(dir, 'missing'))).toThrow(/no checkpoint found/);
    expect(existsSync(p)).toBe(true);
  });

  it('checkResumeConfig accepts the same config in any key order and names a different one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ck-'));
    const p = saveCheckpoint(dir, { ...data(3), config: { model: { d: 2, layers: 3 }, batch: 8 } });
    expect(() => checkResumeConfig(p, { batch: 8, model: { layers: 3, d: 2 } }, 'use another --out')).not.toThrow();
    expect(() => checkResumeConfig(p, { batch: 8, model: { d: 2, layers: 5 } }, 'use another --out'))
      .toThrow(/checkpoint was trained with .*"layers":3.*not .*"layers":5.*; use another --out/);
    // A normalisation applies to both sides (e.g. defaults for fields older checkpoints lack).
    const withBatch = (c: { model: unknown; batch?: number }) => ({ batch: 8, ...c });
    expect(() => checkResumeConfig(p, { model: { d: 2, layers: 3 } }, 'x', withBatch)).not.toThrow();
  });
});
