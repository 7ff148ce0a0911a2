// Splits of EmojiScenes, fixed by (seed, size): train, val, test5k (the counterpart of the paper's
// OpenImage-5K: 5,000 items from 50,000 items up) and novel, whose scenes each hold one of a set of
// held-out object PAIRS that no train/val/test5k scene contains (compositional generalisation).

import { pairKey } from './scene';
import { Rng } from './prng';

export const SPLIT_NAMES = ['train', 'val', 'test5k', 'novel'] as const;
export type SplitName = (typeof SPLIT_NAMES)[number];
export type SplitSizes = Record<SplitName, number>;

/**
 * Default sizes for n items: test5k = min(5000, 10%), val = min(5000, 5%), novel = min(2000, 5%),
 * train = the rest. So 5,000 items give 4,000/250/500/250 and 50,000 or more give a full test5k.
 */
export function defaultSplitSizes(n: number): SplitSizes {
  const test5k = Math.min(5000, Math.floor(n * 0.1));
  const val = Math.min(5000, Math.floor(n * 0.05));
  const novel = Math.min(2000, Math.floor(n * 0.05));
  return { train: n - test5k - val - novel, val, test5k, novel };
}

/**
 * Parses `--split-sizes` ("val=200,test5k=5000,novel=100"; a missing split gets its default size,
 * except train, which gets whatever is left). Counts must be whole, non-negative and sum to n.
 */
export function parseSplitSizes(spec: string, n: number): SplitSizes {
  const given: Partial<SplitSizes> = {};
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([a-z0-9]+)\s*=\s*(\d+)$/.exec(part);
    if (!m) throw new Error(`--split-sizes: "${part}" is not name=count (e.g. val=200,test5k=5000,novel=100)`);
    if (!(SPLIT_NAMES as readonly string[]).includes(m[1])) throw new Error(`--split-sizes: unknown split "${m[1]}" (splits: ${SPLIT_NAMES.join(', ')})`);
    given[m[1] as SplitName] = Number(m[2]);
  }
  const d = defaultSplitSizes(n);
  const out: SplitSizes = { train: 0, val: given.val ?? d.val, test5k: given.test5k ?? d.test5k, novel: given.novel ?? d.novel };
  out.train = given.train ?? n - out.val - out.test5k - out.novel;
  const sum = out.train + out.val + out.test5k + out.novel;
  if (out.train < 0) throw new Error(`--split-sizes: val=${out.val}, test5k=${out.test5k} and novel=${out.novel} add up to more than --size ${n}`);
  if (sum !== n) {
    throw new Error(`--split-sizes: ${SPLIT_NAMES.map((s) => `${s}=${out[s]}`).join(',')} adds up to ${sum}, not --size ${n}`);
  }
  return out;
}

/** Split of every item index (indices into SPLIT_NAMES), a seeded shuffle of the split sizes. */
export function assignSplits(seed: number, sizes: SplitSizes): Uint8Array {
  const n = SPLIT_NAMES.reduce((s, k) => s + sizes[k], 0);
  const out = new Uint8Array(n);
  let o = 0;
  SPLIT_NAMES.forEach((k, i) => {
    out.fill(i, o, o + sizes[k]);
    o += sizes[k];
  });
  const rng = Rng.for(seed, 'splits', n);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    const t = out[i];
    out[i] = out[j];
    out[j] = t;
  }
  return out;
}

/** Held-out class pairs for the novel split: about one pair per two novel items, distinct, no self-pairs. */
export function heldOutPairs(seed: number, classes: readonly number[], novelCount: number): [number, number][] {
  if (novelCount === 0) return [];
  if (classes.length < 2) throw new Error('the novel split needs at least 2 object classes');
  const maxPairs = (classes.length * (classes.length - 1)) / 2;
  const want = Math.min(Math.max(1, Math.ceil(novelCount / 2)), Math.floor(maxPairs / 4) || 1);
  const rng = Rng.for(seed, 'novel-pairs');
  const seen = new Set<string>();
  const out: [number, number][] = [];
  while (out.length < want) {
    const a = rng.pick(classes);
    const b = rng.pick(classes);
    if (a === b || seen.has(pairKey(a, b))) continue;
    seen.add(pairKey(a, b));
    out.push(a < b ? [a, b] : [b, a]);
  }
  return out;
}
