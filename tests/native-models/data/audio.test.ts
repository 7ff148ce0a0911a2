import { OggOpusDecoder } from 'ogg-opus-decoder';
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  SPEECH_RATE, decodeAudio, decodeOgg, downmix, durationOf, encodeOggVorbis, readWav, resample, speechWav, speechWavFromPcm, writeWav,
} from '../../../native-models/data/audio';
import { DatasetError } from '../../../native-models/data/store';
import { tempDir } from './helpers';

const sine = (freq: number, rate: number, seconds: number, amp = 0.5) =>
  Float32Array.from({ length: Math.round(rate * seconds) }, (_, i) => amp * Math.sin((2 * Math.PI * freq * i) / rate));

const rms = (x: Float32Array, from = 0, to = x.length) => {
  let s = 0;
  for (let i = from; i < to; i++) s += x[i] * x[i];
  return Math.sqrt(s / (to - from));
};

/** Amplitude of `freq` in x (a single-bin DFT over the middle of the signal). */
function amplitudeAt(x: Float32Array, freq: number, rate: number): number {
  const from = Math.floor(x.length / 4);
  const to = Math.floor((3 * x.length) / 4);
  let re = 0;
  let im = 0;
  for (let i = from; i < to; i++) {
    re += x[i] * Math.cos((2 * Math.PI * freq * i) / rate);
    im += x[i] * Math.sin((2 * Math.PI * freq * i) / rate);
  }
  return (2 * Math.hypot(re, im)) / (to - from);
}

function fail(fn: () => unknown): DatasetError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DatasetError);
    return e as DatasetError;
  }
  throw new Error('expected a failure');
}

describe('WAV', () => {
  it('round-trips PCM16 and float32, any rate and channel count', () => {
    const l = sine(440, 22050, 0.1);
    const r = sine(880, 22050, 0.1, 0.25);
    for (const enc of ['pcm16', 'float32'] as const) {
      const back = readWav(writeWav({ sampleRate: 22050, channels: [l, r] }, enc));
      expect(back.sampleRate).toBe(22050);
      expect(back.channels).toHaveLength(2);
      const tol = enc === 'pcm16' ? 1 / 32000 : 1e-7;
      for (let i = 0; i < l.length; i++) {
        expect(Math.abs(back.channels[0][i] - l[i])).toBeLessThan(tol);
        expect(Math.abs(back.channels[1][i] - r[i])).toBeLessThan(tol);
      }
      expect(durationOf(back)).toBeCloseTo(0.1, 6);
    }
  });

  it('reads 8-bit, 24-bit and 32-bit integer PCM', () => {
    const header = (bits: number, n: number) => {
      const b = Buffer.alloc(44);
      b.write('RIFF', 0); b.writeUInt32LE(36 + n * bits / 8, 4); b.write('WAVE', 8); b.write('fmt ', 12);
      b.writeUInt32LE(16, 16); b.writeUInt16LE(1, 20); b.writeUInt16LE(1, 22); b.writeUInt32LE(8000, 24);
      b.writeUInt32LE(8000 * bits / 8, 28); b.writeUInt16LE(bits / 8, 32); b.writeUInt16LE(bits, 34);
      b.write('data', 36); b.writeUInt32LE(n * bits / 8, 40);
      return b;
    };
    const eight = Buffer.concat([header(8, 3), Buffer.from([128, 255, 0])]);
    expect(Array.from(readWav(eight).channels[0])).toEqual([0, 127 / 128, -1]);
    const d24 = Buffer.alloc(6);
    d24.writeIntLE(4194304, 0, 3); d24.writeIntLE(-8388608, 3, 3);
    expect(Array.from(readWav(Buffer.concat([header(24, 2), d24])).channels[0])).toEqual([0.5, -1]);
    const d32 = Buffer.alloc(4);
    d32.writeInt32LE(-1073741824);
    expect(Array.from(readWav(Buffer.concat([header(32, 1), d32])).channels[0])).toEqual([-0.5]);
  });

  it('reads a WAV whose data chunk was cut short, and names the file for bad ones', () => {
    const full = writeWav({ sampleRate: 16000, channels: [sine(300, 16000, 0.5)] });
    expect(readWav(full.subarray(0, 44 + 1000)).channels[0].length).toBe(500);
    expect(fail(() => readWav(new Uint8Array(0), 'z.wav')).message).toMatch(/z\.wav: empty file/);
    expect(fail(() => readWav(full.subarray(0, 30), 't.wav')).message).toMatch(/t\.wav: /);
    expect(fail(() => readWav(Buffer.from('RIFF1234WAVEjunkjunkjunk'), 'j.wav')).message).toMatch(/j\.wav: no fmt chunk/);
    const alaw = Buffer.from(full);
    alaw.writeUInt16LE(6, 20);
    expect(fail(() => readWav(alaw, 'a.wav')).message).toMatch(/a\.wav: unsupported WAV encoding/);
  });
});

