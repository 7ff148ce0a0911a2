// Writes an EmojiScenes dataset THROUGH the dataset store, so it opens in the studio like any other.
//
// Streaming and resumable: items are made by worker threads, committed in index order, a batch per
// transaction; a killed run leaves whole items only (the store's guarantee) and the next run with
// the same settings carries on from the first missing index. Until the last item is in, the
// dataset's name says "(incomplete)" and its emojiscenes.json says status "incomplete"; a folder
// holding anything else is refused.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import sharp from 'sharp';
import { DatasetStore, DB_FILE, Library, type Dataset, type Item } from '../store';
import { catalogAvailable, loadCatalog, resolveClasses } from './catalog';
import { GENERATOR_VERSION, generateItem, itemDigest, itemFileName, makePlan, Workshop, type DemoConfig, type GeneratedItem } from './generate';
import { downscaleRgb, encodePng } from './raster';
import { IMAGE_SIZE, SMALL_SIZE } from './scene';
import { Speaker, VOICES } from './speech';
import { defaultSplitSizes, parseSplitSizes, SPLIT_NAMES, type SplitSizes } from './splits';

/** Largest --size accepted (about 100 GB with speech): beyond it, a typo is likelier than intent. */
export const MAX_SIZE = 1_000_000;
/** Name of the generator's record in the dataset folder. */
export const MANIFEST = 'emojiscenes.json';
/** Per item "<256px image blob>\t<64px image blob>" lines, appended as items are committed. */
export const IMAGE64_FILE = 'emojiscenes-image64.tsv';
/** Rough bytes per item on disk (PNG, 64px PNG, thumbnail, WAV, rows), for the free-space check. */
const BYTES_PER_ITEM = { speech: 320_000, silent: 90_000 };

export interface DemoOptions {
  /** Number of items (1..MAX_SIZE). */
  size: number;
  /** PRNG seed (unsigned 32-bit integer); default 1. */
  seed?: number;
  /** "val=200,test5k=5000,novel=100" or counts; see parseSplitSizes. */
  splitSizes?: string | Partial<SplitSizes>;
  /** Restrict the classes (labels, names or emoji); unknown names are an error. */
  classes?: string[];
  /** eSpeak voices to use (default: all English ones). */
  voices?: string[];
  /** Spoken captions: true (default; error if eSpeak is missing), false, or 'auto' (skip if eSpeak is missing). */
  speech?: boolean | 'auto';
  /** Worker threads (default: available cores, at most 8); 0 generates in this thread. */
  workers?: number;
  /** Dataset name when complete (default "EmojiScenes <size> (seed <seed>)"). */
  name?: string;
  onProgress?: (p: DemoProgress) => void;
  signal?: AbortSignal;
}

export interface DemoProgress {
  done: number;
  total: number;
  /** Items per second made by this run (not counting resumed ones). */
  rate: number;
  etaS: number;
}

export interface Stats {
  min: number;
  max: number;
  mean: number;
  median: number;
}

export interface DemoSummary {
  splits: Record<string, number>;
  classes: number;
  objects: number;
  /** Objects per class label, most frequent first. */
  classHistogram: [string, number][];
  captionWords: Stats;
  captionsPerItem: number;
  audioSeconds: Stats & { total: number };
}

export interface DemoResult {
  dir: string;
  items: number;
  digest: string;
  /** Items found from an earlier run (0 for a fresh one). */
  resumed: number;
  /** Items made by this run and the seconds it took. */
  generated: number;
  seconds: number;
  summary: DemoSummary;
  /** True when the dataset was already complete (nothing to do). */
  alreadyComplete: boolean;
}

interface Manifest {
  format: 'emojiscenes';
  generatorVersion: number;
  status: 'incomplete' | 'complete';
  seed: number;
  size: number;
  splitSizes: SplitSizes;
  classes: string[] | 'all';
  voices: string[];
  speech: boolean;
  name: string;
  imageSize: number;
  smallImageSize: number;
  heldOutPairs: [string, string][];
  /** The classes drawn from: label (region label), super-class (emoji subcategory), category, emoji. */
  classList: { label: string; superclass: string; category: string; emoji: string }[];
  digest?: string;
  licence: string;
}

