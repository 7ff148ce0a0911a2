// Ogg decoding (Opus and Vorbis, e.g. Localized Narratives voice files) through npm wasm decoders,
// and Ogg Vorbis encoding for exports. The codec is read from the first Ogg page.

import { OggOpusDecoder } from 'ogg-opus-decoder';
import { OggVorbisDecoder } from '@wasm-audio-decoders/ogg-vorbis';
import { createOggEncoder } from 'wasm-media-encoders';
import { DatasetError } from '../store/errors';
import { tooLong, type PcmAudio } from './wav';

/** The codec inside an Ogg file, from its first page; undefined when not Ogg Opus/Vorbis. */
export function oggCodec(bytes: Uint8Array): 'opus' | 'vorbis' | undefined {
  if (bytes.length < 32 || bytes[0] !== 0x4f || bytes[1] !== 0x67 || bytes[2] !== 0x67 || bytes[3] !== 0x53) return undefined;
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, 128)).toString('latin1');
  if (head.includes('OpusHead')) return 'opus';
  if (head.includes('\x01vorbis')) return 'vorbis';
  return undefined;
}

/** Bytes handed to the decoder at a time: the length limit is checked between chunks. */
const CHUNK = 1 << 16;

/**
 * Decodes an Ogg Opus or Ogg Vorbis file. Empty, truncated-to-nothing or corrupt input is BAD_MEDIA; so is more
 * than `maxSeconds` of audio, found chunk by chunk (a small file can hold hours of Opus).
 */
export async function decodeOgg(bytes: Uint8Array, file = '<ogg>', maxSeconds = Infinity): Promise<PcmAudio> {
  if (bytes.length === 0) throw new DatasetError('BAD_MEDIA', `${file}: empty file (0 bytes)`, { file });
  const codec = oggCodec(bytes);
  if (!codec) throw new DatasetError('BAD_MEDIA', `${file}: not an Ogg Opus or Ogg Vorbis file`, { file });
  const decoder = codec === 'opus' ? new OggOpusDecoder() : new OggVorbisDecoder();
  try {
    await decoder.ready;
    const parts: Float32Array[][] = [];
    let total = 0;
    let rate = 0;
    const take = (r: { channelData: Float32Array[]; samplesDecoded: number; sampleRate: number }) => {
      if (!r.samplesDecoded || r.channelData.length === 0) return;
      rate = r.sampleRate;
      // The decoder reuses its buffers: keep copies.
      parts.push(r.channelData.map((c) => c.slice(0, r.samplesDecoded)));
      total += r.samplesDecoded;
      if (total / rate > maxSeconds) throw tooLong(file, total / rate, maxSeconds, true);
    };
    for (let at = 0; at < bytes.length; at += CHUNK) take(await decoder.decode(bytes.subarray(at, at + CHUNK)));
    take(await decoder.flush());
    if (!total) throw new DatasetError('BAD_MEDIA', `${file}: no audio could be decoded (truncated or corrupt ${codec})`, { file });
    const channels = Math.max(...parts.map((p) => p.length));
    return {
      sampleRate: rate,
      channels: Array.from({ length: channels }, (_, c) => {
        const out = new Float32Array(total);
        let o = 0;
        for (const p of parts) {
          out.set(p[Math.min(c, p.length - 1)], o);
          o += p[0].length;
        }
        return out;
      }),
    };
  } catch (e) {
    if (e instanceof DatasetError) throw e;
    throw new DatasetError('BAD_MEDIA', `${file}: corrupt ${codec} audio (${(e as Error).message})`, { file, cause: e });
  } finally {
    decoder.free();
  }
}

/** Encodes mono or multi-channel audio as Ogg Vorbis (quality 0-10, default 4). */
export async function encodeOggVorbis(audio: PcmAudio, quality = 4): Promise<Uint8Array> {
  const enc = await createOggEncoder();
  enc.configure({ channels: audio.channels.length as 1 | 2, sampleRate: audio.sampleRate, vbrQuality: quality });
  const parts: Uint8Array[] = [];
  const step = 1 << 15;
  const n = audio.channels[0].length;
  // The encoder returns views into its wasm memory: copy each chunk before the next call.
  for (let i = 0; i < n; i += step) parts.push(enc.encode(audio.channels.map((c) => c.subarray(i, i + step))).slice());
  parts.push(enc.finalize().slice());
  return Buffer.concat(parts);
}