describe('resampling to 16 kHz mono', () => {
  it('keeps an in-band tone (48 kHz -> 16 kHz) at its amplitude', () => {
    const y = resample(sine(1000, 48000, 1), 48000, 16000);
    expect(y.length).toBe(16000);
    expect(amplitudeAt(y, 1000, 16000)).toBeCloseTo(0.5, 2);
  });

  it('removes content above the new Nyquist instead of aliasing it', () => {
    // 11 kHz at 48 kHz would alias to 5 kHz at 16 kHz without a low-pass filter.
    const y = resample(sine(11000, 48000, 1), 48000, 16000);
    expect(rms(y, 2000, 14000)).toBeLessThan(0.5 * 0.001);
  });

  it('upsamples (8 kHz -> 16 kHz) and handles odd ratios (44.1 kHz)', () => {
    const up = resample(sine(440, 8000, 0.5), 8000, 16000);
    expect(up.length).toBe(8000);
    expect(amplitudeAt(up, 440, 16000)).toBeCloseTo(0.5, 2);
    const odd = resample(sine(440, 44100, 0.5), 44100, 16000);
    expect(odd.length).toBe(8000);
    expect(amplitudeAt(odd, 440, 16000)).toBeCloseTo(0.5, 2);
  });

  it('downmixes and stores PCM16 WAV with the right duration', () => {
    const { wav, durationS } = speechWav({ sampleRate: 44100, channels: [sine(440, 44100, 1.5), sine(440, 44100, 1.5)] });
    const back = readWav(wav);
    expect(back.sampleRate).toBe(SPEECH_RATE);
    expect(back.channels).toHaveLength(1);
    expect(durationS).toBeCloseTo(1.5, 3);
    expect(durationOf(back)).toBeCloseTo(1.5, 3);
    expect(downmix([Float32Array.of(1, 0), Float32Array.of(0, 0)])).toEqual(Float32Array.of(0.5, 0));
    expect(() => speechWavFromPcm(new Float32Array(0), 48000)).toThrow(/empty/);
    expect(() => speechWavFromPcm(new Float32Array(10), NaN)).toThrow(/sample rate/);
    expect(() => speechWavFromPcm(Float32Array.of(0, NaN, 0), 8000)).toThrow(/non-finite sample/);
    expect(() => speechWavFromPcm(new Float32Array(1000 * 601), 1000)).toThrow(/over the 600 s limit/);
  });
});

