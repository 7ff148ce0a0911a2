import sharp from 'sharp';
import { describe, expect, test } from 'vitest';
import { article, loadCatalog, plural, resolveClasses } from '../../../../native-models/data/demo/catalog';
import { describe as describeScene, relation } from '../../../../native-models/data/demo/captions';
import { hash32, Rng } from '../../../../native-models/data/demo/prng';
import { downscaleRgb, encodePng } from '../../../../native-models/data/demo/raster';
import { backgroundKindInCaption, drawBackground, type SceneObject } from '../../../../native-models/data/demo/scene';
import { wordTimings } from '../../../../native-models/data/demo/speech';
import { assignSplits, defaultSplitSizes, heldOutPairs, parseSplitSizes } from '../../../../native-models/data/demo/splits';

describe('catalog', () => {
  test('object-like emoji, lower-case names, subcategory super-classes', () => {
    const cat = loadCatalog();
    expect(cat.length).toBeGreaterThan(800);
    expect(cat.length).toBeLessThan(900);
    const apple = cat.find((c) => c.label === 'red apple');
    expect(apple?.superclass).toBe('food-fruit');
    expect(apple?.names).toContain('apple');
    expect(new Set(cat.map((c) => c.label)).size).toBe(cat.length);
    expect(cat.every((c) => c.label === c.label.toLowerCase() && c.names[0] === c.label)).toBe(true);
  });

  test('unknown class names are refused with suggestions', () => {
    expect(resolveClasses(['red apple', '🐶', 'dog']).map((c) => c.label)).toEqual(['red apple', 'dog face', 'dog']);
    expect(() => resolveClasses(['red apple', 'applz pie'])).toThrow(/unknown emoji class: "applz pie"/);
    expect(() => resolveClasses(['dragonfruit'])).toThrow(/unknown/);
  });

  test('plural and article', () => {
    expect(plural('red apple')).toBe('red apples');
    expect(plural('mouse')).toBe('mice');
    expect(plural('roll of paper')).toBe('rolls of paper');
    expect(plural('bus')).toBe('buses');
    expect(article('apple')).toBe('an');
    expect(article('dog')).toBe('a');
    expect(article('jeans')).toBe('some');
    expect(article('background with grey dots')).toBe('a');
  });
});

describe('prng', () => {
  test('streams are reproducible and independent', () => {
    const a = Rng.for(1, 'scene', 5);
    const b = Rng.for(1, 'scene', 5);
    const xs = Array.from({ length: 5 }, () => a.u32());
    expect(Array.from({ length: 5 }, () => b.u32())).toEqual(xs);
    expect(Rng.for(1, 'scene', 6).u32()).not.toBe(xs[0]);
    expect(Rng.for(2, 'scene', 5).u32()).not.toBe(xs[0]);
    expect(hash32(1, 2)).not.toBe(hash32(2, 1));
  });
});

describe('raster', () => {
  test('the PNG encoder round-trips through a standard decoder', async () => {
    const rng = new Rng(3);
    const rgb = new Uint8Array(40 * 24 * 3).map((_, i) => (i % 7 === 0 ? rng.int(0, 255) : (i * 13) & 255));
    const png = encodePng(rgb, 40, 24);
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([40, 24, 3]);
    expect(Buffer.compare(data, Buffer.from(rgb))).toBe(0);
    expect(Buffer.compare(Buffer.from(encodePng(rgb, 40, 24)), Buffer.from(png))).toBe(0);
  });

  test('downscale averages 4x4 blocks', () => {
    const rgb = new Uint8Array(8 * 8 * 3).fill(10);
    rgb.fill(250, 0, 3);
    const small = downscaleRgb(rgb, 8, 4);
    expect(small.length).toBe(2 * 2 * 3);
    expect(small[0]).toBe(Math.floor((15 * 10 + 250 + 8) / 16));
    expect(small[3]).toBe(10);
  });
});

describe('captions', () => {
  const obj = (box: [number, number, number, number]) => ({ box } as SceneObject);
  test('spatial relations follow the boxes', () => {
    const rng = new Rng(1);
    const left = obj([0.05, 0.4, 0.25, 0.6]);
    const right = obj([0.7, 0.05, 0.9, 0.25]);
    for (let i = 0; i < 20; i++) {
      expect(relation(rng, left, right, false)).toMatch(/left of|next to|beside/);
      expect(relation(rng, right, left, false)).toMatch(/right of|next to|beside/);
    }
    expect(relation(rng, obj([0.4, 0.05, 0.6, 0.2]), obj([0.4, 0.7, 0.6, 0.9]), false)).toMatch(/above|over/);
    expect(relation(rng, obj([0.4, 0.7, 0.6, 0.9]), obj([0.4, 0.05, 0.6, 0.2]), false)).toMatch(/below|under|beneath/);
    expect(relation(rng, obj([0.3, 0.3, 0.6, 0.6]), obj([0.4, 0.4, 0.7, 0.7]), true)).toBe('in front of');
    expect(relation(rng, obj([0.3, 0.3, 0.6, 0.6]), obj([0.4, 0.4, 0.7, 0.7]), false)).toBe('behind');
  });
});

