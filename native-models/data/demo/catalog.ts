// The object classes of EmojiScenes: the Noto emoji (emoji-datasource-google, Apache-2.0 images)
// of the object-like categories, named by their Unicode name in lower case (the class label),
// grouped by their subcategory (the super-class), with words to call them by in captions
// (emoji-datasource short names, emojilib keywords, MIT).

import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** The emoji categories that look like objects (not faces, people, symbols or flags). */
export const OBJECT_CATEGORIES: readonly string[] = ['Food & Drink', 'Animals & Nature', 'Travel & Places', 'Objects', 'Activities'];

export interface EmojiClass {
  /** Position in the catalog (stable for a given emoji-datasource version). */
  index: number;
  /** Class label: the emoji's Unicode name in lower case ("red apple"). */
  label: string;
  /** Super-class: the emoji's subcategory ("food-fruit"). */
  superclass: string;
  category: string;
  /** The emoji character itself. */
  char: string;
  /** Unified code point(s), e.g. "1F34E". */
  unified: string;
  /** 64x64 RGBA PNG of the Noto emoji. */
  pngPath: string;
  /** Noun phrases a caption may call it by; names[0] is the label. */
  names: string[];
  /** emojilib keywords that are plain words and not already names (for tag-style captions). */
  keywords: string[];
}

interface RawEmoji {
  name: string | null;
  unified: string;
  short_names: string[];
  image: string;
  category: string;
  subcategory: string;
  sort_order: number;
  has_img_google: boolean;
}

const KEYWORD_STOP = new Set(['and', 'the', 'for', 'with', 'face', 'nature', 'object', 'objects', 'activity', 'emoji', 'symbol', 'other', 'upon', 'when', 'you', 'san', 'phallic', 'drunk', 'booze', 'sasha', 'mojito', 'nfl']);

/** The catalog with its source (packages, or an assets folder and its catalog file's time and size), so a changed $OPT_DEMO_ASSETS or folder is noticed. */
let cached: { source: string; classes: EmojiClass[] } | undefined;

/**
 * Environment variable naming a catalog assets folder (`writeCatalogAssets`): the catalog and its
 * 857 images (~2.7 MB) without the emoji packages. The packaged app ships one (build/build-electron.mjs)
 * and its main process points the service process at it.
 */
export const DEMO_ASSETS_ENV = 'OPT_DEMO_ASSETS';
const ASSETS_FORMAT = 'emojiscenes-catalog';
const ASSETS_FILE = 'catalog.json';
const ASSETS_IMAGES = 'img';

function charOf(unified: string): string {
  return String.fromCodePoint(...unified.split('-').map((h) => parseInt(h, 16)));
}

