// One EmojiScenes item from (plan, index): scene, pixels, captions, speech, trace and regions. A pure
// function of its inputs (every draw from a stream named by seed and index), so workers can make
// items in any order and the result is the same as making them one by one.

import { createHash } from 'node:crypto';
import { loadCatalog, type EmojiClass } from './catalog';
import { describe } from './captions';
import { Rng } from './prng';
import { composite, downscaleRgb, encodePng, loadSprite, paintBackground, resizeSprite, toBytes, type Sprite } from './raster';
import { drawBackground, IMAGE_SIZE, layout, pairKey, SMALL_SIZE, type Scene } from './scene';
import type { Speaker, VoiceParams } from './speech';
import { assignSplits, heldOutPairs, SPLIT_NAMES, type SplitName, type SplitSizes } from './splits';
import { synthTrace, type TracePoint } from './trace';

/** Bumped whenever output for a given seed changes (it is part of every item's digest). */
export const GENERATOR_VERSION = 1;

/** What fixes a dataset: the same config gives the same bytes. */
export interface DemoConfig {
  seed: number;
  size: number;
  splitSizes: SplitSizes;
  /** Catalog indices of the classes to draw from (all by default). */
  classes: number[];
  /** eSpeak voices to speak with (default: all English voices). */
  voices?: string[];
  /** False: no spoken captions (when eSpeak is unavailable, e.g. in the packaged app). */
  speech: boolean;
}

export interface Plan {
  config: DemoConfig;
  splits: Uint8Array;
  /** For novel items: their ordinal among novel items (else -1). */
  novelOrdinal: Int32Array;
  novelPairs: [number, number][];
  heldOut: Set<string>;
}

export function makePlan(config: DemoConfig): Plan {
  const splits = assignSplits(config.seed, config.splitSizes);
  const novel = SPLIT_NAMES.indexOf('novel');
  const novelOrdinal = new Int32Array(splits.length).fill(-1);
  let k = 0;
  for (let i = 0; i < splits.length; i++) if (splits[i] === novel) novelOrdinal[i] = k++;
  const novelPairs = heldOutPairs(config.seed, config.classes, config.splitSizes.novel);
  return { config, splits, novelOrdinal, novelPairs, heldOut: new Set(novelPairs.map(([a, b]) => pairKey(a, b))) };
}

export interface GeneratedSpoken {
  wav: Uint8Array;
  durationS: number;
  trace: TracePoint[][];
  timedCaption: { utterance: string; startTime: number; endTime: number }[];
  transcript: string;
  voice: VoiceParams;
}

export interface GeneratedItem {
  index: number;
  split: SplitName;
  fileName: string;
  /** 256x256 RGB PNG (the detector's input) and its 64x64 box-filtered downscale (the dVAE's target). */
  png: Uint8Array;
  png64: Uint8Array;
  captions: string[];
  regions: { box: [number, number, number, number]; label: string }[];
  spoken?: GeneratedSpoken;
  /** sha256 of the item's canonical content (see itemDigest). */
  digest: string;
}

/** Per-thread resources: decoded sprites (cached) and the speaker. */
export class Workshop {
  private readonly sprites = new Map<number, Sprite>();
  readonly catalog: EmojiClass[] = loadCatalog();
  constructor(readonly speaker?: Speaker) {}

  async sprite(c: EmojiClass): Promise<Sprite> {
    let s = this.sprites.get(c.index);
    if (!s) {
      s = await loadSprite(c.pngPath);
      this.sprites.set(c.index, s);
    }
    return s;
  }
}

export const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

/** File name of item i (also how a resumed run knows which items exist). */
export function itemFileName(index: number): string {
  return `emojiscenes-${String(index).padStart(7, '0')}.png`;
}

/**
 * Canonical content of an item for the digest: everything the dataset stores for it, media by
 * sha256. Written with a fixed key order; numbers were rounded when made, so they print alike.
 */
