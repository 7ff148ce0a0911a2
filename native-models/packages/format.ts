// The model package format: a folder with `manifest.json` naming each component's files (ONNX graphs,
// class vocabularies, safetensors weights), their sha256, the component's config and its measured quality.
// The default package ships in `native-models/packages/default/`; bigger packages plug in through the same format.
// Components are written one at a time (each trainer exports its own, `copyComponent` takes one from another
// package), transactionally and under the package's lock: see writeComponent and withPackageLock.
import { createHash, randomUUID } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, isAbsolute, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { fromHalf, readInitializers, weightName } from '../graph/onnx';
import { fsyncDir, writeFileAtomic } from '../train/atomic';
import type { Tensor } from '../runtime/tensor';
import { readSafetensorsFile, toTensor } from '../train/safetensors';

/** Identifies the format in manifest.json; bump FORMAT_VERSION on an incompatible change. */
export const FORMAT_ID = 'opt-studio-model-package';
export const FORMAT_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';
/** The manifest of a component write that has reached its commit point (see writeComponent). */
export const PENDING_MANIFEST_FILE = 'manifest.pending.json';
/** Suffix of a component file written but not yet moved into place (see writeComponent). */
export const INCOMING_SUFFIX = '.incoming';
/** Held by the one process writing a package (see withPackageLock). */
export const LOCK_FILE = 'manifest.lock';
/** Held for the moment a dead writer's lock is checked and removed (withPackageLock). */
export const BREAK_FILE = `${LOCK_FILE}.break`;

/** The component kinds the studio knows; a package may carry any subset. */
export const COMPONENT_KINDS = ['detector', 'audio-encoder', 'dvae', 'opt', 'tokenizer'] as const;
export type ComponentKind = (typeof COMPONENT_KINDS)[number];

const relPath = z
  .string()
  .min(1)
  .refine((p) => !isAbsolute(p) && !normalize(p).split(/[\\/]/).includes('..'), 'must be a relative path inside the package')
  .refine((p) => !/(^|[\\/])\.?$/.test(normalize(p)), 'must name a file, not a folder')
  .refine((p) => ![MANIFEST_FILE, PENDING_MANIFEST_FILE, LOCK_FILE, BREAK_FILE].includes(normalize(p).toLowerCase()) && !p.endsWith(INCOMING_SUFFIX), `must not be ${MANIFEST_FILE}, ${PENDING_MANIFEST_FILE}, ${LOCK_FILE}, ${BREAK_FILE} or end in ${INCOMING_SUFFIX} (the package's own files)`);

const componentSchema = z.object({
  kind: z.enum(COMPONENT_KINDS),
  /** Role -> file inside the package, e.g. { model: 'detector.onnx', classes: 'detector-classes.json' }. */
  files: z.record(z.string(), relPath),
  /** Role -> sha256 hex of that file, checked on load. */
  sha256: z.record(z.string(), z.string().regex(/^[0-9a-f]{64}$/)),
  /** The component's own configuration (dimensions, input size, contract details); its owner validates it. */
  config: z.record(z.string(), z.unknown()).default({}),
  /** Quality and speed figures with the command that produced them. */
  metrics: z.record(z.string(), z.union([z.number(), z.string()])).default({}),
  /** How the weights were made: command, dataset, seed, steps. */
  training: z.record(z.string(), z.union([z.number(), z.string()])).default({}),
});

const manifestSchema = z.object({
  format: z.literal(FORMAT_ID),
  formatVersion: z.literal(FORMAT_VERSION),
  name: z.string().min(1),
  version: z.string().min(1),
  description: z.string().default(''),
  license: z.string().default(''),
  components: z.record(z.string(), componentSchema),
});

export type ComponentEntry = z.infer<typeof componentSchema>;
export type Manifest = z.infer<typeof manifestSchema>;

/** A package that failed to load: says which package and what is wrong with it. */
export class PackageError extends Error {
  constructor(readonly dir: string, message: string) {
    super(`model package ${dir}: ${message}`);
    this.name = 'PackageError';
  }
}

