// A small seeded PRNG (xoshiro128**) whose whole state is four 32-bit numbers, so data order and
// in-graph dropout seeds can be checkpointed and resumed exactly.

/** Serialisable RNG state. */
export type RngState = [number, number, number, number];

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export class Rng {
  private s: Uint32Array;

  /** Seeds from an integer (any JS number; fractional parts ignored). */
  constructor(seed: number | RngState = 0) {
    if (Array.isArray(seed)) {
      if (seed.length !== 4 || !seed.every((x) => Number.isInteger(x) && x >= 0 && x <= 0xffffffff)) throw new Error('Rng: state must be four uint32 values');
      this.s = Uint32Array.from(seed);
    } else {
      const sm = splitmix32(Math.trunc(seed) ^ Math.trunc(seed / 0x100000000));
      this.s = Uint32Array.from([sm(), sm(), sm(), sm()]);
    }
    if (this.s.every((x) => x === 0)) this.s[0] = 1;
  }

  /** A uniformly random uint32. */
  nextU32(): number {
    const s = this.s;
    const r = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return r;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 0x100000000;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** Fisher-Yates shuffle in place. */
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a;
  }

  state(): RngState {
    return [this.s[0], this.s[1], this.s[2], this.s[3]];
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
