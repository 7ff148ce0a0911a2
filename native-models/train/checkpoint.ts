// Checkpoints: a directory per saved step holding model.safetensors (parameters, readable by PyTorch
// and Hugging Face), optimizer.safetensors (optimizer state) and checkpoint.json (step, config, RNG and
// data-order state, file sizes and SHA-256). A step directory is built under a temp name and renamed
// into place; `latest` is then replaced atomically. A crash mid-save leaves the last good checkpoint.
//
//   run-dir/
//     step-00000100/{model.safetensors, optimizer.safetensors, checkpoint.json}
//     latest            -> "step-00000100"
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Tensor } from '../runtime/tensor';
import { fsyncDir, writeFileAtomic } from './atomic';
import { decodeSafetensors, toTensor, writeSafetensorsFileDirect } from './safetensors';

export const CHECKPOINT_FORMAT = 'opt-studio-checkpoint';
export const CHECKPOINT_VERSION = 1;

/** The JSON beside the tensors. Everything needed to continue exactly where training stopped. */
export interface CheckpointMeta {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  /** Optimizer steps completed. */
  step: number;
  /** Model/training configuration, as the caller defines it (checked on resume by the caller). */
  config: unknown;
  /** Optimizer kind and hyper-parameters; its tensors are in optimizer.safetensors. */
  optimizer: { file: 'optimizer.safetensors'; kind: string; [k: string]: unknown };
  /** RNG state (e.g. dropout seeds). */
  rng: unknown;
  /** Data-order state from the batch source. */
  data: unknown;
  /** Anything else (metrics at save time, wall time). */
  extra?: Record<string, unknown>;
  files: Record<string, { bytes: number; sha256: string }>;
  createdAt: string;
}

export interface CheckpointData {
  step: number;
  params: Record<string, Tensor>;
  optimizer: Record<string, Tensor>;
  config: unknown;
  optimizerInfo: { kind: string; [k: string]: unknown };
  rng: unknown;
  data: unknown;
  extra?: Record<string, unknown>;
}

const stepName = (step: number): string => `step-${String(step).padStart(8, '0')}`;

function sha256File(path: string): { bytes: number; sha256: string } {
  const b = readFileSync(path);
  return { bytes: b.byteLength, sha256: createHash('sha256').update(b).digest('hex') };
}

/** Complete checkpoints in dir, oldest first (temp directories are ignored). */
export function listCheckpoints(dir: string): { step: number; path: string }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((n) => /^step-(\d{8,})$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null && existsSync(join(dir, m[0], 'checkpoint.json')))
    .map((m) => ({ step: Number(m[1]), path: join(dir, m[0]) }))
    .sort((a, b) => a.step - b.step);
}

/**
 * Saves a checkpoint transactionally and keeps the newest `keep` (default 3). Returns its directory.
 * Saving a step that already has a checkpoint replaces it.
 */