/** A loaded package: its manifest and absolute paths of every component file (all verified). */
export interface ModelPackage {
  dir: string;
  manifest: Manifest;
  /** Absolute path of a component's file by role; throws a PackageError naming what is missing. */
  file(component: string, role: string): string;
  /** The component entry; throws a PackageError if the package lacks it or it is of another kind. */
  component(name: string, kind: ComponentKind): ComponentEntry;
}

/** The default package shipped in the repository. */
export function defaultPackageDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), 'default');
}

/**
 * The package a training command exports into: `dir` when given, else the default package, which it then says at
 * the start (the run replaces the shipped component when it finishes).
 */
export function trainingExportDir(dir: string | undefined, log: (line: string) => void = console.log): string {
  if (dir === '') throw new Error('--package needs a folder');
  if (dir !== undefined) return resolve(dir);
  log(`note: this run exports into the shipped default package (${defaultPackageDir()}) when it ends; pass --package DIR to write elsewhere, or --no-export`);
  return defaultPackageDir();
}

/**
 * Whether a training run that has stopped writes its export now. Not when a signal (Ctrl-C, SIGTERM) stopped it and
 * the target is the shipped default package (no --package): a few hundred steps would replace a trained and
 * measured component. `signalled`: a signal cut the run short (a run that took all its steps exports, whenever a
 * signal came). The checkpoint keeps everything; says so through `log`.
 */
export function exportAfterStop(explicitPackage: string | undefined, signalled: boolean, log: (line: string) => void = console.log): boolean {
  if (!signalled || explicitPackage !== undefined) return true;
  log(`stopped by a signal: the shipped default package (${defaultPackageDir()}) is left as it is. Resume the run to finish it (the export follows then), or export what it has with --export-only (into --package DIR, or the default package when none is given).`);
  return false;
}

function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function inside(dir: string, rel: string): string {
  const abs = resolve(dir, rel);
  if (!abs.startsWith(dir + sep)) throw new PackageError(dir, `file ${rel} lies outside the package`);
  return abs;
}

