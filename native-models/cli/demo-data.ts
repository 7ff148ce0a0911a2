// `demo-data`: generates the EmojiScenes demo dataset (see native-models/data/demo/README.md).

import path from 'node:path';
import { defaultLibraryRoot } from '../data/store';
import { demoDatasetId, DemoError, generateDemoDataset, MAX_SIZE, type DemoResult } from '../data/demo/create';
import { SpeechError } from '../data/demo/speech';
import { formatDuration, intOption, listOption, parseOptions, ProgressBar, UsageError } from './args';
import type { Command } from './main';

const USAGE = `Usage: npm run demo-data -- --size N [--seed S] [--out DIR] [options]

Generates EmojiScenes: N images (256x256 + 64x64) of 1-4 emoji objects with region boxes, captions,
a spoken caption (16 kHz WAV, word timings) and a mouse trace per item, written as a dataset the
studio opens. The same --seed and --size give byte-identical files; the last output line is
"items=<n> digest=<sha256>". Interrupted? Run the same command again: it resumes.

Options:
  --size N            number of items, 1 to ${MAX_SIZE.toLocaleString('en-US')} (required)
  --seed S            PRNG seed, 0 to 4294967295 (default 1)
  --out DIR           dataset folder (default: <library>/emojiscenes-<N>-s<S>, library =
                      $OPT_STUDIO_HOME/datasets or ~/.opt-studio/datasets)
  --split-sizes SPEC  e.g. "val=200,test5k=5000,novel=100"; unspecified splits keep their default,
                      train gets the rest. Defaults: test5k = min(5000, 10%), val = min(5000, 5%),
                      novel = min(2000, 5%), train = rest
  --classes LIST      comma-separated emoji classes to use (labels like "red apple", names, or emoji)
  --voices LIST       comma-separated eSpeak voices (default: all English voices)
  --no-speech         no spoken captions (faster; no eSpeak needed)
  --workers N         worker threads (default: number of cores, at most 8; 0 = no threads)
  --name NAME         dataset name shown in the studio
  --quiet             no progress bar or summary, only the last line`;

function printSummary(r: DemoResult, out: (s: string) => void): void {
  const s = r.summary;
  out(`splits: ${Object.entries(s.splits).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  out(`objects: ${s.objects} of ${s.classes} classes; most frequent: ${s.classHistogram.slice(0, 8).map(([l, n]) => `${l} ${n}`).join(', ')}`);
  const least = s.classHistogram.slice(-3).map(([l, n]) => `${l} ${n}`).join(', ');
  if (s.classHistogram.length > 8) out(`  least frequent: ${least}`);
  out(`captions: ${s.captionsPerItem} per item, words min ${s.captionWords.min} median ${s.captionWords.median} mean ${s.captionWords.mean} max ${s.captionWords.max}`);
  if (s.audioSeconds.total > 0) {
    out(`audio: ${(s.audioSeconds.total / 3600).toFixed(2)} h, seconds per item min ${s.audioSeconds.min} median ${s.audioSeconds.median} mean ${s.audioSeconds.mean} max ${s.audioSeconds.max}`);
  }
  if (r.generated > 0) {
    out(`rate: ${(r.generated / r.seconds).toFixed(1)} items/s (${r.generated} items in ${formatDuration(r.seconds)}${r.resumed ? `, resumed after ${r.resumed}` : ''})`);
  }
}

export const demoDataCommand: Command = {
  summary: 'generate the EmojiScenes demo dataset (images, regions, captions, speech, traces)',
  usage: USAGE,
  async run(argv) {
    const ac = new AbortController();
    const onSigint = () => {
      if (ac.signal.aborted) process.exit(130);
      process.stderr.write('\ninterrupted: finishing the current batch (Ctrl-C again to quit now)\n');
      ac.abort();
    };
    try {
      const o = parseOptions(argv, {
        size: { type: 'string' }, seed: { type: 'string' }, out: { type: 'string' }, 'split-sizes': { type: 'string' },
        classes: { type: 'string' }, voices: { type: 'string' }, 'no-speech': { type: 'boolean' }, workers: { type: 'string' },
        name: { type: 'string' }, quiet: { type: 'boolean' },
      });
      const size = intOption(o.size, 'size', 1, MAX_SIZE);
      const seed = intOption(o.seed, 'seed', 0, 0xffffffff, 1);
      const workers = o.workers === undefined ? undefined : intOption(o.workers, 'workers', 0, 64);
      const dir = path.resolve(o.out ?? path.join(defaultLibraryRoot(), demoDatasetId(size, seed)));
      const bar = o.quiet ? undefined : new ProgressBar(process.stderr);
      if (!o.quiet) console.log(`EmojiScenes: ${size} items, seed ${seed} -> ${dir}`);
      process.on('SIGINT', onSigint);
      const r = await generateDemoDataset(dir, {
        size, seed, splitSizes: o['split-sizes'], classes: listOption(o.classes), voices: listOption(o.voices),
        speech: !o['no-speech'], workers, name: o.name, signal: ac.signal,
        onProgress: bar && ((p) => bar.update(p.done, p.total, p.rate, p.etaS)),
      });
      if (!o.quiet) {
        if (r.alreadyComplete) console.log(`already complete: ${dir}`);
        printSummary(r, (s) => console.log(s));
      }
      console.log(`items=${r.items} digest=${r.digest}`);
      return 0;
    } catch (e) {
      if (e instanceof UsageError) {
        console.error(`demo-data: ${e.message}\n\n${USAGE}`);
        return 2;
      }
      if (e instanceof DemoError || e instanceof SpeechError) {
        const resume = ac.signal.aborted ? ' (the items made so far are kept: run the same command again to resume)' : '';
        console.error(`demo-data: ${e.message}${resume}`);
        return ac.signal.aborted ? 130 : 1;
      }
      throw e;
    } finally {
      process.off('SIGINT', onSigint);
    }
  },
};
