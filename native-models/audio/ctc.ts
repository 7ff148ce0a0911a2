// CTC (Graves et al. 2006) for the character probe, built in-graph from primitives: the forward algorithm in
// log space, unrolled over a fixed number of frames T and a fixed extended-label width S = 2*maxLabel+1, so
// the engine's autodiff gives its gradient. Host side: the character set, label encoding, greedy decoding
// and edit-distance error rates.
import type { GraphBuilder, Value } from '../graph/index';
import type { Tensor } from '../runtime/tensor';

/** Index 0 is the CTC blank; then space, a-z and the apostrophe. */
export const CHARSET = ['_', ' ', ...'abcdefghijklmnopqrstuvwxyz', "'"];
const CHAR_INDEX = new Map(CHARSET.map((c, i) => [c, i]));

/** Lower-case, letters/apostrophe/space only, single spaces (what the probe transcribes). */
export function normalizeText(s: string): string {
  return s.toLowerCase().replace(/[^a-z' ]+/g, ' ').replace(/\s+/g, ' ').trim();
}

/** Character ids of normalised text (no blanks). */
export function encodeText(s: string): number[] {
  return [...normalizeText(s)].map((c) => CHAR_INDEX.get(c)!);
}

/** Far below any log-probability, yet finite (so 0 * NEG and NEG - NEG stay defined). */
const NEG = -1e30;

/** Host-side CTC inputs of a batch of label sequences (each at most maxLabel ids) for T frames. */
export function ctcFeeds(labels: readonly number[][], frameLengths: readonly number[], frames: number, maxLabel: number): Record<string, Tensor> {
  const B = labels.length;
  const S = 2 * maxLabel + 1;
  const ext = new BigInt64Array(B * S);
  const skip = new Float32Array(B * S).fill(NEG);
  const endMask = new Float32Array(B * S).fill(NEG);
  const frameMask = new Float32Array(B * frames);
  const labelLen = new Float32Array(B);
  labels.forEach((l, b) => {
    if (l.length > maxLabel) throw new Error(`label of ${l.length} characters exceeds the probe's ${maxLabel}`);
    for (let i = 0; i < l.length; i++) ext[b * S + 2 * i + 1] = BigInt(l[i]);
    // s may come from s-2 when s is a character different from the one two back.
    for (let i = 1; i < l.length; i++) if (l[i] !== l[i - 1]) skip[b * S + 2 * i + 1] = 0;
    const sb = 2 * l.length + 1;
    endMask[b * S + sb - 1] = 0;
    if (sb >= 2) endMask[b * S + sb - 2] = 0;
    frameMask.fill(1, b * frames, b * frames + Math.min(frames, frameLengths[b]));
    labelLen[b] = Math.max(1, l.length);
  });
  return {
    ctc_ext: { dtype: 'int64', dims: [B, S], data: ext },
    ctc_skip: { dtype: 'float32', dims: [B, S], data: skip },
    ctc_end: { dtype: 'float32', dims: [B, S], data: endMask },
    ctc_frames: { dtype: 'float32', dims: [B, frames], data: frameMask },
    ctc_label_len: { dtype: 'float32', dims: [B], data: labelLen },
  };
}

/** Frames a label needs at least (one per character, plus a blank between repeats). */
export function ctcMinFrames(label: readonly number[]): number {
  let n = label.length;
  for (let i = 1; i < label.length; i++) if (label[i] === label[i - 1]) n++;
  return n;
}

/**
 * Mean over the batch of -log p(label | x) / label length, for logits [B,T,V]. Declares the inputs that
 * ctcFeeds() fills. Per frame t: alpha_t(s) = logsumexp(alpha(s), alpha(s-1), alpha(s-2) + skip(s)) + logp_t(ext(s));
 * frames past an utterance's length keep alpha unchanged; the end is logsumexp over the last two states.
 */
export function ctcLoss(b: GraphBuilder, logits: Value, maxLabel: number): Value {
  const [B, T] = logits.shape;
  const S = 2 * maxLabel + 1;
  const ext = b.input('ctc_ext', 'int64', [B, S]);
  const skip = b.input('ctc_skip', 'float32', [B, S]);
  const endMask = b.input('ctc_end', 'float32', [B, S]);
  const frameValid = b.greater(b.input('ctc_frames', 'float32', [B, T]), 0.5);
  const labelLen = b.input('ctc_label_len', 'float32', [B]);
  const logp = b.logSoftmax(logits, -1);
  const emit = b.gatherElements(logp, b.expand(b.reshape(ext, [B, 1, S]), [B, T, S]), 2); // [B,T,S]
  // One Split per input (not a Slice per frame: each Slice's gradient would be a full-size padded tensor).
  const emits = b.split(emit, 1, new Array<number>(T).fill(1)).map((e) => b.reshape(e, [B, S]));
  const valids = b.split(frameValid, 1, new Array<number>(T).fill(1));
  const init = b.constant(Array.from({ length: S }, (_, s) => (s < 2 ? 0 : NEG)), [1, S]);
  const neg1 = b.constant(new Array<number>(B).fill(NEG), [B, 1]);
  const neg2 = b.constant(new Array<number>(2 * B).fill(NEG), [B, 2]);
  let alpha = b.add(init, emits[0]);
  for (let t = 1; t < T; t++) {
    const a1 = b.concat([neg1, b.slice(alpha, [1], [0], [S - 1])], 1);
    const a2 = b.add(b.concat([neg2, b.slice(alpha, [1], [0], [S - 2])], 1), skip);
    const m = b.stopGradient(b.max(alpha, b.max(a1, a2)));
    const sum = b.add(b.add(b.exp(b.sub(alpha, m)), b.exp(b.sub(a1, m))), b.exp(b.sub(a2, m)));
    const next = b.add(b.add(m, b.log(sum)), emits[t]);
    alpha = b.where(valids[t], next, alpha);
  }
  const fin = b.add(alpha, endMask);
  const m = b.stopGradient(b.reduceMax(fin, [1], true));
  const ll = b.add(b.reshape(m, [B]), b.log(b.reduceSum(b.exp(b.sub(fin, m)), [1])));
  return b.reduceMean(b.div(b.neg(ll), labelLen));
}

/** Greedy CTC decoding of logits [T,V] row-major: argmax per frame, merge repeats, drop blanks. */
export function greedyDecode(logits: Float32Array, frames: number, vocab = CHARSET.length): string {
  let out = '';
  let prev = -1;
  for (let t = 0; t < frames; t++) {
    let best = 0;
    for (let v = 1; v < vocab; v++) if (logits[t * vocab + v] > logits[t * vocab + best]) best = v;
    if (best !== prev && best !== 0) out += CHARSET[best];
    prev = best;
  }
  return out.replace(/\s+/g, ' ').trim();
}

/** One step of an alignment of a reference with a hypothesis. */
export type Edit<T> = { kind: 'match' | 'sub'; ref: T; hyp: T } | { kind: 'del'; ref: T } | { kind: 'ins'; hyp: T };

/** A minimum-edit alignment of `ref` with `hyp` (Levenshtein, with its backtrace), in order. */
export function alignEdits<T>(ref: readonly T[], hyp: readonly T[]): Edit<T>[] {
  const w = hyp.length + 1;
  const d = new Int32Array((ref.length + 1) * w);
  for (let j = 0; j < w; j++) d[j] = j;
  for (let i = 1; i <= ref.length; i++) {
    d[i * w] = i;
    for (let j = 1; j < w; j++) d[i * w + j] = Math.min(d[(i - 1) * w + j] + 1, d[i * w + j - 1] + 1, d[(i - 1) * w + j - 1] + (ref[i - 1] === hyp[j - 1] ? 0 : 1));
  }
  const out: Edit<T>[] = [];
  let i = ref.length;
  let j = hyp.length;
  while (i > 0 || j > 0) {
    const here = d[i * w + j];
    if (i > 0 && j > 0 && here === d[(i - 1) * w + j - 1] + (ref[i - 1] === hyp[j - 1] ? 0 : 1)) {
      out.push({ kind: ref[i - 1] === hyp[j - 1] ? 'match' : 'sub', ref: ref[i - 1], hyp: hyp[j - 1] });
      i--;
      j--;
    } else if (i > 0 && here === d[(i - 1) * w + j] + 1) out.push({ kind: 'del', ref: ref[--i] });
    else out.push({ kind: 'ins', hyp: hyp[--j] });
  }
  return out.reverse();
}

/** Levenshtein distance between two sequences. */
export function editDistance<T>(a: readonly T[], b: readonly T[]): number {
  return alignEdits(a, b).filter((e) => e.kind !== 'match').length;
}

/**
 * Where the character errors of a corpus are: substitutions, deletions and insertions (normalised text, as
 * errorRates counts them), each as a share of the reference characters, and the most frequent of each kind
 * ("e>a" = reference e read as a; a space is shown as "_").
 */
export function characterErrors(pairs: readonly { ref: string; hyp: string }[], top = 10): { chars: number; sub: number; del: number; ins: number; subs: [string, number][]; dels: [string, number][]; inss: [string, number][] } {
  const count = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  const subs = new Map<string, number>();
  const dels = new Map<string, number>();
  const inss = new Map<string, number>();
  let chars = 0;
  const shown = (c: string) => (c === ' ' ? '_' : c);
  for (const { ref, hyp } of pairs) {
    const r = [...normalizeText(ref)];
    chars += r.length;
    for (const e of alignEdits(r, [...normalizeText(hyp)])) {
      if (e.kind === 'sub') count(subs, `${shown(e.ref)}>${shown(e.hyp)}`);
      else if (e.kind === 'del') count(dels, shown(e.ref));
      else if (e.kind === 'ins') count(inss, shown(e.hyp));
    }
  }
  const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0) / Math.max(1, chars);
  const most = (m: Map<string, number>): [string, number][] => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, n]) => [k, n / Math.max(1, chars)]);
  return { chars, sub: total(subs), del: total(dels), ins: total(inss), subs: most(subs), dels: most(dels), inss: most(inss) };
}

/** Corpus error rates: character (over normalised text) and word edits divided by reference lengths. */
export function errorRates(pairs: readonly { ref: string; hyp: string }[]): { cer: number; wer: number } {
  let ce = 0;
  let cn = 0;
  let we = 0;
  let wn = 0;
  for (const { ref, hyp } of pairs) {
    const r = normalizeText(ref);
    const h = normalizeText(hyp);
    ce += editDistance([...r], [...h]);
    cn += r.length;
    const rw = r.split(' ').filter(Boolean);
    we += editDistance(rw, h.split(' ').filter(Boolean));
    wn += rw.length;
  }
  return { cer: ce / Math.max(1, cn), wer: we / Math.max(1, wn) };
}