function readManifest(dir: string): Manifest {
  const path = join(dir, MANIFEST_FILE);
  if (!existsSync(path)) throw new PackageError(dir, `no ${MANIFEST_FILE} (is this a model package folder?)`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new PackageError(dir, `${MANIFEST_FILE} is not valid JSON: ${(e as Error).message}`);
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new PackageError(dir, `${MANIFEST_FILE} at ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}

/**
 * Loads and verifies a package: manifest schema, every file present, every sha256 matching.
 * Example:
 *   const pkg = loadPackage(defaultPackageDir());
 *   const onnxPath = pkg.file('detector', 'model');
 */
export function loadPackage(dirIn: string, opts: { verifyHashes?: boolean } = {}): ModelPackage {
  const dir = resolve(dirIn);
  finishPendingWrite(dir);
  const manifest = readManifest(dir);
  for (const [name, c] of Object.entries(manifest.components)) {
    for (const [role, rel] of Object.entries(c.files)) {
      const abs = inside(dir, rel);
      if (!existsSync(abs)) throw new PackageError(dir, `component ${name}: file ${rel} (${role}) is missing`);
      const want = c.sha256[role];
      if (!want) throw new PackageError(dir, `component ${name}: no sha256 for ${role}`);
      if (opts.verifyHashes !== false && sha256File(abs) !== want) {
        throw new PackageError(dir, `component ${name}: ${rel} does not match its sha256 (corrupt or replaced file)`);
      }
    }
  }
  return {
    dir,
    manifest,
    component(name, kind) {
      const c = manifest.components[name];
      if (!c) throw new PackageError(dir, `has no component "${name}" (it has: ${Object.keys(manifest.components).join(', ') || 'none'})`);
      if (c.kind !== kind) throw new PackageError(dir, `component "${name}" is a ${c.kind}, not a ${kind}`);
      return c;
    },
    file(component, role) {
      const c = manifest.components[component];
      const rel = c?.files[role];
      if (!rel) throw new PackageError(dir, `component "${component}" has no file for "${role}"`);
      return inside(dir, rel);
    },
  };
}

/** The files of one component to write: role -> { name inside the package, bytes }. */
export type ComponentFiles = Record<string, { name: string; bytes: Uint8Array | string }>;

/**
 * Writes (or replaces) one component of a package, creating the package (with `init`) when the folder has no
 * manifest yet. Transactional, in four steps: (1) each file is written beside its place as `<name>.incoming`;
 * (2) the new manifest is written as manifest.pending.json, the commit point; (3) the files are renamed into place
 * and the pending manifest over manifest.json; (4) files of the replaced entry that no component names any more are
 * removed. A crash before (2) leaves the old package whole (the `.incoming` files are ignored, and overwritten by the
 * next write of the same component); a crash after it is rolled forward by the next load or write
 * (finishPendingWrite), so a reader sees the old component or the new one, never a mix. Writers of one package
 * are serialised by its lock file (withPackageLock): a second writer waits for the first.
 */
export function writeComponent(
  dirIn: string,
  name: string,
  entry: Omit<ComponentEntry, 'files' | 'sha256'>,
  files: ComponentFiles,
  init: { name: string; version: string; description?: string; license?: string } = { name: 'default', version: '0.1.0' },
): Manifest {
  const dir = resolve(dirIn);
  mkdirSync(dir, { recursive: true });
  return withPackageLock(dir, () => writeLocked(dir, name, entry, files, init));
}

function writeLocked(dir: string, name: string, entry: Omit<ComponentEntry, 'files' | 'sha256'>, files: ComponentFiles,
  init: { name: string; version: string; description?: string; license?: string }): Manifest {
  finishPendingWrite(dir);
  const manifest: Manifest = existsSync(join(dir, MANIFEST_FILE))
    ? readManifest(dir)
    : { format: FORMAT_ID, formatVersion: FORMAT_VERSION, description: '', license: '', components: {}, ...init };
  const previous = manifest.components[name];
  const rels: Record<string, string> = {};
  const hashes: Record<string, string> = {};
  // What the other components name, so a shared file is only ever rewritten with the same bytes.
  const others = new Map(Object.entries(manifest.components).filter(([n]) => n !== name)
    .flatMap(([n, c]) => Object.entries(c.files).map(([role, rel]) => [inside(dir, rel), { n, sha: c.sha256[role] }] as const)));
  const prepared = Object.entries(files).map(([role, f]) => {
    relPath.parse(f.name);
    const abs = inside(dir, f.name);
    const bytes = typeof f.bytes === 'string' ? Buffer.from(f.bytes, 'utf8') : f.bytes;
    const sha = createHash('sha256').update(bytes).digest('hex');
    const other = others.get(abs);
    if (other && other.sha !== sha) throw new PackageError(dir, `component ${name}: ${f.name} is also component ${other.n}'s, with other contents; give it another name`);
    return { role, name: f.name, abs, bytes, sha };
  });
  for (const f of prepared) {
    mkdirSync(dirname(f.abs), { recursive: true });
    writeFileAtomic(f.abs + INCOMING_SUFFIX, [f.bytes]);
    rels[f.role] = f.name;
    hashes[f.role] = f.sha;
  }
  manifest.components[name] = componentSchema.parse({ ...entry, files: rels, sha256: hashes });
  writeFileAtomic(join(dir, PENDING_MANIFEST_FILE), [JSON.stringify(manifest, null, 2) + '\n']);
  finishPendingWrite(dir);
  if (previous) {
    // By file identity, not path text: on a case-insensitive file system 'A.onnx' and 'a.onnx' are one file.
    const id = (abs: string) => {
      const st = statSync(abs, { bigint: true, throwIfNoEntry: false });
      return st ? `${st.dev}:${st.ino}` : undefined;
    };
    const named = new Set(Object.values(manifest.components).flatMap((c) => Object.values(c.files).map((rel) => id(inside(dir, rel)))));
    for (const rel of Object.values(previous.files)) {
      const abs = inside(dir, rel);
      const own = id(abs);
      if (own !== undefined && !named.has(own)) rmSync(abs, { force: true });
    }
  }
  return manifest;
}