/** A worker thread could not start (e.g. a bundled build without worker.js): generation falls back to this thread. */
class WorkerStartError extends Error {
  override readonly name = 'WorkerStartError';
}

/** Error for bad options or an unusable output folder (the CLI prints the message alone). */
export class DemoError extends Error {
  override readonly name = 'DemoError';
}

/** Reads a dataset folder's EmojiScenes record, if it has one. */
export function readManifest(dir: string): Manifest | undefined {
  const f = path.join(dir, MANIFEST);
  if (!fs.existsSync(f)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(f, 'utf8')) as Manifest;
  } catch (e) {
    throw new DemoError(`${f}: unreadable (${(e as Error).message})`);
  }
}

/** The 64x64 image (blob ref) of every item, by its 256x256 image blob ref. */
export function readImage64(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const f = path.join(dir, IMAGE64_FILE);
  if (!fs.existsSync(f)) return out;
  for (const line of fs.readFileSync(f, 'utf8').split('\n')) {
    const [a, b] = line.split('\t');
    if (a && b && /^[0-9a-f]{64}$/.test(b)) out.set(a, b);
  }
  return out;
}

function writeManifest(dir: string, m: Manifest): void {
  const f = path.join(dir, MANIFEST);
  const tmp = `${f}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(m, null, 1)}\n`);
  fs.renameSync(tmp, f);
}

function checkInt(v: unknown, what: string, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
    throw new DemoError(`${what} must be a whole number from ${lo} to ${hi.toLocaleString('en-US')}, got ${JSON.stringify(v)}`);
  }
  return v;
}