const words = (s: string) => s.replace(/_/g, ' ').trim().toLowerCase();
const plainPhrase = (s: string) => /^[a-z][a-z '-]*[a-z]$/.test(s) && s.length <= 40;

/** The assets folder $OPT_DEMO_ASSETS names, when it holds a catalog. */
function assetsDir(): string | undefined {
  const env = process.env[DEMO_ASSETS_ENV];
  const dir = env ? path.resolve(env) : undefined;
  return dir && fs.existsSync(path.join(dir, ASSETS_FILE)) ? dir : undefined;
}

/** The emoji packages' two data files, or undefined when they are not installed (the packaged app). */
function packageFiles(): { emojiJson: string; keywordsJson: string } | undefined {
  const require = createRequire(import.meta.url);
  try {
    return { emojiJson: require.resolve('emoji-datasource-google/emoji.json'), keywordsJson: require.resolve('emojilib') };
  } catch {
    return undefined;
  }
}

/** True when the catalog can be loaded: an assets folder (the packaged app) or the emoji packages (a development checkout). */
export function catalogAvailable(): boolean {
  return assetsDir() !== undefined || packageFiles() !== undefined;
}

/** Loads the catalog (once per process and source), sorted by the emoji's sort order. */
export function loadCatalog(): EmojiClass[] {
  const dir = assetsDir();
  const stat = dir ? fs.statSync(path.join(dir, ASSETS_FILE)) : undefined;
  const source = dir ? `${dir}:${stat!.mtimeMs}:${stat!.size}` : 'packages';
  if (cached?.source !== source) cached = { source, classes: dir ? readCatalogAssets(dir) : catalogFromPackages() };
  return cached.classes;
}

interface CatalogAssets {
  format: typeof ASSETS_FORMAT;
  version: 1;
  /** The emoji-datasource-google and emojilib versions it was made from. */
  sources: Record<string, string>;
  classes: (Omit<EmojiClass, 'pngPath'> & { image: string })[];
}

/**
 * Writes the catalog and its images into `dir` (replaced whole: written beside, then renamed), with
 * the licences they come under; `loadCatalog` reads it back when $OPT_DEMO_ASSETS names it, and
 * generates the same datasets (same digests) as from the packages. Needs the emoji packages.
 */
export function writeCatalogAssets(dir: string): { classes: number; bytes: number } {
  const classes = catalogFromPackages();
  const require = createRequire(import.meta.url);
  const pkgDir = (name: string) => path.dirname(require.resolve(`${name}/package.json`));
  const version = (name: string) => (JSON.parse(fs.readFileSync(path.join(pkgDir(name), 'package.json'), 'utf8')) as { version: string }).version;
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(path.join(tmp, ASSETS_IMAGES), { recursive: true });
  let bytes = 0;
  try {
    for (const c of classes) {
      fs.copyFileSync(c.pngPath, path.join(tmp, ASSETS_IMAGES, path.basename(c.pngPath)));
      bytes += fs.statSync(c.pngPath).size;
    }
    const out: CatalogAssets = {
      format: ASSETS_FORMAT, version: 1,
      sources: { 'emoji-datasource-google': version('emoji-datasource-google'), emojilib: version('emojilib') },
      classes: classes.map(({ pngPath, ...c }) => ({ ...c, image: path.basename(pngPath) })),
    };
    fs.writeFileSync(path.join(tmp, ASSETS_FILE), JSON.stringify(out));
    fs.copyFileSync(new URL('./ATTRIBUTION.md', import.meta.url), path.join(tmp, 'ATTRIBUTION.md'));
    fs.copyFileSync(new URL('./LICENSE-Apache-2.0.txt', import.meta.url), path.join(tmp, 'LICENSE-Apache-2.0.txt'));
    fs.copyFileSync(path.join(pkgDir('emoji-datasource-google'), 'LICENSE'), path.join(tmp, 'LICENSE-emoji-datasource'));
    fs.copyFileSync(path.join(pkgDir('emojilib'), 'LICENSE'), path.join(tmp, 'LICENSE-emojilib'));
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return { classes: classes.length, bytes };
}

/** Reads an assets folder written by writeCatalogAssets, checking what it can before anything uses it. */
function readCatalogAssets(dir: string): EmojiClass[] {
  const file = path.join(dir, ASSETS_FILE);
  let a: CatalogAssets;
  try {
    a = JSON.parse(fs.readFileSync(file, 'utf8')) as CatalogAssets;
  } catch (e) {
    throw new Error(`EmojiScenes catalog ${file} cannot be read: ${(e as Error).message}`);
  }
  if (a?.format !== ASSETS_FORMAT || a.version !== 1 || !Array.isArray(a.classes) || a.classes.length === 0) {
    throw new Error(`${file} is not an EmojiScenes catalog (format ${ASSETS_FORMAT}, version 1)`);
  }
  return a.classes.map((c, i) => {
    const strings = (v: unknown) => Array.isArray(v) && v.every((s) => typeof s === 'string');
    const ok = c && c.index === i && [c.label, c.superclass, c.category, c.char, c.unified].every((s) => typeof s === 'string') &&
      strings(c.names) && c.names[0] === c.label && strings(c.keywords) && typeof c.image === 'string' && /^[0-9a-f-]+\.png$/i.test(c.image);
    if (!ok) throw new Error(`${file}: class ${i} is malformed`);
    const { image, ...rest } = c;
    const pngPath = path.join(dir, ASSETS_IMAGES, image);
    if (!fs.existsSync(pngPath)) throw new Error(`${file}: the image of "${c.label}" (${image}) is missing`);
    return { ...rest, pngPath };
  });
}

/** Builds the catalog from the emoji packages. */
function catalogFromPackages(): EmojiClass[] {
  const files = packageFiles();
  if (!files) {
    throw new Error('EmojiScenes needs the packages emoji-datasource-google and emojilib (development dependencies): ' +
      `run npm install in a development checkout, or set ${DEMO_ASSETS_ENV} to a catalog folder (build/build-demo-assets.ts)`);
  }
  const { emojiJson, keywordsJson } = files;
  const imgDir = path.join(path.dirname(emojiJson), 'img', 'google', '64');
  const raw = JSON.parse(fs.readFileSync(emojiJson, 'utf8')) as RawEmoji[];
  const keywords = JSON.parse(fs.readFileSync(keywordsJson, 'utf8')) as Record<string, string[]>;
  const cats = new Set(OBJECT_CATEGORIES);
  const sel = raw.filter((e) => cats.has(e.category) && e.has_img_google && e.name)
    .sort((a, b) => a.sort_order - b.sort_order);
  const out: EmojiClass[] = [];
  for (const e of sel) {
    const char = charOf(e.unified);
    const label = (e.name as string).toLowerCase().replace(/\u2019/g, "'");
    const kws = keywords[char] ?? keywords[char.replace(/\ufe0f/g, '')] ?? [];
    const names = [label];
    const addName = (n: string) => {
      // Skip adjectives among the short names ("locked" for a lock): they cannot stand as a noun.
      if (plainPhrase(n) && !/ed$/.test(n) && !names.includes(n)) names.push(n);
    };
    if (kws.length > 0) addName(words(kws[0]));
    for (const s of e.short_names) addName(words(s));
    // "dog face" is a dog: animals drawn as a face can be called by the animal.
    if (e.category === 'Animals & Nature' && label.endsWith(' face')) addName(label.slice(0, -5));
    const keywordsOut: string[] = [];
    for (const k of kws.slice(1)) {
      const w = words(k);
      if (/^[a-z]{3,16}$/.test(w) && !KEYWORD_STOP.has(w) && !names.includes(w) && !keywordsOut.includes(w)) keywordsOut.push(w);
    }
    out.push({
      index: out.length, label, superclass: e.subcategory, category: e.category, char, unified: e.unified,
      pngPath: path.join(imgDir, e.image), names, keywords: keywordsOut,
    });
  }
  return out;
}

const IRREGULAR: Record<string, string> = {
  mouse: 'mice', goose: 'geese', fish: 'fish', sheep: 'sheep', deer: 'deer', bison: 'bison', shrimp: 'shrimp',
  squid: 'squid', person: 'people', foot: 'feet', tooth: 'teeth', knife: 'knives', leaf: 'leaves', loaf: 'loaves',
  scissors: 'scissors', chopsticks: 'chopsticks', glasses: 'glasses', sunglasses: 'sunglasses', jeans: 'jeans',
  shorts: 'shorts', dice: 'dice', cactus: 'cacti', octopus: 'octopuses', bus: 'buses', potato: 'potatoes',
  tomato: 'tomatoes', mango: 'mangoes', volcano: 'volcanoes', tornado: 'tornadoes', gloves: 'gloves',
  socks: 'socks', fries: 'fries', beans: 'beans', peas: 'peas', noodles: 'noodles', chestnut: 'chestnuts',
  cherries: 'cherries', grapes: 'grapes', ox: 'oxen', wolf: 'wolves', calf: 'calves', shelf: 'shelves',
};

/** English plural of a noun phrase (its last word is pluralised). */
export function plural(phrase: string): string {
  const m = / (of|with|in|on|[a-z]+ing) /.exec(phrase); // "roll of paper", "banknote with dollar signs", "leaf fluttering in wind"
  if (m && m.index > 0) return plural(phrase.slice(0, m.index)) + phrase.slice(m.index);
  const i = phrase.lastIndexOf(' ');
  const head = phrase.slice(0, i + 1);
  const w = phrase.slice(i + 1);
  if (IRREGULAR[w]) return head + IRREGULAR[w];
  if (/[^su]s$/.test(w)) return phrase; // already plural ("stars", "bookmark tabs")
  if (/(s|x|z|ch|sh)$/.test(w)) return `${head}${w}es`;
  if (/[^aeiou]y$/.test(w)) return `${head}${w.slice(0, -1)}ies`;
  return `${head}${w}s`;
}

/** "a" or "an" for a phrase, by its first sound (close enough for the catalog's words). */
export function article(phrase: string): 'a' | 'an' | 'some' {
  const head = phrase.split(/ (?:with|of|glowing|fading|in|at|on) /)[0]; // "background with dots" is singular
  if (/[^su]s$/.test(head) || /(jeans|clothes|fries|scissors|chopsticks)$/.test(head)) return 'some';
  if (/^(one|uni|use|eu|ewe|u-)/.test(phrase)) return 'a';
  if (/^(hour|honest|honou?r)/.test(phrase)) return 'an';
  if (/^x-/.test(phrase)) return 'an';
  return /^[aeiou]/.test(phrase) ? 'an' : 'a';
}

/** Finds classes by label, any caption name, emoji character or unified code; unknown names throw, listing near matches. */
export function resolveClasses(specs: readonly string[], catalog: readonly EmojiClass[] = loadCatalog()): EmojiClass[] {
  const out: EmojiClass[] = [];
  const unknown: string[] = [];
  for (const raw of specs) {
    const s = raw.trim().toLowerCase().replace(/_/g, ' ');
    if (!s) continue;
    const bare = raw.trim().replace(/\ufe0f/g, '');
    const hit = catalog.find((c) => c.label === s) ?? catalog.find((c) => c.char.replace(/\ufe0f/g, '') === bare)
      ?? catalog.find((c) => c.unified.toLowerCase() === s) ?? catalog.find((c) => c.names.includes(s));
    if (!hit) unknown.push(raw);
    else if (!out.includes(hit)) out.push(hit);
  }
  if (unknown.length > 0) {
    const hints = unknown.map((u) => {
      const w = u.trim().toLowerCase().split(/[\s_]+/)[0] ?? '';
      const near = w.length >= 3 ? catalog.filter((c) => c.label.includes(w)).slice(0, 4).map((c) => c.label) : [];
      return near.length > 0 ? `"${u}" (did you mean: ${near.join(', ')}?)` : `"${u}"`;
    });
    throw new Error(`unknown emoji class${unknown.length > 1 ? 'es' : ''}: ${hints.join('; ')}. ` +
      `Classes are the lower-case emoji names of the categories ${OBJECT_CATEGORIES.join(', ')} (e.g. "red apple", "dog face")`);
  }
  return out;
}
