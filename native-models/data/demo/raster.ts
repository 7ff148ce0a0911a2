// Pixel work for EmojiScenes in plain JavaScript: backgrounds, resizing, alpha compositing, the
// 64x64 downscale and PNG encoding. Done here rather than in libvips on purpose: libvips picks SIMD
// paths by CPU and zlib-ng's match finder differs by CPU too, so their bytes can change from one
// machine to the next, while IEEE double arithmetic and fflate's pure-JS deflate do not.

import { zlibSync } from 'fflate';
import sharp from 'sharp';
import { crc32 } from 'node:zlib';
import { Rng } from './prng';

export type Rgb = [number, number, number];

export type Background =
  | { kind: 'solid'; c1: Rgb }
  | { kind: 'gradient'; c1: Rgb; c2: Rgb; dir: 'horizontal' | 'vertical' | 'diagonal' | 'radial' }
  | { kind: 'noise'; c1: Rgb; c2: Rgb; cells: number; seed: number }
  | { kind: 'stripes'; c1: Rgb; c2: Rgb; period: number; dir: 'horizontal' | 'vertical' | 'diagonal' }
  | { kind: 'checks'; c1: Rgb; c2: Rgb; period: number }
  | { kind: 'dots'; c1: Rgb; c2: Rgb; period: number; radius: number }
  | { kind: 'grid'; c1: Rgb; c2: Rgb; period: number };

/** An RGB image with float channels in [0, 255], row-major. */
export interface Canvas {
  size: number;
  rgb: Float32Array;
}

/** A decoded emoji: 64x64 RGBA, its tight box (alpha > 0.25) in pixels and its mean opaque colour. */
export interface Sprite {
  size: number;
  rgba: Uint8Array;
  box: [number, number, number, number];
  mean: Rgb;
}

/** Decodes an emoji PNG (PNG decoding is exact, so sharp is safe here). */
export async function loadSprite(file: string): Promise<Sprite> {
  const { data, info } = await sharp(file).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.width !== info.height) throw new Error(`${file}: emoji image is ${info.width}x${info.height}, expected square`);
  const size = info.width;
  const rgba = new Uint8Array(data.buffer, data.byteOffset, data.length);
  let x0 = size;
  let y0 = size;
  let x1 = 0;
  let y1 = 0;
  let r = 0;
  let g = 0;
  let b = 0;
  let n = 0;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = (y * size + x) * 4;
      const a = rgba[i + 3];
      if (a > 64) {
        x0 = Math.min(x0, x);
        y0 = Math.min(y0, y);
        x1 = Math.max(x1, x + 1);
        y1 = Math.max(y1, y + 1);
      }
      if (a > 200) {
        r += rgba[i];
        g += rgba[i + 1];
        b += rgba[i + 2];
        n++;
      }
    }
  }
  if (x1 <= x0) throw new Error(`${file}: emoji image is fully transparent`);
  const mean: Rgb = n > 0 ? [r / n, g / n, b / n] : [128, 128, 128];
  return { size, rgba, box: [x0, y0, x1, y1], mean };
}

function mix(a: Rgb, b: Rgb, t: number, out: Float32Array, o: number): void {
  out[o] = a[0] + (b[0] - a[0]) * t;
  out[o + 1] = a[1] + (b[1] - a[1]) * t;
  out[o + 2] = a[2] + (b[2] - a[2]) * t;
}

const smooth = (t: number) => t * t * (3 - 2 * t);

/** Paints a background. */
export function paintBackground(bg: Background, size: number): Canvas {
  const rgb = new Float32Array(size * size * 3);
  const s1 = size - 1;
  if (bg.kind === 'noise') {
    // Value noise: random values on a (cells+1)^2 lattice, smoothly interpolated, plus a finer octave.
    const rng = new Rng(bg.seed);
    const n1 = bg.cells + 1;
    const n2 = bg.cells * 3 + 1;
    const g1 = Array.from({ length: n1 * n1 }, () => rng.next());
    const g2 = Array.from({ length: n2 * n2 }, () => rng.next());
    const sample = (g: number[], n: number, u: number, v: number) => {
      const fx = u * (n - 1);
      const fy = v * (n - 1);
      const ix = Math.min(n - 2, Math.floor(fx));
      const iy = Math.min(n - 2, Math.floor(fy));
      const tx = smooth(fx - ix);
      const ty = smooth(fy - iy);
      const a = g[iy * n + ix] + (g[iy * n + ix + 1] - g[iy * n + ix]) * tx;
      const b = g[(iy + 1) * n + ix] + (g[(iy + 1) * n + ix + 1] - g[(iy + 1) * n + ix]) * tx;
      return a + (b - a) * ty;
    };
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const t = 0.7 * sample(g1, n1, x / s1, y / s1) + 0.3 * sample(g2, n2, x / s1, y / s1);
        mix(bg.c1, bg.c2, t, rgb, (y * size + x) * 3);
      }
    }
    return { size, rgb };
  }
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const o = (y * size + x) * 3;
      let t = 0;
      switch (bg.kind) {
        case 'solid':
          t = 0;
          break;
        case 'gradient':
          if (bg.dir === 'horizontal') t = x / s1;
          else if (bg.dir === 'vertical') t = y / s1;
          else if (bg.dir === 'diagonal') t = (x + y) / (2 * s1);
          else t = Math.min(1, Math.hypot(x - s1 / 2, y - s1 / 2) / (size * 0.7));
          break;
        case 'stripes': {
          const c = bg.dir === 'horizontal' ? y : bg.dir === 'vertical' ? x : x + y;
          t = Math.floor(c / bg.period) % 2;
          break;
        }
        case 'checks':
          t = (Math.floor(x / bg.period) + Math.floor(y / bg.period)) % 2;
          break;
        case 'dots': {
          const dx = (x % bg.period) - bg.period / 2 + 0.5;
          const dy = (y % bg.period) - bg.period / 2 + 0.5;
          t = dx * dx + dy * dy <= bg.radius * bg.radius ? 1 : 0;
          break;
        }
        case 'grid':
          t = x % bg.period < 2 || y % bg.period < 2 ? 1 : 0;
          break;
      }
      if (bg.kind === 'solid') mix(bg.c1, bg.c1, 0, rgb, o);
      else mix(bg.c1, bg.c2, t, rgb, o);
    }
  }
  return { size, rgb };
}

