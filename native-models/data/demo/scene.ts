// Scene layout: which emoji, where, how big, in which order, on what background. Pure data drawn
// from a seeded stream; render.ts turns it into pixels and captions.ts into words.

import { article, type EmojiClass } from './catalog';
import { PALETTE, type NamedColour } from './colours';
import { round, type Rng } from './prng';
import type { Background, Rgb, Sprite } from './raster';

export const IMAGE_SIZE = 256;
export const SMALL_SIZE = 64;

export interface SceneObject {
  cls: EmojiClass;
  /** Side of the drawn sprite in pixels, and its top-left corner. */
  size: number;
  left: number;
  top: number;
  /** Tight box of the visible emoji, normalised to [0, 1]: [x0, y0, x1, y1]. */
  box: [number, number, number, number];
  /** Mean colour of the emoji's opaque pixels (for colour words). */
  colour: Rgb;
}

export interface Scene {
  background: Background;
  /** Caption phrase for the background, without article ("light blue background", "red and white stripes"). */
  backgroundPhrase: string;
  /** Objects in drawing order: later ones are in front. */
  objects: SceneObject[];
}

/** Pair key of two class indices, order-free. */
export function pairKey(a: number, b: number): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

function jitter(rng: Rng, c: readonly number[]): Rgb {
  const j = () => rng.int(-10, 10);
  return [c[0] + j(), c[1] + j(), c[2] + j()].map((v) => Math.max(0, Math.min(255, v))) as Rgb;
}

function twoColours(rng: Rng): [NamedColour, NamedColour] {
  const a = rng.pick(PALETTE);
  let b = rng.pick(PALETTE);
  for (let i = 0; i < 20 && (b.name === a.name || lum(a.rgb) - lum(b.rgb) === 0 || Math.abs(lum(a.rgb) - lum(b.rgb)) < 25); i++) b = rng.pick(PALETTE);
  return [a, b];
}

const lum = (c: readonly number[]) => 0.3 * c[0] + 0.59 * c[1] + 0.11 * c[2];

/** Draws a background and the phrase that names it. */
export function drawBackground(rng: Rng): { background: Background; phrase: string } {
  const kind = rng.weighted([30, 22, 16, 10, 8, 8, 6]);
  const [a, b] = twoColours(rng);
  const c1 = jitter(rng, a.rgb);
  const c2 = jitter(rng, b.rgb);
  switch (kind) {
    case 0:
      return { background: { kind: 'solid', c1 }, phrase: rng.pick([`${a.name} background`, `plain ${a.name} background`]) };
    case 1: {
      const dir = rng.pick(['horizontal', 'vertical', 'diagonal', 'radial'] as const);
      const phrase = dir === 'radial'
        ? `background glowing from ${a.name} in the middle to ${b.name} at the edges`
        : rng.pick([`${a.name} to ${b.name} gradient background`, `background fading from ${a.name} to ${b.name}`]);
      return { background: { kind: 'gradient', c1, c2, dir }, phrase };
    }
    case 2:
      return {
        background: { kind: 'noise', c1, c2, cells: rng.int(3, 7), seed: rng.u32() },
        phrase: rng.pick([`mottled ${a.name} and ${b.name} background`, `cloudy ${a.name} and ${b.name} background`]),
      };
    case 3: {
      const dir = rng.pick(['horizontal', 'vertical', 'diagonal'] as const);
      return {
        background: { kind: 'stripes', c1, c2, period: rng.int(6, 24), dir },
        phrase: rng.pick([`background with ${dir} ${a.name} and ${b.name} stripes`, `${a.name} and ${b.name} striped background`]),
      };
    }
    case 4:
      return { background: { kind: 'checks', c1, c2, period: rng.int(8, 32) }, phrase: `${a.name} and ${b.name} checkered background` };
    case 5:
      return {
        background: { kind: 'dots', c1, c2, period: rng.int(12, 28), radius: rng.int(2, 5) },
        phrase: rng.pick([`${a.name} background with ${b.name} dots`, `${a.name} background with ${b.name} polka dots`]),
      };
    default:
      return { background: { kind: 'grid', c1, c2, period: rng.int(12, 32) }, phrase: `${a.name} background with ${article(b.name)} ${b.name} grid` };
  }
}

/** Side length range of a sprite by object count (more objects, smaller objects). */
const SIZE_RANGE: Record<number, [number, number]> = { 1: [88, 176], 2: [60, 128], 3: [50, 108], 4: [44, 96] };

function overlapOk(boxes: number[][], b: number[]): boolean {
  for (const o of boxes) {
    const iw = Math.min(o[2], b[2]) - Math.max(o[0], b[0]);
    const ih = Math.min(o[3], b[3]) - Math.max(o[1], b[1]);
    if (iw <= 0 || ih <= 0) continue;
    const inter = iw * ih;
    const small = Math.min((o[2] - o[0]) * (o[3] - o[1]), (b[2] - b[0]) * (b[3] - b[1]));
    if (inter / small > 0.3) return false;
  }
  return true;
}

export interface LayoutOptions {
  /** Classes to draw, in order (already chosen). */
  classes: EmojiClass[];
  sprites: (c: EmojiClass) => Sprite;
}

/** Places the chosen classes on the canvas with varied scale and position and limited overlap. */
export function layout(rng: Rng, opts: LayoutOptions): SceneObject[] {
  const k = opts.classes.length;
  const [lo, hi] = SIZE_RANGE[Math.min(4, Math.max(1, k))];
  const placed: SceneObject[] = [];
  const boxes: number[][] = [];
  for (const cls of opts.classes) {
    const sp = opts.sprites(cls);
    let best: SceneObject | undefined;
    for (let attempt = 0; attempt < 40; attempt++) {
      const shrink = attempt >= 20 ? 0.75 : 1;
      const size = Math.round(rng.range(lo, hi) * shrink);
      const left = rng.int(0, IMAGE_SIZE - size);
      const top = rng.int(0, IMAGE_SIZE - size);
      const f = size / sp.size;
      const px = [left + sp.box[0] * f, top + sp.box[1] * f, left + sp.box[2] * f, top + sp.box[3] * f];
      const box = px.map((v) => round(Math.min(1, Math.max(0, v / IMAGE_SIZE)), 4)) as [number, number, number, number];
      best = { cls, size, left, top, box, colour: sp.mean };
      if (overlapOk(boxes, box)) break;
    }
    placed.push(best as SceneObject);
    boxes.push((best as SceneObject).box);
  }
  return placed;
}

/** Words that name each patterned or shaded background in drawBackground's phrases (and so in the captions). */
const BACKGROUND_WORDS: readonly [Background['kind'], RegExp][] = [
  ['checks', /\bcheckered\b/], ['grid', /\bgrid\b/], ['dots', /\bdots\b/], ['stripes', /\bstripe[sd]\b/],
  ['noise', /\b(mottled|cloudy)\b/], ['gradient', /\bgradient\b|\b(fading|glowing) from\b/],
];

/**
 * The kind of background an EmojiScenes narrative (an item's first caption, which always names the background
 * with drawBackground's phrase) describes; 'solid' when it speaks of a background in none of the other ways,
 * undefined when it says nothing about one. Other caption styles can carry object keywords ("stripes" for a
 * zebra), so give it the narrative. For per-background figures of models evaluated on EmojiScenes (eval:dvae).
 */
export function backgroundKindInCaption(text: string): Background['kind'] | undefined {
  const t = text.toLowerCase();
  for (const [kind, re] of BACKGROUND_WORDS) if (re.test(t)) return kind;
  return /\bbackground\b/.test(t) ? 'solid' : undefined;
}