/**
 * Rolls forward a component write that reached its commit point (manifest.pending.json): moves each of its
 * `.incoming` files into place, then the pending manifest over manifest.json. Safe to repeat. A package that
 * cannot be written (read-only) and holds a pending write is an error naming it.
 */
function finishPendingWrite(dir: string): void {
  const pendingPath = join(dir, PENDING_MANIFEST_FILE);
  if (!existsSync(pendingPath)) return;
  // Written atomically, so it is whole; its schema is still checked before anything moves.
  let pending: Manifest;
  try {
    pending = manifestSchema.parse(JSON.parse(readFileSync(pendingPath, 'utf8')));
  } catch (e) {
    throw new PackageError(dir, `${PENDING_MANIFEST_FILE} (an interrupted write) is unreadable: ${(e as Error).message}`);
  }
  try {
    const dirs = new Set<string>();
    // Another process may be finishing the same write: a rename whose source is gone is done already.
    const moved = (from: string, to: string) => {
      try {
        renameSync(from, to);
        return true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT' && !existsSync(from) && existsSync(to)) return false;
        throw e;
      }
    };
    for (const c of Object.values(pending.components)) {
      for (const rel of Object.values(c.files)) {
        const abs = inside(dir, rel);
        if (existsSync(abs + INCOMING_SUFFIX) && moved(abs + INCOMING_SUFFIX, abs)) dirs.add(dirname(abs));
      }
    }
    for (const d of dirs) fsyncDir(d);
    if (moved(pendingPath, join(dir, MANIFEST_FILE))) fsyncDir(dir);
  } catch (e) {
    throw new PackageError(dir, `cannot finish an interrupted write (${PENDING_MANIFEST_FILE}): ${(e as Error).message}`);
  }
}

/**
 * Replaces the metrics of one component (files, hashes and config unchanged): one atomic manifest write, after the
 * package is loaded and verified, under the package's lock. For evaluation commands that record their figures;
 * `metrics` may be a function of the old ones (a merge, read and written under the same lock).
 */
export function setComponentMetrics(dirIn: string, name: string, kind: ComponentKind,
  metrics: ComponentEntry['metrics'] | ((old: ComponentEntry['metrics']) => ComponentEntry['metrics'])): Manifest {
  return withPackageLock(resolve(dirIn), () => {
    const pkg = loadPackage(dirIn);
    const manifest = pkg.manifest;
    const entry = pkg.component(name, kind);
    manifest.components[name] = { ...entry, metrics: typeof metrics === 'function' ? metrics(entry.metrics) : metrics };
    writeFileAtomic(join(pkg.dir, MANIFEST_FILE), [JSON.stringify(manifest, null, 2) + '\n']);
    return manifest;
  });
}

/** What a lock file says about its holder. */
export interface LockHolder { pid: number; host: string; since: string; pidns?: string }

/** Who holds a package's writer lock now, if anyone (for display: the lock may be released the next moment). */
export function lockHolder(dir: string): LockHolder | undefined {
  return parseHolder(readFileSafe(join(resolve(dir), LOCK_FILE)));
}

/** Packages whose lock this process holds (a locked writer may call another: it runs inside the same lock). */
const heldLocks = new Set<string>();

/** This process's pid namespace (Linux): a pid from another namespace (a container) cannot be checked here. */
function pidNamespace(): string | undefined {
  if (ownPidns === null) {
    try { ownPidns = readlinkSync('/proc/self/ns/pid'); } catch { ownPidns = undefined; }
  }
  return ownPidns;
}
/** pidNamespace()'s answer, read once (null: not yet): a process does not change namespace. */
let ownPidns: string | undefined | null = null;

/**
 * Runs `fn` holding the package's lock file (manifest.lock, created exclusively, naming this process): one writer
 * of a package at a time, across processes. A lock left by a process that is gone (same host and pid namespace, no
 * such pid) is taken over; otherwise this waits, up to `waitMs`, then fails naming the holder. Readers take no
 * lock: a manifest is replaced atomically. Re-entrant within a process.
 */