interface Taps {
  start: Int32Array;
  count: Int32Array;
  weights: Float64Array;
  maxTaps: number;
}

const tapCache = new Map<string, Taps>();

/** Separable triangle-filter taps (bilinear when enlarging, area-like when shrinking). */
function taps(src: number, dst: number): Taps {
  const key = `${src}>${dst}`;
  const hit = tapCache.get(key);
  if (hit) return hit;
  const scale = src / dst;
  const support = Math.max(1, scale);
  const maxTaps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(dst);
  const count = new Int32Array(dst);
  const weights = new Float64Array(dst * maxTaps);
  for (let i = 0; i < dst; i++) {
    const centre = (i + 0.5) * scale - 0.5;
    const lo = Math.max(0, Math.floor(centre - support) + 1);
    const hi = Math.min(src - 1, Math.ceil(centre + support) - 1);
    let sum = 0;
    let k = 0;
    for (let j = lo; j <= hi && k < maxTaps; j++, k++) {
      const w = Math.max(0, 1 - Math.abs(j - centre) / support);
      weights[i * maxTaps + k] = w;
      sum += w;
    }
    for (let m = 0; m < k; m++) weights[i * maxTaps + m] /= sum > 0 ? sum : 1;
    start[i] = lo;
    count[i] = k;
  }
  const t = { start, count, weights, maxTaps };
  tapCache.set(key, t);
  return t;
}

/** Resizes an RGBA sprite to dst x dst, returning premultiplied float RGBA (alpha in [0, 1]). */
export function resizeSprite(sp: Sprite, dst: number): Float32Array {
  const n = sp.size;
  const pm = new Float32Array(n * n * 4);
  for (let i = 0; i < n * n; i++) {
    const a = sp.rgba[i * 4 + 3] / 255;
    pm[i * 4] = sp.rgba[i * 4] * a;
    pm[i * 4 + 1] = sp.rgba[i * 4 + 1] * a;
    pm[i * 4 + 2] = sp.rgba[i * 4 + 2] * a;
    pm[i * 4 + 3] = a;
  }
  const tx = taps(n, dst);
  const tmp = new Float32Array(dst * n * 4); // horizontal pass: dst wide, n tall
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < dst; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      let a = 0;
      const s = tx.start[x];
      for (let k = 0; k < tx.count[x]; k++) {
        const w = tx.weights[x * tx.maxTaps + k];
        const i = (y * n + s + k) * 4;
        r += pm[i] * w;
        g += pm[i + 1] * w;
        b += pm[i + 2] * w;
        a += pm[i + 3] * w;
      }
      const o = (y * dst + x) * 4;
      tmp[o] = r;
      tmp[o + 1] = g;
      tmp[o + 2] = b;
      tmp[o + 3] = a;
    }
  }
  const out = new Float32Array(dst * dst * 4);
  for (let y = 0; y < dst; y++) {
    const s = tx.start[y];
    for (let x = 0; x < dst; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      let a = 0;
      for (let k = 0; k < tx.count[y]; k++) {
        const w = tx.weights[y * tx.maxTaps + k];
        const i = ((s + k) * dst + x) * 4;
        r += tmp[i] * w;
        g += tmp[i + 1] * w;
        b += tmp[i + 2] * w;
        a += tmp[i + 3] * w;
      }
      const o = (y * dst + x) * 4;
      out[o] = r;
      out[o + 1] = g;
      out[o + 2] = b;
      out[o + 3] = a;
    }
  }
  return out;
}