describe('Ogg', () => {
  it('decodes Ogg Vorbis (encoded here) and names corrupt or truncated files', async () => {
    const ogg = await encodeOggVorbis({ sampleRate: 16000, channels: [sine(440, 16000, 1)] });
    const pcm = await decodeAudio(ogg, 'v.ogg');
    expect(pcm.sampleRate).toBe(16000);
    expect(durationOf(pcm)).toBeCloseTo(1, 2);
    expect(amplitudeAt(pcm.channels[0], 440, 16000)).toBeGreaterThan(0.4);
    await expect(decodeOgg(new Uint8Array(0), 'e.ogg')).rejects.toThrow(/e\.ogg: empty file/);
    await expect(decodeOgg(ogg.subarray(0, 200), 't.ogg')).rejects.toThrow(/t\.ogg: /);
    await expect(decodeAudio(Buffer.from('definitely not audio at all, no way'), 'x.mp3')).rejects.toThrow(/x\.mp3: unsupported audio format/);
  });

  it('refuses audio over the length limit before decoding it all (WAV by its header, Ogg page by page; chained Ogg refused)', async () => {
    const wav = writeWav({ sampleRate: 8000, channels: [new Float32Array(8000 * 3)] }, 'pcm16');
    await expect(decodeAudio(wav, 'l.wav', 2)).rejects.toThrow(/l\.wav: 3\.0 s of audio; the limit is 2 s/);
    expect(durationOf(await decodeAudio(wav, 'l.wav', 3))).toBe(3);
    await expect(decodeAudio(writeWav({ sampleRate: 1000, channels: [new Float32Array(1000 * 601)] }, 'pcm16'), 'w.wav')).rejects.toThrow(/601\.0 s of audio; the limit is 600 s/);
    const long = await encodeOggVorbis({ sampleRate: 16000, channels: [sine(440, 16000, 60)] });
    const whole = await decodeAudio(long, 'long.ogg');
    expect(durationOf(whole)).toBeCloseTo(60, 1);
    expect(amplitudeAt(whole.channels[0].subarray(16000 * 30, 16000 * 31), 440, 16000)).toBeGreaterThan(0.4);
    const err = await decodeAudio(long, 'long.ogg', 5).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/^long\.ogg: more than [\d.]+ s of audio; the limit is 5 s/);
    // It stopped within a page of the limit, not after decoding all 60 s.
    expect(Number(/more than ([\d.]+) s/.exec((err as Error).message)?.[1])).toBeLessThan(40);
    // Two streams one after the other (chained): refused, not half read.
    const short = await encodeOggVorbis({ sampleRate: 16000, channels: [sine(440, 16000, 1)] });
    await expect(decodeAudio(Buffer.concat([short, short]), 'two.ogg')).rejects.toThrow(/two\.ogg: holds more than one Ogg stream/);
  });

  const hasFfmpeg = (() => {
    try {
      return execFileSync('ffmpeg', ['-hide_banner', '-encoders'], { stdio: 'pipe' }).toString().includes('libopus');
    } catch {
      return false;
    }
  })();

  it.skipIf(!hasFfmpeg)('decodes Ogg Opus (fixture made with ffmpeg when present) to 16 kHz speech', async () => {
    const t = tempDir();
    try {
      const file = path.join(t.dir, 'v.ogg');
      execFileSync('ffmpeg', ['-loglevel', 'error', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=2', '-c:a', 'libopus', file]);
      const pcm = await decodeAudio(fs.readFileSync(file), 'v.ogg');
      expect(pcm.sampleRate).toBe(48000);
      const { wav, durationS } = speechWav(pcm);
      expect(durationS).toBeCloseTo(2, 1);
      expect(readWav(wav).sampleRate).toBe(16000);
      await expect(decodeAudio(fs.readFileSync(file), 'v.ogg', 1)).rejects.toThrow(/v\.ogg: more than [\d.]+ s of audio; the limit is 1 s/);
    } finally {
      t.cleanup();
    }
  });

  it.skipIf(!hasFfmpeg)('decodes a long stereo Opus file page by page exactly as the library does in one go', async () => {
    const t = tempDir();
    try {
      const file = path.join(t.dir, 'long.ogg');
      execFileSync('ffmpeg', ['-loglevel', 'error', '-f', 'lavfi', '-i', 'sine=frequency=300:duration=30', '-f', 'lavfi', '-i', 'sine=frequency=500:duration=30',
        '-filter_complex', 'amerge=inputs=2', '-c:a', 'libopus', '-b:a', '64k', file]);
      const bytes = fs.readFileSync(file);
      expect(bytes.length).toBeGreaterThan(1 << 17); // many pages
      const ours = await decodeAudio(bytes, 'long.ogg');
      const lib = new OggOpusDecoder();
      await lib.ready;
      const whole = await lib.decodeFile(bytes);
      lib.free();
      expect(ours.channels).toHaveLength(2);
      expect(ours.channels[0].length).toBe(whole.samplesDecoded);
      for (let c = 0; c < 2; c++) expect(Buffer.from(ours.channels[c].buffer).equals(Buffer.from(whole.channelData[c].buffer, 0, whole.samplesDecoded * 4))).toBe(true);
    } finally {
      t.cleanup();
    }
  });
});
