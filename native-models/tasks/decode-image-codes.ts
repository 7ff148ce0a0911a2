// decode-image-codes: an 8x8 grid of dVAE codebook ids -> a 64x64 RGB image (what OPT's image decoder turns
// its generated code sequence into). prepare (check and flatten the grid) -> run the package's `decode`
// graph -> postprocess to 8-bit RGB and PNG bytes.
import { encodePng } from '../data/demo/raster';
import { Dvae } from '../dvae/codec';
import { planarToRgb } from '../dvae/pixels';

/** A decoded image: 8-bit interleaved RGB, and the same as PNG bytes. */
export interface DecodedCodes {
  width: number;
  height: number;
  rgb: Uint8Array;
  png: Uint8Array;
}

/**
 * Parses codes written as text (the CLI's `tokenize` output or any list): numbers separated by spaces,
 * commas, brackets or new lines; exactly grid*grid of them, row by row.
 */
export function parseCodes(text: string, grid: number, source = '<codes>'): number[] {
  const tokens = text.split(/[\s,;[\]]+/).filter(Boolean);
  const out = tokens.map((t, i) => {
    if (!/^\d+$/.test(t)) throw new Error(`${source}: item ${i + 1} ("${t}") is not a code id (a whole number)`);
    return Number(t);
  });
  if (out.length !== grid * grid) throw new Error(`${source}: expected ${grid * grid} code ids (${grid}x${grid}), found ${out.length}`);
  return out;
}

/**
 * Decodes a code grid (rows `codes[y][x]`, or grid*grid ids row by row) with a loaded dVAE. Example:
 * ```ts
 * const dvae = await Dvae.load();
 * const { png } = await decodeImageCodes(dvae, (await tokenizeImage(dvae, bytes)).codes);
 * ```
 */
export async function decodeImageCodes(dvae: Dvae, codes: readonly number[] | readonly (readonly number[])[]): Promise<DecodedCodes> {
  const g = dvae.grid;
  const flat = (codes as readonly (number | readonly number[])[]).flat() as number[];
  if (flat.length !== g * g) throw new Error(`decodeImageCodes: expected ${g}x${g} = ${g * g} codes, got ${flat.length}`);
  const ids = new BigInt64Array(flat.length);
  flat.forEach((c, i) => {
    if (!Number.isInteger(c)) throw new Error(`decodeImageCodes: code at position ${i} (${c}) is not an integer`);
    ids[i] = BigInt(c);
  });
  const s = dvae.imageSize;
  const rgb = planarToRgb(await dvae.decode(ids), s);
  return { width: s, height: s, rgb, png: encodePng(rgb, s, s) };
}
