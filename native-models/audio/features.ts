// Classic speech features, the probe's baseline: log-mel filterbank energies and MFCCs (+ deltas) at the
// encoder's 20 ms hop, with per-utterance mean/variance normalisation. Plain TypeScript (radix-2 FFT).

const WIN = 400; // 25 ms at 16 kHz
const HOP = 320; // 20 ms, the encoder's frame rate
const NFFT = 512;

/** In-place radix-2 complex FFT of (re, im), length a power of two. */
function fft(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j], re[i]];
      [im[i], im[j]] = [im[j], im[i]];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = (-2 * Math.PI) / len;
    const wr = Math.cos(ang);
    const wi = Math.sin(ang);
    for (let i = 0; i < n; i += len) {
      let cr = 1;
      let ci = 0;
      for (let k = 0; k < len / 2; k++) {
        const a = i + k;
        const bIdx = a + len / 2;
        const xr = re[bIdx] * cr - im[bIdx] * ci;
        const xi = re[bIdx] * ci + im[bIdx] * cr;
        re[bIdx] = re[a] - xr;
        im[bIdx] = im[a] - xi;
        re[a] += xr;
        im[a] += xi;
        const t = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = t;
      }
    }
  }
}

const mel = (f: number) => 2595 * Math.log10(1 + f / 700);
const imel = (m: number) => 700 * (10 ** (m / 2595) - 1);

const banks = new Map<number, Float64Array[]>();
/** Triangular mel filters over the NFFT/2+1 bins, 20 Hz to 7600 Hz. */
function melBank(nMels: number, rate = 16000): Float64Array[] {
  let fb = banks.get(nMels);
  if (fb) return fb;
  const bins = NFFT / 2 + 1;
  const lo = mel(20);
  const hi = mel(7600);
  const pts = Array.from({ length: nMels + 2 }, (_, i) => (imel(lo + ((hi - lo) * i) / (nMels + 1)) * NFFT) / rate);
  fb = [];
  for (let m = 1; m <= nMels; m++) {
    const f = new Float64Array(bins);
    for (let k = 0; k < bins; k++) {
      if (k > pts[m - 1] && k <= pts[m]) f[k] = (k - pts[m - 1]) / (pts[m] - pts[m - 1]);
      else if (k > pts[m] && k < pts[m + 1]) f[k] = (pts[m + 1] - k) / (pts[m + 1] - pts[m]);
    }
    fb.push(f);
  }
  banks.set(nMels, fb);
  return fb;
}

/** Frames of a signal at the 20 ms hop (the last partial window zero-padded). */
export function featureFrames(samples: number): number {
  return Math.max(1, Math.ceil(samples / HOP));
}

/** Per-dimension mean/variance normalisation over the utterance, in place; [frames, dim] row-major. */
function cmvn(x: Float32Array, frames: number, dim: number): void {
  for (let d = 0; d < dim; d++) {
    let s = 0;
    let s2 = 0;
    for (let t = 0; t < frames; t++) {
      const v = x[t * dim + d];
      s += v;
      s2 += v * v;
    }
    const mean = s / frames;
    const sd = Math.sqrt(Math.max(1e-8, s2 / frames - mean * mean));
    for (let t = 0; t < frames; t++) x[t * dim + d] = (x[t * dim + d] - mean) / sd;
  }
}

/** Log-mel energies [frames, nMels] (25 ms Hann windows, 20 ms hop, CMVN). */
export function logMel(x: Float32Array, nMels = 80, normalize = true): { frames: number; dim: number; data: Float32Array } {
  const frames = featureFrames(x.length);
  const fb = melBank(nMels);
  const out = new Float32Array(frames * nMels);
  const re = new Float64Array(NFFT);
  const im = new Float64Array(NFFT);
  const hann = Float64Array.from({ length: WIN }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / WIN));
  const pow = new Float64Array(NFFT / 2 + 1);
  for (let t = 0; t < frames; t++) {
    re.fill(0);
    im.fill(0);
    const s = t * HOP - (WIN - HOP) / 2;
    for (let i = 0; i < WIN; i++) {
      const j = s + i;
      if (j >= 0 && j < x.length) re[i] = x[j] * hann[i];
    }
    fft(re, im);
    for (let k = 0; k <= NFFT / 2; k++) pow[k] = re[k] * re[k] + im[k] * im[k];
    for (let m = 0; m < nMels; m++) {
      let e = 0;
      const f = fb[m];
      for (let k = 0; k < pow.length; k++) e += f[k] * pow[k];
      out[t * nMels + m] = Math.log(e + 1e-8);
    }
  }
  if (normalize) cmvn(out, frames, nMels);
  return { frames, dim: nMels, data: out };
}

/** MFCCs: DCT-II of 40 log-mels, 13 coefficients plus deltas and delta-deltas (39 dims), CMVN. */
export function mfcc(x: Float32Array): { frames: number; dim: number; data: Float32Array } {
  const lm = logMel(x, 40, false);
  const T = lm.frames;
  const C = 13;
  const base = new Float32Array(T * C);
  for (let t = 0; t < T; t++) {
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let m = 0; m < 40; m++) s += lm.data[t * 40 + m] * Math.cos((Math.PI * c * (m + 0.5)) / 40);
      base[t * C + c] = s;
    }
  }
  const delta = (src: Float32Array): Float32Array => {
    const d = new Float32Array(T * C);
    for (let t = 0; t < T; t++) {
      for (let c = 0; c < C; c++) {
        let num = 0;
        for (let n = 1; n <= 2; n++) num += n * (src[Math.min(T - 1, t + n) * C + c] - src[Math.max(0, t - n) * C + c]);
        d[t * C + c] = num / 10;
      }
    }
    return d;
  };
  const d1 = delta(base);
  const d2 = delta(d1);
  const out = new Float32Array(T * 39);
  for (let t = 0; t < T; t++) {
    out.set(base.subarray(t * C, t * C + C), t * 39);
    out.set(d1.subarray(t * C, t * C + C), t * 39 + C);
    out.set(d2.subarray(t * C, t * C + C), t * 39 + 2 * C);
  }
  cmvn(out, T, 39);
  return { frames: T, dim: 39, data: out };
}