export function itemDigest(x: {
  index: number; split: string; image: string; captions: string[]; regions: { box: number[]; label: string }[];
  spoken?: { wav: string; durationS: number; trace: TracePoint[][]; timedCaption: { utterance: string; startTime: number; endTime: number }[] };
}): string {
  return sha256(JSON.stringify([GENERATOR_VERSION, x.index, x.split, x.image, x.captions, x.regions.map((r) => [r.box, r.label]),
    x.spoken ? [x.spoken.wav, x.spoken.durationS, x.spoken.trace, x.spoken.timedCaption.map((u) => [u.utterance, u.startTime, u.endTime])] : null]));
}

function chooseClasses(rng: Rng, plan: Plan, index: number, catalog: EmojiClass[]): EmojiClass[] {
  const ord = plan.novelOrdinal[index];
  if (ord >= 0) {
    const [a, b] = plan.novelPairs[ord % plan.novelPairs.length];
    return rng.shuffle([catalog[a], catalog[b]]);
  }
  const pool = plan.config.classes;
  const k = 1 + rng.weighted([20, 35, 25, 20]);
  const chosen: number[] = [];
  while (chosen.length < k) {
    if (chosen.length > 0 && rng.chance(0.15)) {
      chosen.push(rng.pick(chosen)); // a repeat: "two apples"
      continue;
    }
    let c = -1;
    for (let t = 0; t < 50; t++) {
      const cand = rng.pick(pool);
      if (!chosen.some((o) => o !== cand && plan.heldOut.has(pairKey(o, cand)))) {
        c = cand;
        break;
      }
    }
    if (c < 0) break; // every candidate would form a held-out pair: keep fewer objects
    chosen.push(c);
  }
  return chosen.map((c) => catalog[c]);
}

/** Generates item `index` of the plan. */
export async function generateItem(plan: Plan, index: number, ws: Workshop): Promise<GeneratedItem> {
  const { seed } = plan.config;
  const rng = Rng.for(seed, 'scene', index);
  const classes = chooseClasses(rng, plan, index, ws.catalog);
  const sprites = new Map<number, Sprite>();
  for (const c of classes) sprites.set(c.index, await ws.sprite(c));
  const bg = drawBackground(rng);
  const objects = layout(rng, { classes, sprites: (c) => sprites.get(c.index) as Sprite });
  const scene: Scene = { background: bg.background, backgroundPhrase: bg.phrase, objects };

  const canvas = paintBackground(scene.background, IMAGE_SIZE);
  for (const o of objects) composite(canvas, resizeSprite(sprites.get(o.cls.index) as Sprite, o.size), o.size, o.left, o.top);
  const rgb = toBytes(canvas);
  const png = encodePng(rgb, IMAGE_SIZE, IMAGE_SIZE);
  const png64 = encodePng(downscaleRgb(rgb, IMAGE_SIZE, IMAGE_SIZE / SMALL_SIZE), SMALL_SIZE, SMALL_SIZE);

  const text = describe(Rng.for(seed, 'captions', index), scene);
  const regions = objects.map((o) => ({ box: o.box, label: o.cls.label }));
  const split = SPLIT_NAMES[plan.splits[index]];

  let spoken: GeneratedSpoken | undefined;
  if (plan.config.speech) {
    if (!ws.speaker) throw new Error('speech requested but no speaker was started');
    const vrng = Rng.for(seed, 'voice', index);
    const voice = ws.speaker.pickVoice(vrng);
    const u = ws.speaker.speak(text.narrative.text, voice);
    const trace = synthTrace(Rng.for(seed, 'trace', index), text.narrative.mentions, u.words, objects.map((o) => o.box), u.durationS);
    spoken = {
      wav: u.wav, durationS: u.durationS, trace, transcript: text.narrative.text, voice,
      timedCaption: u.words.map((w) => ({ utterance: w.word.replace(/[.,;:!?]+$/, ''), startTime: w.startTime, endTime: w.endTime })),
    };
  }
  const digest = itemDigest({
    index, split, image: sha256(png), captions: text.captions, regions,
    spoken: spoken && { wav: sha256(spoken.wav), durationS: spoken.durationS, trace: spoken.trace, timedCaption: spoken.timedCaption },
  });
  return { index, split, fileName: itemFileName(index), png, png64, captions: text.captions, regions, spoken, digest };
}