/** Draws premultiplied RGBA (w x w) at (left, top) over the canvas ("over" operator), clipped. */
export function composite(canvas: Canvas, pm: Float32Array, w: number, left: number, top: number): void {
  const S = canvas.size;
  for (let y = 0; y < w; y++) {
    const cy = top + y;
    if (cy < 0 || cy >= S) continue;
    for (let x = 0; x < w; x++) {
      const cx = left + x;
      if (cx < 0 || cx >= S) continue;
      const i = (y * w + x) * 4;
      const a = pm[i + 3];
      if (a <= 0) continue;
      const o = (cy * S + cx) * 3;
      canvas.rgb[o] = pm[i] + canvas.rgb[o] * (1 - a);
      canvas.rgb[o + 1] = pm[i + 1] + canvas.rgb[o + 1] * (1 - a);
      canvas.rgb[o + 2] = pm[i + 2] + canvas.rgb[o + 2] * (1 - a);
    }
  }
}

/** Quantises a float canvas to 8-bit RGB. */
export function toBytes(canvas: Canvas): Uint8Array {
  const out = new Uint8Array(canvas.rgb.length);
  for (let i = 0; i < out.length; i++) {
    const v = Math.round(canvas.rgb[i]);
    out[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return out;
}

/** Box-filter downscale of 8-bit RGB by an integer factor (256 -> 64 is factor 4), integer exact. */
export function downscaleRgb(rgb: Uint8Array, size: number, factor: number): Uint8Array {
  const d = size / factor;
  if (!Number.isInteger(d)) throw new Error(`cannot downscale ${size} by ${factor}`);
  const out = new Uint8Array(d * d * 3);
  const n = factor * factor;
  for (let y = 0; y < d; y++) {
    for (let x = 0; x < d; x++) {
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let j = 0; j < factor; j++) {
          for (let i = 0; i < factor; i++) s += rgb[((y * factor + j) * size + x * factor + i) * 3 + c];
        }
        out[(y * d + x) * 3 + c] = Math.floor((s + n / 2) / n);
      }
    }
  }
  return out;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  dv.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)) >>> 0);
  return out;
}

/**
 * Encodes 8-bit RGB as PNG: per row the filter with the smallest sum of absolute residuals, then
 * fflate deflate at a fixed level. Same pixels -> same bytes everywhere.
 */
export function encodePng(rgb: Uint8Array, width: number, height: number): Uint8Array {
  const stride = width * 3;
  const raw = new Uint8Array((stride + 1) * height);
  const zero = new Uint8Array(stride);
  const sums = new Float64Array(5);
  for (let y = 0; y < height; y++) {
    const row = rgb.subarray(y * stride, (y + 1) * stride);
    const prev = y > 0 ? rgb.subarray((y - 1) * stride, y * stride) : zero;
    // Score each filter by the sum of |residual| (as signed bytes) first, then write only the best.
    sums.fill(0);
    for (let i = 0; i < stride; i++) {
      const x = row[i];
      const a = i >= 3 ? row[i - 3] : 0;
      const b = prev[i];
      const c = i >= 3 ? prev[i - 3] : 0;
      const pa = Math.abs(b - c);
      const pb = Math.abs(a - c);
      const pc = Math.abs(a + b - 2 * c);
      const p = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      const r0 = x;
      const r1 = (x - a) & 255;
      const r2 = (x - b) & 255;
      const r3 = (x - ((a + b) >> 1)) & 255;
      const r4 = (x - p) & 255;
      sums[0] += r0 < 128 ? r0 : 256 - r0;
      sums[1] += r1 < 128 ? r1 : 256 - r1;
      sums[2] += r2 < 128 ? r2 : 256 - r2;
      sums[3] += r3 < 128 ? r3 : 256 - r3;
      sums[4] += r4 < 128 ? r4 : 256 - r4;
    }
    let f = 0;
    for (let k = 1; k < 5; k++) if (sums[k] < sums[f]) f = k;
    const o = y * (stride + 1);
    raw[o] = f;
    for (let i = 0; i < stride; i++) {
      const x = row[i];
      const a = i >= 3 ? row[i - 3] : 0;
      const b = prev[i];
      let p = 0;
      if (f === 1) p = a;
      else if (f === 2) p = b;
      else if (f === 3) p = (a + b) >> 1;
      else if (f === 4) {
        const c = i >= 3 ? prev[i - 3] : 0;
        const pa = Math.abs(b - c);
        const pb = Math.abs(a - c);
        const pc = Math.abs(a + b - 2 * c);
        p = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      raw[o + 1 + i] = (x - p) & 255;
    }
  }
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, width);
  dv.setUint32(4, height);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type RGB
  const idat = zlibSync(raw, { level: 6, mem: 8 });
  const sig = Uint8Array.of(137, 80, 78, 71, 13, 10, 26, 10);
  const parts = [sig, chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
