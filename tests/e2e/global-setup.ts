// Builds the renderer and generates the fixtures (images per format, bad files, the fake mic WAV).
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export default function globalSetup() {
  const fixtures = process.env.OPT_E2E_FIXTURES!;
  rmSync(fixtures, { recursive: true, force: true });
  execFileSync(path.join(root, 'node_modules/.bin/vite'), ['build', '-c', 'build/vite.renderer.config.ts', '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' });
  execFileSync(process.execPath, ['--import', 'tsx', 'tests/e2e/make-fixtures.ts', fixtures], { cwd: root, stdio: 'inherit' });
}
