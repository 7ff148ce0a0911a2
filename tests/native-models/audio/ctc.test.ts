import { describe, expect, it } from 'vitest';
import { buildGraph, toOnnx } from '../../../native-models/graph';
import { alignEdits, characterErrors, CHARSET, ctcFeeds, ctcLoss, editDistance, encodeText, errorRates, greedyDecode, normalizeText } from '../../../native-models/audio/ctc';
import { InThreadRuntime } from '../../../native-models/runtime';
import { Rng } from '../../../native-models/train/rng';

/** Textbook CTC negative log-likelihood (float64, log space) of one sequence: logits [T,V]. */
function referenceCtc(logits: Float64Array, T: number, V: number, label: number[]): number {
  const logp = new Float64Array(T * V);
  for (let t = 0; t < T; t++) {
    let m = -Infinity;
    for (let v = 0; v < V; v++) m = Math.max(m, logits[t * V + v]);
    let s = 0;
    for (let v = 0; v < V; v++) s += Math.exp(logits[t * V + v] - m);
    for (let v = 0; v < V; v++) logp[t * V + v] = logits[t * V + v] - m - Math.log(s);
  }
  const ext = [0];
  for (const l of label) ext.push(l, 0);
  const S = ext.length;
  const lse = (...xs: number[]) => {
    const m = Math.max(...xs);
    return m === -Infinity ? m : m + Math.log(xs.reduce((a, x) => a + Math.exp(x - m), 0));
  };
  let alpha = ext.map((c, s) => (s < 2 ? logp[c] : -Infinity));
  for (let t = 1; t < T; t++) {
    alpha = ext.map((c, s) => {
      const terms = [alpha[s]];
      if (s >= 1) terms.push(alpha[s - 1]);
      if (s >= 2 && c !== 0 && c !== ext[s - 2]) terms.push(alpha[s - 2]);
      return lse(...terms) + logp[t * V + c];
    });
  }
  return -lse(alpha[S - 1], S >= 2 ? alpha[S - 2] : -Infinity);
}

describe('CTC probe pieces', () => {
  it('the in-graph CTC loss equals a textbook implementation (repeats, padding frames, short labels)', async () => {
    const B = 3;
    const T = 12;
    const V = CHARSET.length;
    const L = 6;
    const rng = new Rng(4);
    const logits = Float32Array.from({ length: B * T * V }, () => rng.normal() * 2);
    const labels = [[3, 3, 5], [1], [7, 8, 7, 9, 9, 2]];
    const lengths = [12, 5, 12];
    const g = buildGraph((b) => ({ loss: ctcLoss(b, b.input('logits', 'float32', [B, T, V]), L) }));
    const rt = new InThreadRuntime();
    await rt.load('ctc', toOnnx(g).model);
    const out = await rt.run('ctc', { logits: { dtype: 'float32', dims: [B, T, V], data: logits }, ...ctcFeeds(labels, lengths, T, L) });
    await rt.close();
    let want = 0;
    labels.forEach((l, b) => {
      const x = Float64Array.from(logits.subarray(b * T * V, b * T * V + lengths[b] * V));
      want += referenceCtc(x, lengths[b], V, l) / l.length;
    });
    expect((out.loss.data as Float32Array)[0]).toBeCloseTo(want / B, 3);
  });

  it('greedy decoding merges repeats and drops blanks; error rates count edits', () => {
    const V = CHARSET.length;
    const path = [0, 3, 3, 0, 3, 1, 1, 20, 0]; // b b _ b ' ' ' ' s
    const logits = new Float32Array(path.length * V);
    path.forEach((c, t) => { logits[t * V + c] = 5; });
    expect(greedyDecode(logits, path.length)).toBe('bb s');
    expect(normalizeText("The cat's  HAT, ok!")).toBe("the cat's hat ok");
    expect(encodeText('ab ')).toEqual([2, 3]);
    expect(editDistance([...'kitten'], [...'sitting'])).toBe(3);
    expect(alignEdits([...'kitten'], [...'sitting']).map((e) => e.kind)).toEqual(['sub', 'match', 'match', 'match', 'sub', 'match', 'ins']);
    expect(editDistance([], [...'ab'])).toBe(2);
    const ce = characterErrors([{ ref: 'a red apple', hyp: 'a rad aple' }, { ref: 'cat', hyp: 'cats' }]);
    expect(ce.chars).toBe(14);
    expect([ce.sub, ce.del, ce.ins].map((v) => v * 14)).toEqual([1, 1, 1]);
    expect(ce.subs).toEqual([['e>a', 1 / 14]]);
    expect(ce.dels).toEqual([['p', 1 / 14]]);
    expect(ce.inss).toEqual([['s', 1 / 14]]);
    const r = errorRates([{ ref: 'a red apple', hyp: 'a red appel' }]);
    expect(r.cer).toBeCloseTo(2 / 11, 6);
    expect(r.wer).toBeCloseTo(1 / 3, 6);
  });
});
