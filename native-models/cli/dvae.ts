// `dvae`: the image tokenizer from the command line. `dvae tokenize IMAGE` prints the 8x8 grid of code ids
// (one row per line); `dvae decode CODES --out FILE.png` turns such a grid (a file, or "-" for stdin) back
// into a 64x64 PNG. Both run the default package's dVAE (or --package DIR).
import { readFileSync, writeFileSync } from 'node:fs';
import { Dvae } from '../dvae/codec';
import { tokenizeImage } from '../tasks/tokenize-image';
import { decodeImageCodes, parseCodes } from '../tasks/decode-image-codes';
import { parseOptions, UsageError } from './args';
import type { Command } from './main';

const USAGE = `Usage: npm run cli -- dvae tokenize IMAGE [--json] [--package DIR]
       npm run cli -- dvae decode CODES_FILE|- --out FILE.png [--package DIR]

tokenize  prints the image's 8x8 grid of dVAE code ids, one row per line (--json: {"grid","codes"}).
          Any png/jpeg/webp/gif; it is box-filtered (or resized) to 64x64 first.
decode    reads 64 code ids (whitespace/comma separated, e.g. tokenize's output; "-" = stdin) and
          writes the decoded 64x64 image as PNG.
Example:  npm run cli -- dvae tokenize scene.png > codes.txt && npm run cli -- dvae decode codes.txt --out back.png`;

export const dvaeCommand: Command = {
  summary: 'image tokenizer: an image to its 8x8 dVAE codes, and codes back to a PNG',
  usage: USAGE,
  async run(argv) {
    const [sub, file, ...rest] = argv;
    try {
      if ((sub !== 'tokenize' && sub !== 'decode') || !file) throw new UsageError(`expected "tokenize IMAGE" or "decode CODES --out FILE.png"\n\n${USAGE}`);
      const o = parseOptions(rest, { package: { type: 'string' }, json: { type: 'boolean' }, out: { type: 'string' } });
      if (sub === 'decode' && !o.out) throw new UsageError('decode needs --out FILE.png');
      const dvae = await Dvae.load(o.package, { intraOpThreads: 2 });
      try {
        if (sub === 'tokenize') {
          const r = await tokenizeImage(dvae, readFileSync(file), file);
          console.log(o.json ? JSON.stringify({ grid: r.grid, codebookSize: r.codebookSize, codes: r.codes }) : r.codes.map((row) => row.join(' ')).join('\n'));
        } else {
          const text = readFileSync(file === '-' ? 0 : file, 'utf8');
          const img = await decodeImageCodes(dvae, parseCodes(text, dvae.grid, file === '-' ? '<stdin>' : file));
          writeFileSync(o.out!, img.png);
          console.error(`wrote ${o.out} (${img.width}x${img.height})`);
        }
      } finally {
        await dvae.dispose();
      }
      return 0;
    } catch (e) {
      if (e instanceof UsageError) {
        console.error(e.message);
        return 2;
      }
      console.error(e instanceof Error ? e.message : String(e));
      return 1;
    }
  },
};
