// Renderer logic that needs no DOM: WAV waveform peaks (what the item view draws) and the
// microphone error messages a user sees.
import { describe, expect, it } from 'vitest';
import { microphoneErrorMessage } from '../../renderer/src/composables/useRecorder';
import { wavPeaks } from '../../renderer/src/composables/useWaveform';

/** A PCM16 mono WAV, written by hand (the format the service stores), optionally with an extra chunk before data. */
function wav(samples: number[], rate = 16000, extraChunk = false): ArrayBuffer {
  const extra = extraChunk ? 8 + 4 : 0;
  const buf = new ArrayBuffer(44 + extra + samples.length * 2);
  const v = new DataView(buf);
  const tag = (o: number, s: string) => [...s].forEach((c, i) => v.setUint8(o + i, c.charCodeAt(0)));
  tag(0, 'RIFF');
  v.setUint32(4, buf.byteLength - 8, true);
  tag(8, 'WAVE');
  tag(12, 'fmt ');
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true);
  v.setUint16(22, 1, true);
  v.setUint32(24, rate, true);
  v.setUint32(28, rate * 2, true);
  v.setUint16(32, 2, true);
  v.setUint16(34, 16, true);
  let o = 36;
  if (extraChunk) {
    tag(o, 'LIST');
    v.setUint32(o + 4, 4, true);
    tag(o + 8, 'INFO');
    o += 12;
  }
  tag(o, 'data');
  v.setUint32(o + 4, samples.length * 2, true);
  samples.forEach((s, i) => v.setInt16(o + 8 + i * 2, Math.round(s * 32767), true));
  return buf;
}

describe('wavPeaks', () => {
  it('gives per-column min/max and the duration', () => {
    const samples = Array.from({ length: 16000 }, (_, i) => (i < 8000 ? 0.5 * Math.sin(i / 5) : 0));
    const p = wavPeaks(wav(samples), 4);
    expect(p.durationS).toBeCloseTo(1, 6);
    expect(p.max[0]).toBeGreaterThan(0.49);
    expect(p.min[1]).toBeLessThan(-0.49);
    expect(p.max[2]).toBe(0);
    expect(p.min[3]).toBe(0);
  });

  it('skips chunks before data and rejects what is not a PCM16 WAV', () => {
    expect(wavPeaks(wav([0.25, -0.25], 8000, true), 1)).toMatchObject({ durationS: 2 / 8000 });
    expect(() => wavPeaks(new TextEncoder().encode('OggS not a wav file').buffer, 10)).toThrow(/not a WAV/);
    const float = wav([0.1]);
    new DataView(float).setUint16(34, 32, true);
    expect(() => wavPeaks(float, 10)).toThrow(/32-bit/);
  });
});

describe('microphoneErrorMessage', () => {
  it('tells denied, absent and busy microphones apart', () => {
    expect(microphoneErrorMessage(new DOMException('x', 'NotAllowedError'))).toMatch(/denied/);
    expect(microphoneErrorMessage(new DOMException('x', 'NotFoundError'))).toMatch(/No microphone/);
    expect(microphoneErrorMessage(new DOMException('x', 'NotReadableError'))).toMatch(/in use/);
    expect(microphoneErrorMessage(new Error('boom'))).toMatch(/boom/);
  });
});
