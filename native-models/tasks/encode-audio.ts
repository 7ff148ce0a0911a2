// encode-audio: any audio file or PCM -> OPT's audio tokens. prepare (decode, 16 kHz mono, loudness
// normalisation: audio/front-end.ts) -> run (the packaged wav2vec 2.0 encoder) -> postprocess (speech tokens,
// vectors pooled to at most 64). The contract is documented in native-models/audio/README.md.
import type { PcmAudio } from '../data/audio/index';
import { AudioEncoder, MAX_AUDIO_TOKENS, poolFrames, speechTokens } from '../audio/encoder';
import { loadSpeech, speechFromPcm, type Speech } from '../audio/front-end';

/** What OPT's audio encoder consumes, as plain data. */
export interface AudioTokens extends Pick<Speech, 'durationS' | 'sourceRate' | 'sourceChannels' | 'gainDb' | 'silent' | 'clipped'> {
  /** Input duration after conversion (s) and the front end's observations come from Speech, as reported there. */
  /** Frame rate of `frames`/`codes`/`tokens` (50 per second: 20 ms frames). */
  frameRate: number;
  /** Frames, and their context vectors [length, dim] row-major. */
  length: number;
  dim: number;
  frames: Float32Array;
  /** Speech tokens, one per frame (ids < vocab), and the per-group codebook entries [length, groups]. */
  tokens: number[];
  vocab: number;
  codes: Int32Array;
  groups: number;
  /** Frame vectors mean-pooled over `window` frames: at most 64 tokens for OPT ([count, dim] row-major). */
  pooled: { count: number; window: number; vectors: Float32Array };
}

/**
 * Encodes speech for OPT. Example:
 * ```ts
 * const enc = AudioEncoder.fromPackage();
 * const t = await encodeAudioFile(enc, 'caption.ogg');
 * console.log(t.tokens.slice(0, 10), t.pooled.count);   // speech tokens; <= 64 pooled vectors of t.dim
 * ```
 */
export async function encodeSpeech(enc: AudioEncoder, speech: Speech, maxTokens = MAX_AUDIO_TOKENS): Promise<AudioTokens> {
  const e = await enc.encode(speech.samples);
  const cfg = enc.config;
  return {
    durationS: speech.durationS, sourceRate: speech.sourceRate, sourceChannels: speech.sourceChannels,
    gainDb: speech.gainDb, silent: speech.silent, clipped: speech.clipped,
    frameRate: cfg.sampleRate / cfg.conv.reduce((h, l) => h * l.stride, 1),
    length: e.length, dim: e.dim, frames: e.frames,
    tokens: speechTokens(e), vocab: cfg.codebookEntries ** cfg.codebookGroups, codes: e.codes, groups: e.groups,
    pooled: poolFrames(e, maxTokens),
  };
}

/** A file (WAV or Ogg Opus/Vorbis, any rate/channels) to tokens; errors name the file. */
export async function encodeAudioFile(enc: AudioEncoder, pathOrBytes: string | Uint8Array, opts: { file?: string; maxTokens?: number } = {}): Promise<AudioTokens> {
  return encodeSpeech(enc, await loadSpeech(pathOrBytes, { file: opts.file, minSamples: enc.minSamples }), opts.maxTokens);
}

/** Decoded PCM (e.g. from the recorder) to tokens. */
export async function encodePcm(enc: AudioEncoder, audio: PcmAudio, opts: { file?: string; maxTokens?: number } = {}): Promise<AudioTokens> {
  return encodeSpeech(enc, speechFromPcm(audio, opts.file, enc.minSamples), opts.maxTokens);
}
