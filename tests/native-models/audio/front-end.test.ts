import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeWav } from '../../../native-models/data/audio';
import { AudioInputError, TARGET_DBFS, loadSpeech, normalizeLoudness, speechFromPcm } from '../../../native-models/audio/front-end';

const sine = (freq: number, rate: number, seconds: number, amp = 0.5, phase = 0) =>
  Float32Array.from({ length: Math.round(rate * seconds) }, (_, i) => amp * Math.sin((2 * Math.PI * freq * i) / rate + phase));

/** Frequency from zero crossings over the middle second (a pure tone crosses zero 2f times a second). */
function zeroCrossingHz(x: Float32Array, rate: number): number {
  const seg = x.subarray(Math.floor(x.length / 4), Math.floor(x.length / 4) + rate);
  let n = 0;
  for (let i = 1; i < seg.length; i++) if ((seg[i - 1] < 0) !== (seg[i] < 0)) n++;
  return n / 2;
}

/** Share of the signal's power at `freq` (single-bin DFT over the middle second): 1 for a pure tone. */
function powerShareAt(x: Float32Array, freq: number, rate: number): number {
  const seg = x.subarray(Math.floor(x.length / 4), Math.floor(x.length / 4) + rate);
  let re = 0;
  let im = 0;
  let e = 0;
  for (let i = 0; i < seg.length; i++) {
    re += seg[i] * Math.cos((2 * Math.PI * freq * i) / rate);
    im += seg[i] * Math.sin((2 * Math.PI * freq * i) / rate);
    e += seg[i] * seg[i];
  }
  return (2 * (re * re + im * im)) / seg.length / e;
}

const rmsDb = (x: Float32Array) => 10 * Math.log10(x.reduce((s, v) => s + v * v, 0) / x.length);

describe('audio front end', () => {
  it('resamples known tones to 16 kHz mono with the frequency preserved (8, 44.1, 48 kHz; stereo)', () => {
    for (const [rate, freq] of [[8000, 440], [44100, 1000], [48000, 3000]] as const) {
      const left = sine(freq, rate, 2);
      const right = sine(freq, rate, 2, 0.5, 0.3);
      const s = speechFromPcm({ sampleRate: rate, channels: [left, right] }, `tone-${rate}.wav`);
      expect(s.sampleRate).toBe(16000);
      expect(s.sourceChannels).toBe(2);
      expect(s.durationS).toBeCloseTo(2, 2);
      expect(Math.abs(zeroCrossingHz(s.samples, 16000) - freq)).toBeLessThanOrEqual(1);
      expect(powerShareAt(s.samples, freq, 16000)).toBeGreaterThan(0.99);
    }
  });

  it('normalises loudness to the target, whatever the input level', () => {
    for (const amp of [0.01, 0.3]) {
      const { samples, silent } = normalizeLoudness(sine(300, 16000, 1, amp));
      expect(silent).toBe(false);
      expect(rmsDb(samples)).toBeCloseTo(TARGET_DBFS, 0);
    }
  });

  it('reports silence without amplifying it, and clipping without exceeding full scale', () => {
    const quiet = speechFromPcm({ sampleRate: 16000, channels: [new Float32Array(16000)] });
    expect(quiet.silent).toBe(true);
    expect(quiet.samples.every((v) => v === 0)).toBe(true);
    const clippedIn = sine(200, 16000, 1, 3).map((v) => Math.max(-1, Math.min(1, v)));
    const c = speechFromPcm({ sampleRate: 16000, channels: [clippedIn] });
    expect(c.clipped).toBe(true);
    expect(Math.max(...c.samples.map(Math.abs))).toBeLessThan(1);
    expect(c.samples.every(Number.isFinite)).toBe(true);
  });

  it('refuses corrupt, empty, non-finite and too-short input with the file named', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'audio-fe-'));
    const bad = join(dir, 'corrupt.wav');
    writeFileSync(bad, Buffer.from('RIFF\x10\x00\x00\x00WAVEjunkjunk', 'latin1'));
    await expect(loadSpeech(bad)).rejects.toThrow(/corrupt\.wav: .*(fmt|data|truncated)/);
    const txt = join(dir, 'notes.wav');
    writeFileSync(txt, 'hello, not audio at all, just some text in a file');
    await expect(loadSpeech(txt)).rejects.toBeInstanceOf(AudioInputError);
    await expect(loadSpeech(join(dir, 'missing.wav'))).rejects.toThrow(/missing\.wav: cannot read \(ENOENT\)/);
    const empty = join(dir, 'empty.wav');
    writeFileSync(empty, new Uint8Array(0));
    await expect(loadSpeech(empty)).rejects.toThrow(/empty\.wav.*empty/);
    expect(() => speechFromPcm({ sampleRate: 16000, channels: [Float32Array.of(0, NaN, 0)] }, 'nan.wav')).toThrow(/nan\.wav: sample 1 is not a finite number/);
    const short = join(dir, 'short.wav');
    writeFileSync(short, writeWav({ sampleRate: 16000, channels: [sine(300, 16000, 0.01)] }));
    await expect(loadSpeech(short, { minSamples: 345 })).rejects.toThrow(/short\.wav: is 10\.0 ms long; the encoder needs at least 21\.6 ms/);
    expect(() => speechFromPcm({ sampleRate: 8000, channels: [new Float32Array(8000 * 601)] }, 'long.wav')).toThrow(/long\.wav: is 601\.0 s long/);
  });
});
