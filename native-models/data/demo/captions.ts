// The caption grammar of EmojiScenes. Every caption names every object (by its label, a synonym
// or, for repeats, a counted plural); the words around them vary: colours, sizes, counts, where
// objects are (from their boxes), how they relate (left of, above, in front of, ...), and the
// background. Several styles, the first always a Localized-Narratives-like narrative, which is
// also what gets spoken (with the character spans of each object's words, for the mouse trace).

import { article, plural, type EmojiClass } from './catalog';
import { objectColourName, startsWithColour } from './colours';
import type { Rng } from './prng';
import type { Scene, SceneObject } from './scene';

/** A span of the narrative where objects are named: [start, end) characters, and which objects. */
export interface Mention {
  start: number;
  end: number;
  objects: number[];
}

export interface SceneText {
  /** captions[0] is the narrative; the others are other styles. */
  captions: string[];
  /** The narrative (= captions[0]) and where each object group is named in it. */
  narrative: { text: string; mentions: Mention[] };
}

interface Group {
  cls: EmojiClass;
  /** Indices into scene.objects. */
  objects: number[];
}

const NUMBER = ['zero', 'one', 'two', 'three', 'four', 'five'];

function groupsOf(objects: SceneObject[]): Group[] {
  const out: Group[] = [];
  objects.forEach((o, i) => {
    const g = out.find((x) => x.cls === o.cls);
    if (g) g.objects.push(i);
    else out.push({ cls: o.cls, objects: [i] });
  });
  return out;
}

const centre = (b: readonly number[]) => [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2];
const area = (b: readonly number[]) => (b[2] - b[0]) * (b[3] - b[1]);

/** Where a box is in the picture, in words. */
export function positionPhrase(rng: Rng, box: readonly number[]): string {
  const [cx, cy] = centre(box);
  const col = cx < 0.37 ? 'left' : cx > 0.63 ? 'right' : 'centre';
  const row = cy < 0.37 ? 'top' : cy > 0.63 ? 'bottom' : 'middle';
  if (col === 'centre' && row === 'middle') return rng.pick(['in the middle', 'in the centre']);
  if (row === 'middle') return rng.pick([`on the ${col}`, `on the ${col} side`]);
  if (col === 'centre') return rng.pick([`at the ${row}`, `at the ${row} of the picture`]);
  return rng.pick([`in the ${row} ${col} corner`, `at the ${row} ${col}`]);
}

/** How object a relates to object b, from their boxes and drawing order (a drawn after b: a is in front). */
export function relation(rng: Rng, a: SceneObject, b: SceneObject, aInFront: boolean): string {
  const iw = Math.min(a.box[2], b.box[2]) - Math.max(a.box[0], b.box[0]);
  const ih = Math.min(a.box[3], b.box[3]) - Math.max(a.box[1], b.box[1]);
  if (iw > 0 && ih > 0 && (iw * ih) / Math.min(area(a.box), area(b.box)) > 0.08) return aInFront ? 'in front of' : 'behind';
  const [ax, ay] = centre(a.box);
  const [bx, by] = centre(b.box);
  const dx = ax - bx;
  const dy = ay - by;
  if (Math.abs(dx) >= Math.abs(dy)) {
    if (Math.abs(dy) < 0.12 && Math.abs(dx) < 0.45 && rng.chance(0.3)) return rng.pick(['next to', 'beside']);
    return dx < 0 ? rng.pick(['to the left of', 'left of']) : rng.pick(['to the right of', 'right of']);
  }
  return dy < 0 ? rng.pick(['above', 'over']) : rng.pick(['below', 'under', 'beneath']);
}

/** A noun phrase for a group: "a small red apple", "two dogs", "the key" (with `the`). */
function nounPhrase(rng: Rng, g: Group, scene: Scene, colours: string[], opts: { the?: boolean; size?: boolean; colour?: boolean }): string {
  const name = rng.chance(0.55) ? g.cls.label : rng.pick(g.cls.names);
  const words: string[] = [];
  const n = g.objects.length;
  if (opts.size !== false && n === 1 && rng.chance(0.35)) {
    const a = area(scene.objects[g.objects[0]].box);
    if (a < 0.04) words.push(rng.pick(['small', 'little', 'tiny']));
    else if (a > 0.16) words.push(rng.pick(['large', 'big']));
  }
  if (opts.colour !== false && !startsWithColour(name) && rng.chance(0.3)) words.push(colours[g.objects[0]]);
  words.push(n > 1 ? plural(name) : name);
  const np = words.join(' ');
  if (n > 1) return `${opts.the ? 'the ' : ''}${NUMBER[n]} ${np}`;
  return opts.the ? `the ${np}` : `${article(np)} ${np}`;
}

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

function listJoin(xs: string[], conj = 'and'): string {
  if (xs.length <= 1) return xs.join('');
  return `${xs.slice(0, -1).join(', ')} ${conj} ${xs[xs.length - 1]}`;
}

/** Builds text while recording where each group is named. */
class Builder {
  text = '';
  mentions: Mention[] = [];
  add(s: string): this {
    this.text += s;
    return this;
  }
  mention(s: string, g: Group): this {
    this.mentions.push({ start: this.text.length, end: this.text.length + s.length, objects: g.objects.slice() });
    this.text += s;
    return this;
  }
}

