// `detect` CLI command over a tiny (untrained) detector package: prints regions, draws boxes, and
// answers bad arguments and bad images with a message and an exit code.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { detectCommand } from '../../../native-models/cli/detect';
import { tinyConfig } from '../../../native-models/detector/config';
import { writeDetector } from '../../../native-models/detector/export';
import { headGraph, rpnGraph } from '../../../native-models/detector/model';
import { initParams } from '../../../native-models/graph/index';
import type { Tensor } from '../../../native-models/runtime/index';

process.env.OPT_PROVIDERS = 'cpu';

describe('cli detect', () => {
  let dir: string;
  let pkg: string;
  let img: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'det-cli-'));
    pkg = join(dir, 'pkg');
    const c = tinyConfig(3);
    const values = new Map([...initParams(rpnGraph(c), 1), ...initParams(headGraph(c), 2)]);
    writeDetector(pkg, c, ['apple', 'bus', 'cat'], Object.fromEntries([...values].map(([k, v]) => [k, { dtype: 'float32', dims: [v.length], data: v } as Tensor])));
    img = join(dir, 'wide.png');
    await sharp(Buffer.alloc(120 * 40 * 3, 90), { raw: { width: 120, height: 40, channels: 3 } }).png().toFile(img);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = async (args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((s: unknown) => void out.push(String(s)));
    const error = vi.spyOn(console, 'error').mockImplementation((s: unknown) => void err.push(String(s)));
    try {
      return { code: await detectCommand.run(args), out: out.join('\n'), err: err.join('\n') };
    } finally {
      log.mockRestore();
      error.mockRestore();
    }
  };

  it('prints regions and writes the boxed image at the original size', async () => {
    const boxed = join(dir, 'boxed.png');
    const r = await run([img, '--package', pkg, '--threshold', '0', '--max', '2', '--out', boxed]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/2 regions \(feature dim 16\)/);
    expect(r.out).toMatch(/top5: /);
    const meta = await sharp(boxed).metadata();
    expect([meta.width, meta.height]).toEqual([120, 40]);
  });

  it('prints JSON with feature vectors on request', async () => {
    const r = await run([img, '--package', pkg, '--threshold', '0', '--max', '1', '--json', '--features']);
    const regions = JSON.parse(r.out);
    expect(regions).toHaveLength(1);
    expect(regions[0].feature).toHaveLength(16);
    expect(regions[0].box).toHaveLength(4);
  });

  it('answers bad arguments, missing files, broken images and bad packages clearly', async () => {
    expect((await run([])).code).toBe(2);
    expect((await run([img, '--threshold', '2', '--package', pkg])).err).toMatch(/--threshold must be a number from 0 to 1/);
    expect((await run([join(dir, 'nope.png'), '--package', pkg])).err).toMatch(/no such file/);
    const broken = join(dir, 'broken.png');
    writeFileSync(broken, 'not an image');
    const b = await run([broken, '--package', pkg]);
    expect(b.code).toBe(1);
    expect(b.err).toMatch(/broken\.png/);
    const p = await run([img, '--package', join(dir, 'nopkg')]);
    expect(p.code).toBe(1);
    expect(p.err).toMatch(/no manifest\.json/);
    expect(existsSync(join(dir, 'nopkg'))).toBe(false);
  });
});
