// Playwright e2e in web mode with Debian's Chromium and a fake microphone fed from a generated WAV.
// The spec starts (and restarts) the real web server itself on a temp data dir.
import { defineConfig } from '@playwright/test';
import os from 'node:os';
import path from 'node:path';

/** Where global-setup writes the fixtures (the fake mic's WAV must be named before the browser starts). */
export const FIXTURES = path.join(os.tmpdir(), `opt-studio-e2e-${process.env.USER ?? 'user'}`);
process.env.OPT_E2E_FIXTURES = FIXTURES;

export default defineConfig({
  testDir: '.',
  globalSetup: './global-setup.ts',
  timeout: 180_000,
  expect: { timeout: 15_000 },
  workers: 1,
  fullyParallel: false,
  reporter: [['list']],
  outputDir: '../../test-results/e2e',
  use: {
    viewport: { width: 1440, height: 900 },
    testIdAttribute: 'data-test',
    actionTimeout: 15_000,
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
        `--use-file-for-fake-audio-capture=${path.join(FIXTURES, 'mic.wav')}`, '--autoplay-policy=no-user-gesture-required',
      ],
    },
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
});
