// The studio's inference service on the shipped model package: the detector finds an emoji placed in a scene (its
// class, where it is), the image tokenizer gives 64 codes that decode back to the image, the audio encoder gives a
// recording's speech tokens, requests run one at a time, and bad input or a broken package give clear errors.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { UNREADABLE_INPUT_ERROR, type Box } from '../../../electron/common';
import { LocalInferenceService } from '../../../electron/services/inference-service';
import { writeWav } from '../../../native-models/data/audio';
import { loadCatalog } from '../../../native-models/data/demo/catalog';
import { iou as boxIou } from '../../../native-models/detector/boxes';
import { RegionDetector } from '../../../native-models/tasks/detect-regions';
import { defaultPackageDir } from '../../../native-models/packages/format';

process.env.OPT_PROVIDERS = 'cpu';

/** A 320x240 scene: a plain background with one emoji (its 64 px PNG drawn at 96 px) at a known place. */
async function sceneWith(label: string, left: number, top: number): Promise<{ png: Uint8Array; box: Box }> {
  const emoji = loadCatalog().find((c) => c.label === label);
  if (!emoji) throw new Error(`no ${label} in the catalog`);
  const size = 96;
  const icon = await sharp(emoji.pngPath).resize(size, size).png().toBuffer();
  const png = await sharp({ create: { width: 320, height: 240, channels: 3, background: { r: 236, g: 228, b: 210 } } })
    .composite([{ input: icon, left, top }]).png().toBuffer();
  return { png: new Uint8Array(png), box: [left / 320, top / 240, (left + size) / 320, (top + size) / 240] };
}

const iou = (a: Box, b: Box) => boxIou(a, 0, b, 0);

