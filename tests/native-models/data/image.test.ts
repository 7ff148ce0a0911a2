import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { MAX_IMAGE_PIXELS, THUMB_SIZE, decodeImage, makeThumbnail, probeImage } from '../../../native-models/data/image';
import { DatasetError } from '../../../native-models/data/store';
import { hugePng, tinyImage } from './helpers';

async function failure(p: Promise<unknown>): Promise<DatasetError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(DatasetError);
    return e as DatasetError;
  }
  throw new Error('expected a failure');
}

describe('image decoding', () => {
  it.each(['png', 'jpeg', 'webp', 'gif'] as const)('reads %s', async (fmt) => {
    const img = await tinyImage(5, fmt, 16);
    expect(await probeImage(img)).toEqual({ format: fmt, width: 16, height: 18 });
    const d = await decodeImage(img);
    expect(d.rgba.length).toBe(16 * 18 * 4);
  });

  it('takes the first frame of an animated gif', async () => {
    const frame = (r: number, b: number) => sharp({ create: { width: 4, height: 4, channels: 3, background: { r, g: 0, b } } }).png().toBuffer();
    const gif = await sharp([await frame(255, 0), await frame(0, 255)], { join: { animated: true } }).gif().toBuffer();
    expect((await sharp(gif).metadata()).pages).toBe(2);
    const d = await decodeImage(gif);
    expect([d.width, d.height]).toEqual([4, 4]);
    expect(d.rgba[0]).toBeGreaterThan(200); // red first frame
    expect(d.rgba[2]).toBeLessThan(50);
  });

  it('makes thumbnails no larger than THUMB_SIZE, keeping aspect', async () => {
    const big = await sharp({ create: { width: 600, height: 300, channels: 3, background: '#123456' } }).jpeg().toBuffer();
    const { info, thumb } = await makeThumbnail(big);
    expect(info).toEqual({ format: 'jpeg', width: 600, height: 300 });
    const m = await sharp(thumb).metadata();
    expect([m.format, m.width, m.height]).toEqual(['jpeg', THUMB_SIZE, THUMB_SIZE / 2]);
  });

  it('refuses a 20000x20000 image with a clear error, without decoding it', async () => {
    const png = await hugePng(20000, 20000);
    expect(20000 * 20000).toBeGreaterThan(MAX_IMAGE_PIXELS);
    const t0 = performance.now();
    const e = await failure(makeThumbnail(png, 'huge.png'));
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(e.code).toBe('TOO_LARGE');
    expect(e.message).toMatch(/huge\.png: image is 20000x20000 \(400 MP\), over the 100 MP limit/);
  });

  it('names the file for empty, truncated, corrupt and unsupported input', async () => {
    expect((await failure(makeThumbnail(new Uint8Array(0), 'zero.png'))).message).toMatch(/zero\.png: empty file/);
    const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#ff0000' } }).png({ compressionLevel: 0 }).toBuffer();
    const cut = await failure(makeThumbnail(png.subarray(0, png.length >> 1), 'cut.png'));
    expect(cut.code).toBe('BAD_MEDIA');
    expect(cut.message).toMatch(/^cut\.png: /);
    const jpg = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#00ff00' } }).jpeg().toBuffer();
    expect((await failure(makeThumbnail(jpg.subarray(0, jpg.length - 200), 'cut.jpg'))).code).toBe('BAD_MEDIA');
    expect((await failure(makeThumbnail(Buffer.from('hello, not an image'), 'x.png'))).message).toMatch(/x\.png: not a readable image/);
    const tiff = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#000' } }).tiff().toBuffer();
    expect((await failure(makeThumbnail(tiff, 'a.tiff'))).message).toMatch(/a\.tiff: unsupported image format 'tiff'/);
  });
});
