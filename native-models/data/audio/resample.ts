// Band-limited resampling by windowed sinc (Kaiser window, beta 8.6: about -80 dB stopband), for
// any rate ratio. The kernel is tabulated once per (zeros, beta) and linearly interpolated. When
// downsampling, the cutoff moves to the output's Nyquist (x0.95 for the transition band), so
// 48 kHz speech becomes 16 kHz without aliasing.

const ZEROS = 16;
const TABLE_RES = 512;
const BETA = 8.6;

function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 50; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-12) break;
  }
  return sum;
}

let table: Float32Array | undefined;
/** sinc(u) * kaiser(u / ZEROS) for u in [0, ZEROS], TABLE_RES samples per zero crossing. */
function kernelTable(): Float32Array {
  if (table) return table;
  const n = ZEROS * TABLE_RES + 2;
  table = new Float32Array(n);
  const i0b = besselI0(BETA);
  for (let i = 0; i < n; i++) {
    const u = i / TABLE_RES;
    const r = u / ZEROS;
    const w = r >= 1 ? 0 : besselI0(BETA * Math.sqrt(1 - r * r)) / i0b;
    table[i] = (u === 0 ? 1 : Math.sin(Math.PI * u) / (Math.PI * u)) * w;
  }
  return table;
}

/** Resamples one channel from `fromRate` to `toRate`; output length is round(len * to / from). */
export function resample(x: Float32Array, fromRate: number, toRate: number): Float32Array {
  if (!(fromRate > 0 && toRate > 0)) throw new Error(`resample: bad rates ${fromRate} -> ${toRate}`);
  if (fromRate === toRate) return x.slice();
  const tab = kernelTable();
  const ratio = toRate / fromRate;
  const cutoff = Math.min(1, ratio) * 0.95; // fraction of the input Nyquist kept
  const half = ZEROS / cutoff; // kernel half-width, in input samples
  const outLen = Math.round(x.length * ratio);
  const y = new Float32Array(outLen);
  const last = x.length - 1;
  for (let n = 0; n < outLen; n++) {
    const t = n / ratio;
    const k0 = Math.max(0, Math.ceil(t - half));
    const k1 = Math.min(last, Math.floor(t + half));
    let acc = 0;
    for (let k = k0; k <= k1; k++) {
      const u = Math.abs(t - k) * cutoff * TABLE_RES;
      const i = u | 0;
      if (i >= ZEROS * TABLE_RES) continue;
      const f = u - i;
      acc += x[k] * (tab[i] + (tab[i + 1] - tab[i]) * f);
    }
    y[n] = acc * cutoff;
  }
  return y;
}

/** Averages channels into one. */
export function downmix(channels: Float32Array[]): Float32Array {
  if (channels.length === 1) return channels[0];
  const n = channels[0].length;
  const out = new Float32Array(n);
  for (const ch of channels) for (let i = 0; i < n; i++) out[i] += ch[i];
  for (let i = 0; i < n; i++) out[i] /= channels.length;
  return out;
}
