// tokenize-image: any image file -> the dVAE's 8x8 grid of codebook ids (OPT's image tokens, the targets of
// denoising image reconstruction). prepare (decode, box-filter/resize to 64x64, planar [0,1]) -> run the
// package's `encode` graph -> postprocess into rows of plain numbers.
import { Dvae } from '../dvae/codec';
import { imageToRgb, toPlanar } from '../dvae/pixels';

/** An image's codes: `codes[y][x]` is the codebook id of grid cell (x, y). */
export interface ImageCodes {
  grid: number;
  codebookSize: number;
  codes: number[][];
  /** The image as the encoder saw it: imageSize x imageSize 8-bit interleaved RGB. */
  pixels: Uint8Array;
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
  const flat = await dvae.encode(toPlanar({ size: s, count: 1, rgb: pixels, ids: [] }, [0], 0));
  const g = dvae.grid;
  return { grid: g, codebookSize: dvae.config.codebookSize, codes: Array.from({ length: g }, (_, y) => Array.from({ length: g }, (_, x) => Number(flat[y * g + x]))), pixels };
}