export function saveCheckpoint(dir: string, c: CheckpointData, keep = 3): string {
  mkdirSync(dir, { recursive: true });
  const name = stepName(c.step);
  const tmp = join(dir, `.${name}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  mkdirSync(tmp);
  try {
    writeSafetensorsFileDirect(join(tmp, 'model.safetensors'), c.params, { format: 'pt', step: String(c.step) });
    writeSafetensorsFileDirect(join(tmp, 'optimizer.safetensors'), c.optimizer, { kind: c.optimizerInfo.kind, step: String(c.step) });
    const meta: CheckpointMeta = {
      format: CHECKPOINT_FORMAT,
      version: CHECKPOINT_VERSION,
      step: c.step,
      config: c.config,
      optimizer: { ...c.optimizerInfo, file: 'optimizer.safetensors' },
      rng: c.rng,
      data: c.data,
      extra: c.extra,
      files: {
        'model.safetensors': sha256File(join(tmp, 'model.safetensors')),
        'optimizer.safetensors': sha256File(join(tmp, 'optimizer.safetensors')),
      },
      createdAt: new Date().toISOString(),
    };
    writeFileAtomic(join(tmp, 'checkpoint.json'), [JSON.stringify(meta, null, 2) + '\n']);
    fsyncDir(tmp);
    const final = join(dir, name);
    if (existsSync(final)) {
      const old = join(dir, `.${name}.old.${randomBytes(4).toString('hex')}.tmp`);
      renameSync(final, old);
      renameSync(tmp, final);
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(tmp, final);
    }
    fsyncDir(dir);
    writeFileAtomic(join(dir, 'latest'), [name + '\n']);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  // Prune: never the one just written.
  const all = listCheckpoints(dir);
  for (const old of all.slice(0, Math.max(0, all.length - keep))) if (old.step !== c.step) rmSync(old.path, { recursive: true, force: true });
  // Leftover temp directories from crashed saves.
  for (const n of readdirSync(dir)) if (n.startsWith('.step-') && n.endsWith('.tmp') && !n.includes(`.${process.pid}.`)) rmSync(join(dir, n), { recursive: true, force: true });
  return join(dir, name);
}

/** The checkpoint `latest` names, else the newest complete one; undefined when there is none. */
export function latestCheckpoint(dir: string): string | undefined {
  const latest = join(dir, 'latest');
  if (existsSync(latest)) {
    const name = readFileSync(latest, 'utf8').trim();
    if (/^step-\d{8,}$/.test(name) && existsSync(join(dir, name, 'checkpoint.json'))) return join(dir, name);
  }
  return listCheckpoints(dir).at(-1)?.path;
}

function readMeta(path: string): { dir: string; meta: CheckpointMeta; metaPath: string } {
  let dir = path;
  if (!existsSync(join(dir, 'checkpoint.json'))) {
    const l = latestCheckpoint(path);
    if (!l) throw new Error(`${path}: no checkpoint found (expected step-NNNNNNNN/checkpoint.json)`);
    dir = l;
  }
  const metaPath = join(dir, 'checkpoint.json');
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(readFileSync(metaPath, 'utf8')) as CheckpointMeta;
  } catch (e) {
    throw new Error(`${metaPath}: corrupt checkpoint metadata: ${(e as Error).message}`);
  }
  if (meta.format !== CHECKPOINT_FORMAT) throw new Error(`${metaPath}: not an OPT Studio checkpoint (format ${JSON.stringify(meta.format)})`);
  if (meta.version > CHECKPOINT_VERSION) throw new Error(`${metaPath}: checkpoint version ${meta.version} is newer than this build reads (${CHECKPOINT_VERSION})`);
  if (!Number.isInteger(meta.step) || meta.step < 0) throw new Error(`${metaPath}: invalid step ${JSON.stringify(meta.step)}`);
  return { dir, meta, metaPath };
}

/**
 * The checkpoint.json of a checkpoint (or of the latest in a run directory) without reading its tensors:
 * for checking a run's config before resuming it.
 */
export function readCheckpointMeta(path: string): CheckpointMeta & { dir: string } {
  const { dir, meta } = readMeta(path);
  return { ...meta, dir };
}

/** JSON with object keys sorted: equal for configs that differ only in key order. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1))) : x);
}

/**
 * Throws unless the checkpoint at `path` was saved with `config` (compared after `normalise`, key order aside),
 * reading only its checkpoint.json; `hint` ends the message (what to do instead).
 */
export function checkResumeConfig<C>(path: string, config: C, hint: string, normalise: (c: C) => unknown = (c) => c): void {
  const saved = readCheckpointMeta(path).config as C;
  if (canonicalJson(normalise(saved)) !== canonicalJson(normalise(config))) {
    throw new Error(`${path}: checkpoint was trained with ${JSON.stringify(saved)}, not ${JSON.stringify(config)}; ${hint}`);
  }
}

/**
 * Loads one checkpoint directory (or the latest in a run directory), verifying sizes and SHA-256 of
 * every file. Corruption throws an error naming the file and saying what is wrong.
 */
export function loadCheckpoint(path: string): CheckpointData {
  const { dir, meta, metaPath } = readMeta(path);

  const read = (file: string): Record<string, Tensor> => {
    const p = join(dir, file);
    const want = meta.files?.[file];
    if (!want) throw new Error(`${metaPath}: lists no checksum for ${file}`);
    if (!existsSync(p)) throw new Error(`${p}: missing from the checkpoint`);
    const size = statSync(p).size;
    if (size !== want.bytes) throw new Error(`${p}: corrupt checkpoint file: ${size} bytes, checkpoint.json says ${want.bytes}`);
    const bytes = readFileSync(p);
    const sha = createHash('sha256').update(bytes).digest('hex');
    if (sha !== want.sha256) throw new Error(`${p}: corrupt checkpoint file: SHA-256 ${sha.slice(0, 12)}… does not match checkpoint.json (${want.sha256.slice(0, 12)}…)`);
    const st = decodeSafetensors(bytes, p);
    const out: Record<string, Tensor> = {};
    for (const [k, r] of Object.entries(st.tensors)) out[k] = toTensor(r, `${p}:${k}`);
    return out;
  };
  const { file: _f, ...optimizerInfo } = meta.optimizer;
  return {
    step: meta.step,
    params: read('model.safetensors'),
    optimizer: read('optimizer.safetensors'),
    config: meta.config,
    optimizerInfo: optimizerInfo as CheckpointData['optimizerInfo'],
    rng: meta.rng,
    data: meta.data,
    extra: meta.extra,
  };
}
