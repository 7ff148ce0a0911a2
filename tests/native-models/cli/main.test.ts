import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, test } from 'vitest';
import { COMMANDS } from '../../../native-models/cli/main';

const run = promisify(execFile);
const root = path.resolve(__dirname, '../../..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-test-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Runs the real CLI (node + tsx loader), like `npm run cli -- ...`. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, ['--import', 'tsx', 'native-models/cli/main.ts', ...args], { cwd: root, env: { ...process.env, OPT_STUDIO_HOME: tmp } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

describe('cli', () => {
  test('commands are listed in one table', () => {
    expect(Object.keys(COMMANDS)).toEqual(expect.arrayContaining(['demo-data', 'demo-grid']));
    for (const c of Object.values(COMMANDS)) expect(c.usage).toMatch(/^Usage:/);
  });

  test('demo-data ends with items=<n> digest=<sha256>, the same on a second run', async () => {
    const out = path.join(tmp, 'ds');
    const args = ['demo-data', '--size', '3', '--seed', '11', '--no-speech', '--workers', '0', '--out', out, '--split-sizes', 'novel=0,val=0,test5k=1'];
    const a = await cli(...args);
    expect(a.code).toBe(0);
    const last = a.stdout.trim().split('\n').at(-1);
    expect(last).toMatch(/^items=3 digest=[0-9a-f]{64}$/);
    expect(a.stdout).toMatch(/splits: .*train=2/);
    const b = await cli(...args);
    expect(b.stdout).toMatch(/already complete/);
    expect(b.stdout.trim().split('\n').at(-1)).toBe(last);
  }, 60_000);

  test('bad input: clear message, non-zero exit, nothing written', async () => {
    const out = path.join(tmp, 'bad');
    const zero = await cli('demo-data', '--size', '0', '--out', out);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toMatch(/--size must be a whole number from 1 to 1,000,000, got "0"/);
    const cls = await cli('demo-data', '--size', '2', '--classes', 'red apple,moon rock', '--out', out);
    expect(cls.code).toBe(1);
    expect(cls.stderr).toMatch(/unknown emoji class: "moon rock"/);
    const unknown = await cli('frobnicate');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command "frobnicate"/);
    expect(fs.existsSync(out)).toBe(false);
  }, 60_000);

  test('package show verifies and lists the default package; package copy moves a component between packages', async () => {
    const shown = await cli('package', 'show');
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/all files verified/);
    expect(shown.stdout).toMatch(/^dvae \(dvae\), [\d.]+ MB$/m);
    expect(shown.stdout).toMatch(/^ {2}encode {7}dvae\/encode\.onnx/m);
    const to = path.join(tmp, 'pkg');
    const copied = await cli('package', 'copy', 'native-models/packages/default', 'dvae', '--to', to);
    expect(copied.code).toBe(0);
    expect(copied.stdout).toMatch(/copied dvae \(dvae: dvae\/encode\.onnx, dvae\/decode\.onnx\)/);
    const again = await cli('package', 'show', to);
    expect(again.stdout).toMatch(/1 components, all files verified/);
    const missing = await cli('package', 'copy', to, 'detector', '--to', path.join(tmp, 'pkg2'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/has no component "detector" \(it has: dvae\)/);
    expect(fs.existsSync(path.join(tmp, 'pkg2'))).toBe(false);
    const usage = await cli('package', 'copy', to);
    expect(usage.code).toBe(2);
  }, 60_000);
});