function narrative(rng: Rng, scene: Scene, groups: Group[], colours: string[]): { text: string; mentions: Mention[] } {
  const b = new Builder();
  const opener = rng.pick(['In this picture I can see ', 'In this image I can see ', 'In this picture we can see ', 'Here we can see ', 'This picture shows ', 'In this image there is ']);
  b.add(groups[0].objects.length > 1 ? opener.replace('there is', 'there are') : opener);
  groups.forEach((g, i) => {
    if (i > 0) b.add(i === groups.length - 1 ? ' and ' : ', ');
    b.mention(nounPhrase(rng, g, scene, colours, {}), g);
    if (g.objects.length === 1 && (groups.length > 1 || rng.chance(0.6))) b.add(` ${positionPhrase(rng, scene.objects[g.objects[0]].box)}`);
  });
  const bg = scene.backgroundPhrase;
  const end = rng.weighted([4, 3, 2]);
  const bare = bg.endsWith(' background') ? bg.slice(0, -' background'.length).replace(/^plain /, '') : undefined;
  const pattern = bare && scene.background.kind !== 'solid' ? `${bare} pattern`.replace('gradient pattern', 'gradient') : undefined;
  if (end === 1 && bare) b.add(`. The background is ${bare.endsWith('gradient') ? `${article(bare)} ${bare}` : bare}.`);
  else if (end === 2 && pattern) b.add(`. In the background I can see ${article(pattern)} ${pattern}.`);
  else b.add(`, on ${article(bg)} ${bg}.`);
  return { text: b.text, mentions: b.mentions };
}

function relational(rng: Rng, scene: Scene, groups: Group[], colours: string[]): string {
  const bg = scene.backgroundPhrase;
  const singles = groups.filter((g) => g.objects.length === 1);
  if (groups.length === 1) {
    const g = groups[0];
    const np = nounPhrase(rng, g, scene, colours, {});
    const where = g.objects.length === 1 ? ` ${positionPhrase(rng, scene.objects[g.objects[0]].box)}` : '';
    return `${cap(np)}${where} on ${article(bg)} ${bg}.`;
  }
  if (singles.length >= 2) {
    const [ga, gb] = rng.shuffle(singles.slice()).slice(0, 2);
    const ia = ga.objects[0];
    const ib = gb.objects[0];
    const rel = relation(rng, scene.objects[ia], scene.objects[ib], ia > ib);
    const rest = groups.filter((g) => g !== ga && g !== gb).map((g) => nounPhrase(rng, g, scene, colours, { size: false }));
    const style = rng.weighted([3, 2]);
    const a = nounPhrase(rng, ga, scene, colours, { the: style === 1 });
    const c = nounPhrase(rng, gb, scene, colours, { the: style === 1 });
    if (style === 0) return `${cap(a)} ${rel} ${c}${rest.length ? `, with ${listJoin(rest)}` : ''}, on ${article(bg)} ${bg}.`;
    const isAre = rest.length === 1 && !/^(two|three|four) /.test(rest[0]) ? 'is' : 'are';
    return `${cap(a)} is ${rel} ${c}${rest.length ? `; there ${isAre} also ${listJoin(rest)}` : ''}.`;
  }
  // Only repeated objects (e.g. two apples and two keys): describe the counts with positions.
  return `${cap(listJoin(groups.map((g) => nounPhrase(rng, g, scene, colours, {}))))} on ${article(bg)} ${bg}.`;
}

function short(rng: Rng, scene: Scene, groups: Group[], colours: string[]): string {
  const nps = groups.map((g) => nounPhrase(rng, g, scene, colours, { size: false }));
  return rng.chance(0.5) ? `${cap(listJoin(nps))}.` : `${listJoin(nps)}`;
}

function counting(rng: Rng, scene: Scene, groups: Group[], colours: string[]): string {
  const n = scene.objects.length;
  const nps = groups.map((g) => nounPhrase(rng, g, scene, colours, { size: false, colour: false }));
  if (n === 1) return `There is one object, ${nps[0]}, on ${article(scene.backgroundPhrase)} ${scene.backgroundPhrase}.`;
  const noun = rng.pick(['objects', 'things', 'items']);
  return `There are ${NUMBER[n]} ${noun} in this picture: ${listJoin(nps)}.`;
}

function tags(rng: Rng, scene: Scene, groups: Group[]): string {
  const out: string[] = [];
  for (const g of groups) {
    out.push(g.objects.length > 1 ? `${NUMBER[g.objects.length]} ${plural(g.cls.label)}` : g.cls.label);
    const kws = rng.shuffle(g.cls.keywords.slice()).slice(0, rng.int(1, 2));
    out.push(...kws);
  }
  out.push(scene.backgroundPhrase);
  return out.join(', ');
}

/** Writes the captions of a scene: the narrative plus `extra` captions in other styles. */
export function describe(rng: Rng, scene: Scene, extra = 2): SceneText {
  const groups = groupsOf(scene.objects);
  const colours = scene.objects.map((o) => objectColourName(o.colour));
  const nar = narrative(rng, scene, groups, colours);
  const styles = rng.shuffle([0, 1, 2, 3]).slice(0, extra);
  const captions = [nar.text];
  for (const s of styles) {
    if (s === 0) captions.push(relational(rng, scene, groups, colours));
    else if (s === 1) captions.push(short(rng, scene, groups, colours));
    else if (s === 2) captions.push(counting(rng, scene, groups, colours));
    else captions.push(tags(rng, scene, groups));
  }
  return { captions, narrative: nar };
}