async function speechAvailable(): Promise<boolean> {
  try {
    createRequire(import.meta.url).resolve('@echogarden/espeak-ng-emscripten');
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether this installation can generate EmojiScenes (the emoji packages in a development checkout,
 * or the catalog folder the packaged app ships) and whether it can add speech (eSpeak, GPL: only in
 * a development checkout).
 */
export async function demoAvailability(): Promise<{ available: boolean; speech: boolean }> {
  const available = catalogAvailable();
  return { available, speech: available && (await speechAvailable()) };
}

/** Validates options into the config that fixes the output. */
export async function resolveConfig(opts: DemoOptions): Promise<{ config: DemoConfig; name: string; classLabels: string[] | 'all' }> {
  const size = checkInt(opts.size, 'size', 1, MAX_SIZE);
  const seed = checkInt(opts.seed ?? 1, 'seed', 0, 0xffffffff);
  let catalog: ReturnType<typeof loadCatalog>;
  try {
    catalog = loadCatalog();
  } catch (e) {
    throw new DemoError((e as Error).message);
  }
  let classes = catalog.map((c) => c.index);
  let classLabels: string[] | 'all' = 'all';
  if (opts.classes && opts.classes.length > 0) {
    try {
      const sel = resolveClasses(opts.classes, catalog);
      classes = sel.map((c) => c.index).sort((a, b) => a - b);
      classLabels = classes.map((i) => catalog[i].label);
    } catch (e) {
      throw new DemoError((e as Error).message);
    }
  }
  let splitSizes: SplitSizes;
  try {
    splitSizes = typeof opts.splitSizes === 'string' ? parseSplitSizes(opts.splitSizes, size)
      : opts.splitSizes ? parseSplitSizes(Object.entries(opts.splitSizes).map(([k, v]) => `${k}=${v}`).join(','), size)
        : defaultSplitSizes(size);
  } catch (e) {
    throw new DemoError((e as Error).message);
  }
  if (splitSizes.novel > 0 && classes.length < 2) throw new DemoError('the novel split needs at least 2 classes; pass more --classes or novel=0');
  const voices = opts.voices && opts.voices.length > 0 ? opts.voices : [...VOICES];
  let speech = opts.speech ?? true;
  if (speech === 'auto') speech = await speechAvailable();
  const name = opts.name ?? `EmojiScenes ${size} (seed ${seed})`;
  return { config: { seed, size, splitSizes, classes, voices, speech }, name, classLabels };
}

/** Something that makes items: worker threads, or this thread. */
interface Maker {
  start(index: number): Promise<GeneratedItem>;
  close(): Promise<void>;
}

async function localMaker(config: DemoConfig): Promise<Maker> {
  const plan = makePlan(config);
  const ws = new Workshop(config.speech ? await Speaker.create(config.voices) : undefined);
  return { start: (i) => generateItem(plan, i, ws), close: async () => undefined };
}

/** Starts a worker running worker.ts (through tsx's loader when running from TypeScript sources). */
function spawnWorker(): Worker {
  const here = import.meta.url;
  const ts = here.endsWith('.ts');
  const file = new URL(ts ? './worker.ts' : './worker.js', here).href;
  if (!ts) return new Worker(new URL(file));
  const require = createRequire(here);
  const api = pathToFileURL(path.join(path.dirname(require.resolve('tsx/package.json')), 'dist/esm/api/index.mjs')).href;
  const code = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(file)}); })` +
    '.catch((e) => { process.nextTick(() => { throw e; }); });';
  return new Worker(code, { eval: true });
}

async function workerMaker(config: DemoConfig, count: number): Promise<Maker> {
  type Pending = { resolve: (it: GeneratedItem) => void; reject: (e: Error) => void };
  const workers: { w: Worker; queue: Map<number, Pending> }[] = [];
  let failure: Error | undefined;
  const fail = (e: Error) => {
    failure ??= e;
    for (const x of workers) for (const p of x.queue.values()) p.reject(failure);
    for (const x of workers) x.queue.clear();
  };
  const ready: Promise<void>[] = [];
  for (let k = 0; k < count; k++) {
    let w: Worker;
    try {
      w = spawnWorker();
    } catch (e) {
      await Promise.all(workers.map((x) => x.w.terminate()));
      throw new WorkerStartError(`demo worker could not start: ${(e as Error).message}`);
    }
    const entry = { w, queue: new Map<number, Pending>() };
    workers.push(entry);
    ready.push(new Promise<void>((resolve, reject) => {
      let started = false; // set on 'ready': an 'error' event before it means the worker could not load
      w.on('message', (m: { ready?: boolean; item?: GeneratedItem; fatal?: string; index?: number }) => {
        if (m.ready) {
          started = true;
          resolve();
        } else if (m.item) {
          const p = entry.queue.get(m.item.index);
          entry.queue.delete(m.item.index);
          p?.resolve(m.item);
        } else if (m.fatal !== undefined) {
          const e = new DemoError(m.index !== undefined ? `item ${m.index}: ${m.fatal}` : m.fatal);
          reject(e);
          fail(e);
        }
      });
      w.on('error', (e) => {
        const err = started ? e : new WorkerStartError(`demo worker could not start: ${e.message}`);
        reject(err);
        fail(err);
      });
      w.on('exit', (code) => {
        if (code !== 0) fail(new Error(`demo worker exited with code ${code}`));
      });
    }));
    w.postMessage({ init: config });
  }
  try {
    await Promise.all(ready);
  } catch (e) {
    await Promise.all(workers.map((x) => x.w.terminate()));
    throw e;
  }
  return {
    start(index) {
      if (failure) return Promise.reject(failure);
      // Least-loaded worker; ties to the lowest number.
      const x = workers.reduce((a, b) => (b.queue.size < a.queue.size ? b : a));
      return new Promise<GeneratedItem>((resolve, reject) => {
        x.queue.set(index, { resolve, reject });
        x.w.postMessage({ index });
      });
    },
    async close() {
      for (const x of workers) x.w.removeAllListeners('exit');
      await Promise.all(workers.map((x) => x.w.terminate()));
    },
  };
}

function stats(xs: ArrayLike<number>): Stats {
  if (xs.length === 0) return { min: 0, max: 0, mean: 0, median: 0 };
  const s = Float64Array.from(xs).sort();
  const r = (v: number) => Math.round(v * 100) / 100;
  return { min: r(s[0]), max: r(s[s.length - 1]), mean: r(s.reduce((a, b) => a + b, 0) / s.length), median: r(s[Math.floor(s.length / 2)]) };
}

/** Running summary: counts and per-caption/per-item numbers only, so a million items stay small. */
class Summary {
  private readonly splits: { [k: string]: number } = {};
  private readonly hist = new Map<string, number>();
  private readonly words: number[] = [];
  private readonly durs: number[] = [];
  private objects = 0;
  private items = 0;

  add(split: string, captions: string[], labels: string[], durationS: number | undefined): void {
    this.items++;
    this.splits[split] = (this.splits[split] ?? 0) + 1;
    for (const l of labels) this.hist.set(l, (this.hist.get(l) ?? 0) + 1);
    this.objects += labels.length;
    for (const c of captions) this.words.push(c.split(/\s+/).filter(Boolean).length);
    if (durationS !== undefined) this.durs.push(durationS);
  }

  result(): DemoSummary {
    const classHistogram = [...this.hist.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    return {
      splits: { ...this.splits }, classes: this.hist.size, objects: this.objects, classHistogram, captionWords: stats(this.words),
      captionsPerItem: this.items ? Math.round((this.words.length / this.items) * 100) / 100 : 0,
      audioSeconds: { ...stats(this.durs), total: Math.round(this.durs.reduce((a, b) => a + b, 0) * 10) / 10 },
    };
  }
}

/** Canonical digest record of an item read back from the store. */
function storedDigest(index: number, it: Item): string {
  const s = it.spoken[0];
  return itemDigest({
    index, split: it.split, image: it.image, captions: it.captions.map((c) => c.text),
    regions: it.regions.map((r) => ({ box: r.box, label: r.label })),
    spoken: s && { wav: s.wav, durationS: s.durationS, trace: s.trace, timedCaption: s.timedCaption ?? [] },
  });
}

function checkFolder(dir: string, config: DemoConfig, classLabels: string[] | 'all'): 'new' | 'resume' {
  if (!fs.existsSync(dir)) return 'new';
  if (!fs.statSync(dir).isDirectory()) throw new DemoError(`${dir} exists and is not a folder`);
  const hasDb = fs.existsSync(path.join(dir, DB_FILE));
  const m = readManifest(dir);
  if (!hasDb) {
    if (fs.readdirSync(dir).length === 0) return 'new';
    throw new DemoError(`${dir} exists and is not empty (and is not a dataset); choose a new or empty folder`);
  }
  if (!m || m.format !== 'emojiscenes') throw new DemoError(`${dir} already holds another dataset (not made by the EmojiScenes generator); choose another folder`);
  const same = m.generatorVersion === GENERATOR_VERSION && m.seed === config.seed && m.size === config.size &&
    JSON.stringify(m.splitSizes) === JSON.stringify(config.splitSizes) && JSON.stringify(m.classes) === JSON.stringify(classLabels) &&
    JSON.stringify(m.voices) === JSON.stringify(config.voices) && m.speech === config.speech;
  if (!same) {
    throw new DemoError(`${dir} holds an EmojiScenes dataset made with other settings (size ${m.size}, seed ${m.seed}, generator v${m.generatorVersion}); ` +
      'use the same settings to resume it, or another folder');
  }
  return 'resume';
}

function checkDiskSpace(dir: string, items: number, speech: boolean): void {
  let probe = path.resolve(dir);
  while (!fs.existsSync(probe)) probe = path.dirname(probe);
  let free: number;
  try {
    const st = fs.statfsSync(probe);
    free = st.bavail * st.bsize;
  } catch {
    return; // no statfs on this platform: the store reports a full disk when it happens
  }
  const need = items * (speech ? BYTES_PER_ITEM.speech : BYTES_PER_ITEM.silent);
  if (need > free * 0.95) {
    throw new DemoError(`${items.toLocaleString('en-US')} items need about ${(need / 1e9).toFixed(1)} GB but ${probe} has ${(free / 1e9).toFixed(1)} GB free; choose a smaller --size`);
  }
}

/**
 * Generates (or resumes, or confirms) an EmojiScenes dataset in folder `dir`.
 *
 * Example:
 *   const r = await generateDemoDataset('/tmp/es', { size: 200, seed: 7, onProgress: (p) => console.log(p.done) });
 *   console.log(r.items, r.digest);
 */
export async function generateDemoDataset(dir: string, opts: DemoOptions): Promise<DemoResult> {
  const t0 = performance.now();
  const { config, name, classLabels } = await resolveConfig(opts);
  const mode = checkFolder(dir, config, classLabels);
  const catalog = loadCatalog();
  const plan = makePlan(config);
  const nWorkers = opts.workers ?? Math.min(8, Math.max(1, os.availableParallelism()));
  const startMaker = async (): Promise<Maker> => {
    if (nWorkers === 0) return localMaker(config);
    try {
      return await workerMaker(config, nWorkers);
    } catch (e) {
      if (!(e instanceof WorkerStartError)) throw e;
      console.warn(`EmojiScenes: ${e.message}; generating in this thread (slower)`);
      return localMaker(config);
    }
  };
  let store: DatasetStore;
  let maker: Maker | undefined;
  const cancelled = () => new DemoError('cancelled');
  if (opts.signal?.aborted) throw cancelled();
  if (mode === 'new') {
    checkDiskSpace(dir, config.size, config.speech);
    // Start the makers (and so the speech synthesiser) before creating anything: if they fail,
    // no folder is left behind.
    maker = await startMaker();
    try {
      if (opts.signal?.aborted) throw cancelled();
      store = DatasetStore.create(dir, { name: `${name} (incomplete)` });
    } catch (e) {
      await maker.close();
      throw e;
    }
    writeManifest(dir, {
      format: 'emojiscenes', generatorVersion: GENERATOR_VERSION, status: 'incomplete', seed: config.seed, size: config.size,
      splitSizes: config.splitSizes, classes: classLabels, voices: config.voices ?? [], speech: config.speech, name,
      imageSize: IMAGE_SIZE, smallImageSize: SMALL_SIZE,
      heldOutPairs: plan.novelPairs.map(([a, b]) => [catalog[a].label, catalog[b].label]),
      classList: config.classes.map((i) => ({ label: catalog[i].label, superclass: catalog[i].superclass, category: catalog[i].category, emoji: catalog[i].char })),
      licence: 'Images: Noto Emoji (Apache-2.0) via emoji-datasource-google; see ATTRIBUTION.md of native-models/data/demo',
    });
  } else {
    store = DatasetStore.open(dir);
  }
  const manifest = readManifest(dir) as Manifest;
  // The digest: sha256 over "<item digest>\n" for every item in index order.
  const hash = createHash('sha256');
  let count = 0;
  const summary = new Summary();
  try {
    // What an earlier run left: whole items, in index order.
    const logFile = path.join(dir, IMAGE64_FILE);
    const logged = readImage64(dir);
    // A kill during an append can leave half a line: end it, so the next line starts clean.
    if (fs.existsSync(logFile) && !fs.readFileSync(logFile, 'utf8').endsWith('\n') && fs.statSync(logFile).size > 0) fs.appendFileSync(logFile, '\n');
    for (const it of store.iterateItems()) {
      const index = count;
      if (it.fileName !== itemFileName(index)) {
        throw new DemoError(`${dir}: item ${index} is ${JSON.stringify(it.fileName)}, expected ${itemFileName(index)}; the dataset was edited, regenerate it in a new folder`);
      }
      hash.update(`${storedDigest(index, it)}\n`);
      count++;
      summary.add(it.split, it.captions.map((c) => c.text), it.regions.map((r) => r.label), it.spoken[0]?.durationS);
      let small = logged.get(it.image);
      if (!small || !store.blobs.has(small)) {
        // Committed just before a kill, before its 64px log line: rebuild it from the stored image.
        const { data } = await sharp(store.getBlob(it.image)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
        small = store.putBlob(encodePng(downscaleRgb(new Uint8Array(data), IMAGE_SIZE, IMAGE_SIZE / SMALL_SIZE), SMALL_SIZE, SMALL_SIZE));
        fs.appendFileSync(logFile, `${it.image}\t${small}\n`);
      }
    }
    const resumed = count;
    if (resumed > config.size) throw new DemoError(`${dir} holds ${resumed} items, more than --size ${config.size}`);
    const alreadyComplete = manifest.status === 'complete' && resumed === config.size;
    let generated = 0;
    const tGen = performance.now();
    if (resumed < config.size) {
      maker ??= await startMaker();
      const mk = maker;
      try {
        const window = Math.max(4, nWorkers * 4);
        const inflight = new Map<number, Promise<GeneratedItem>>();
        let next = resumed;
        const fill = () => {
          while (next < config.size && inflight.size < window && !opts.signal?.aborted) {
            const p = mk.start(next);
            p.catch(() => undefined); // observed when awaited in order
            inflight.set(next, p);
            next++;
          }
        };
        fill();
        const batchSize = 16;
        let index = resumed;
        while (index < config.size) {
          if (opts.signal?.aborted) throw cancelled();
          const batch: GeneratedItem[] = [];
          while (batch.length < batchSize && index < config.size && inflight.has(index)) {
            const it = await (inflight.get(index) as Promise<GeneratedItem>);
            inflight.delete(index);
            batch.push(it);
            index++;
            fill();
            if (opts.signal?.aborted) break;
          }
          if (batch.length === 0) throw cancelled();
          const prepared = [];
          let log = '';
          // Thumbnails are made by sharp on its own threads: start the whole batch at once.
          const images = await Promise.all(batch.map((it) => store.prepareImage(it.png, it.fileName)));
          for (const [k, it] of batch.entries()) {
            const image = images[k];
            const small = store.putBlob(it.png64);
            log += `${image.image}\t${small}\n`;
            prepared.push({
              image, fileName: it.fileName, split: it.split,
              captions: it.captions.map((text) => ({ text, source: 'generated' as const })),
              regions: it.regions.map((r) => ({ box: r.box, label: r.label, source: 'generated' as const })),
              spoken: it.spoken ? [store.prepareSpoken({
                wav: it.spoken.wav, durationS: it.spoken.durationS, trace: it.spoken.trace,
                timedCaption: it.spoken.timedCaption, transcript: it.spoken.transcript,
              })] : [],
            });
          }
          store.insertItems(prepared);
          fs.appendFileSync(logFile, log);
          for (const it of batch) {
            hash.update(`${it.digest}\n`);
            count++;
            summary.add(it.split, it.captions, it.regions.map((r) => r.label), it.spoken?.durationS);
          }
          generated += batch.length;
          const secs = (performance.now() - tGen) / 1000;
          const rate = generated / Math.max(1e-3, secs);
          opts.onProgress?.({ done: index, total: config.size, rate, etaS: (config.size - index) / Math.max(1e-9, rate) });
        }
      } finally {
        await mk.close();
        maker = undefined;
      }
    }
    const digest = hash.digest('hex');
    if (!alreadyComplete) {
      writeManifest(dir, { ...manifest, status: 'complete', digest });
      store.rename(name);
    } else if (manifest.digest !== digest) {
      throw new DemoError(`${dir}: stored items do not match the recorded digest (${manifest.digest?.slice(0, 12)} vs ${digest.slice(0, 12)}); the dataset was modified`);
    }
    return {
      dir, items: count, digest, resumed, generated, seconds: (performance.now() - t0) / 1000,
      summary: summary.result(), alreadyComplete,
    };
  } finally {
    await maker?.close();
    store.close();
  }
}

/** Dataset id in a library for given settings ("emojiscenes-300-s1"). */
export function demoDatasetId(size: number, seed: number): string {
  return `emojiscenes-${size}-s${seed}`;
}

/**
 * The studio's "create a small demo dataset" action: generates EmojiScenes into the library root
 * (as dataset id emojiscenes-<size>-s<seed>) and returns the new dataset. On failure or cancel the
 * half-made folder is removed, so the library never lists it.
 */
export async function createDemoDataset(library: Library | string, opts: DemoOptions): Promise<{ dataset: Dataset; result: DemoResult }> {
  const root = typeof library === 'string' ? path.resolve(library) : library.root;
  const seed = opts.seed ?? 1;
  const id = demoDatasetId(opts.size, seed);
  const dir = path.join(root, id);
  const existed = fs.existsSync(path.join(dir, DB_FILE));
  let result: DemoResult;
  try {
    result = await generateDemoDataset(dir, { speech: 'auto', ...opts, seed });
  } catch (e) {
    if (!existed && fs.existsSync(path.join(dir, MANIFEST))) fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const dataset = typeof library === 'string' ? (() => {
    const s = DatasetStore.open(dir);
    try {
      return s.info();
    } finally {
      s.close();
    }
  })() : library.get(id).info();
  return { dataset, result };
}

export { SPLIT_NAMES };
