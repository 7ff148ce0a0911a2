// `--export-only` of the audio and dVAE trainers (scripts/train-*.ts, run for real through tsx): a run folder's latest
// checkpoint goes into the package exactly as a finished run's export would write it, with the run's own config and
// history; a folder without a checkpoint or of the other model is refused with a clear message.
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { TINY_CONFIG as AUDIO_TINY } from '../../../native-models/audio/config';
import { allFrameTaps, pretrainModel } from '../../../native-models/audio/model';
import { exportEncoder } from '../../../native-models/audio/encoder';
import { exportOnnx, inferenceWeights, writeDvaeComponent } from '../../../native-models/dvae/codec';
import { TINY_CONFIG as DVAE_TINY } from '../../../native-models/dvae/model';
import type { ImageSet } from '../../../native-models/dvae/pixels';
import { trainDvae } from '../../../native-models/dvae/train';
import { buildTrainingGraph } from '../../../native-models/graph';
import { loadPackage } from '../../../native-models/packages/format';
import { saveCheckpoint } from '../../../native-models/train/checkpoint';
import { initialParams, trainStepSpec } from '../../../native-models/train/graph-spec';

const root = resolve(__dirname, '../../..');

/** A trainer script, as `npm run train:* -- ...` runs it; never throws: rc and output come back. */
async function script(name: string, args: string[]): Promise<{ rc: number; out: string }> {
  try {
    const r = await promisify(execFile)(process.execPath, ['--import', 'tsx', `scripts/${name}.ts`, ...args], { cwd: root, env: { ...process.env, OPT_PROVIDERS: 'cpu' } });
    return { rc: 0, out: r.stdout + r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { rc: x.code, out: x.stdout + x.stderr };
  }
}

/** A component's files as their sha256 (the manifest's), by role. */
function fileHashes(pkg: string, name: string): Record<string, string> {
  const m = JSON.parse(readFileSync(join(pkg, 'manifest.json'), 'utf8')) as { components: Record<string, { sha256: Record<string, string> }> };
  return m.components[name].sha256;
}

describe('trainers: --export-only', () => {
  it('dVAE: exports a run folder\'s latest checkpoint as the finished run would, with its history; refuses other folders', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'export-only-'));
    try {
      const S = 64;
      const rgb = new Uint8Array(4 * S * S * 3).map((_, i) => (i * 2654435761) >>> 24);
      const set: ImageSet = { size: S, count: 4, rgb, ids: ['0', '1', '2', '3'] };
      const run = join(tmp, 'run');
      const res = await trainDvae({ config: DVAE_TINY, train: set, steps: 3, batch: 2, lr: 1e-3, warmup: 1, seed: 1, out: run, checkpointEvery: 3, command: 'npm run train:dvae -- (this test)' });
      // No dataset: no validation images for the fp16 check, so fp16 storage (the default), as a run without them writes.
      const got = join(tmp, 'pkg');
      const r = await script('train-dvae', ['--data', join(tmp, 'no-such-dataset'), '--out', run, '--export-only', '--package', got]);
      expect(r.out).toMatch(/exporting step 3 of .*step-00000003/);
      expect(r.rc).toBe(0);
      const ref = join(tmp, 'ref');
      writeDvaeComponent(ref, DVAE_TINY, exportOnnx(DVAE_TINY, inferenceWeights(res.params), { batch: 1, storage: 'float16' }), { batch: 1, storage: 'float16' });
      expect(fileHashes(got, 'dvae')).toEqual(fileHashes(ref, 'dvae'));
      const entry = loadPackage(got).manifest.components.dvae;
      expect(entry.training).toMatchObject({ steps: 3, command: 'npm run train:dvae -- (this test)', history: 'npm run train:dvae -- (this test) (steps 0-3)' });
      expect(entry.config).toMatchObject({ codebookSize: DVAE_TINY.codebookSize, channels: DVAE_TINY.channels });

      const empty = await script('train-dvae', ['--data', tmp, '--out', join(tmp, 'empty'), '--export-only', '--package', got]);
      expect(empty).toMatchObject({ rc: 2, out: expect.stringMatching(/no checkpoint to export/) });
      const wrong = await script('train-audio', ['--out', run, '--export-only', '--package', got]);
      expect(wrong).toMatchObject({ rc: 2, out: expect.stringMatching(/not an audio encoder checkpoint/) });
      const both = await script('train-dvae', ['--data', tmp, '--out', run, '--export-only', '--no-export']);
      expect(both).toMatchObject({ rc: 2, out: expect.stringMatching(/contradict/) });
      expect(fileHashes(got, 'dvae')).toEqual(fileHashes(ref, 'dvae')); // the refused calls wrote nothing
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 120_000);

  it('audio: exports the checkpoint with the run\'s config and every context output as frames, or the taps asked for', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'export-only-'));
    try {
      const spec = trainStepSpec(() => buildTrainingGraph(pretrainModel(AUDIO_TINY, 2, 32, true), { clipNorm: 5, weightDecay: 0 }), '32');
      const params = initialParams(spec.graph.graph, 7);
      const run = join(tmp, 'run');
      saveCheckpoint(run, {
        step: 5, params, optimizer: {}, config: { model: AUDIO_TINY }, optimizerInfo: { kind: 'adamw' }, rng: null, data: null,
        extra: { history: [{ command: 'npm run train:audio -- (this test)', from: 0, to: 5 }] },
      });
      const got = join(tmp, 'pkg');
      // Flags that would shape a new run are not the checkpoint's: --export-only ignores them.
      const r = await script('train-audio', ['--out', run, '--export-only', '--package', got, '--set', 'layers=7']);
      expect(r.out).toMatch(/exporting step 5 of .*step-00000005/);
      expect(r.rc).toBe(0);
      const weights = Object.fromEntries(Object.entries(params).map(([k, t]) => [k, t.data as Float32Array]));
      const ref = join(tmp, 'ref');
      exportEncoder(ref, AUDIO_TINY, weights, { storage: 'float16', frameLayer: allFrameTaps(AUDIO_TINY) });
      expect(fileHashes(got, 'audio-encoder')).toEqual(fileHashes(ref, 'audio-encoder'));
      expect(loadPackage(got).manifest.components['audio-encoder'].training).toMatchObject({ steps: 5, history: 'npm run train:audio -- (this test) (steps 0-5)' });

      const final = await script('train-audio', ['--out', run, '--export-only', '--package', got, '--frame-layer', 'final']);
      expect(final.rc).toBe(0);
      expect(loadPackage(got).manifest.components['audio-encoder'].config).toMatchObject({ frameLayer: 'final' });
      const wrong = await script('train-dvae', ['--data', tmp, '--out', run, '--export-only', '--package', got]);
      expect(wrong).toMatchObject({ rc: 2, out: expect.stringMatching(/not a dVAE checkpoint/) });
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 120_000);
});