export function withPackageLock<T>(dir: string, fn: () => T, o: { waitMs?: number } = {}): T {
  if (heldLocks.has(dir)) return fn();
  if (!existsSync(dir)) throw new PackageError(dir, 'does not exist');
  const path = join(dir, LOCK_FILE);
  const deadline = Date.now() + (o.waitMs ?? 60_000);
  let text = '';
  for (let wait = 10; ; wait = Math.min(2 * wait, 500)) {
    text = JSON.stringify(lockRecord()) + '\n';
    try {
      createWith(path, text);
      break;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw new PackageError(dir, `cannot take the writer's lock ${LOCK_FILE}: ${(e as Error).message}`);
    }
    const seen = readFileSafe(path);
    const holder = parseHolder(seen);
    // Left by a writer that died (or, unreadable, one that died between creating and filling it): taken over.
    if (seen !== undefined && abandoned(path, holder) && takeOver(path, seen)) continue; // else: another process is taking it over
    if (Date.now() >= deadline) {
      const who = holder ? `process ${holder.pid} on ${holder.host} since ${holder.since}` : 'another process';
      throw new PackageError(dir, `is being written by ${who} (${LOCK_FILE}); try again when it is done, or delete ${LOCK_FILE} if no such writer runs`);
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, wait);
  }
  heldLocks.add(dir);
  try {
    return fn();
  } finally {
    heldLocks.delete(dir);
    // Only our own lock is removed (a writer that outlived a take-over must not delete its successor's).
    if (readFileSafe(path) === text) rmSync(path, { force: true });
  }
}

/**
 * Whether a lock file (the writer's lock, or a take-over's) was left by a process that is gone: one on this host and
 * in this pid namespace that no longer runs, or a file still unreadable 10 s after it was made (its maker died
 * between creating and filling it). A holder elsewhere cannot be checked, so it never counts as gone.
 */
