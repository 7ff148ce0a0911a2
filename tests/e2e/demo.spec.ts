/// <reference lib="dom" />
// First start, as a new user sees it, in web mode with the real services: an empty library offers
// the EmojiScenes demo; a started demo shows progress with a rate and ETA and can be cancelled
// (nothing kept); a small one (12 items, no speech, to stay fast) then opens with captioned items; the shipped region
// detector proposes an item's objects, and adding them is one undo step.
import { expect, test } from '@playwright/test';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer } from './web-server';

const shots = path.resolve('test-results/e2e-shots');

test('first start offers a demo dataset; cancel keeps nothing; a 12-item demo opens with captions', async ({ page }) => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'opt-e2e-demo-'));
  const server = await startServer(home);
  try {
    await page.goto(server.url);
    const offer = page.getByTestId('demo-offer');
    await expect(offer).toBeVisible();
    await expect(page.getByTestId('demo-create')).toHaveText(/Create a demo dataset \(EmojiScenes, 300 items, (about a minute|under a minute)\)/);
    await page.screenshot({ path: path.join(shots, 'demo-offer.png') });

    await test.step('progress with rate and ETA, then cancel', async () => {
      await page.getByTestId('demo-size').selectOption('300');
      const speech = page.getByTestId('demo-speech');
      if (await speech.count()) await speech.uncheck();
      await page.getByTestId('demo-create').click();
      await expect(page.getByTestId('demo-progress')).toBeVisible();
      await expect(page.getByTestId('demo-eta')).toContainText(/\d+ \/ 300 · \d+\.\d items\/s · (\d+ s|\d+ min \d+ s) left/, { timeout: 20_000 });
      await page.screenshot({ path: path.join(shots, 'demo-progress.png') });
      await page.getByTestId('demo-cancel').click();
      await expect(page.getByTestId('demo-cancelled')).toBeVisible({ timeout: 20_000 });
      await expect(page.getByTestId('dataset-entry')).toHaveCount(0);
      expect(readdirSync(path.join(home, 'datasets')).filter((f) => !f.startsWith('.'))).toEqual([]);
    });

    await test.step('a 12-item demo opens in the grid with captions', async () => {
      const started = Date.now();
      await page.getByTestId('demo-size').selectOption('12');
      await expect(page.getByTestId('demo-create')).toContainText('12 items');
      // The choices survive the cancel (no speech: eSpeak would make it several times slower).
      if (await page.getByTestId('demo-speech').count()) await expect(page.getByTestId('demo-speech')).not.toBeChecked();
      await page.getByTestId('demo-create').click();
      await expect(page.getByTestId('dataset-title')).toHaveText(/EmojiScenes 12/, { timeout: 30_000 });
      expect(Date.now() - started).toBeLessThan(30_000);
      await expect(page.getByTestId('demo-offer')).toHaveCount(0);
      await expect(page.getByTestId('dataset-entry')).toHaveCount(1);
      await expect(page.getByTestId('dataset-entry')).toContainText('12 items');
      const captions = page.getByTestId('grid-caption');
      await expect(captions).toHaveCount(12);
      for (const text of await captions.allTextContents()) expect(text.trim()).toMatch(/^\w+ \w+.{8,}/);
      await expect(page.locator('[data-test="grid-cell"] [title="Has regions"]')).toHaveCount(12);
      await expect(page.locator('[data-test="grid-cell"] [title="Has a spoken caption"]')).toHaveCount(0);
      // Thumbnails loaded (not broken images).
      await expect.poll(() => page.locator('[data-test="grid-cell"] img').evaluateAll((imgs) => imgs.filter((i) => (i as HTMLImageElement).naturalWidth > 0).length)).toBe(12);
      await page.screenshot({ path: path.join(shots, 'demo-grid.png') });
    });

    await test.step('the region detector proposes the objects of a scene; Add all is one undo step', async () => {
      await page.getByTestId('grid-cell').first().dblclick();
      await expect(page.getByTestId('item-view')).toBeVisible();
      const regions = page.getByTestId('region-entry');
      await expect(regions.first()).toBeVisible();
      const labels = async () => (await regions.getByTestId('region-label').evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value))).sort();
      const generated = await labels();
      // Take the generator's boxes away (one undo step each), so the detector has something to propose.
      for (let n = generated.length; n > 0; n--) {
        await regions.first().getByTestId('region-delete').click();
        await expect(regions).toHaveCount(n - 1);
      }
      await page.keyboard.press('d');
      const proposals = page.getByTestId('proposal');
      await expect(proposals.first()).toBeVisible({ timeout: 30_000 }); // the first detection loads the detector
      const proposed = await proposals.count();
      await expect(page.getByTestId('stage-proposal')).toHaveCount(proposed);
      await expect(page.getByTestId('proposals-summary')).toContainText(`${proposed} proposed`);
      await page.screenshot({ path: path.join(shots, 'detector-proposals.png') });
      await page.getByTestId('proposals-add-all').click();
      await expect(regions).toHaveCount(proposed);
      await expect(page.getByTestId('stage-proposal')).toHaveCount(0);
      // The detector names what the generator drew (EmojiScenes' classes are the detector's).
      expect((await labels()).filter((l) => generated.includes(l)).length).toBeGreaterThan(0);
      await expect(page.getByTestId('undo')).toHaveAttribute('title', `Undo Add ${proposed === 1 ? 'region' : `${proposed} regions`} (Ctrl+Z)`);
      await page.keyboard.press('Control+z');
      await expect(regions).toHaveCount(0);
      await page.keyboard.press('Control+Shift+Z');
      await expect(regions).toHaveCount(proposed);
      // Detecting again proposes nothing the item already has.
      await page.getByTestId('detect-regions').click();
      await expect(page.getByTestId('proposals-summary')).toContainText(`${proposed} already here`, { timeout: 30_000 });
    });

    await test.step('the image as OPT\'s tokenizer sees it: 64 codes and the image they decode to', async () => {
      await page.keyboard.press('t');
      await expect(page.getByTestId('token-code')).toHaveCount(64, { timeout: 30_000 });
      for (const id of ['tokens-input', 'tokens-reconstruction']) {
        await expect.poll(() => page.getByTestId(id).evaluate((i) => (i as HTMLImageElement).naturalWidth)).toBe(64);
      }
      const psnr = Number(/· (\d+\.\d) dB/.exec((await page.getByTestId('tokens-psnr').textContent()) ?? '')?.[1]);
      expect(psnr).toBeGreaterThan(18); // EmojiScenes is what the shipped dVAE was trained on (~24 dB on average)
      const codes = (await page.getByTestId('token-code').allTextContents()).map(Number);
      expect(codes.every((c) => Number.isInteger(c) && c >= 0)).toBe(true);
      await page.getByTestId('token-code').nth(9).hover();
      await expect(page.locator('[data-test="image-tokens"] .patch')).toHaveCount(2);
      await page.screenshot({ path: path.join(shots, 'image-tokens.png') });
      await page.keyboard.press('t');
      await expect(page.getByTestId('token-code')).toHaveCount(0);
      await page.keyboard.press('Escape');
    });

    await test.step('Detect regions over the dataset: the items without regions get boxes, one undo step', async () => {
      // Take the second item's generated boxes away, so one item has none.
      await page.getByTestId('grid-cell').nth(1).dblclick();
      const regions = page.getByTestId('region-entry');
      await expect(regions.first()).toBeVisible();
      for (let n = await regions.count(); n > 0; n--) {
        await regions.first().getByTestId('region-delete').click();
        await expect(regions).toHaveCount(n - 1);
      }
      await page.keyboard.press('Escape');
      await expect(page.locator('[data-test="grid-cell"] [title="Has regions"]')).toHaveCount(11);
      await page.getByTestId('open-detect').click();
      await expect(page.getByTestId('detect-count')).toContainText('the 1 item without regions');
      await page.getByTestId('detect-start').click();
      const summary = page.getByTestId('detect-summary');
      await expect(summary).toContainText(/\d+ regions? added to 1 of 1 items \(one undo step\)/, { timeout: 30_000 });
      await expect(page.locator('[data-test="grid-cell"] [title="Has regions"]')).toHaveCount(12);
      await expect(page.getByTestId('grid-undo')).toHaveAttribute('title', 'Undo Detect regions in 1 item (Ctrl+Z)');
      await page.getByTestId('grid-undo').click();
      await expect(page.locator('[data-test="grid-cell"] [title="Has regions"]')).toHaveCount(11);
      await page.getByTestId('grid-redo').click();
      await expect(page.locator('[data-test="grid-cell"] [title="Has regions"]')).toHaveCount(12);
    });

    await test.step('the Models panel names the package and its measured quality', async () => {
      await page.getByTestId('models-open').click();
      await expect(page.getByTestId('models-package')).toHaveText('default');
      const components = page.getByTestId('models-component');
      await expect(components).toHaveCount(3);
      await expect(page.locator('[data-test="models-component"][data-kind="detector"]')).toContainText(/\d+\.\d%mAP50/);
      await expect(page.locator('[data-test="models-component"][data-kind="dvae"]')).toContainText(/\d+\.\d\dPSNR \(dB\)/);
      await expect(page.locator('[data-test="models-component"][data-kind="audio-encoder"]')).toContainText('measured by npm run eval:audio');
      await page.screenshot({ path: path.join(shots, 'models.png') });
      await page.keyboard.press('Escape');
      await expect(page.getByTestId('models')).toHaveCount(0);
    });

    await test.step('the offer stays reachable from New', async () => {
      await page.getByTestId('new-dataset').click();
      await page.getByTestId('new-demo').click();
      await expect(page.getByTestId('demo-offer')).toBeVisible();
      await page.getByTestId('demo-close').click();
      await expect(page.getByTestId('demo-offer')).toHaveCount(0);
    });
  } finally {
    await server.stop();
    rmSync(home, { recursive: true, force: true });
  }
});
