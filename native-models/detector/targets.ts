// Training targets between the two stages, in TypeScript: anchor labels for the RPN, proposals from
// the RPN's outputs, and the sampled RoIs with their class and box targets for the head.
import type { Rng } from '../train/rng';
import { clipBox, decodeBox, encodeBox, HEAD_CODE_WEIGHTS, iou, nms, RPN_CODE_WEIGHTS, topK } from './boxes';

/** Ground truth of one image: boxes in input pixels (rows of 4) and class ids (0-based, no background). */
export interface GroundTruth {
  boxes: Float32Array;
  classes: Int32Array;
}

export const RPN_POS_IOU = 0.6;
export const RPN_NEG_IOU = 0.3;
export const HEAD_FG_IOU = 0.5;

/**
 * RPN targets of one image, written at anchor offset `o` of the batch arrays: positives (IoU >= 0.6,
 * or the best anchor of a box), negatives (IoU < 0.3), `sample` anchors drawn with at most half positive.
 */
export function anchorTargets(anchors: Float32Array, gt: GroundTruth, sample: number, rng: Rng,
  out: { label: Float32Array; weight: Float32Array; box: Float32Array; boxWeight: Float32Array }, o: number): void {
  const n = anchors.length / 4;
  const g = gt.classes.length;
  const best = new Float32Array(n);
  const arg = new Int32Array(n).fill(-1);
  const bestOfGt = new Float32Array(g);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < g; j++) {
      const v = iou(anchors, 4 * i, gt.boxes, 4 * j);
      if (v > best[i]) {
        best[i] = v;
        arg[i] = j;
      }
      if (v > bestOfGt[j]) bestOfGt[j] = v;
    }
  }
  const pos: number[] = [];
  const neg: number[] = [];
  for (let i = 0; i < n; i++) {
    let isPos = best[i] >= RPN_POS_IOU;
    // Every box gets its best-matching anchors (ties included), even below the threshold.
    if (!isPos && arg[i] >= 0 && best[i] > 0 && best[i] >= bestOfGt[arg[i]] - 1e-6) isPos = true;
    if (isPos) pos.push(i);
    else if (best[i] < RPN_NEG_IOU) neg.push(i);
  }
  rng.shuffle(pos);
  rng.shuffle(neg);
  const np = Math.min(pos.length, sample >> 1);
  const nn = Math.min(neg.length, sample - np);
  for (let k = 0; k < np; k++) {
    const i = pos[k];
    out.label[o + i] = 1;
    out.weight[o + i] = 1;
    out.boxWeight[o + i] = 1;
    encodeBox(anchors, 4 * i, gt.boxes, 4 * arg[i], RPN_CODE_WEIGHTS, out.box, 4 * (o + i));
  }
  for (let k = 0; k < nn; k++) out.weight[o + neg[k]] = 1;
}

/** Proposal settings: top-k before NMS, NMS IoU, how many to keep, smallest side (pixels). */
export interface ProposalOptions {
  preNms: number;
  nmsIou: number;
  postNms: number;
  minSize: number;
}

export const TRAIN_PROPOSALS: ProposalOptions = { preNms: 600, nmsIou: 0.7, postNms: 64, minSize: 4 };
export const TEST_PROPOSALS: ProposalOptions = { preNms: 300, nmsIou: 0.7, postNms: 32, minSize: 4 };

/**
 * Proposals of one image from the RPN outputs (objectness probabilities [N], deltas [N,4] starting at
 * `offset` anchors into the arrays): top-k, decode, clip, drop tiny boxes, NMS. Boxes in input pixels.
 */
export function proposals(objectness: Float32Array, deltas: Float32Array, anchors: Float32Array, offset: number, size: number,
  o: ProposalOptions): { boxes: Float32Array; scores: Float32Array } {
  const n = anchors.length / 4;
  const scores = objectness.subarray(offset, offset + n);
  const top = topK(scores, o.preNms);
  const boxes = new Float32Array(top.length * 4);
  const sc = new Float32Array(top.length);
  const cand: number[] = [];
  top.forEach((a, k) => {
    decodeBox(anchors, 4 * a, deltas, 4 * (offset + a), RPN_CODE_WEIGHTS, boxes, 4 * k);
    clipBox(boxes, 4 * k, size, size);
    sc[k] = scores[a];
    if (boxes[4 * k + 2] - boxes[4 * k] >= o.minSize && boxes[4 * k + 3] - boxes[4 * k + 1] >= o.minSize) cand.push(k);
  });
  const keep = nms(boxes, sc, o.nmsIou, o.postNms, cand);
  const outB = new Float32Array(keep.length * 4);
  const outS = new Float32Array(keep.length);
  keep.forEach((k, i) => {
    outB.set(boxes.subarray(4 * k, 4 * k + 4), 4 * i);
    outS[i] = sc[k];
  });
  return { boxes: outB, scores: outS };
}

