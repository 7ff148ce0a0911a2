// Held-out evaluation of the pre-training task: contrastive accuracy (the true quantised frame ranked above
// all distractors) on crops of recordings, with deterministic argmax quantisation (no Gumbel noise).
import { GraphBuilder, toOnnx } from '../graph/index';
import { InThreadRuntime } from '../runtime/index';
import { Rng } from '../train/rng';
import { framesFor, type AudioEncoderConfig } from './config';
import { makePretrainFeeds } from './data';
import { pretrainModel } from './model';

/** The evaluation graph (loss and metrics as outputs) with the weights baked in. */
export function contrastiveEvalModel(cfg: AudioEncoderConfig, params: Readonly<Record<string, Float32Array>>, batch: number, frames: number): Uint8Array {
  const b = new GraphBuilder();
  const { loss, metrics = {} } = pretrainModel(cfg, batch, frames, false)(b);
  b.output('loss', loss);
  for (const [k, v] of Object.entries(metrics)) b.output(k, v);
  return toOnnx(b.build(), { params: { kind: 'initializers', values: params } }).model;
}

/**
 * Contrastive accuracy and loss over recordings (one crop of up to `frames` frames each, span-masked as in
 * training, distractors from the same crop), weighted by masked frames.
 */
export async function contrastiveAccuracy(cfg: AudioEncoderConfig, params: Readonly<Record<string, Float32Array>>, recordings: readonly Float32Array[], o: { batch?: number; frames?: number; seed?: number } = {}): Promise<{ accuracy: number; loss: number; masked: number }> {
  const B = o.batch ?? 8;
  const T = o.frames ?? 128;
  const rt = new InThreadRuntime();
  await rt.load('eval', contrastiveEvalModel(cfg, params, B, T));
  const rng = new Rng(o.seed ?? 12345);
  let hits = 0;
  let lossSum = 0;
  let masked = 0;
  try {
    for (let i = 0; i + B <= recordings.length; i += B) {
      const recs = recordings.slice(i, i + B);
      const lengths = recs.map((x) => Math.max(1, Math.min(T, framesFor(cfg, x.length))));
      const out = await rt.run('eval', makePretrainFeeds(cfg, recs, T, lengths, rng));
      const m = (out.masked.data as Float32Array)[0];
      hits += (out.accuracy.data as Float32Array)[0] * m;
      lossSum += (out.contrastive.data as Float32Array)[0] * m;
      masked += m;
    }
  } finally {
    await rt.close();
  }
  if (masked === 0) throw new Error(`contrastive evaluation needs at least ${B} recordings, got ${recordings.length}`);
  return { accuracy: hits / masked, loss: lossSum / masked, masked };
}
