// Waveform peaks of a 16-bit PCM WAV (what the service stores), for drawing.

/** Min/max per column of a PCM16 WAV's samples; throws on a file that is not PCM16 WAV. */
export function wavPeaks(buffer: ArrayBuffer, columns: number): { min: Float32Array; max: Float32Array; durationS: number } {
  const view = new DataView(buffer);
  const tag = (o: number) => String.fromCharCode(view.getUint8(o), view.getUint8(o + 1), view.getUint8(o + 2), view.getUint8(o + 3));
  if (buffer.byteLength < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') throw new Error('not a WAV file');
  let offset = 12;
  let rate = 16000;
  let channels = 1;
  let bits = 16;
  while (offset + 8 <= buffer.byteLength) {
    const id = tag(offset);
    const size = view.getUint32(offset + 4, true);
    if (id === 'fmt ') {
      channels = view.getUint16(offset + 10, true);
      rate = view.getUint32(offset + 12, true);
      bits = view.getUint16(offset + 22, true);
    } else if (id === 'data') {
      if (bits !== 16) throw new Error(`unsupported WAV: ${bits}-bit`);
      const frames = Math.floor(Math.min(size, buffer.byteLength - offset - 8) / (2 * channels));
      const min = new Float32Array(columns);
      const max = new Float32Array(columns);
      const per = Math.max(1, frames / columns);
      for (let c = 0; c < columns; c++) {
        let lo = 0;
        let hi = 0;
        const from = Math.floor(c * per);
        const to = Math.min(frames, Math.floor((c + 1) * per));
        for (let i = from; i < to; i++) {
          const v = view.getInt16(offset + 8 + i * 2 * channels, true) / 32768;
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
        min[c] = lo;
        max[c] = hi;
      }
      return { min, max, durationS: frames / rate };
    }
    offset += 8 + size + (size & 1);
  }
  throw new Error('WAV has no data chunk');
}
