import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initParams, toOnnx } from '../../../native-models/graph';
import { writeWav } from '../../../native-models/data/audio';
import { TINY_CONFIG } from '../../../native-models/audio/config';
import { AudioEncoder, loadEncoderWeights, exportEncoder, paramShapes, speechTokens, poolFrames } from '../../../native-models/audio/encoder';
import { warmStart } from '../../../native-models/train/grow';
import { inferenceGraph } from '../../../native-models/audio/model';
import { AudioInputError } from '../../../native-models/audio/front-end';
import { encodeAudioFile } from '../../../native-models/tasks/encode-audio';
import { encodeAudioCommand } from '../../../native-models/cli/encode-audio';
import { buildTrainingGraph } from '../../../native-models/graph';
import { AUDIO_GROW_RULE, pretrainModel } from '../../../native-models/audio/model';

const cfg = TINY_CONFIG;
const buckets = [16, 64, 256];
const tone = (rate: number, seconds: number, amp = 0.3) => Float32Array.from({ length: Math.round(rate * seconds) }, (_, i) => amp * Math.sin((2 * Math.PI * 220 * i) / rate) * (1 + Math.sin(i / 500)));
let dir: string;
let pkg: string;
let enc: AudioEncoder;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'audio-enc-'));
  pkg = join(dir, 'pkg');
  const params = Object.fromEntries(initParams(buildTrainingGraph(pretrainModel(cfg, 1, 8, false), {}).graph, 3));
  exportEncoder(pkg, cfg, params, { storage: 'float16', buckets, metrics: { note: 'test' } });
  enc = AudioEncoder.fromPackage(pkg);
});
afterAll(async () => { await enc?.close(); });

const file = (name: string, rate: number, channels: Float32Array[]) => {
  const p = join(dir, name);
  writeFileSync(p, writeWav({ sampleRate: rate, channels }));
  return p;
};

