/// <reference lib="dom" />
// The grid at 50,000 items: windowed rendering (a bounded number of cells in the DOM), pages fetched
// by offset, frame times while scrolling (printed, not asserted: timings on a shared box are not a test),
// the last item reachable, and a filter over the whole set.
import { expect, test } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer } from './web-server';

const N = 50_000;

test('a 50,000-item dataset scrolls smoothly', async ({ page }) => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'opt-e2e-large-'));
  execFileSync(process.execPath, ['--import', 'tsx', 'tests/e2e/seed-large.ts', home, String(N)], { stdio: 'pipe' });
  const server = await startServer(home);
  try {
    await page.goto(server.url);
    await page.getByTestId('dataset-entry').filter({ hasText: 'Large' }).click();
    await expect(page.getByTestId('grid-total')).toHaveText(`${N.toLocaleString('en-US')} items`);
    await expect(page.getByTestId('grid-caption').first()).toContainText('#0 ');

    const stats = await page.evaluate(async () => {
      const el = document.querySelector<HTMLElement>('[data-test="grid"]')!;
      const frame = () => new Promise<number>((r) => requestAnimationFrame(r));
      const run = async (frames: number, step: (i: number) => void) => {
        const gaps: number[] = [];
        let maxCells = 0;
        let last = await frame();
        for (let i = 0; i < frames; i++) {
          step(i);
          const t = await frame();
          gaps.push(t - last);
          last = t;
          maxCells = Math.max(maxCells, el.querySelectorAll('[data-test="grid-cell"]').length);
        }
        gaps.sort((a, b) => a - b);
        return { median: gaps[gaps.length >> 1], p95: gaps[Math.floor(gaps.length * 0.95)], max: gaps[gaps.length - 1], maxCells };
      };
      const end = el.scrollHeight - el.clientHeight;
      const smooth = await run(240, () => (el.scrollTop += 60));
      const fling = await run(120, (i) => (el.scrollTop = (end * (i + 1)) / 120));
      return { smooth, fling, height: el.scrollHeight };
    });
    console.log(`grid 50k: smooth scroll frames median ${stats.smooth.median.toFixed(1)} ms, p95 ${stats.smooth.p95.toFixed(1)} ms, max ${stats.smooth.max.toFixed(1)} ms; ` +
      `fling across all rows median ${stats.fling.median.toFixed(1)} ms, p95 ${stats.fling.p95.toFixed(1)} ms; at most ${Math.max(stats.smooth.maxCells, stats.fling.maxCells)} cells in the DOM`);
    expect(stats.height).toBeGreaterThan(1_000_000);
    expect(Math.max(stats.smooth.maxCells, stats.fling.maxCells)).toBeLessThan(300);

    // At the end: the last item's page was fetched by offset and shows.
    await expect(page.getByTestId('grid-caption').filter({ hasText: `#${N - 1} ` })).toBeVisible();
    await page.screenshot({ path: path.resolve('test-results/e2e-shots/grid-50k.png') });

    await page.getByTestId('filter-text').fill('zebra');
    await expect(page.getByTestId('grid-total')).toHaveText(`${(N / 100).toLocaleString('en-US')} items`);
  } finally {
    await server.stop();
    rmSync(home, { recursive: true, force: true });
  }
});
