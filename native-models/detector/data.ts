// Detection examples from a dataset folder (the store of native-models/data/store): per item its image
// file and its regions as class ids of the detector's vocabulary.
import { readFile } from 'node:fs/promises';
import { DatasetStore } from '../data/store/index';
import { decodeImage } from '../data/image';
import type { DecodedImage } from './augment';
import { fillInput, letterboxOf, PAD_VALUE, toInputBox } from './preprocess';

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

/** Decodes an example into a square RGBA canvas of `size` (letterboxed) with its ground truth in canvas pixels. */
export async function decodeExample(ex: DetectionExample, size: number): Promise<DecodedImage> {
  const bytes = await ex.read();
  let img = await decodeImage(bytes, ex.id);
  const lb = letterboxOf(img.width, img.height, size);
  if (lb.innerWidth !== img.width || lb.innerHeight !== img.height) img = await decodeImage(bytes, ex.id, { width: lb.innerWidth, height: lb.innerHeight });
  let rgba = img.rgba;
  if (lb.innerWidth !== size || lb.innerHeight !== size) {
    rgba = new Uint8Array(size * size * 4).fill(PAD_VALUE);
    for (let i = 3; i < rgba.length; i += 4) rgba[i] = 255;
    for (let y = 0; y < lb.innerHeight; y++) rgba.set(img.rgba.subarray(y * lb.innerWidth * 4, (y + 1) * lb.innerWidth * 4), ((y + lb.padY) * size + lb.padX) * 4);
  }
  // Boxes under a pixel wide (degenerate labels) are dropped: they have no regression target.
  const keep = ex.boxes.map((b, i) => [toInputBox(lb, b), ex.classes[i]] as const).filter(([b]) => b[2] - b[0] >= 1 && b[3] - b[1] >= 1);
  const boxes = new Float32Array(keep.length * 4);
  keep.forEach(([b], i) => boxes.set(b, 4 * i));
  return { rgba, size, gt: { boxes, classes: Int32Array.from(keep.map(([, c]) => c)) } };
}

/** Writes a decoded square image into a batch's input buffer at `offset`. */
export function fillDecoded(img: DecodedImage, out: Float32Array, offset: number): void {
  fillInput(img.rgba, letterboxOf(img.size, img.size, img.size), out, offset);
}
