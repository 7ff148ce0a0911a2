// Detection examples from a dataset folder (the store of native-models/data/store): per item its image
// file and its regions as class ids of the detector's vocabulary.
import { readFile } from 'node:fs/promises';
import { DatasetStore } from '../data/store/index';
import { decodeImage } from '../data/image';
import { letterboxOf, toInputBox, fillInput, type Letterbox } from './preprocess';
import type { GroundTruth } from './targets';

/** One image with its boxes (normalised to the image) and class ids (indices into the vocabulary). */
export interface DetectionExample {
  id: string;
  /** Reads the encoded image. */
  read: () => Promise<Uint8Array>;
  boxes: [number, number, number, number][];
  classes: number[];
}

/**
 * The items of `split` (all when omitted) whose region labels are all in the vocabulary. Items with
 * unknown labels are counted in `skipped` (with the first unknown labels named) rather than trained on.
 */
export function readDetectionSplit(dir: string, vocabulary: readonly string[], split?: string, limit = Infinity): { examples: DetectionExample[]; skipped: number; unknownLabels: string[] } {
  const index = new Map(vocabulary.map((l, i) => [l, i]));
  const store = DatasetStore.open(dir);
  const examples: DetectionExample[] = [];
  const unknown = new Set<string>();
  let skipped = 0;
  try {
    for (const it of store.iterateItems()) {
      if (split !== undefined && it.split !== split) continue;
      if (examples.length >= limit) break;
      const cls = it.regions.map((r) => index.get(r.label));
      if (cls.some((c) => c === undefined)) {
        skipped++;
        for (const r of it.regions) if (!index.has(r.label) && unknown.size < 5) unknown.add(r.label);
        continue;
      }
      const path = store.blobPath(it.image);
      examples.push({ id: it.id, read: () => readFile(path), boxes: it.regions.map((r) => r.box), classes: cls as number[] });
    }
  } finally {
    store.close();
  }
  return { examples, skipped, unknownLabels: [...unknown] };
}

/** Decodes an example into the input buffer at `offset` and returns its ground truth in input pixels. */
export async function loadExample(ex: DetectionExample, size: number, out: Float32Array, offset: number): Promise<{ gt: GroundTruth; letterbox: Letterbox }> {
  const bytes = await ex.read();
  let img = await decodeImage(bytes, ex.id);
  const lb = letterboxOf(img.width, img.height, size);
  if (lb.innerWidth !== img.width || lb.innerHeight !== img.height) img = await decodeImage(bytes, ex.id, { width: lb.innerWidth, height: lb.innerHeight });
  fillInput(img.rgba, lb, out, offset);
  // Boxes under a pixel wide (degenerate labels) are dropped: they have no regression target.
  const keep = ex.boxes.map((b, i) => [toInputBox(lb, b), ex.classes[i]] as const).filter(([b]) => b[2] - b[0] >= 1 && b[3] - b[1] >= 1);
  const boxes = new Float32Array(keep.length * 4);
  keep.forEach(([b], i) => boxes.set(b, 4 * i));
  return { gt: { boxes, classes: Int32Array.from(keep.map(([, c]) => c)) }, letterbox: lb };
}