/** A box near `box` (row i): centre shifted and sides scaled by up to `amount` of the size. */
function jitterBox(box: Float32Array, i: number, amount: number, rng: Rng, size: number): number[] {
  const w = box[i + 2] - box[i];
  const h = box[i + 3] - box[i + 1];
  const cx = box[i] + w / 2 + (rng.next() * 2 - 1) * amount * w;
  const cy = box[i + 1] + h / 2 + (rng.next() * 2 - 1) * amount * h;
  const nw = w * (1 + (rng.next() * 2 - 1) * amount);
  const nh = h * (1 + (rng.next() * 2 - 1) * amount);
  const b = new Float32Array([cx - nw / 2, cy - nh / 2, cx + nw / 2, cy + nh / 2]);
  clipBox(b, 0, size, size);
  return [...b];
}

/** RoIs sampled for the head of one image, with targets. */
export interface SampledRois {
  boxes: Float32Array; // [count,4] input pixels
  labels: Int32Array; // 0 = background, c+1 = class c
  targets: Float32Array; // [count,4] head box coding
  boxWeights: Float32Array; // 1 for foreground
}

/**
 * Samples `count` RoIs from the proposals plus the ground-truth boxes and two jittered copies of each
 * (so the head sees foreground from the first step, while the RPN is still random): foreground
 * IoU >= 0.5 (at most half of the RoIs: backgrounds here are easy, classes many), the rest background; repeats when there are too few.
 */
export function sampleRois(props: Float32Array, gt: GroundTruth, count: number, size: number, rng: Rng): SampledRois {
  const cand: number[] = [...props];
  const g = gt.classes.length;
  for (let j = 0; j < g; j++) {
    cand.push(...gt.boxes.subarray(4 * j, 4 * j + 4));
    cand.push(...jitterBox(gt.boxes, 4 * j, 0.15, rng, size), ...jitterBox(gt.boxes, 4 * j, 0.15, rng, size));
  }
  const boxes = Float32Array.from(cand);
  const n = boxes.length / 4;
  const fg: number[] = [];
  const bg: number[] = [];
  const match = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 0; j < g; j++) {
      const v = iou(boxes, 4 * i, gt.boxes, 4 * j);
      if (v > best) {
        best = v;
        match[i] = j;
      }
    }
    if (best >= HEAD_FG_IOU) fg.push(i);
    else if (boxes[4 * i + 2] - boxes[4 * i] >= 1 && boxes[4 * i + 3] - boxes[4 * i + 1] >= 1) bg.push(i);
  }
  rng.shuffle(fg);
  rng.shuffle(bg);
  const nf = Math.min(fg.length, Math.max(1, count >> 1));
  const chosen = fg.slice(0, nf);
  for (let k = 0; chosen.length < count; k++) {
    if (bg.length > 0) chosen.push(bg[k % bg.length]);
    else if (fg.length > 0) chosen.push(fg[k % fg.length]);
    else chosen.push(-1); // no candidates at all: a whole-image background RoI
  }
  const out: SampledRois = {
    boxes: new Float32Array(count * 4), labels: new Int32Array(count), targets: new Float32Array(count * 4), boxWeights: new Float32Array(count),
  };
  chosen.forEach((i, r) => {
    if (i < 0) {
      out.boxes.set([0, 0, size, size], 4 * r);
      return;
    }
    out.boxes.set(boxes.subarray(4 * i, 4 * i + 4), 4 * r);
    if (r < nf) {
      const j = match[i];
      out.labels[r] = gt.classes[j] + 1;
      out.boxWeights[r] = 1;
      encodeBox(boxes, 4 * i, gt.boxes, 4 * j, HEAD_CODE_WEIGHTS, out.targets, 4 * r);
    }
  });
  return out;
}