describe('encode-audio task over a package written by exportEncoder (tiny config)', () => {
  it('packages fp16 weights that round-trip, and graphs that match the weights', async () => {
    const { config, params } = loadEncoderWeights(pkg);
    expect(config).toEqual(cfg);
    expect(params['quant.codebook'].length).toBe(cfg.codebookGroups * cfg.codebookEntries * (cfg.codeDim / cfg.codebookGroups));
    // The same utterance through the packaged fp16 graph and through a graph built from the loaded weights.
    const x = tone(16000, 0.5);
    const a = await enc.encode(x);
    const fromW = AudioEncoder.fromParams(cfg, params, { buckets });
    const b = await fromW.encode(x);
    await fromW.close();
    expect(a.length).toBe(b.length);
    expect(Array.from(a.codes)).toEqual(Array.from(b.codes));
    for (let i = 0; i < a.frames.length; i++) expect(Math.abs(a.frames[i] - b.frames[i])).toBeLessThan(1e-5);
    // The fp16 graphs hold no weights of their own: each reads them from weights.safetensors (ONNX external data),
    // so the buckets share one copy.
    for (const f of buckets) {
      const graph = readFileSync(join(pkg, 'audio-encoder', `encoder-${f}.onnx`));
      const embedded = toOnnx(inferenceGraph(cfg, f, 1, 'final'), { params: { kind: 'initializers', values: params, storage: 'float16' } }).model;
      expect(graph.includes('weights.safetensors')).toBe(true);
      expect(embedded.length - graph.length).toBeGreaterThan(0.9 * params['ctx.0.ffn1.weight'].length * 2 * cfg.layers);
    }
    expect(inferenceGraph(cfg, 16).outputs.length).toBe(2);
    // A training run can start from the package (--init-from PACKAGE_DIR): every pre-training weight, fp16 as shipped.
    const init = Object.fromEntries([...initParams(buildTrainingGraph(pretrainModel(cfg, 1, 8, false), {}).graph, 5)].map(([k, v]) => [k, { dtype: 'float32' as const, dims: [...paramShapes(cfg).get(k)!], data: v }]));
    const w = warmStart(init, pkg, AUDIO_GROW_RULE);
    expect(w.added).toEqual([]);
    expect(w.before).toEqual([]);
    expect(Object.keys(w.params).sort()).toEqual(Object.keys(params).sort());
    for (const [k, v] of Object.entries(params)) expect([...w.params[k].data]).toEqual([...v]);
  });

  it('8 kHz and 48 kHz stereo files give the same frame count for the same duration', async () => {
    const t8 = await encodeAudioFile(enc, file('8k.wav', 8000, [tone(8000, 1.2)]));
    const t48 = await encodeAudioFile(enc, file('48k-stereo.wav', 48000, [tone(48000, 1.2), tone(48000, 1.2, 0.1)]));
    expect(t8.sourceRate).toBe(8000);
    expect(t48.sourceChannels).toBe(2);
    expect(t8.length).toBe(59);
    expect(t48.length).toBe(59);
    expect(t8.tokens.every((id) => id >= 0 && id < t8.vocab)).toBe(true);
    expect(t48.frames.every(Number.isFinite)).toBe(true);
  });

  it('handles a 0.1 s clip, a 60 s clip (chunked), silence and clipping', async () => {
    const short = await encodeAudioFile(enc, file('short.wav', 16000, [tone(16000, 0.1)]));
    expect(short.length).toBe(4);
    expect(short.pooled.count).toBe(4);
    const long = await encodeAudioFile(enc, file('long.wav', 16000, [tone(16000, 60)]));
    expect(long.length).toBe(2999);
    expect(long.pooled.count).toBeLessThanOrEqual(64);
    expect(long.pooled.window).toBe(47);
    expect(long.frames.every(Number.isFinite)).toBe(true);
    const silent = await encodeAudioFile(enc, file('silence.wav', 16000, [new Float32Array(16000)]));
    expect(silent.silent).toBe(true);
    expect(silent.frames.every(Number.isFinite)).toBe(true);
    const clipped = await encodeAudioFile(enc, file('clipped.wav', 44100, [tone(44100, 1, 5).map((v) => Math.max(-1, Math.min(1, v)))]));
    expect(clipped.clipped).toBe(true);
  }, 60_000);

  it('a chunked long clip equals its chunks encoded alone (chunks are independent)', async () => {
    const x = tone(16000, 12);
    const whole = await enc.encode(x);
    const first = await enc.encode(x.subarray(0, 256 * 320 + 25));
    expect(Array.from(whole.codes.subarray(0, 256 * cfg.codebookGroups))).toEqual(Array.from(first.codes));
    expect(speechTokens(whole).length).toBe(whole.length);
    expect(poolFrames(whole, 64).count).toBeLessThanOrEqual(64);
  });

  it('corrupt and too-short files are clear errors naming the file; the CLI prints tokens or the error', async () => {
    const bad = join(dir, 'broken.wav');
    writeFileSync(bad, Buffer.from('RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00', 'latin1'));
    await expect(encodeAudioFile(enc, bad)).rejects.toThrow(/broken\.wav/);
    await expect(encodeAudioFile(enc, file('tiny.wav', 16000, [tone(16000, 0.01)]))).rejects.toBeInstanceOf(AudioInputError);
    const logs: string[] = [];
    const errs: string[] = [];
    const log = console.log;
    const err = console.error;
    console.log = (s: string) => logs.push(s);
    console.error = (s: string) => errs.push(s);
    try {
      expect(await encodeAudioCommand.run([join(dir, '8k.wav'), '--package', pkg])).toBe(0);
      expect(await encodeAudioCommand.run([bad, '--package', pkg])).toBe(1);
      expect(await encodeAudioCommand.run(['--package', pkg])).toBe(2);
    } finally {
      console.log = log;
      console.error = err;
    }
    expect(logs.join('\n')).toMatch(/59 frames at 50 Hz[\s\S]*tokens: \d+/);
    expect(errs[0]).toMatch(/broken\.wav/);
  });
});