describe('splits', () => {
  test('defaults scale with size; test5k reaches 5,000', () => {
    expect(defaultSplitSizes(5000)).toEqual({ train: 4000, val: 250, test5k: 500, novel: 250 });
    expect(defaultSplitSizes(100_000)).toEqual({ train: 88_000, val: 5000, test5k: 5000, novel: 2000 });
    expect(parseSplitSizes('val=5,test5k=10,novel=5', 100)).toEqual({ train: 80, val: 5, test5k: 10, novel: 5 });
    expect(() => parseSplitSizes('val=200', 100)).toThrow(/more than --size 100/);
    expect(() => parseSplitSizes('dev=3', 100)).toThrow(/unknown split "dev"/);
    expect(() => parseSplitSizes('train=3', 100)).toThrow(/adds up to/);
  });

  test('assignment is a fixed shuffle of the sizes', () => {
    const sizes = { train: 50, val: 10, test5k: 20, novel: 20 };
    const a = assignSplits(4, sizes);
    expect(Array.from(assignSplits(4, sizes))).toEqual(Array.from(a));
    expect(Array.from(assignSplits(5, sizes))).not.toEqual(Array.from(a));
    expect([0, 1, 2, 3].map((k) => a.filter((s) => s === k).length)).toEqual([50, 10, 20, 20]);
    const pairs = heldOutPairs(4, [1, 2, 3, 4, 5, 6, 7, 8, 9], 10);
    expect(new Set(pairs.map((p) => p.join('|'))).size).toBe(pairs.length);
    expect(pairs.every(([x, y]) => x < y)).toBe(true);
  });
});

describe('word timings', () => {
  test('untimed words share their neighbours\' interval; clause ends cut words', () => {
    const text = 'on the left, a dog.';
    const events = [
      { type: 'word', text_position: 1, audio_position: 0 },
      { type: 'word', text_position: 8, audio_position: 400 },
      { type: 'end', text_position: 0, audio_position: 700 },
      { type: 'word', text_position: 14, audio_position: 900 },
      { type: 'word', text_position: 16, audio_position: 1000 },
      { type: 'end', text_position: 0, audio_position: 1400 },
    ];
    const w = wordTimings(text, events, 1.6);
    expect(w.map((x) => x.word)).toEqual(['on', 'the', 'left,', 'a', 'dog.']);
    expect(w[1].startTime).toBeGreaterThan(0);
    expect(w[1].startTime).toBeLessThan(0.4);
    expect(w[2]).toMatchObject({ startTime: 0.4, endTime: 0.7 });
    expect(w[4]).toMatchObject({ startTime: 1, endTime: 1.4 });
  });
});

describe('plural phrases', () => {
  test('the head noun is pluralised', () => {
    expect(plural('banknote with dollar signs')).toBe('banknotes with dollar signs');
    expect(plural('leaf fluttering in wind')).toBe('leaves fluttering in wind');
    expect(plural('cloud with lightning and rain')).toBe('clouds with lightning and rain');
  });
});

describe('background phrases', () => {
  test('the kind of every drawn background is read back from its phrase and caption sentences', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const { background, phrase } = drawBackground(Rng.for(5, 'bg', i));
      seen.add(background.kind);
      expect(backgroundKindInCaption(`Two dogs on ${article(phrase)} ${phrase}.`)).toBe(background.kind);
      // The narrative's forms: "The background is <phrase without 'background'>." / "... a <that> pattern."
      const bare = phrase.endsWith(' background') ? phrase.slice(0, -' background'.length).replace(/^plain /, '') : undefined;
      if (bare) expect(backgroundKindInCaption(`The background is ${bare}.`)).toBe(background.kind);
    }
    expect(seen.size).toBe(7);
    expect(backgroundKindInCaption('A dog and a cat.')).toBeUndefined();
  });

  test("an item's narrative names its background kind, whatever keywords its objects carry", () => {
    const catalog = loadCatalog();
    // Classes whose emojilib keywords include background words ("stripes", "striped", "cloudy").
    const tricky = ['zebra face', 'barber pole', 'construction sign', 'cloud', 'sun behind cloud'].map((l) => catalog.find((c) => c.label === l)!);
    for (let i = 0; i < 300; i++) {
      const rng = Rng.for(9, 'scene', i);
      const { background, phrase } = drawBackground(rng);
      const cls = i % 2 ? tricky[i % tricky.length] : catalog[rng.int(0, catalog.length - 1)];
      const obj: SceneObject = { cls, size: 64, left: 20, top: 30, box: [0.08, 0.12, 0.33, 0.37], colour: [120, 90, 60] };
      const text = describeScene(Rng.for(9, 'captions', i), { background, backgroundPhrase: phrase, objects: [obj] });
      expect(backgroundKindInCaption(text.captions[0])).toBe(background.kind);
    }
  });
});

