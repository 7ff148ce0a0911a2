// Web mode's inference process (electron/web/inference-supervisor.ts) with the shipped model package: image bytes in
// and proposals out across the process boundary; a crash (SIGKILL, as a native fault in onnxruntime would end it)
// fails the running request with a clear error, the next request starts a fresh process, and one that keeps
// crashing is given up with a message saying so; closing stops it.
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { RestartPolicy } from '../../../electron/common/restart-policy';
import { startInferenceProcess } from '../../../electron/web/inference-supervisor';

const image = async () => new Uint8Array(await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 20, g: 120, b: 220 } } }).png().toBuffer());
const gone = (pid: number) => {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
};

describe('web mode inference process', () => {
  it('runs the models in a child process: image bytes in, proposals out, errors by name; closing stops it', async () => {
    const models = await startInferenceProcess();
    const pid = models.pid()!;
    try {
      expect(pid).not.toBe(process.pid);
      expect((await models.inference.getModelInfo()).components.map((c) => c.kind)).toEqual(expect.arrayContaining(['detector', 'dvae', 'audio-encoder']));
      const result = await models.inference.detectRegions(await image(), { minObjectness: 0, maxRegions: 2 });
      expect(result.proposals.length).toBeLessThanOrEqual(2);
      expect(result.ms).toBeGreaterThan(0);
      await expect(models.inference.detectRegions(new Uint8Array([7, 7, 7]), {})).rejects.toThrow(/image could not be read/);
      // Arguments are validated in the child, as over any transport.
      await expect(models.inference.detectRegions(new Uint8Array(0), {})).rejects.toMatchObject({ name: 'ValidationError' });
    } finally {
      await models.close();
    }
    await expect.poll(() => gone(pid)).toBe(true);
    await expect(models.inference.getModelInfo()).rejects.toThrow(/closed/);
  });

  it('Ctrl+C (SIGINT to the process group) leaves it to the server; closing during a request says so; calls overlap', async () => {
    const models = await startInferenceProcess();
    const pid = models.pid()!;
    try {
      process.kill(pid, 'SIGINT');
      process.kill(pid, 'SIGTERM');
      const [a, b] = await Promise.all([models.inference.getModelInfo(), models.inference.detectRegions(await image(), { maxRegions: 1 })]);
      expect(a.components.length).toBeGreaterThan(0);
      expect(b.proposals.length).toBeLessThanOrEqual(1);
      expect(models.pid()).toBe(pid);
      const img = await image();
      const running = expect(models.inference.tokenizeImage(img)).rejects.toThrow(/The inference service is closed/);
      await models.close();
      await running;
    } finally {
      await models.close();
    }
    await expect.poll(() => gone(pid)).toBe(true);
  });

  it('a crash fails the running request clearly; the next request starts a fresh process; one that keeps crashing is given up', async () => {
    const models = await startInferenceProcess(undefined, new RestartPolicy({ windowMs: 60_000, maxExits: 3, baseDelayMs: 0 }));
    try {
      const first = models.pid()!;
      const running = models.inference.detectRegions(await image(), { minObjectness: 0 });
      process.kill(first, 'SIGKILL');
      await expect(running).rejects.toThrow(/The inference process stopped \(signal SIGKILL\); the next request starts it again/);
      expect((await models.inference.getModelInfo()).components.length).toBeGreaterThan(0);
      const second = models.pid()!;
      expect(second).not.toBe(first);
      // Killed while idle: the next request still works.
      process.kill(second, 'SIGKILL');
      await expect.poll(() => models.pid()).toBeUndefined();
      expect((await models.inference.getModelInfo()).components.length).toBeGreaterThan(0);
      // A request sent the moment the process dies (its channel not yet seen closed) fails or restarts it, and
      // never takes the server down (an unhandled EPIPE would).
      const third = models.pid()!;
      process.kill(third, 'SIGKILL');
      await models.inference.getModelInfo().catch((e: Error) => expect(e.message).toMatch(/The inference process stopped/));
      expect((await models.inference.getModelInfo()).components.length).toBeGreaterThan(0);
      expect(models.pid()).not.toBe(third);
      // A fourth exit within the window: given up, and every request says why.
      process.kill(models.pid()!, 'SIGKILL');
      await expect.poll(() => models.pid()).toBeUndefined();
      await expect(models.inference.getModelInfo()).rejects.toThrow(/keeps stopping \(last: signal SIGKILL\); restart the studio server/);
    } finally {
      await models.close();
    }
  });
});
