// The library: a root folder whose subfolders are datasets (<root>/<id>/dataset.sqlite).
// The id is the folder name and never changes; renaming edits the name stored inside.
// Default root: $OPT_STUDIO_HOME/datasets, else ~/.opt-studio/datasets.

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DatasetStore, DB_FILE } from './dataset-store';
import { DatasetError, toDatasetError } from './errors';
import type { Dataset } from './types';

const ID_RE = /^[a-z0-9][a-z0-9-]{0,63}$/;

/** The library root used when none is given. */
export function defaultLibraryRoot(env: NodeJS.ProcessEnv = process.env): string {
  const home = env.OPT_STUDIO_HOME || path.join(os.homedir(), '.opt-studio');
  return path.join(home, 'datasets');
}

/** Checks a dataset id before it becomes a path, so an id can never escape the library root. */
export function checkDatasetId(id: unknown): string {
  if (typeof id !== 'string' || !ID_RE.test(id)) throw new DatasetError('NOT_FOUND', `no dataset ${JSON.stringify(id)} (ids are lowercase letters, digits and -)`);
  return id;
}

function slug(name: string): string {
  const s = name.normalize('NFKD').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40);
  return `${s || 'dataset'}-${randomBytes(4).toString('hex')}`;
}

export class Library {
  readonly root: string;
  private readonly open = new Map<string, DatasetStore>();

  constructor(root: string = defaultLibraryRoot()) {
    this.root = path.resolve(root);
    fs.mkdirSync(this.root, { recursive: true });
  }

  /** All datasets, newest first. Folders that are not datasets (or cannot be read) are left out. */
  list(): Dataset[] {
    const out: Dataset[] = [];
    let names: string[];
    try {
      names = fs.readdirSync(this.root);
    } catch (e) {
      throw toDatasetError(e, `reading the library ${this.root}`);
    }
    for (const name of names) {
      if (!ID_RE.test(name) || !fs.existsSync(path.join(this.root, name, DB_FILE))) continue;
      try {
        out.push(this.get(name).info());
      } catch {
        // An unreadable dataset is skipped in the listing; opening it by id reports why.
      }
    }
    return out.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  create(name: string): Dataset {
    if (typeof name !== 'string' || !name.trim() || name.trim().length > 200) throw new DatasetError('INVALID', 'a dataset name is 1 to 200 characters');
    const id = slug(name);
    const store = DatasetStore.create(path.join(this.root, id), { id, name });
    this.open.set(id, store);
    return store.info();
  }

  /** The open store for a dataset (opened once, then cached). */
  get(id: string): DatasetStore {
    checkDatasetId(id);
    const cached = this.open.get(id);
    if (cached?.isOpen) return cached;
    const dir = path.join(this.root, id);
    if (!fs.existsSync(path.join(dir, DB_FILE))) throw new DatasetError('NOT_FOUND', `no dataset ${JSON.stringify(id)} in ${this.root}`);
    const store = DatasetStore.open(dir);
    this.open.set(id, store);
    return store;
  }

  rename(id: string, name: string): Dataset {
    const store = this.get(id);
    store.rename(name);
    return store.info();
  }

  /** Deletes a dataset folder: renamed away first (atomic), then removed. */
  delete(id: string): void {
    checkDatasetId(id);
    const dir = path.join(this.root, id);
    if (!fs.existsSync(dir)) throw new DatasetError('NOT_FOUND', `no dataset ${JSON.stringify(id)} in ${this.root}`);
    this.release(id, false); // no garbage collection: the whole folder goes
    const trash = path.join(this.root, `.deleting-${id}-${randomBytes(3).toString('hex')}`);
    try {
      fs.renameSync(dir, trash);
      fs.rmSync(trash, { recursive: true, force: true });
    } catch (e) {
      throw toDatasetError(e, `deleting dataset ${id}`);
    }
  }

  /** Closes a dataset, first deleting media nothing refers to any more (see `tidy`). */
  close(id: string): void {
    this.release(id, true);
  }

  /** Closes every open dataset (app quit), each tidied first. */
  closeAll(): void {
    for (const id of [...this.open.keys()]) this.release(id, true);
  }

  private release(id: string, collect: boolean): void {
    const s = this.open.get(id);
    if (s && collect) tidy(s);
    s?.close();
    this.open.delete(id);
  }
}

/**
 * Garbage collection when a dataset closes: blobs no item, spoken caption or undo step refers to and
 * older than an hour (so an import still writing in another process keeps its media) are deleted.
 * Best effort: a failure here must never stop the close, so it is reported and the blobs stay.
 */
function tidy(store: DatasetStore): void {
  if (!store.isOpen) return;
  try {
    store.collectGarbage();
  } catch (e) {
    console.warn(`${store.dir}: garbage collection skipped: ${(e as Error).message}`);
  }
}
