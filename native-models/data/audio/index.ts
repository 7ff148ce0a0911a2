// Speech audio for datasets: whatever comes in (WAV of any layout, Ogg Opus/Vorbis, raw PCM from a
// recorder) is stored as 16 kHz mono PCM16 WAV, the form the audio encoder reads.

import { DatasetError } from '../store/errors';
import { decodeOgg, oggCodec } from './ogg';
import { downmix, resample } from './resample';
import { durationOf, readWav, writeWav, type PcmAudio } from './wav';

export * from './wav';
export * from './resample';
export * from './ogg';

/** Sample rate of stored speech. */
export const SPEECH_RATE = 16000;

/** Longest audio accepted anywhere (a recording, an imported voice file, the encoder's input), in seconds. */
export const MAX_RECORDING_S = 600;

/**
 * Decodes a WAV or Ogg file, by its content (not its name). Audio longer than `maxSeconds` is a BAD_MEDIA error,
 * found before it is all decoded (a WAV's header; an Ogg file page by page), so a small compressed file that
 * holds hours of audio cannot fill the memory.
 */
export async function decodeAudio(bytes: Uint8Array, file = '<audio>', maxSeconds = MAX_RECORDING_S): Promise<PcmAudio> {
  if (bytes.length === 0) throw new DatasetError('BAD_MEDIA', `${file}: empty file (0 bytes)`, { file });
  if (bytes.length >= 4 && bytes[0] === 0x52 && bytes[1] === 0x49 && bytes[2] === 0x46 && bytes[3] === 0x46) return readWav(bytes, file, maxSeconds);
  if (oggCodec(bytes)) return decodeOgg(bytes, file, maxSeconds);
  throw new DatasetError('BAD_MEDIA', `${file}: unsupported audio format (WAV, Ogg Opus or Ogg Vorbis)`, { file });
}

/** Converts audio to 16 kHz mono (downmix, then windowed-sinc resampling). */
export function toSpeech(audio: PcmAudio): Float32Array {
  return resample(downmix(audio.channels), audio.sampleRate, SPEECH_RATE);
}

/** The stored form: 16 kHz mono PCM16 WAV bytes and its duration. */
export function speechWav(audio: PcmAudio): { wav: Uint8Array; durationS: number } {
  const mono = toSpeech(audio);
  if (mono.length === 0) throw new DatasetError('BAD_MEDIA', 'the recording holds no audio samples');
  const out = { sampleRate: SPEECH_RATE, channels: [mono] };
  return { wav: writeWav(out, 'pcm16'), durationS: durationOf(out) };
}

/** Raw PCM from a recorder (mono Float32 at any rate) to the stored form; refuses empty, non-finite or over-long input. */
export function speechWavFromPcm(pcm: Float32Array, sampleRate: number): { wav: Uint8Array; durationS: number } {
  if (!(pcm instanceof Float32Array) || pcm.length === 0) throw new DatasetError('BAD_MEDIA', 'the recording is empty (no samples)');
  if (!(Number.isFinite(sampleRate) && sampleRate >= 1000 && sampleRate <= 768_000)) throw new DatasetError('BAD_MEDIA', `bad recording sample rate ${sampleRate}`);
  if (pcm.length / sampleRate > MAX_RECORDING_S) {
    throw new DatasetError('BAD_MEDIA', `the recording is ${Math.round(pcm.length / sampleRate)} s long, over the ${MAX_RECORDING_S} s limit`);
  }
  for (let i = 0; i < pcm.length; i++) {
    if (!Number.isFinite(pcm[i])) throw new DatasetError('BAD_MEDIA', `the recording holds a non-finite sample at ${(i / sampleRate).toFixed(3)} s`);
  }
  return speechWav({ sampleRate, channels: [pcm] });
}
