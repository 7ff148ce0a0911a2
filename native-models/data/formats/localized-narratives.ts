// Localized Narratives (Pont-Tuset et al.): JSON Lines, one narrative per line:
// { dataset_id, image_id, annotator_id, caption, timed_caption: [{utterance, start_time, end_time}],
//   traces: [[{x, y, t}]], voice_recording: "<path>.ogg" }.
// LN files do not carry images: they are found by image_id under the import folder (4 levels deep;
// COCO's zero-padded names match too). Voice files are resolved relative to the JSONL, else by name.
// Several narratives of one image become one item with several captions and spoken captions.
//
// Export writes <split>_localized_narratives.jsonl, images/<image_id>.<ext> and voice/<id>.ogg:
// the original recording when it was Ogg, else the 16 kHz WAV encoded as Ogg Vorbis (so every
// voice_recording is an .ogg, as LN tools expect). A caption without a spoken caption is written
// with voice_recording "" and no traces; import reads such a line as a caption only.

import fs from 'node:fs';
import path from 'node:path';
import { encodeOggVorbis, readWav } from '../audio';
import { extensionOf } from '../image';
import type { DatasetStore } from '../store/dataset-store';
import { DatasetError } from '../store/errors';
import type { ExportReport, ImportReport, SkippedEntry, TimedUtterance, TracePoint } from '../store/types';
import {
  NameAllocator, forEachItem, isImageFile, parseJsonLine, readLines, splitFromName, stemIndex, runImport, writeFileAtomic,
  type ImportRecord, type JobOptions, type RecordSpoken,
} from './common';
import { walk } from './walk';

const AUDIO_EXT = new Set(['.ogg', '.oga', '.opus', '.wav']);

function num(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function parseTraces(v: unknown, where: string): TracePoint[][] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new DatasetError('BAD_FORMAT', `${where}: "traces" must be a list of segments`);
  return v.map((seg, i) => {
    if (!Array.isArray(seg)) throw new DatasetError('BAD_FORMAT', `${where}: traces[${i}] is not a list`);
    return seg.map((p: { x?: unknown; y?: unknown; t?: unknown }) => {
      if (!p || !num(p.x) || !num(p.y) || !num(p.t)) throw new DatasetError('BAD_FORMAT', `${where}: traces[${i}] has a point without numeric x, y, t`);
      return { x: p.x, y: p.y, t: p.t };
    });
  });
}

function parseTimed(v: unknown, where: string): TimedUtterance[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw new DatasetError('BAD_FORMAT', `${where}: "timed_caption" must be a list`);
  return v.map((u: { utterance?: unknown; start_time?: unknown; end_time?: unknown }, i) => {
    if (!u || typeof u.utterance !== 'string' || !num(u.start_time) || !num(u.end_time)) {
      throw new DatasetError('BAD_FORMAT', `${where}: timed_caption[${i}] needs utterance, start_time, end_time`);
    }
    return { utterance: u.utterance, startTime: u.start_time, endTime: u.end_time };
  });
}

