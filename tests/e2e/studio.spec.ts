/// <reference lib="dom" />
// The whole curation flow as a user does it, in web mode with the real services: create a dataset,
// import every format (typed server path and browser upload), browse and filter, edit a caption with
// undo/redo, draw a region, record a spoken caption with the fake microphone while moving the mouse (and see its
// speech tokens),
// export to every format, restart the server and find everything intact.
import { expect, test, type Page } from '@playwright/test';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { unzipSync } from 'fflate';
import { startServer, type RunningServer } from './web-server';

const fixtures = process.env.OPT_E2E_FIXTURES!;
const shots = path.resolve('test-results/e2e-shots');

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

/** Sample rate, channels, bits and duration of a WAV, plus its dominant frequency by zero crossings. */
function inspectWav(buf: Buffer) {
  expect(buf.toString('latin1', 0, 4)).toBe('RIFF');
  let off = 12;
  let rate = 0, channels = 0, bits = 0;
  while (off + 8 <= buf.length) {
    const id = buf.toString('latin1', off, off + 4);
    const size = buf.readUInt32LE(off + 4);
    if (id === 'fmt ') {
      channels = buf.readUInt16LE(off + 10);
      rate = buf.readUInt32LE(off + 12);
      bits = buf.readUInt16LE(off + 22);
    } else if (id === 'data') {
      const n = Math.floor(size / 2);
      const from = Math.floor(n * 0.25), to = Math.floor(n * 0.75);
      let crossings = 0;
      for (let i = from + 1; i < to; i++) {
        const a = buf.readInt16LE(off + 8 + (i - 1) * 2), b = buf.readInt16LE(off + 8 + i * 2);
        if ((a < 0 && b >= 0) || (a >= 0 && b < 0)) crossings++;
      }
      return { rate, channels, bits, durationS: n / rate, freq: crossings / 2 / ((to - from) / rate) };
    }
    off += 8 + size + (size & 1);
  }
  throw new Error('no data chunk');
}

async function importPath(page: Page, format: string, p: string) {
  await page.getByTestId('open-import').click();
  await page.getByTestId('import-format').selectOption(format);
  await page.getByTestId('import-path').fill(p);
  await page.getByTestId('import-start').click();
  const job = page.getByTestId('job').first();
  await expect(job).toHaveAttribute('data-state', 'finished', { timeout: 60_000 });
  return job;
}

async function exportTo(page: Page, format: string, p: string) {
  await page.getByTestId('open-export').click();
  await page.getByTestId('export-format').selectOption(format);
  await page.getByTestId('export-path').fill(p);
  await page.getByTestId('export-start').click();
  const job = page.getByTestId('job').first();
  await expect(job).toHaveAttribute('data-state', 'finished', { timeout: 60_000 });
  await expect(job.getByTestId('export-summary')).toContainText('exported');
}

