// The audio encoder's front end: any file or PCM in (WAV of any layout, Ogg Opus/Vorbis; any rate and channel
// count), 16 kHz mono out, loudness-normalised. Decoding, downmixing and the windowed-sinc resampler are the
// dataset layer's (../data/audio); this file adds loudness normalisation and the checks the encoder needs.
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { decodeAudio, downmix, MAX_RECORDING_S, resample, SPEECH_RATE, type PcmAudio } from '../data/audio/index';

/** Target loudness: RMS of the gated (non-silent) blocks, -23 dBFS (EBU R128's programme level, unweighted). */
export const TARGET_DBFS = -23;
/** Blocks quieter than this (absolute gate, dBFS) never count as speech; all-quiet input is "silent". */
export const SILENCE_DBFS = -60;
/** Largest gain applied (so a near-silent hiss is not blown up to speech level). */
export const MAX_GAIN_DB = 40;
/** 16 kHz mono speech as the encoder reads it, and what the front end noticed on the way. */
export interface Speech {
  samples: Float32Array;
  sampleRate: number;
  durationS: number;
  /** The input's own rate and channel count. */
  sourceRate: number;
  sourceChannels: number;
  /** Gain applied by loudness normalisation, in dB. */
  gainDb: number;
  /** No block above the silence gate: left unscaled (the encoder still runs; its output means "no speech"). */
  silent: boolean;
  /** Over 0.5% of input samples at full scale: clipped input (processed, reported). */
  clipped: boolean;
}

/** An input the front end refuses, naming the file. */
export class AudioInputError extends Error {
  override readonly name = 'AudioInputError';
  constructor(readonly file: string, message: string) {
    super(`${file}: ${message}`);
  }
}

const dbToAmp = (db: number) => 10 ** (db / 20);

/**
 * Loudness normalisation (in place semantics are avoided: returns a new array). Removes DC, measures the RMS of
 * 20 ms blocks that pass an absolute gate (SILENCE_DBFS) and a relative one (10 dB under their mean power, as
 * in EBU R128), scales that to TARGET_DBFS (at most MAX_GAIN_DB), and keeps peaks under 0.99 with a
 * soft limiter so normalisation never clips.
 */
export function normalizeLoudness(x: Float32Array, rate = SPEECH_RATE): { samples: Float32Array; gainDb: number; silent: boolean } {
  const n = x.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[i];
  mean = n ? mean / n : 0;
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) y[i] = x[i] - mean;
  const block = Math.max(1, Math.round(rate * 0.02));
  const powers: number[] = [];
  for (let s = 0; s < n; s += block) {
    const e = Math.min(n, s + block);
    let p = 0;
    for (let i = s; i < e; i++) p += y[i] * y[i];
    powers.push(p / (e - s));
  }
  const absGate = dbToAmp(SILENCE_DBFS) ** 2;
  const loud = powers.filter((p) => p > absGate);
  if (loud.length === 0) return { samples: y, gainDb: 0, silent: true };
  const meanP = loud.reduce((a, p) => a + p, 0) / loud.length;
  const gated = loud.filter((p) => p > meanP / 10);
  const rms = Math.sqrt(gated.reduce((a, p) => a + p, 0) / gated.length);
  const gainDb = Math.min(MAX_GAIN_DB, TARGET_DBFS - 20 * Math.log10(rms));
  const g = dbToAmp(gainDb);
  for (let i = 0; i < n; i++) {
    const v = y[i] * g;
    // tanh knee above 0.9: identity below, never past 0.99
    const a = Math.abs(v);
    y[i] = a <= 0.9 ? v : Math.sign(v) * (0.9 + 0.09 * Math.tanh((a - 0.9) / 0.09));
  }
  return { samples: y, gainDb, silent: false };
}

/** Converts decoded audio (any rate, any channels) to normalised 16 kHz mono; `file` names it in errors. */
export function speechFromPcm(audio: PcmAudio, file = '<audio>', minSamples = 1): Speech {
  if (audio.channels.length === 0 || audio.channels[0].length === 0) throw new AudioInputError(file, 'holds no audio samples');
  let clippedCount = 0;
  let total = 0;
  for (const ch of audio.channels) {
    for (let i = 0; i < ch.length; i++) {
      if (!Number.isFinite(ch[i])) throw new AudioInputError(file, `sample ${i} is not a finite number (corrupt audio)`);
      if (Math.abs(ch[i]) >= 0.999) clippedCount++;
    }
    total += ch.length;
  }
  const durationS = audio.channels[0].length / audio.sampleRate;
  // Longer input is a clear error rather than an out-of-memory (files are stopped while decoding, see decodeAudio).
  if (durationS > MAX_RECORDING_S) throw new AudioInputError(file, `is ${durationS.toFixed(1)} s long, over the ${MAX_RECORDING_S} s limit (split it first)`);
  const mono = resample(downmix(audio.channels), audio.sampleRate, SPEECH_RATE);
  if (mono.length < minSamples) {
    throw new AudioInputError(file, `is ${(durationS * 1000).toFixed(1)} ms long; the encoder needs at least ${((minSamples / SPEECH_RATE) * 1000).toFixed(1)} ms (one frame)`);
  }
  const norm = normalizeLoudness(mono);
  return {
    samples: norm.samples, sampleRate: SPEECH_RATE, durationS: mono.length / SPEECH_RATE,
    sourceRate: audio.sampleRate, sourceChannels: audio.channels.length,
    gainDb: norm.gainDb, silent: norm.silent, clipped: clippedCount > 0.005 * total,
  };
}

/** Reads, decodes and normalises an audio file (WAV or Ogg, by content). Errors name the file. */
export async function loadSpeech(pathOrBytes: string | Uint8Array, opts: { file?: string; minSamples?: number } = {}): Promise<Speech> {
  const file = opts.file ?? (typeof pathOrBytes === 'string' ? pathOrBytes : '<audio>');
  let bytes: Uint8Array;
  if (typeof pathOrBytes === 'string') {
    try {
      bytes = await readFile(pathOrBytes);
    } catch (e) {
      throw new AudioInputError(file, `cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  } else {
    bytes = pathOrBytes;
  }
  let pcm: PcmAudio;
  try {
    pcm = await decodeAudio(bytes, basename(file));
  } catch (e) {
    throw new AudioInputError(file, (e as Error).message.replace(`${basename(file)}: `, ''));
  }
  return speechFromPcm(pcm, file, opts.minSamples);
}
