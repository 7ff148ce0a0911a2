// Versioned schema migrations for dataset.sqlite. Each migration runs once, in its own
// transaction, and is recorded in schema_migrations; append new ones, never edit old ones.

import type Database from 'better-sqlite3';
import { DatasetError } from './errors';

export interface Migration {
  version: number;
  description: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'items, captions (+FTS5), spoken captions, regions, edit journal',
    sql: `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE items (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  split TEXT NOT NULL,
  image TEXT NOT NULL,
  image_format TEXT NOT NULL,
  thumb TEXT NOT NULL,
  width INTEGER NOT NULL,
  height INTEGER NOT NULL,
  file_name TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  spoken_count INTEGER NOT NULL DEFAULT 0,
  region_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX items_split ON items (split, seq);
CREATE INDEX items_image ON items (image);
CREATE INDEX items_spoken ON items (spoken_count, seq);
CREATE INDEX items_regions ON items (region_count, seq);

CREATE TABLE captions (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  item_id TEXT NOT NULL REFERENCES items (id) ON DELETE CASCADE,
  text TEXT NOT NULL,
  source TEXT NOT NULL
);
CREATE INDEX captions_item ON captions (item_id, seq);

CREATE VIRTUAL TABLE captions_fts USING fts5 (
  text, content = 'captions', content_rowid = 'seq', tokenize = 'trigram remove_diacritics 1'
);
CREATE TRIGGER captions_ai AFTER INSERT ON captions BEGIN
  INSERT INTO captions_fts (rowid, text) VALUES (new.seq, new.text);
END;
CREATE TRIGGER captions_ad AFTER DELETE ON captions BEGIN
  INSERT INTO captions_fts (captions_fts, rowid, text) VALUES ('delete', old.seq, old.text);
END;
CREATE TRIGGER captions_au AFTER UPDATE OF text ON captions BEGIN
  INSERT INTO captions_fts (captions_fts, rowid, text) VALUES ('delete', old.seq, old.text);
  INSERT INTO captions_fts (rowid, text) VALUES (new.seq, new.text);
END;

CREATE TABLE spoken (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  item_id TEXT NOT NULL REFERENCES items (id) ON DELETE CASCADE,
  wav TEXT NOT NULL,
  original TEXT,
  original_mime TEXT,
  duration_s REAL NOT NULL,
  trace TEXT NOT NULL,
  timed_caption TEXT,
  transcript TEXT
);
CREATE INDEX spoken_item ON spoken (item_id, seq);
CREATE TRIGGER spoken_ai AFTER INSERT ON spoken BEGIN
  UPDATE items SET spoken_count = spoken_count + 1 WHERE id = new.item_id;
END;
CREATE TRIGGER spoken_ad AFTER DELETE ON spoken BEGIN
  UPDATE items SET spoken_count = spoken_count - 1 WHERE id = old.item_id;
END;

CREATE TABLE regions (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  item_id TEXT NOT NULL REFERENCES items (id) ON DELETE CASCADE,
  x0 REAL NOT NULL, y0 REAL NOT NULL, x1 REAL NOT NULL, y1 REAL NOT NULL,
  label TEXT NOT NULL,
  score REAL,
  source TEXT NOT NULL
);
CREATE INDEX regions_item ON regions (item_id, seq);
CREATE TRIGGER regions_ai AFTER INSERT ON regions BEGIN
  UPDATE items SET region_count = region_count + 1 WHERE id = new.item_id;
END;
CREATE TRIGGER regions_ad AFTER DELETE ON regions BEGIN
  UPDATE items SET region_count = region_count - 1 WHERE id = old.item_id;
END;

-- AUTOINCREMENT: a seq is never reused, so undo can put a deleted row back at its old seq (and order).
-- Edit journal for undo/redo: each entry holds the before/after rows of one user edit.
CREATE TABLE journal (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  label TEXT NOT NULL,
  item_ids TEXT NOT NULL,
  changes TEXT NOT NULL,
  undone INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL
);
`,
  },
  {
    version: 2,
    description: 'imports as undo steps: the items an import created, and their rows while it is undone',
    sql: `
-- An import's journal entry (changes = {"import":true}) lists its items here, appended batch by batch.
CREATE TABLE journal_items (
  seq INTEGER NOT NULL REFERENCES journal (seq) ON DELETE CASCADE,
  item_id TEXT NOT NULL
);
CREATE INDEX journal_items_seq ON journal_items (seq);
-- While an import is undone: the rows of its items (each item before its captions, spoken captions, regions).
CREATE TABLE journal_rows (
  seq INTEGER NOT NULL REFERENCES journal (seq) ON DELETE CASCADE,
  pos INTEGER NOT NULL,
  tbl TEXT NOT NULL,
  row TEXT NOT NULL,
  PRIMARY KEY (seq, pos)
);
`,
  },
];

/** The newest schema version this code knows. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

/** Brings a database up to SCHEMA_VERSION; refuses one written by a newer version of the app. */
export function migrate(db: Database.Database, file: string): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)');
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
  const current = row.v ?? 0;
  if (current > SCHEMA_VERSION) {
    throw new DatasetError('INVALID', `${file}: schema version ${current} is newer than this app supports (${SCHEMA_VERSION}); update OPT Studio`, { file });
  }
  const record = db.prepare('INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)');
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      record.run(m.version, m.description, new Date().toISOString());
    })();
  }
}
