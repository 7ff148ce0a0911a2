// Param initialisation: deterministic from a seed, so a run and its resume start from the same weights.
import { numel } from './ir';
import type { Graph, Init } from './ir';

/** mulberry32: a small, fast, seedable PRNG (enough for initialisation). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fills a tensor per its Init with numbers from `next` (Box-Muller for normals). */
export function initTensor(init: Init, shape: readonly number[], next: () => number): Float32Array {
  const out = new Float32Array(numel(shape));
  switch (init.kind) {
    case 'zeros': break;
    case 'ones': out.fill(1); break;
    case 'uniform': for (let i = 0; i < out.length; i++) out[i] = (next() * 2 - 1) * init.bound; break;
    case 'normal':
      for (let i = 0; i < out.length; i += 2) {
        const r = Math.sqrt(-2 * Math.log(1 - next()));
        const th = 2 * Math.PI * next();
        out[i] = r * Math.cos(th) * init.std;
        if (i + 1 < out.length) out[i + 1] = r * Math.sin(th) * init.std;
      }
      break;
  }
  return out;
}

/** Initial values of every param of a graph, by name, from one seed (same seed, same values). */
export function initParams(graph: Graph, seed = 0): Map<string, Float32Array> {
  const next = rng(seed);
  const out = new Map<string, Float32Array>();
  for (const p of graph.params) out.set(p.value.name!, initTensor(p.init, p.value.shape, next));
  return out;
}
