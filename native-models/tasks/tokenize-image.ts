// tokenize-image: any image file -> the dVAE's 8x8 grid of codebook ids (OPT's image tokens, the targets of
// denoising image reconstruction). prepare (decode, box-filter/resize to 64x64, planar [0,1]) -> run the
// package's `encode` graph -> postprocess into rows of plain numbers.
import { Dvae } from '../dvae/codec';
import { imageToRgb } from '../dvae/data';

/** An image's codes: `codes[y][x]` is the codebook id of grid cell (x, y). */
export interface ImageCodes {
  grid: number;
  codebookSize: number;
  codes: number[][];
  /** The image as the encoder saw it: imageSize x imageSize 8-bit interleaved RGB. */
  pixels: Uint8Array;
}

/** 8-bit interleaved RGB [S*S*3] -> planar floats in [0,1], the encode graph's input. */
export function rgbToPlanar(rgb: Uint8Array, size: number): Float32Array {
  const hw = size * size;
  const out = new Float32Array(3 * hw);
  for (let p = 0; p < hw; p++) for (let c = 0; c < 3; c++) out[c * hw + p] = rgb[p * 3 + c] / 255;
  return out;
}

/**
 * Tokenizes an image (png, jpeg, webp or gif bytes) with a loaded dVAE. Example:
 * ```ts
 * const dvae = await Dvae.load();
 * const { codes } = await tokenizeImage(dvae, readFileSync('scene.png'), 'scene.png');   // codes[0][0] = 417, ...
 * ```
 */
export async function tokenizeImage(dvae: Dvae, bytes: Uint8Array, file = '<image>'): Promise<ImageCodes> {
  if (dvae.config.batch !== 1) throw new Error(`tokenizeImage: the package's encode graph takes batches of ${dvae.config.batch}, expected 1`);
  const s = dvae.imageSize;
  const pixels = await imageToRgb(bytes, s, file);
  const flat = await dvae.encode(rgbToPlanar(pixels, s));
  const g = dvae.grid;
  return { grid: g, codebookSize: dvae.config.codebookSize, codes: Array.from({ length: g }, (_, y) => Array.from({ length: g }, (_, x) => Number(flat[y * g + x]))), pixels };
}
