// Shared test helpers: temp dirs and tiny generated images (fixtures are generated, never committed).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';

/** A fresh temp dir, removed by the returned cleanup. */
export function tempDir(prefix = 'opt-data-'): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** A tiny solid-colour image; different `seed` gives different bytes. */
export async function tinyImage(seed: number, format: 'png' | 'jpeg' | 'webp' | 'gif' = 'png', size = 8): Promise<Buffer> {
  const img = sharp({
    create: { width: size, height: size + (seed % 3), channels: 3, background: { r: seed % 256, g: (seed * 7) % 256, b: (seed * 13) % 256 } },
  });
  return img.toFormat(format).toBuffer();
}
