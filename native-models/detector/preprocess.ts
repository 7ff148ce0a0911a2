// Image -> network input. Any size and aspect: the image is scaled so its longer side fills the square
// input and centred on mid-grey padding (letterbox), so objects keep their shape. Alpha is composited
// onto white; greyscale images arrive as RGBA from the decoder. The Letterbox record maps boxes back
// to coordinates normalised to the ORIGINAL image.
import sharp from 'sharp';
import { decodeImage } from '../data/image';
import { PIXEL_MEAN, PIXEL_STD } from './model';

/** Grey of the letterbox padding (0..255). */
export const PAD_VALUE = 128;

/** Where the image sits inside the square input. */
export interface Letterbox {
  /** Input side. */
  size: number;
  /** Original image size. */
  width: number;
  height: number;
  /** Placed (scaled) image size and its top-left corner in the input, in input pixels. */
  innerWidth: number;
  innerHeight: number;
  padX: number;
  padY: number;
}

/** The letterbox geometry for an image of width x height in a size x size input. */
export function letterboxOf(width: number, height: number, size: number): Letterbox {
  if (!(width >= 1 && height >= 1)) throw new Error(`image size ${width}x${height} is empty`);
  const scale = size / Math.max(width, height);
  const innerWidth = Math.min(size, Math.max(1, Math.round(width * scale)));
  const innerHeight = Math.min(size, Math.max(1, Math.round(height * scale)));
  return { size, width, height, innerWidth, innerHeight, padX: Math.floor((size - innerWidth) / 2), padY: Math.floor((size - innerHeight) / 2) };
}

/** A box in input pixels -> [x0,y0,x1,y1] normalised to the original image, clamped to [0,1]. */
export function toImageBox(lb: Letterbox, b: ArrayLike<number>, i = 0): [number, number, number, number] {
  const c = (v: number) => Math.min(1, Math.max(0, v));
  return [
    c((b[i] - lb.padX) / lb.innerWidth), c((b[i + 1] - lb.padY) / lb.innerHeight),
    c((b[i + 2] - lb.padX) / lb.innerWidth), c((b[i + 3] - lb.padY) / lb.innerHeight),
  ];
}

/** A box normalised to the original image -> input pixels (the inverse of toImageBox). */
export function toInputBox(lb: Letterbox, b: ArrayLike<number>): [number, number, number, number] {
  return [b[0] * lb.innerWidth + lb.padX, b[1] * lb.innerHeight + lb.padY, b[2] * lb.innerWidth + lb.padX, b[3] * lb.innerHeight + lb.padY];
}

/** A prepared input: CHW float32, normalised, plus its letterbox. */
export interface PreparedImage {
  data: Float32Array;
  letterbox: Letterbox;
}

/**
 * RGBA pixels (already at innerWidth x innerHeight) -> normalised CHW input with padding; alpha
 * composited onto white. Writes into `out` at `offset` when given (batches).
 */
export function fillInput<T extends Float32Array>(rgba: Uint8Array, lb: Letterbox, out: T, offset = 0): T {
  const s = lb.size;
  const plane = s * s;
  if (rgba.length !== lb.innerWidth * lb.innerHeight * 4) throw new Error(`expected ${lb.innerWidth}x${lb.innerHeight} RGBA pixels (${lb.innerWidth * lb.innerHeight * 4} bytes), got ${rgba.length} bytes`);
  for (let ch = 0; ch < 3; ch++) out.fill((PAD_VALUE / 255 - PIXEL_MEAN[ch]) / PIXEL_STD[ch], offset + ch * plane, offset + (ch + 1) * plane);
  for (let y = 0; y < lb.innerHeight; y++) {
    for (let x = 0; x < lb.innerWidth; x++) {
      const p = (y * lb.innerWidth + x) * 4;
      const a = rgba[p + 3] / 255;
      const o = offset + (y + lb.padY) * s + x + lb.padX;
      for (let ch = 0; ch < 3; ch++) {
        const v = (rgba[p + ch] * a + 255 * (1 - a)) / 255;
        out[o + ch * plane] = (v - PIXEL_MEAN[ch]) / PIXEL_STD[ch];
      }
    }
  }
  return out;
}

/** Decodes an image file's bytes (png, jpeg, webp, gif) and letterboxes it; errors name `file`. */
export async function prepareImageFile(bytes: Uint8Array, size: number, file = '<image>'): Promise<PreparedImage> {
  const probe = await decodeImage(bytes, file);
  const lb = letterboxOf(probe.width, probe.height, size);
  const rgba = lb.innerWidth === probe.width && lb.innerHeight === probe.height
    ? probe.rgba
    : (await decodeImage(bytes, file, { width: lb.innerWidth, height: lb.innerHeight })).rgba;
  return { data: fillInput(rgba, lb, new Float32Array(3 * size * size)), letterbox: lb };
}

/** Letterboxes raw RGBA pixels (what crosses process boundaries in the app). */
export async function prepareRgba(rgba: Uint8Array, width: number, height: number, size: number): Promise<PreparedImage> {
  if (rgba.length !== width * height * 4) throw new Error(`RGBA image of ${width}x${height} needs ${width * height * 4} bytes, got ${rgba.length}`);
  const lb = letterboxOf(width, height, size);
  let px = rgba;
  if (lb.innerWidth !== width || lb.innerHeight !== height) {
    const buf = await sharp(rgba, { raw: { width, height, channels: 4 } }).resize(lb.innerWidth, lb.innerHeight, { fit: 'fill' }).raw().toBuffer();
    px = new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
  }
  return { data: fillInput(px, lb, new Float32Array(3 * size * size)), letterbox: lb };
}
