// `encode-audio`: any audio file through the packaged wav2vec 2.0 encoder (tasks/encode-audio.ts); prints
// the front end's observations and the speech tokens (or JSON with pooled vectors).

import { AudioEncoder } from '../audio/encoder';
import { AudioInputError } from '../audio/front-end';
import { PackageError, defaultPackageDir } from '../packages/format';
import { encodeAudioFile } from '../tasks/encode-audio';
import { intOption, parseFileCommand, UsageError } from './args';
import type { Command } from './main';

const USAGE = `Usage: npm run cli -- encode-audio FILE [--json] [--vectors] [--max-tokens N] [--package DIR]

Encodes FILE (WAV of any sample format, Ogg Opus or Ogg Vorbis; any sample rate and channel count:
converted to 16 kHz mono and loudness-normalised) with the audio encoder (a compact wav2vec 2.0) and
prints its speech tokens: one codebook id per 20 ms frame.

Options:
  --json            print JSON: tokens, per-group codes, front-end notes, and with --vectors the
                    frame vectors pooled to at most --max-tokens (OPT's audio tokens)
  --vectors         include the pooled vectors in --json output
  --max-tokens N    pooled vectors at most (default 64)
  --package DIR     model package (default: native-models/packages/default)`;

export const encodeAudioCommand: Command = {
  summary: 'encode an audio file with the audio encoder and print its speech tokens',
  usage: USAGE,
  async run(argv) {
    let enc: AudioEncoder | undefined;
    try {
      const { o, file } = parseFileCommand(argv, { json: { type: 'boolean' }, vectors: { type: 'boolean' }, 'max-tokens': { type: 'string' }, package: { type: 'string' } }, 'audio file');
      const maxTokens = intOption(o['max-tokens'], 'max-tokens', 1, 4096, 64);
      enc = AudioEncoder.fromPackage(o.package ?? defaultPackageDir());
      const t = await encodeAudioFile(enc, file, { maxTokens });
      if (o.json) {
        console.log(JSON.stringify({
          file, durationS: t.durationS, sourceRate: t.sourceRate, sourceChannels: t.sourceChannels, gainDb: t.gainDb,
          silent: t.silent, clipped: t.clipped, frameRate: t.frameRate, frames: t.length, vocab: t.vocab, tokens: t.tokens,
          codes: Array.from({ length: t.length }, (_, i) => Array.from(t.codes.subarray(i * t.groups, (i + 1) * t.groups))),
          pooled: { count: t.pooled.count, window: t.pooled.window, dim: t.dim, ...(o.vectors ? { vectors: Array.from({ length: t.pooled.count }, (_, i) => Array.from(t.pooled.vectors.subarray(i * t.dim, (i + 1) * t.dim), (v) => Math.round(v * 1e4) / 1e4)) } : {}) },
        }));
      } else {
        const notes = [t.silent ? 'SILENT (no speech-level signal)' : '', t.clipped ? 'CLIPPED input' : ''].filter(Boolean).join(', ');
        console.log(`${file}: ${t.durationS.toFixed(2)} s (from ${t.sourceRate} Hz, ${t.sourceChannels} ch; gain ${t.gainDb.toFixed(1)} dB${notes ? `; ${notes}` : ''})`);
        console.log(`${t.length} frames at ${t.frameRate} Hz, ${t.pooled.count} pooled audio tokens (window ${t.pooled.window}), vocabulary ${t.vocab}`);
        console.log(`tokens: ${t.tokens.join(' ')}`);
      }
      return 0;
    } catch (e) {
      if (e instanceof UsageError || e instanceof AudioInputError || e instanceof PackageError) {
        console.error(e.message);
        return e instanceof UsageError ? 2 : 1;
      }
      throw e;
    } finally {
      await enc?.close();
    }
  },
};