function abandoned(path: string, holder: LockHolder | undefined): boolean {
  if (holder) return holder.host === hostname() && holder.pidns === pidNamespace() && !processAlive(holder.pid);
  return Date.now() - (statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > 10_000;
}

/**
 * Removes a dead writer's lock whose contents were `seen`, under a second, short-lived lock (manifest.lock.break,
 * created exclusively and naming this process): only one process at a time checks and removes, so a live lock that
 * another writer took meanwhile is never moved or removed. A break whose maker is gone is cleared (if it still
 * reads the same: only a few instructions separate that check from the removal); a live maker's is waited for,
 * however long it takes. False when the break is another's: wait, then try again. (Exported for its tests.)
 */
export function takeOver(path: string, seen: string): boolean {
  const breaker = join(dirname(path), BREAK_FILE);
  const mine = JSON.stringify({ ...lockRecord(), nonce: randomUUID() }) + '\n';
  try {
    createWith(breaker, mine);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    const theirs = readFileSafe(breaker);
    if (theirs !== undefined && abandoned(breaker, parseHolder(theirs)) && readFileSafe(breaker) === theirs) rmSync(breaker, { force: true });
    return false;
  }
  try {
    if (readFileSafe(path) === seen) rmSync(path, { force: true });
  } finally {
    if (readFileSafe(breaker) === mine) rmSync(breaker, { force: true });
  }
  return true;
}

/** Creates `path` holding `text`; fails with EEXIST when it exists (how both lock files are taken). */
function createWith(path: string, text: string): void {
  const fd = openSync(path, 'wx');
  try { writeSync(fd, text); } finally { closeSync(fd); }
}

/** This process as a lock file names it. */
function lockRecord(): LockHolder {
  const pidns = pidNamespace();
  return { pid: process.pid, host: hostname(), since: new Date().toISOString(), ...(pidns ? { pidns } : {}) };
}

function readFileSafe(path: string): string | undefined {
  try { return readFileSync(path, 'utf8'); } catch { return undefined; }
}

function parseHolder(text: string | undefined): LockHolder | undefined {
  try {
    const h = JSON.parse(text ?? '') as LockHolder;
    return Number.isInteger(h.pid) && typeof h.host === 'string' ? h : undefined;
  } catch {
    return undefined; // being written this instant, or not ours: treated as held
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/**
 * Copies component `name` of package `fromDir` (verified first) into package `toDir` (created if needed) under the
 * same name and file names, replacing a component of that name there; transactional like writeComponent.
 */
export function copyComponent(fromDir: string, name: string, toDir: string): Manifest {
  const from = loadPackage(fromDir);
  if (resolve(toDir) === from.dir) throw new PackageError(from.dir, 'copying a component onto its own package');
  const c = from.manifest.components[name];
  if (!c) throw new PackageError(from.dir, `has no component "${name}" (it has: ${Object.keys(from.manifest.components).join(', ') || 'none'})`);
  const files = Object.fromEntries(Object.entries(c.files).map(([role, rel]) => [role, { name: rel, bytes: readFileSync(from.file(name, role)) }]));
  const { files: _files, sha256: _sha, ...entry } = c;
  return writeComponent(toDir, name, entry, files, { name: from.manifest.name, version: from.manifest.version });
}

/** A model package folder: it has a manifest, or the pending manifest of a first write that reached its commit point. */
export function isPackageDir(dir: string): boolean {
  return existsSync(join(dir, MANIFEST_FILE)) || existsSync(join(dir, PENDING_MANIFEST_FILE));
}

/** The name of a package's one component of `kind` (an error if it has none or several). */
export function onlyComponent(pkg: ModelPackage, kind: ComponentKind): string {
  const names = Object.entries(pkg.manifest.components).filter(([, c]) => c.kind === kind).map(([n]) => n);
  if (names.length !== 1) throw new PackageError(pkg.dir, names.length ? `has ${names.length} ${kind} components (${names.join(', ')}); name one` : `has no ${kind} component`);
  return names[0];
}

/**
 * The weights of one component as float32 tensors by parameter name (fp16/bf16 storage widened back), for a warm
 * start from a shipped model: its `weights` safetensors file where it has one (the audio encoder's, with the
 * pre-training heads), else the weights baked into its ONNX graphs (an fp16 initializer `name:fp16` is `name`; a
 * weight two graphs share, such as the dVAE codebook, must be the same in both). Training-only state (optimizer,
 * EMA statistics) is not in a package. `pkg`: a loaded package or its folder.
 */
export function componentWeights(pkgIn: ModelPackage | string, name: string, kind: ComponentKind): Record<string, Tensor<'float32'>> {
  const pkg = typeof pkgIn === 'string' ? loadPackage(pkgIn) : pkgIn;
  const c = pkg.component(name, kind);
  const out: Record<string, Tensor<'float32'>> = {};
  if (c.files.weights) {
    const path = pkg.file(name, 'weights');
    for (const [k, r] of Object.entries(readSafetensorsFile(path).tensors)) {
      const t = toTensor(r, `${path}:${k}`);
      if (t.dtype !== 'float32' && t.dtype !== 'float16') throw new PackageError(pkg.dir, `component ${name}: weights tensor ${k} is ${r.dtype}, expected F32, F16 or BF16`);
      const data = t.dtype === 'float16' ? fromHalf(t.data as Uint16Array) : Float32Array.from(t.data as Float32Array);
      out[k] = { dtype: 'float32', dims: [...r.shape], data };
    }
    return out;
  }
  const graphs = Object.entries(c.files).filter(([, rel]) => rel.toLowerCase().endsWith('.onnx'));
  if (!graphs.length) throw new PackageError(pkg.dir, `component ${name} has neither a weights file nor ONNX graphs to read weights from`);
  for (const [role, rel] of graphs) {
    let inits;
    try { inits = readInitializers(readFileSync(pkg.file(name, role)), rel); } catch (e) { throw new PackageError(pkg.dir, `component ${name}: ${(e as Error).message}`); }
    for (const t of inits) {
      const param = weightName(t.name);
      if (!t.data || param === undefined) continue;
      const seen = out[param];
      if (seen && (seen.dims.join() !== t.dims.join() || seen.data.some((v, i) => !Object.is(v, t.data![i])))) {
        throw new PackageError(pkg.dir, `component ${name}: weight '${param}' differs between its graphs (${rel} and another)`);
      }
      out[param] = { dtype: 'float32', dims: t.dims, data: t.data };
    }
  }
  return out;
}