let svc: LocalInferenceService;
let tmp: string;
beforeAll(() => {
  svc = new LocalInferenceService({ threads: 1 });
  tmp = mkdtempSync(path.join(tmpdir(), 'opt-infer-'));
});
afterAll(async () => {
  await svc.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

describe('LocalInferenceService', () => {
  it('names the package in use and its components with their figures', async () => {
    const info = await svc.getModelInfo();
    expect(info.error).toBeUndefined();
    expect(info.packageDir).toBe(defaultPackageDir());
    const detector = info.components.find((c) => c.kind === 'detector');
    expect(detector?.metrics).toHaveProperty(['test5k.mAP50']);
  });

  it('finds an emoji where it was drawn, with its class, as plain data', async () => {
    const { png, box } = await sceneWith('red apple', 180, 70);
    const result = await svc.detectRegions(png, {});
    expect(result.ms).toBeGreaterThan(0);
    const best = result.proposals[0];
    expect(best).toBeDefined();
    expect(best.label).toBe('red apple');
    expect(iou(best.box, box)).toBeGreaterThan(0.6);
    expect(best.objectness).toBeGreaterThan(0.5);
    expect(best.alternatives).toHaveLength(4);
    expect(best.alternatives.every((a) => a.score <= best.score)).toBe(true);
    expect(Object.keys(best).sort()).toEqual(['alternatives', 'box', 'label', 'objectness', 'score']); // no region features
    // maxRegions and minObjectness reach the detector.
    expect((await svc.detectRegions(png, { maxRegions: 1, minObjectness: 0 })).proposals).toHaveLength(1);
    expect((await svc.detectRegions(png, { minObjectness: 1 })).proposals).toEqual([]);
  });

  it('leaves out proposals that are boxes the item already has, and counts them', async () => {
    const { png, box } = await sceneWith('red apple', 180, 70);
    const all = await svc.detectRegions(png, {});
    const r = await svc.detectRegions(png, { exclude: [[0, 0, 0.1, 0.1], [box[0] + 0.01, box[1], box[2], box[3] - 0.01]] });
    expect(r.excluded).toBe(1);
    expect(r.proposals).toHaveLength(all.proposals.length - 1);
    expect(r.proposals.some((p) => iou(p.box, box) > 0.6)).toBe(false);
  });

  it('answers concurrent requests one at a time, each with its own image', async () => {
    const [a, b] = await Promise.all([sceneWith('cat face', 20, 20), sceneWith('rocket', 200, 120)]);
    let running = 0;
    let most = 0;
    let calls = 0;
    const detect = RegionDetector.prototype.detect;
    const spy = vi.spyOn(RegionDetector.prototype, 'detect').mockImplementation(async function (this: RegionDetector, ...args) {
      calls++;
      most = Math.max(most, ++running);
      try {
        return await detect.apply(this, args);
      } finally {
        running--;
      }
    });
    const [ra, rb] = await Promise.all([svc.detectRegions(a.png, {}), svc.detectRegions(b.png, {})]).finally(() => spy.mockRestore());
    expect(calls).toBe(2);
    expect(most).toBe(1);
    expect(ra.proposals[0].label).toBe('cat face');
    expect(iou(ra.proposals[0].box, a.box)).toBeGreaterThan(0.6);
    expect(rb.proposals[0].label).toBe('rocket');
    expect(iou(rb.proposals[0].box, b.box)).toBeGreaterThan(0.6);
  });

  it('rejects an unreadable image with a message that says so, and goes on working', async () => {
    await expect(svc.detectRegions(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]), {})).rejects.toMatchObject({ name: UNREADABLE_INPUT_ERROR, message: expect.stringMatching(/image could not be read/) });
    const { png } = await sceneWith('banana', 100, 100);
    expect((await svc.detectRegions(png, {})).proposals[0].label).toBe('banana');
  });

  it('tokenizes an image into the dVAE codes and the image they decode to, near exact for a flat colour', async () => {
    const flat = new Uint8Array(await sharp({ create: { width: 256, height: 256, channels: 3, background: { r: 128, g: 128, b: 128 } } }).png().toBuffer());
    const t = await svc.tokenizeImage(flat);
    expect(t).toMatchObject({ grid: 8, size: 64 });
    expect(t.codes).toHaveLength(64);
    expect(t.codes.every((c) => Number.isInteger(c) && c >= 0 && c < t.codebookSize)).toBe(true);
    expect(t.psnr).toBeGreaterThan(35);
    for (const png of [t.input, t.reconstruction]) expect(await sharp(png).metadata()).toMatchObject({ format: 'png', width: 64, height: 64 });
    const { data: input } = await sharp(t.input).raw().toBuffer({ resolveWithObject: true });
    expect(input.every((v) => v === 128)).toBe(true); // the 64x64 the encoder saw

    const { png } = await sceneWith('rocket', 100, 60);
    const scene = await svc.tokenizeImage(png);
    expect(scene.psnr).toBeGreaterThan(20);
    expect(scene.psnr).toBeLessThan(60);
    expect(new Set(scene.codes).size).toBeGreaterThan(new Set(t.codes).size); // a scene takes more distinct codes than grey
    await expect(svc.tokenizeImage(new Uint8Array([1, 2, 3]))).rejects.toThrow(/image could not be read/);
  });

  it("encodes a recording into speech tokens (50 per second) and OPT's pooled audio tokens; says what the front end noticed", async () => {
    const rate = 8000;
    const tone = (s: number, amp: number) => Float32Array.from({ length: Math.round(s * rate) }, (_, i) => amp * Math.sin((2 * Math.PI * (220 + 200 * Math.sin(i / 900)) * i) / rate));
    const stereo = writeWav({ sampleRate: rate, channels: [tone(2, 0.3), tone(2, 0.2)] });
    const t = await svc.encodeSpeech(stereo);
    expect(t.frameRate).toBe(50);
    expect(t.durationS).toBeCloseTo(2, 2);
    expect(t.tokens.length).toBeGreaterThan(95);
    expect(t.tokens.length).toBeLessThanOrEqual(100);
    expect(t.tokens.every((c) => Number.isInteger(c) && c >= 0 && c < t.vocab)).toBe(true);
    expect(t.pooled).toBeLessThanOrEqual(64);
    expect(t.pooled * t.window).toBeGreaterThanOrEqual(t.tokens.length);
    expect(t).toMatchObject({ silent: false, clipped: false });
    expect((await svc.encodeSpeech(writeWav({ sampleRate: 16000, channels: [new Float32Array(16000)] }))).silent).toBe(true);
    await expect(svc.encodeSpeech(writeWav({ sampleRate: 16000, channels: [tone(0.01, 0.3)] }))).rejects.toThrow(/^The recording could not be used: is \d+\.\d ms long/);
    await expect(svc.encodeSpeech(new Uint8Array([82, 73, 70, 70, 0, 1]))).rejects.toThrow(/^The recording could not be used/);
  });

  it('dispose lets the requests already queued finish, then refuses new ones', async () => {
    const own = new LocalInferenceService({ threads: 1 });
    const { png } = await sceneWith('banana', 100, 100);
    const released = vi.spyOn(RegionDetector.prototype, 'dispose');
    const queued = own.detectRegions(png, {});
    const disposing = own.dispose();
    expect((await queued).proposals[0].label).toBe('banana');
    await disposing;
    expect(released).toHaveBeenCalledTimes(1); // the detector it loaded, after the queued request
    released.mockRestore();
    await expect(own.detectRegions(png, {})).rejects.toThrow('The inference service has stopped.');
  });

  it('a missing or broken package: getModelInfo says why, detection is unavailable with the reason, and a fixed package works', async () => {
    const dir = path.join(tmp, 'pkg');
    const broken = new LocalInferenceService({ packageDir: dir, threads: 1 });
    try {
      expect((await broken.getModelInfo()).error).toMatch(/pkg/);
      const { png } = await sceneWith('banana', 100, 100);
      await expect(broken.detectRegions(png, {})).rejects.toMatchObject({ name: 'ModelUnavailableError', message: expect.stringMatching(/^Region detection is unavailable: model package/) });
      await expect(broken.tokenizeImage(png)).rejects.toMatchObject({ name: 'ModelUnavailableError', message: expect.stringMatching(/^Image tokenization is unavailable: model package/) });
      await expect(broken.encodeSpeech(writeWav({ sampleRate: 16000, channels: [new Float32Array(8000)] }))).rejects.toMatchObject({ name: 'ModelUnavailableError', message: expect.stringMatching(/^Speech encoding is unavailable: model package/) });
      // A detector graph that is not what the manifest says.
      cpSync(defaultPackageDir(), dir, { recursive: true });
      const head = path.join(dir, 'detector', 'head.onnx');
      const good = await import('node:fs').then((fs) => fs.readFileSync(head));
      writeFileSync(head, 'not an onnx file');
      await expect(broken.detectRegions(png, {})).rejects.toThrow(/Region detection is unavailable: .*sha256/);
      // Put right, the next request loads it (a failed load is not kept).
      writeFileSync(head, good);
      expect((await broken.detectRegions(png, {})).proposals[0].label).toBe('banana');
    } finally {
      await broken.dispose();
    }
  });
});
