// WAV (RIFF/WAVE) read and write. Reads PCM 8/16/24/32-bit integer and 32/64-bit float, any sample
// rate and channel count, plain or WAVE_FORMAT_EXTENSIBLE; writes PCM16 (the stored speech form) or
// float32. A data chunk declared longer than the file (a recorder killed mid-write) is read up to the
// end of the file; anything unreadable is a BAD_MEDIA error naming the file.

import { DatasetError } from '../store/errors';

/** Decoded audio: one Float32Array per channel, samples in [-1, 1]. */
export interface PcmAudio {
  sampleRate: number;
  channels: Float32Array[];
}

const FORMAT_PCM = 1;
const FORMAT_FLOAT = 3;
const FORMAT_EXTENSIBLE = 0xfffe;

/** The error for audio over the length limit (`atLeast`: it was still going when decoding stopped). */
export function tooLong(file: string, seconds: number, maxSeconds: number, atLeast = false): DatasetError {
  return new DatasetError('BAD_MEDIA', `${file}: ${atLeast ? 'more than ' : ''}${seconds.toFixed(1)} s of audio; the limit is ${maxSeconds} s (split it first)`, { file });
}

/** Parses a WAV file into float channels; more than `maxSeconds` of audio is an error, found from the header. */
export function readWav(bytes: Uint8Array, file = '<wav>', maxSeconds = Infinity): PcmAudio {
  const bad = (why: string) => new DatasetError('BAD_MEDIA', `${file}: ${why}`, { file });
  if (bytes.length === 0) throw bad('empty file (0 bytes)');
  if (bytes.length < 12) throw bad('truncated WAV (no RIFF header)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (o: number) => String.fromCharCode(bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]);
  if (tag(0) !== 'RIFF' || tag(8) !== 'WAVE') throw bad('not a WAV file (no RIFF/WAVE header)');
  let fmt: { format: number; channels: number; rate: number; bits: number; align: number } | undefined;
  let off = 12;
  while (off + 8 <= bytes.length) {
    const id = tag(off);
    const size = view.getUint32(off + 4, true);
    const body = off + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > bytes.length) throw bad('truncated fmt chunk');
      let format = view.getUint16(body, true);
      if (format === FORMAT_EXTENSIBLE && size >= 40 && body + 26 <= bytes.length) format = view.getUint16(body + 24, true);
      fmt = {
        format, channels: view.getUint16(body + 2, true), rate: view.getUint32(body + 4, true),
        align: view.getUint16(body + 12, true), bits: view.getUint16(body + 14, true),
      };
    } else if (id === 'data') {
      if (!fmt) throw bad('data chunk before fmt chunk');
      const end = Math.min(bytes.length, body + size);
      return decodeSamples(bytes.subarray(body, end), fmt, bad, (seconds) => tooLong(file, seconds, maxSeconds), maxSeconds);
    }
    off = body + size + (size & 1);
  }
  throw bad(fmt ? 'no data chunk (truncated?)' : 'no fmt chunk');
}

function decodeSamples(
  data: Uint8Array,
  f: { format: number; channels: number; rate: number; bits: number; align: number },
  bad: (why: string) => DatasetError,
  long: (seconds: number) => DatasetError,
  maxSeconds: number,
): PcmAudio {
  const { format, channels: nch, rate, bits } = f;
  if (nch < 1 || nch > 64) throw bad(`unsupported channel count ${nch}`);
  if (!(rate >= 1000 && rate <= 768_000)) throw bad(`unsupported sample rate ${rate}`);
  const isFloat = format === FORMAT_FLOAT;
  if (!(format === FORMAT_PCM || isFloat)) throw bad(`unsupported WAV encoding (format tag ${format}); use PCM or float`);
  if (isFloat ? bits !== 32 && bits !== 64 : ![8, 16, 24, 32].includes(bits)) throw bad(`unsupported ${bits}-bit ${isFloat ? 'float' : 'PCM'}`);
  const bps = bits / 8;
  const frame = bps * nch;
  const frames = Math.floor(data.length / frame);
  if (frames / rate > maxSeconds) throw long(frames / rate);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out = Array.from({ length: nch }, () => new Float32Array(frames));
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < nch; c++) {
      const o = i * frame + c * bps;
      let v: number;
      if (isFloat) v = bits === 32 ? view.getFloat32(o, true) : view.getFloat64(o, true);
      else if (bits === 8) v = (data[o] - 128) / 128;
      else if (bits === 16) v = view.getInt16(o, true) / 32768;
      else if (bits === 24) v = ((data[o] | (data[o + 1] << 8) | (data[o + 2] << 16)) << 8 >> 8) / 8388608;
      else v = view.getInt32(o, true) / 2147483648;
      out[c][i] = v;
    }
  }
  return { sampleRate: rate, channels: out };
}

/** Encodes channels as a WAV file: PCM16 (default, clipped to [-1,1]) or 32-bit float. */
export function writeWav(audio: PcmAudio, encoding: 'pcm16' | 'float32' = 'pcm16'): Uint8Array {
  const nch = audio.channels.length;
  if (nch < 1) throw new DatasetError('INVALID', 'writeWav needs at least one channel');
  const frames = audio.channels[0].length;
  const bps = encoding === 'pcm16' ? 2 : 4;
  const dataLen = frames * nch * bps;
  const buf = new Uint8Array(44 + dataLen);
  const v = new DataView(buf.buffer);
  const str = (o: number, s: string) => { for (let i = 0; i < 4; i++) buf[o + i] = s.charCodeAt(i); };
  str(0, 'RIFF'); v.setUint32(4, 36 + dataLen, true); str(8, 'WAVE');
  str(12, 'fmt '); v.setUint32(16, 16, true);
  v.setUint16(20, encoding === 'pcm16' ? FORMAT_PCM : FORMAT_FLOAT, true);
  v.setUint16(22, nch, true); v.setUint32(24, audio.sampleRate, true);
  v.setUint32(28, audio.sampleRate * nch * bps, true); v.setUint16(32, nch * bps, true); v.setUint16(34, bps * 8, true);
  str(36, 'data'); v.setUint32(40, dataLen, true);
  let o = 44;
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < nch; c++) {
      const s = audio.channels[c][i];
      if (encoding === 'pcm16') {
        const x = Number.isFinite(s) ? Math.max(-1, Math.min(1, s)) : 0;
        v.setInt16(o, x < 0 ? Math.round(x * 32768) : Math.round(x * 32767), true);
      } else {
        v.setFloat32(o, s, true);
      }
      o += bps;
    }
  }
  return buf;
}

/** Duration in seconds of decoded audio. */
export function durationOf(audio: PcmAudio): number {
  return (audio.channels[0]?.length ?? 0) / audio.sampleRate;
}
