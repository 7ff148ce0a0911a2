import { describe, it, expect } from 'vitest';
import { existsSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobStore } from '../../../../native-models/data/store';
import { STALE_TEMP_MS } from '../../../../native-models/data/store/blob-store';

describe('BlobStore.cleanTemp', () => {
  it('removes temp files a killed writer left, but not one another process is writing now', () => {
    const dir = mkdtempSync(join(tmpdir(), 'blobs-'));
    const blobs = new BlobStore(dir);
    const stale = join(dir, 'tmp', 'stale-write');
    const live = join(dir, 'tmp', 'live-write');
    writeFileSync(stale, 'x');
    writeFileSync(live, 'y');
    const old = (Date.now() - STALE_TEMP_MS - 60_000) / 1000;
    utimesSync(stale, old, old);
    blobs.cleanTemp();
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(live)).toBe(true);
  });
});
