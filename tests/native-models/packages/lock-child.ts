// Child process for the package-lock test: takes a package's writer lock `n` times; inside, it checks that no other
// process is inside (a marker file created exclusively, kept 2 ms), and every other time it "dies" holding the lock (rewrites
// the lock as a gone process's and leaves), so the others must take it over. Prints how often it found company.
// Usage: node --import tsx lock-child.ts <packageDir> <deadPid> <n>
import { closeSync, openSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { LOCK_FILE, withPackageLock } from '../../../native-models/packages/format';

const [dir, deadPid, n] = process.argv.slice(2);
const dead = JSON.stringify({ pid: Number(deadPid), host: hostname(), since: '2026-01-01T00:00:00Z', pidns: readlinkSync('/proc/self/ns/pid') });
let company = 0;
for (let i = 0; i < Number(n); i++) {
  withPackageLock(dir, () => {
    try {
      closeSync(openSync(join(dir, 'inside'), 'wx'));
    } catch {
      company++;
      return;
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2); // a write takes a while: 2 ms inside
    rmSync(join(dir, 'inside'));
    if (i % 2 === 0) writeFileSync(join(dir, LOCK_FILE), dead);
  }, { waitMs: 30_000 });
}
process.stdout.write(`${company}\n`);
