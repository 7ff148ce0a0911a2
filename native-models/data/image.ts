// Image decoding for datasets, through sharp (libvips). Accepts png, jpeg, webp and gif (first
// frame). Every failure is a DatasetError naming the file: empty, truncated or corrupt bytes,
// unsupported formats, and images over MAX_IMAGE_PIXELS.
//
// Huge images: an image over MAX_IMAGE_PIXELS (100 megapixels, e.g. 10000x10000) is REFUSED with
// a TOO_LARGE error rather than downscaled: its header is read first, so a 20000x20000 image is
// refused without decoding it, and a dataset never holds bytes the app cannot open later.

import sharp, { type Metadata, type Sharp } from 'sharp';
import { DatasetError } from './store/errors';

/** Largest accepted image, in pixels (width * height). */
export const MAX_IMAGE_PIXELS = 100_000_000;
/** Longest side of a grid thumbnail. */
export const THUMB_SIZE = 256;

export type ImageFormat = 'png' | 'jpeg' | 'webp' | 'gif';
const FORMATS: ReadonlySet<string> = new Set(['png', 'jpeg', 'webp', 'gif']);
/** File extensions the importers treat as images. */
export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set(['.png', '.jpg', '.jpeg', '.webp', '.gif']);

export interface ImageInfo {
  format: ImageFormat;
  width: number;
  height: number;
}

export interface DecodedImage extends ImageInfo {
  /** RGBA pixels, row-major. */
  rgba: Uint8Array;
}

/** Reads the header and checks it: format supported, size under the limit. Cheap: does not decode pixels. */
export async function probeImage(bytes: Uint8Array, file = '<image>'): Promise<ImageInfo> {
  if (bytes.length === 0) throw new DatasetError('BAD_MEDIA', `${file}: empty file (0 bytes)`, { file });
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (e) {
    throw new DatasetError('BAD_MEDIA', `${file}: not a readable image (${(e as Error).message})`, { file, cause: e });
  }
  const format = meta.format as string | undefined;
  if (!format || !FORMATS.has(format)) {
    throw new DatasetError('BAD_MEDIA', `${file}: unsupported image format '${format ?? 'unknown'}' (png, jpeg, webp, gif)`, { file });
  }
  // EXIF orientation 5-8 swaps width and height once applied (we auto-rotate on decode).
  const swap = (meta.orientation ?? 1) >= 5;
  const width = (swap ? meta.height : meta.width) ?? 0;
  const height = (swap ? meta.width : meta.height) ?? 0;
  if (!(width > 0 && height > 0)) throw new DatasetError('BAD_MEDIA', `${file}: image has no size`, { file });
  if (width * height > MAX_IMAGE_PIXELS) {
    throw new DatasetError('TOO_LARGE',
      `${file}: image is ${width}x${height} (${Math.round((width * height) / 1e6)} MP), over the ${MAX_IMAGE_PIXELS / 1e6} MP limit; downscale it first`,
      { file });
  }
  return { format: format as ImageFormat, width, height };
}

function pipeline(bytes: Uint8Array): Sharp {
  // failOn 'truncated' makes a cut-off file an error instead of a silently grey image.
  return sharp(bytes, { limitInputPixels: MAX_IMAGE_PIXELS, failOn: 'truncated', pages: 1 }).rotate();
}

/** Checks the image decodes fully and makes its thumbnail (JPEG: about twice as fast to encode as WebP; longest side THUMB_SIZE). */
export async function makeThumbnail(bytes: Uint8Array, file = '<image>'): Promise<{ info: ImageInfo; thumb: Buffer }> {
  const info = await probeImage(bytes, file);
  try {
    const thumb = await pipeline(bytes)
      .resize(THUMB_SIZE, THUMB_SIZE, { fit: 'inside', withoutEnlargement: true })
      .flatten({ background: '#ffffff' })
      .jpeg({ quality: 80 })
      .toBuffer();
    return { info, thumb };
  } catch (e) {
    throw new DatasetError('BAD_MEDIA', `${file}: corrupt or truncated image (${(e as Error).message})`, { file, cause: e });
  }
}

/** Decodes to RGBA (first frame of a gif), optionally resized to exactly width x height. */
export async function decodeImage(bytes: Uint8Array, file = '<image>', size?: { width: number; height: number }): Promise<DecodedImage> {
  const info = await probeImage(bytes, file);
  try {
    let p = pipeline(bytes).ensureAlpha();
    if (size) p = p.resize(size.width, size.height, { fit: 'fill' });
    const { data, info: out } = await p.raw().toBuffer({ resolveWithObject: true });
    return { format: info.format, width: out.width, height: out.height, rgba: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  } catch (e) {
    throw new DatasetError('BAD_MEDIA', `${file}: corrupt or truncated image (${(e as Error).message})`, { file, cause: e });
  }
}

/** File extension (with dot) for a format, used when exporting blobs back to files. */
export function extensionOf(format: ImageFormat): string {
  return format === 'jpeg' ? '.jpg' : `.${format}`;
}