test('curate a dataset end to end, then restart and find it intact', async ({ page, browser }) => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'opt-e2e-home-'));
  let server: RunningServer | undefined = await startServer(home);
  page.on('dialog', (d) => void d.accept());
  try {
    await page.goto(server.url);
    await expect(page.getByText('Create a dataset on the left')).toBeVisible();

    await test.step('create, rename and delete a dataset', async () => {
      await page.getByTestId('new-dataset').click();
      await page.getByTestId('new-dataset-name').fill('Scratch');
      await page.getByTestId('create-dataset').click();
      await expect(page.getByTestId('dataset-title')).toHaveText('Scratch');
      const entry = page.getByTestId('dataset-entry').filter({ hasText: 'Scratch' });
      await entry.hover();
      await entry.getByTestId('rename-dataset').click();
      await page.getByTestId('rename-input').fill('Scratch renamed');
      await page.getByTestId('rename-input').press('Enter');
      await expect(page.getByTestId('dataset-title')).toHaveText('Scratch renamed');
      await page.getByTestId('dataset-entry').filter({ hasText: 'Scratch renamed' }).getByTestId('delete-dataset').click();
      await expect(page.getByTestId('dataset-entry')).toHaveCount(0);

      await page.getByTestId('new-dataset').click();
      await page.getByTestId('new-dataset-name').fill('Scenes');
      await page.getByTestId('create-dataset').click();
      await expect(page.getByTestId('dataset-title')).toHaveText('Scenes');
    });

    await test.step('import a folder (bad files skipped with reasons) and each format', async () => {
      const job = await importPath(page, 'folder', path.join(fixtures, 'folder'));
      await expect(job.getByTestId('import-summary')).toContainText('4 imported');
      await job.getByText('2 skipped').click();
      await expect(job.getByTestId('skipped-list')).toContainText('broken.png');
      await expect(job.getByTestId('skipped-list')).toContainText('empty.jpg');
      await expect(page.getByTestId('grid-total')).toHaveText('4 items');

      await expect((await importPath(page, 'coco', path.join(fixtures, 'coco/captions_val2017.json'))).getByTestId('import-summary')).toContainText('2 imported');
      await expect((await importPath(page, 'imagefolder', path.join(fixtures, 'imagefolder'))).getByTestId('import-summary')).toContainText('2 imported');
      await expect((await importPath(page, 'localized-narratives', path.join(fixtures, 'ln/narratives.jsonl'))).getByTestId('import-summary')).toContainText('1 imported');
      // Re-importing a folder finds duplicates instead of adding copies.
      await expect((await importPath(page, 'folder', path.join(fixtures, 'folder'))).getByTestId('import-summary')).toContainText('0 imported · 4 duplicate');
      await expect(page.getByTestId('grid-total')).toHaveText('9 items');
    });

    await test.step('cancel an import half-way: what was imported stays, the rest is not', async () => {
      await page.getByTestId('new-dataset').click();
      await page.getByTestId('new-dataset-name').fill('Big');
      await page.getByTestId('create-dataset').click();
      await expect(page.getByTestId('dataset-title')).toHaveText('Big');
      await page.getByTestId('open-import').click();
      await page.getByTestId('import-format').selectOption('folder');
      await page.getByTestId('import-path').fill(path.join(fixtures, 'many'));
      await page.getByTestId('import-start').click();
      const job = page.getByTestId('job').first();
      await job.getByTestId('job-cancel').click();
      await expect(job).toHaveAttribute('data-state', 'cancelled', { timeout: 60_000 });
      const imported = Number(/(\d+) imported/.exec((await job.getByTestId('import-summary').textContent()) ?? '')![1]);
      expect(imported).toBeLessThan(120);
      await expect(page.getByTestId('grid-total')).toHaveText(`${imported} item${imported === 1 ? '' : 's'}`);
      await page.getByTestId('dataset-entry').filter({ hasText: 'Scenes' }).click();
      await expect(page.getByTestId('grid-total')).toHaveText('9 items');
    });

    await test.step('upload a folder from the browser and import it', async () => {
      await page.getByTestId('open-import').click();
      await page.getByTestId('import-format').selectOption('folder');
      await page.getByTestId('import-upload-folder').setInputFiles(path.join(fixtures, 'upload/pick'));
      await page.getByTestId('import-start').click();
      await expect(page.getByTestId('job').filter({ hasText: 'Import' }).first()).toHaveAttribute('data-state', 'finished', { timeout: 60_000 });
      await expect(page.getByTestId('grid-total')).toHaveText('11 items');
      await expect(page.getByTestId('grid-cell').first().locator('img')).toBeVisible();
      await page.screenshot({ path: path.join(shots, 'grid.png') });
    });

    await test.step('undo the last import as one step from the grid, then redo it with the keyboard', async () => {
      await expect(page.getByTestId('grid-undo')).toHaveAttribute('title', 'Undo Import 2 items (Ctrl+Z)');
      // A click and a Ctrl+Z in the same tick: the key comes while the click's undo is in flight and is ignored,
      // not queued behind it (it would undo the import before too: 8 items).
      await page.evaluate(() => {
        document.querySelector<HTMLButtonElement>('[data-test="grid-undo"]')!.click();
        window.dispatchEvent(new KeyboardEvent('keydown', { key: 'z', ctrlKey: true }));
      });
      await expect(page.getByTestId('grid-total')).toHaveText('9 items');
      await expect(page.getByTestId('grid-redo')).toBeEnabled();
      await expect(page.getByTestId('grid-undo')).toHaveAttribute('title', 'Undo Import 1 item (Ctrl+Z)');
      await page.keyboard.press('Control+Shift+Z');
      await expect(page.getByTestId('grid-total')).toHaveText('11 items');
      await expect(page.getByTestId('grid-redo')).toBeDisabled();
      await expect(page.getByTestId('grid-cell').first().locator('img')).toBeVisible();
    });

    await test.step('delete an item from the grid (Del) and from the item view, undo both', async () => {
      await page.getByTestId('grid-cell').nth(2).click();
      await page.getByTestId('grid').press('Delete');
      await expect(page.getByTestId('grid-total')).toHaveText('10 items');
      await expect(page.getByTestId('grid-undo')).toHaveAttribute('title', 'Undo Delete item (Ctrl+Z)');
      await page.keyboard.press('Control+Z');
      await expect(page.getByTestId('grid-total')).toHaveText('11 items');
      await page.getByTestId('grid-cell').first().dblclick();
      const first = await page.getByTestId('item-view').getAttribute('data-item-id');
      await page.getByTestId('delete-item').click();
      // The next item takes its place in the view.
      await expect(page.getByTestId('item-view')).not.toHaveAttribute('data-item-id', first!);
      await expect(page.getByTestId('item-view').locator('.pos')).toHaveText('1 / 10');
      await page.getByTestId('undo').click();
      // Undoing the delete shows the item again, in its place.
      await expect(page.getByTestId('item-view')).toHaveAttribute('data-item-id', first!);
      await expect(page.getByTestId('item-view').locator('.pos')).toHaveText('1 / 11');
      await page.getByTestId('back').click();
      await expect(page.getByTestId('grid-total')).toHaveText('11 items');
      await expect(page.locator(`[data-test="grid-cell"][data-index="0"]`)).toBeVisible();
    });

    await test.step('filter by caption text, split, spoken', async () => {
      await page.getByTestId('filter-text').fill('zebra');
      await expect(page.getByTestId('grid-total')).toHaveText('1 item');
      await page.getByTestId('filter-text').fill('');
      await page.getByTestId('filter-split').selectOption('val');
      await expect(page.getByTestId('grid-total')).toHaveText('2 items');
      await page.getByTestId('filter-split').selectOption('');
      await page.getByTestId('filter-spoken').selectOption('yes');
      await expect(page.getByTestId('grid-total')).toHaveText('1 item');
      await page.getByTestId('filter-spoken').selectOption('any');
      await expect(page.getByTestId('grid-total')).toHaveText('11 items');
    });

    const edited = 'A zebra next to a red ball, edited in the studio.';
    let recordedS = 0;
    let tracePoints = 0;
    await test.step('open an item, edit its caption, undo and redo with the keyboard', async () => {
      await page.getByTestId('filter-text').fill('zebra');
      await expect(page.getByTestId('grid-total')).toHaveText('1 item');
      await page.getByTestId('grid-cell').first().dblclick();
      await expect(page.getByTestId('item-view')).toBeVisible();
      const caption = page.getByTestId('caption-text').first();
      const original = await caption.inputValue();
      expect(original).toContain('zebra');
      await caption.fill(edited);
      await caption.press('Control+Enter');
      await expect(page.getByTestId('undo')).toBeEnabled();
      await caption.blur();
      await page.keyboard.press('Control+z');
      await expect(caption).toHaveValue(original);
      await page.keyboard.press('Control+Shift+z');
      await expect(caption).toHaveValue(edited);
    });

    await test.step('draw a region and label it', async () => {
      await page.keyboard.press('b');
      const box = (await page.getByTestId('stage').boundingBox())!;
      await page.mouse.move(box.x + box.width * 0.2, box.y + box.height * 0.25);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width * 0.45, box.y + box.height * 0.5, { steps: 5 });
      await page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.7, { steps: 5 });
      await page.mouse.up();
      await expect(page.getByTestId('region')).toHaveCount(1);
      await page.getByTestId('region-label').fill('ball');
      await page.getByTestId('region-label').press('Enter');
      await expect(page.getByTestId('region').first()).toContainText('ball');
      const coords = page.getByTestId('region-entry').first().locator('.coords');
      await expect(coords).toHaveText('0.20, 0.25, 0.60, 0.70');

      // Move: drag the box body by (+0.1, +0.05) of the image.
      await page.mouse.move(box.x + box.width * 0.4, box.y + box.height * 0.5);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.55, { steps: 6 });
      await page.mouse.up();
      await expect(coords).toHaveText('0.30, 0.30, 0.70, 0.75');
      // Resize: drag the selected box's bottom-right handle to (0.8, 0.9).
      const handle = (await page.locator('[data-handle="se"]').boundingBox())!;
      await page.mouse.move(handle.x + handle.width / 2, handle.y + handle.height / 2);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width * 0.8, box.y + box.height * 0.9, { steps: 6 });
      await page.mouse.up();
      await expect(coords).toHaveText('0.30, 0.30, 0.80, 0.90');

      // A second box, deleted with the Delete key.
      await page.keyboard.press('b');
      await page.mouse.move(box.x + box.width * 0.05, box.y + box.height * 0.05);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width * 0.2, box.y + box.height * 0.2, { steps: 4 });
      await page.mouse.up();
      await expect(page.getByTestId('region')).toHaveCount(2);
      await expect(page.getByTestId('region-entry').nth(1)).toHaveClass(/selected/); // the new box is selected
      await page.keyboard.press('Delete');
      await expect(page.getByTestId('region')).toHaveCount(1);
      await expect(page.getByTestId('region').first()).toContainText('ball');
    });

    await test.step('record a spoken caption with the fake microphone while moving the mouse', async () => {
      await page.getByTestId('stage-image').click({ position: { x: 5, y: 5 } }); // focus out of inputs
      const box = (await page.getByTestId('stage').boundingBox())!;
      await page.keyboard.press('r');
      await expect(page.getByTestId('rec-time')).toBeVisible();
      const t0 = Date.now();
      for (let i = 0; i <= 24; i++) {
        const a = (i / 24) * Math.PI * 2;
        await page.mouse.move(box.x + box.width * (0.5 + 0.3 * Math.cos(a)), box.y + box.height * (0.5 + 0.3 * Math.sin(a)));
        await page.waitForTimeout(90);
      }
      await page.screenshot({ path: path.join(shots, 'recording.png') });
      recordedS = (Date.now() - t0) / 1000;
      await page.keyboard.press('r');
      const entry = page.getByTestId('spoken-entry');
      await expect(entry).toHaveCount(1, { timeout: 20_000 });
      const duration = Number(await entry.getAttribute('data-duration'));
      await expect(entry).toHaveAttribute('data-original-mime', /^audio\/(webm|ogg)/); // the MediaRecorder original is kept
      // The test's clock only brackets the recording loosely (Playwright notices rec-time late under load, and
      // the fake device can drop buffers), so this catches gross length errors; the WAV checks below are exact.
      expect(duration).toBeGreaterThan(recordedS * 0.5);
      expect(duration).toBeLessThan(recordedS + 3);
      await expect(entry).toContainText(/\d+ trace points/);
      const points = Number(/(\d+) trace points/.exec((await entry.textContent()) ?? '')![1]);
      expect(points).toBeGreaterThanOrEqual(20);
      await expect(entry).toHaveAttribute('data-segments', '1'); // the pointer never left the image

      const src = await entry.locator('audio').getAttribute('src');
      const wav = inspectWav(Buffer.from(await (await page.request.get(new URL(src!, server!.origin).href)).body()));
      expect(wav).toMatchObject({ rate: 16000, channels: 1, bits: 16 });
      expect(wav.durationS).toBeCloseTo(duration, 1);
      expect(Math.abs(wav.freq - 440)).toBeLessThan(20); // the fake mic's tone came through, resampled right

      await entry.getByTestId('spoken-play').click();
      const traceShown = async () => Number(await page.getByTestId('trace').getAttribute('data-shown'));
      await expect.poll(traceShown).toBeGreaterThan(0); // playing: the trace has started to replay
      await entry.getByTestId('spoken-play').click(); // pause
      await page.screenshot({ path: path.join(shots, 'item-playback.png') });
      // Playback replays the trace in sync: part-way through, only the samples spoken so far show.
      const shown = await traceShown();
      expect(shown).toBeGreaterThan(0);
      expect(shown).toBeLessThan(points);

      // What OPT's audio encoder makes of it: one speech token per 20 ms, pooled to at most 64 for OPT.
      await entry.getByTestId('spoken-tokens-toggle').click();
      const strip = entry.getByTestId('speech-tokens');
      await expect(strip).toBeVisible({ timeout: 30_000 });
      const count = Number(await strip.getAttribute('data-count'));
      expect(Math.abs(count - wav.durationS * 50)).toBeLessThan(3);
      const summary = (await entry.getByTestId('speech-tokens-summary').textContent()) ?? '';
      const [, pooled, window] = /OPT takes (\d+) \(each the mean of (\d+)\)/.exec(summary)!.map(Number);
      expect(pooled).toBeLessThanOrEqual(64);
      expect(pooled).toBe(Math.ceil(count / window));
      await entry.getByTestId('spoken-tokens-toggle').click();
      await expect(strip).toHaveCount(0);

      // Re-record replaces the recording (one spoken caption, new audio).
      await entry.getByText('Re-record').click();
      await expect(page.getByTestId('rec-time')).toBeVisible();
      for (let i = 0; i < 8; i++) {
        if (i === 4) await page.mouse.move(box.x + box.width + 40, box.y + 10); // off the image: the segment ends
        await page.mouse.move(box.x + box.width * (0.2 + i * 0.08), box.y + box.height * 0.3);
        await page.waitForTimeout(100);
      }
      await page.keyboard.press('r');
      await expect(page.getByTestId('spoken-entry')).toHaveAttribute('data-segments', '2');
      await expect(page.getByTestId('spoken-entry').locator('audio')).not.toHaveAttribute('src', src!);
      await expect(page.getByTestId('spoken-entry')).toHaveCount(1);
      recordedS = Number(await page.getByTestId('spoken-entry').getAttribute('data-duration'));
      tracePoints = Number(/(\d+) trace points/.exec((await page.getByTestId('spoken-entry').textContent()) ?? '')![1]);
      expect(tracePoints).toBeGreaterThanOrEqual(6);
    });

    await test.step('keyboard curation: grid arrows + Enter, next/previous, accept', async () => {
      await page.keyboard.press('Escape');
      await page.keyboard.press('Escape');
      await page.getByTestId('filter-text').fill('');
      await expect(page.getByTestId('grid-total')).toHaveText('11 items');
      await page.getByTestId('grid').focus();
      await page.keyboard.press('ArrowRight');
      await page.keyboard.press('ArrowRight');
      await page.keyboard.press('Enter');
      await expect(page.getByTestId('item-view')).toBeVisible();
      await expect(page.locator('.pos')).toHaveText('2 / 11');
      await page.keyboard.press('j');
      await expect(page.locator('.pos')).toHaveText('3 / 11');
      await page.keyboard.press('k');
      await expect(page.locator('.pos')).toHaveText('2 / 11');
      await page.getByTestId('caption-new').fill('A caption typed during curation.');
      await page.getByTestId('caption-new').press('Enter');
      await expect(page.getByTestId('caption-text').last()).toHaveValue('A caption typed during curation.');
      await page.getByTestId('caption-new').blur();
      await page.keyboard.press('a');
      await expect(page.locator('.pos')).toHaveText('3 / 11');
      // Accepting the zebra's two imported captions is one undo step.
      await page.keyboard.press('Escape');
      await page.getByTestId('filter-text').fill('striped');
      await expect(page.getByTestId('grid-total')).toHaveText('1 item');
      await page.getByTestId('grid-cell').first().dblclick();
      const badges = page.getByTestId('caption-source');
      await expect(badges).toHaveText(['imported', 'imported']);
      await page.keyboard.press('a');
      await expect(badges).toHaveText(['reviewed', 'reviewed']);
      await expect(page.getByTestId('undo')).toHaveAttribute('title', 'Undo Accept 2 captions (Ctrl+Z)');
      await page.keyboard.press('Control+z');
      await expect(badges).toHaveText(['imported', 'imported']);
    });

    await test.step('export to every format; the trace, region and edit are in the files', async () => {
      await page.keyboard.press('Escape');
      await expect(page.getByTestId('grid')).toBeVisible();
      await page.getByTestId('filter-text').fill('');
      await expect(page.getByTestId('grid-total')).toHaveText('11 items');
      const out = path.join(home, 'exports');
      for (const f of ['folder', 'coco', 'imagefolder', 'localized-narratives']) await exportTo(page, f, path.join(out, f));

      // Web mode runs exports on the server: the browser gets the folder as one ZIP with the same bytes.
      // The finished jobs' panel folds into a pill a few seconds after the last one ends; wait for it, then open it.
      await expect(page.getByTestId('jobs-pill')).toBeVisible({ timeout: 15_000 });
      await page.getByTestId('jobs-pill').click();
      const pending = page.waitForEvent('download');
      await page.getByTestId('job').first().getByTestId('export-download').click();
      const download = await pending;
      expect(download.suggestedFilename()).toBe('localized-narratives.zip');
      const zipped = unzipSync(new Uint8Array(readFileSync((await download.path())!)));
      const lnDir = path.join(out, 'localized-narratives');
      const onDisk = walk(lnDir).map((f) => `localized-narratives/${path.relative(lnDir, f).split(path.sep).join('/')}`).sort();
      expect(Object.keys(zipped).sort()).toEqual(onDisk);
      for (const name of onDisk) expect(Buffer.from(zipped[name]).equals(readFileSync(path.join(out, name)))).toBe(true);

      const lnLines = walk(path.join(out, 'localized-narratives')).filter((f) => f.endsWith('.jsonl'))
        .flatMap((f) => readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => ({ dir: path.dirname(f), row: JSON.parse(l) as Record<string, unknown> })));
      const mine = lnLines.find((l) => l.row.caption === edited && (l.row.traces as unknown[][]).length > 0);
      expect(mine, 'the recorded narrative is exported with its trace').toBeTruthy();
      const trace = (mine!.row.traces as { x: number; y: number; t: number }[][]).flat();
      expect(trace.length).toBe(tracePoints);
      expect(trace.every((p) => p.x >= 0 && p.x <= 1 && p.y >= 0 && p.y <= 1 && p.t >= 0 && p.t <= recordedS + 1)).toBe(true);
      expect(existsSync(path.join(mine!.dir, String(mine!.row.voice_recording)))).toBe(true);

      const meta = walk(path.join(out, 'imagefolder')).filter((f) => f.endsWith('metadata.jsonl')).map((f) => readFileSync(f, 'utf8')).join('\n');
      expect(meta).toContain('"ball"');
      const rows = meta.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { captions: string[]; regions: { box: number[]; label: string }[] });
      const ball = rows.flatMap((r) => r.regions).find((r) => r.label === 'ball')!;
      [0.3, 0.3, 0.8, 0.9].forEach((v, i) => expect(ball.box[i]).toBeCloseTo(v, 5));
      expect(rows.some((r) => r.captions.includes('A caption typed during curation.'))).toBe(true);
      expect(meta).toContain(edited);
      expect(walk(path.join(out, 'coco')).some((f) => f.endsWith('.json'))).toBe(true);
      expect(walk(path.join(out, 'folder')).filter((f) => /\.(png|jpe?g|webp|gif)$/.test(f)).length).toBe(11);

    });

    await test.step('restart the server: everything is still there', async () => {
      await server!.stop();
      server = await startServer(home);
      await page.goto(server.url);
      await page.getByTestId('dataset-entry').filter({ hasText: 'Scenes' }).click();
      await expect(page.getByTestId('grid-total')).toHaveText('11 items');
      await page.getByTestId('filter-spoken').selectOption('yes');
      await expect(page.getByTestId('grid-total')).toHaveText('2 items');
      await page.getByTestId('filter-spoken').selectOption('any');
      await page.getByTestId('filter-text').fill('edited in the studio');
      await expect(page.getByTestId('grid-total')).toHaveText('1 item');
      await page.getByTestId('grid-cell').first().dblclick();
      await expect(page.getByTestId('caption-text').first()).toHaveValue(edited);
      await expect(page.getByTestId('region').first()).toContainText('ball');
      await expect(page.getByTestId('spoken-entry')).toHaveCount(1);
      await expect(page.getByTestId('waveform')).toBeVisible();
      await page.keyboard.press('?');
      await expect(page.getByTestId('help')).toContainText('Start / stop recording');
      await page.screenshot({ path: path.join(shots, 'help.png') });
      await page.keyboard.press('Escape');
      await page.getByTestId('spoken-delete').click();
      await expect(page.getByTestId('spoken-entry')).toHaveCount(0);
      await page.keyboard.press('Control+z');
      await expect(page.getByTestId('spoken-entry')).toHaveCount(1);
    });

    await test.step('a denied microphone gives a clear message', async () => {
      const context = await browser.newContext();
      const denied = await context.newPage();
      await denied.addInitScript(() => {
        navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));
      });
      await denied.goto(server!.url);
      await denied.getByTestId('dataset-entry').filter({ hasText: 'Scenes' }).click();
      await denied.getByTestId('grid-cell').first().dblclick();
      await denied.getByTestId('record').click();
      await expect(denied.getByTestId('mic-error')).toContainText('Microphone access was denied');
      await context.close();
    });
  } finally {
    await server?.stop();
    rmSync(home, { recursive: true, force: true });
  }
});
