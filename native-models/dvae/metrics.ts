// Reconstruction and codebook figures for the dVAE's evaluation: PSNR, SSIM (Wang et al. 2004, 11x11
// Gaussian window, sigma 1.5, per channel, averaged), and code usage (share of the codebook used, and the
// perplexity of the code histogram: 2^entropy, equal to the codebook size when every code is equally used).

/** PSNR in dB of two images with values in [0,1] (same length); Infinity when identical. */
export function psnr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let se = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    se += d * d;
  }
  const mse = se / a.length;
  return mse === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10(1 / mse);
}

/** The normalised 1-d Gaussian window of SSIM (Wang et al.: 11 taps, sigma 1.5); the training loss uses it too. */
export function gaussian(size = 11, sigma = 1.5): Float64Array {
  const w = new Float64Array(size);
  const h = (size - 1) / 2;
  let s = 0;
  for (let i = 0; i < size; i++) s += w[i] = Math.exp(-((i - h) ** 2) / (2 * sigma * sigma));
  return w.map((v) => v / s);
}
const WINDOW = gaussian();

/** Separable 'valid' Gaussian filter of an s x s plane. */
function blur(x: Float64Array, s: number): Float64Array {
  const k = WINDOW.length;
  const o = s - k + 1;
  const tmp = new Float64Array(s * o);
  for (let y = 0; y < s; y++) {
    for (let i = 0; i < o; i++) {
      let acc = 0;
      for (let j = 0; j < k; j++) acc += WINDOW[j] * x[y * s + i + j];
      tmp[y * o + i] = acc;
    }
  }
  const out = new Float64Array(o * o);
  for (let y = 0; y < o; y++) {
    for (let i = 0; i < o; i++) {
      let acc = 0;
      for (let j = 0; j < k; j++) acc += WINDOW[j] * tmp[(y + j) * o + i];
      out[y * o + i] = acc;
    }
  }
  return out;
}

/** Mean SSIM of two planar images [channels, s, s] with values in [0,1] (data range 1). */
export function ssim(a: ArrayLike<number>, b: ArrayLike<number>, size: number, channels = 3): number {
  const C1 = 0.01 ** 2;
  const C2 = 0.03 ** 2;
  const hw = size * size;
  let total = 0;
  let count = 0;
  for (let c = 0; c < channels; c++) {
    const x = new Float64Array(hw);
    const y = new Float64Array(hw);
    for (let i = 0; i < hw; i++) {
      x[i] = a[c * hw + i];
      y[i] = b[c * hw + i];
    }
    const mx = blur(x, size);
    const my = blur(y, size);
    const xx = blur(x.map((v) => v * v), size);
    const yy = blur(y.map((v) => v * v), size);
    const xy = blur(x.map((v, i) => v * y[i]), size);
    for (let i = 0; i < mx.length; i++) {
      const vx = xx[i] - mx[i] * mx[i];
      const vy = yy[i] - my[i] * my[i];
      const cxy = xy[i] - mx[i] * my[i];
      total += ((2 * mx[i] * my[i] + C1) * (2 * cxy + C2)) / ((mx[i] * mx[i] + my[i] * my[i] + C1) * (vx + vy + C2));
      count++;
    }
  }
  return total / count;
}

/** Share of codes used at least once, and the perplexity of the histogram, from per-code counts. */
export function codeUsage(counts: ArrayLike<number>): { used: number; share: number; perplexity: number } {
  let n = 0;
  let used = 0;
  for (let i = 0; i < counts.length; i++) {
    n += counts[i];
    if (counts[i] > 0) used++;
  }
  let h = 0;
  for (let i = 0; i < counts.length; i++) {
    if (counts[i] > 0) {
      const p = counts[i] / n;
      h -= p * Math.log(p);
    }
  }
  return { used, share: used / counts.length, perplexity: Math.exp(h) };
}
