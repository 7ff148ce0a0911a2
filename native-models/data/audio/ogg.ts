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

/** Most channels read (Opus and Vorbis allow 255; speech files have one or two). */
const MAX_CHANNELS = 8;

/** One Ogg page: its bytes, and what its header says. */
interface OggPage {
  bytes: Uint8Array;
  /** Beginning of a logical stream. */
  first: boolean;
  /** Samples (at the codec's granule rate) decoded by the end of this page; -1 when no packet ends on it. */
  granule: number;
}

/** Splits an Ogg file into pages by their headers (a truncated last page is passed on as it is, a cut-off header dropped). */
function* oggPages(bytes: Uint8Array, bad: (why: string) => DatasetError): Generator<OggPage> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at < bytes.length) {
    if (at + 27 > bytes.length) return; // a header cut off at the end: what came before is read
    if (view.getUint32(at) !== 0x4f676753) throw bad(`no Ogg page at byte ${at} (corrupt)`);
    const segments = bytes[at + 26];
    let size = 27 + segments;
    for (let i = 0; i < segments && at + 27 + i < bytes.length; i++) size += bytes[at + 27 + i];
    const granule = Number(view.getBigInt64(at + 6, true));
    yield { bytes: bytes.subarray(at, Math.min(bytes.length, at + size)), first: (bytes[at + 5] & 0x02) !== 0, granule };
    at += size;
  }
}

/** Channel count from a stream's identification header (OpusHead byte 9; Vorbis id header byte 11). */
function headerChannels(page: Uint8Array, codec: 'opus' | 'vorbis'): number | undefined {
  const body = 27 + page[26];
  const at = codec === 'opus' ? body + 9 : body + 11;
  return at < page.length ? page[at] : undefined;
}

/**
 * Decodes an Ogg Opus or Ogg Vorbis file (one logical stream). Empty, truncated-to-nothing or corrupt input is
 * BAD_MEDIA; so are more than MAX_CHANNELS channels, chained or multiplexed streams, and more than `maxSeconds` of
 * audio. The decoder is fed one page at a time (at most 255 packets, ~30 s of Opus) and the length is checked
 * before each page (its granule position) and after it (what it decoded): a small file can hold hours of audio.
 */
export async function decodeOgg(bytes: Uint8Array, file = '<ogg>', maxSeconds = Infinity): Promise<PcmAudio> {
  const bad = (why: string) => new DatasetError('BAD_MEDIA', `${file}: ${why}`, { file });
  if (bytes.length === 0) throw bad('empty file (0 bytes)');
  const codec = oggCodec(bytes);
  if (!codec) throw bad('not an Ogg Opus or Ogg Vorbis file');
  const decoder = codec === 'opus' ? new OggOpusDecoder() : new OggVorbisDecoder();
  try {
    await decoder.ready;
    const parts: Float32Array[][] = [];
    let total = 0;
    let rate = 0;
    // Opus granule positions count 48 kHz samples; Vorbis ones count samples at the stream's rate (known after
    // the first page has been decoded; until then no audio has been either).
    let granuleRate = codec === 'opus' ? 48000 : 0;
    let streams = 0;
    const take = (r: { channelData: Float32Array[]; samplesDecoded: number; sampleRate: number }) => {
      if (!r.samplesDecoded || r.channelData.length === 0) return;
      rate = r.sampleRate;
      // The decoder reuses its buffers: keep copies.
      parts.push(r.channelData.map((c) => c.slice(0, r.samplesDecoded)));
      total += r.samplesDecoded;
      if (total / rate > maxSeconds) throw tooLong(file, total / rate, maxSeconds, true);
    };
    for (const page of oggPages(bytes, bad)) {
      if (page.first) {
        if (++streams > 1) throw bad('holds more than one Ogg stream (chained or multiplexed files are not read)');
        const channels = headerChannels(page.bytes, codec);
        if (channels !== undefined && channels > MAX_CHANNELS) throw bad(`has ${channels} channels; at most ${MAX_CHANNELS} are read`);
      }
      if (granuleRate && page.granule > 0 && page.granule / granuleRate > maxSeconds + 1) throw tooLong(file, page.granule / granuleRate, maxSeconds, true);
      take(await decoder.decode(page.bytes));
      if (!granuleRate && rate) granuleRate = rate;
    }
    take(await decoder.flush());
    if (!total) throw bad(`no audio could be decoded (truncated or corrupt ${codec})`);
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
