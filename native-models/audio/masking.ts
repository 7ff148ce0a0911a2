// Span masking and distractor sampling for pre-training, done on the host per batch (integers in, no
// gradient): wav2vec 2.0 draws span starts with probability p and masks `span` frames from each.
import type { Rng } from '../train/rng';

/**
 * Span mask over the first `length` of `frames` frames: each frame starts a span with probability `prob`
 * (at least one span per utterance), spans of `span` frames, clipped to the utterance. 1 = masked.
 */
export function spanMask(rng: Rng, frames: number, length: number, prob: number, span: number): Float32Array {
  const m = new Float32Array(frames);
  const starts = Math.max(1, Math.round(prob * length + rng.next()));
  const last = Math.max(1, length - span + 1);
  for (let s = 0; s < starts; s++) {
    const a = rng.int(last);
    for (let t = a; t < Math.min(length, a + span); t++) m[t] = 1;
  }
  return m;
}

/**
 * For every frame of every utterance, `k` distractor frames from the same utterance (never the frame
 * itself), as flat indices b*frames + t' into a [B*T] table. Padding frames point at frame 0 of their
 * utterance (their loss weight is 0).
 */
export function sampleNegatives(rng: Rng, lengths: readonly number[], frames: number, k: number): BigInt64Array {
  const out = new BigInt64Array(lengths.length * frames * k);
  lengths.forEach((len, b) => {
    for (let t = 0; t < frames; t++) {
      for (let j = 0; j < k; j++) {
        let u = 0;
        if (t < len && len > 1) {
          u = rng.int(len - 1);
          if (u >= t) u++;
        }
        out[(b * frames + t) * k + j] = BigInt(b * frames + u);
      }
    }
  });
  return out;
}
