// Detection metrics: COCO-style average precision (101-point interpolation, greedy matching by score)
// per class at IoU thresholds, mAP@0.5, mAP@[0.5:0.95], and recall at IoU 0.5.
import { iou } from './boxes';

export interface EvalBox {
  box: readonly number[];
  classId: number;
}
export interface EvalDetection extends EvalBox {
  score: number;
}
export interface EvalImage {
  gt: EvalBox[];
  dets: EvalDetection[];
}

export interface ClassResult {
  classId: number;
  gt: number;
  ap50: number;
  ap50_95: number;
  recall50: number;
}

export interface DetectionMetrics {
  /** Means over the classes that have ground truth. */
  mAP50: number;
  mAP50_95: number;
  /** Ground-truth boxes found by a detection of the right class at IoU >= 0.5 (micro average). */
  recall50: number;
  /** Same, ignoring the class (localisation only). */
  recall50AnyClass: number;
  /** Top-1 class accuracy of the best-overlapping detection of each found ground-truth box. */
  classAccuracy: number;
  perClass: ClassResult[];
}

export const IOU_THRESHOLDS = Array.from({ length: 10 }, (_, i) => 0.5 + 0.05 * i);

/** AP of one class at one IoU threshold, plus its recall (matched / gt). */
function classAp(images: readonly EvalImage[], c: number, t: number): { ap: number; recall: number; gt: number } {
  const dets: { img: number; score: number; box: readonly number[] }[] = [];
  let nGt = 0;
  const used: boolean[][] = images.map((im) => im.gt.map(() => false));
  images.forEach((im, i) => {
    for (const g of im.gt) if (g.classId === c) nGt++;
    for (const d of im.dets) if (d.classId === c) dets.push({ img: i, score: d.score, box: d.box });
  });
  if (nGt === 0) return { ap: 0, recall: 0, gt: 0 };
  dets.sort((a, b) => b.score - a.score);
  const tp = new Float64Array(dets.length);
  dets.forEach((d, k) => {
    const im = images[d.img];
    let best = -1;
    let bestIou = t;
    im.gt.forEach((g, j) => {
      if (g.classId !== c || used[d.img][j]) return;
      const v = iou(d.box, 0, g.box, 0);
      if (v >= bestIou) {
        bestIou = v;
        best = j;
      }
    });
    if (best >= 0) {
      used[d.img][best] = true;
      tp[k] = 1;
    }
  });
  // Precision envelope, sampled at 101 recall points (COCO).
  const prec = new Float64Array(dets.length);
  const rec = new Float64Array(dets.length);
  let ctp = 0;
  for (let k = 0; k < dets.length; k++) {
    ctp += tp[k];
    prec[k] = ctp / (k + 1);
    rec[k] = ctp / nGt;
  }
  for (let k = dets.length - 2; k >= 0; k--) prec[k] = Math.max(prec[k], prec[k + 1]);
  let ap = 0;
  let k = 0;
  for (let r = 0; r <= 100; r++) {
    const want = r / 100;
    while (k < dets.length && rec[k] < want) k++;
    ap += k < dets.length ? prec[k] : 0;
  }
  return { ap: ap / 101, recall: ctp / nGt, gt: nGt };
}

/** Metrics over a set of images. Classes without ground truth do not count. */
export function evaluateDetections(images: readonly EvalImage[]): DetectionMetrics {
  const classes = new Set<number>();
  for (const im of images) for (const g of im.gt) classes.add(g.classId);
  const perClass: ClassResult[] = [];
  for (const c of [...classes].sort((a, b) => a - b)) {
    const at = IOU_THRESHOLDS.map((t) => classAp(images, c, t));
    perClass.push({ classId: c, gt: at[0].gt, ap50: at[0].ap, ap50_95: at.reduce((s, x) => s + x.ap, 0) / at.length, recall50: at[0].recall });
  }
  let found = 0;
  let foundAny = 0;
  let correct = 0;
  let total = 0;
  for (const im of images) {
    for (const g of im.gt) {
      total++;
      let bestAny = -1;
      let bestIou = 0.5;
      let hit = false;
      im.dets.forEach((d, k) => {
        const v = iou(d.box, 0, g.box, 0);
        if (v >= 0.5 && d.classId === g.classId) hit = true;
        if (v >= bestIou) {
          bestIou = v;
          bestAny = k;
        }
      });
      if (hit) found++;
      if (bestAny >= 0) {
        foundAny++;
        if (im.dets[bestAny].classId === g.classId) correct++;
      }
    }
  }
  const mean = (f: (r: ClassResult) => number) => (perClass.length ? perClass.reduce((s, r) => s + f(r), 0) / perClass.length : 0);
  return {
    mAP50: mean((r) => r.ap50),
    mAP50_95: mean((r) => r.ap50_95),
    recall50: total ? found / total : 0,
    recall50AnyClass: total ? foundAny / total : 0,
    classAccuracy: foundAny ? correct / foundAny : 0,
    perClass,
  };
}
