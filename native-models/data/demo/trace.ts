// A synthetic mouse trace, as in Localized Narratives: while the words naming an object are
// spoken, the pointer circles over that object's box; between mentions it glides to the next one.

import type { Mention } from './captions';
import { round, type Rng } from './prng';
import type { WordTiming } from './speech';

export interface TracePoint {
  x: number;
  y: number;
  t: number;
}

/** Samples per second of the trace. */
export const TRACE_HZ = 25;

/** The time span in which a mention's words are spoken. */
export function mentionTimes(m: Mention, words: readonly WordTiming[]): [number, number] {
  const ws = words.filter((w) => w.end > m.start && w.start < m.end);
  if (ws.length === 0) throw new Error(`no words cover characters ${m.start}-${m.end}`);
  return [ws[0].startTime, ws[ws.length - 1].endTime];
}

interface Leg {
  t0: number;
  t1: number;
  box: readonly number[];
  phase: number;
  turns: number;
  rx: number;
  ry: number;
}

/** The trace of one narrative: one segment sampled at TRACE_HZ over the whole recording. */
export function synthTrace(
  rng: Rng, mentions: readonly Mention[], words: readonly WordTiming[], boxes: readonly (readonly number[])[], durationS: number,
): TracePoint[][] {
  const legs: Leg[] = [];
  for (const m of mentions) {
    const [t0, t1] = mentionTimes(m, words);
    const span = Math.max(0.2, t1 - t0) / m.objects.length;
    m.objects.forEach((o, k) => legs.push({
      t0: t0 + k * span, t1: t0 + (k + 1) * span, box: boxes[o],
      phase: rng.range(0, 2 * Math.PI), turns: rng.range(0.8, 1.6) * (rng.chance(0.5) ? 1 : -1),
      rx: rng.range(0.2, 0.4), ry: rng.range(0.2, 0.4),
    }));
  }
  const onLeg = (l: Leg, t: number): [number, number] => {
    const u = Math.min(1, Math.max(0, (t - l.t0) / Math.max(1e-3, l.t1 - l.t0)));
    const a = l.phase + 2 * Math.PI * l.turns * u;
    const cx = (l.box[0] + l.box[2]) / 2;
    const cy = (l.box[1] + l.box[3]) / 2;
    return [cx + Math.cos(a) * l.rx * (l.box[2] - l.box[0]), cy + Math.sin(a) * l.ry * (l.box[3] - l.box[1])];
  };
  const start: [number, number] = [rng.range(0.3, 0.7), rng.range(0.3, 0.7)];
  const n = Math.max(2, Math.floor(durationS * TRACE_HZ) + 1);
  const pts: TracePoint[] = [];
  const wobble = rng.range(0.002, 0.006);
  for (let i = 0; i < n; i++) {
    const t = Math.min(durationS, i / TRACE_HZ);
    let p: [number, number];
    const li = legs.findIndex((l) => t >= l.t0 && t < l.t1);
    if (li >= 0) {
      p = onLeg(legs[li], t);
    } else {
      const next = legs.findIndex((l) => l.t0 > t);
      const prev = next === -1 ? legs.length - 1 : next - 1;
      const from = prev >= 0 ? onLeg(legs[prev], legs[prev].t1) : start;
      const fromT = prev >= 0 ? legs[prev].t1 : 0;
      if (next === -1) p = from;
      else {
        const to = onLeg(legs[next], legs[next].t0);
        const u = (t - fromT) / Math.max(1e-3, legs[next].t0 - fromT);
        const e = u * u * (3 - 2 * u);
        p = [from[0] + (to[0] - from[0]) * e, from[1] + (to[1] - from[1]) * e];
      }
    }
    const x = Math.min(1, Math.max(0, p[0] + rng.range(-wobble, wobble)));
    const y = Math.min(1, Math.max(0, p[1] + rng.range(-wobble, wobble)));
    pts.push({ x: round(x, 4), y: round(y, 4), t: round(t, 3) });
  }
  return [pts];
}