export async function importLocalizedNarratives(store: DatasetStore, input: string, opts: JobOptions = {}): Promise<ImportReport> {
  if (!fs.existsSync(input)) throw new DatasetError('NOT_FOUND', `${input} does not exist`);
  const isDir = fs.statSync(input).isDirectory();
  const root = isDir ? input : path.dirname(input);
  opts.onProgress?.({ phase: 'scan', done: 0 });
  // Images and voice files are looked up by name up to 4 folders below the JSONL's folder.
  const jsonl = isDir ? walk(root, 4).filter((f) => f.toLowerCase().endsWith('.jsonl')).map((f) => path.join(root, f)) : [input];
  const images = stemIndex(root, isImageFile);
  const audio = stemIndex(root, (f) => AUDIO_EXT.has(path.extname(f).toLowerCase()));
  const skipped: SkippedEntry[] = [];
  if (jsonl.length === 0) skipped.push({ file: path.basename(input), reason: 'no Localized Narratives .jsonl file found' });

  const findImage = (id: string): string | undefined => {
    const s = id.toLowerCase();
    return images.get(s) ?? images.get(s.padStart(12, '0')) ?? (/^\d+$/.test(s) ? images.get(String(Number(s))) : undefined);
  };
  const findVoice = (jsonlDir: string, rec: string): string | undefined => {
    const direct = path.resolve(jsonlDir, rec);
    if (!rec.split(/[\\/]/).includes('..') && fs.existsSync(direct) && fs.statSync(direct).isFile()) return direct;
    return audio.get(path.basename(rec, path.extname(rec)).toLowerCase());
  };

  async function* records(): AsyncGenerator<ImportRecord> {
    for (const file of jsonl) {
      const shown = path.relative(root, file) || path.basename(file);
      const split = splitFromName(path.basename(file)) ?? opts.split;
      for await (const { bytes, line } of readLines(file)) {
        const where = `${shown}:${line}`;
        try {
          const o = parseJsonLine(bytes, shown, line);
          if (!o) continue;
          const imageId = o.image_id;
          if (typeof imageId !== 'string' && typeof imageId !== 'number') throw new DatasetError('BAD_FORMAT', `${where}: missing "image_id"`);
          const imagePath = findImage(String(imageId));
          if (!imagePath) throw new DatasetError('BAD_MEDIA', `${where}: no image file named ${imageId} under ${root}`);
          const caption = typeof o.caption === 'string' ? o.caption : undefined;
          if (o.caption !== undefined && caption === undefined) throw new DatasetError('BAD_FORMAT', `${where}: "caption" must be a string`);
          const traces = parseTraces(o.traces, where);
          const timed = parseTimed(o.timed_caption, where);
          const spoken: RecordSpoken[] = [];
          const voice = o.voice_recording;
          if (voice !== undefined && voice !== null && typeof voice !== 'string') throw new DatasetError('BAD_FORMAT', `${where}: "voice_recording" must be a path`);
          if (voice) {
            const audioPath = findVoice(path.dirname(file), voice);
            if (!audioPath) throw new DatasetError('BAD_MEDIA', `${where}: voice file ${voice} not found`);
            spoken.push({ audioPath, trace: traces, timedCaption: timed, transcript: caption?.trim() || undefined });
          }
          const hasCaption = caption !== undefined && caption.trim() !== '';
          if (!hasCaption && spoken.length === 0) throw new DatasetError('BAD_FORMAT', `${where}: empty caption and no voice recording`);
          yield {
            source: { file: shown, line },
            imagePath,
            key: `${String(o.dataset_id ?? '')}:${String(imageId)}`,
            fileName: path.basename(imagePath),
            split,
            captions: hasCaption ? [caption] : [],
            spoken,
          };
        } catch (e) {
          skipped.push({ file: shown, line, reason: (e as Error).message });
        }
      }
    }
  }
  return runImport(store, { records: records(), skipped }, root, opts);
}

export async function exportLocalizedNarratives(store: DatasetStore, outDir: string, opts: JobOptions = {}): Promise<ExportReport> {
  const names = new NameAllocator();
  const lines = new Map<string, string[]>();
  const datasetId = store.info().name;
  const r = await forEachItem(store, opts, async (item, format) => {
    const stem = item.fileName ? path.basename(item.fileName, path.extname(item.fileName)) : item.id;
    const name = names.take(stem, extensionOf(format));
    const imageId = name.slice(0, -extensionOf(format).length);
    writeFileAtomic(path.join(outDir, 'images', name), store.getBlob(item.image));
    const out = lines.get(item.split) ?? [];
    lines.set(item.split, out);
    const n = Math.max(item.captions.length, item.spoken.length);
    for (let i = 0; i < n; i++) {
      const c = item.captions[i];
      const s = item.spoken[i];
      let voice = '';
      if (s) {
        voice = `voice/${s.id}.ogg`;
        const original = s.original && s.originalMime === 'audio/ogg' ? store.getBlob(s.original) : undefined;
        writeFileAtomic(path.join(outDir, voice), original ?? (await encodeOggVorbis(readWav(store.getBlob(s.wav), voice))));
      }
      out.push(JSON.stringify({
        dataset_id: datasetId,
        image_id: imageId,
        annotator_id: 0,
        caption: c?.text ?? '',
        timed_caption: (s?.timedCaption ?? []).map((u) => ({ utterance: u.utterance, start_time: u.startTime, end_time: u.endTime })),
        traces: s?.trace ?? [],
        voice_recording: voice,
      }));
    }
  });
  const files: string[] = [];
  if (!r.cancelled) {
    for (const [split, l] of lines) {
      const rel = `${split}_localized_narratives.jsonl`;
      writeFileAtomic(path.join(outDir, rel), l.length ? `${l.join('\n')}\n` : '');
      files.push(rel);
    }
  }
  return { exported: r.exported, path: outDir, files: files.sort(), ...(r.cancelled ? { cancelled: true } : {}) };
}
