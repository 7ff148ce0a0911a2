// RoIAlign for TRAINING, as a gather plan: which feature-map cells each output bin reads and with which
// bilinear weights. The training graph gathers those rows of the feature map and sums them, so the
// gradient reaches the features through GatherND's rule (a scatter-add of the same weights: exactly
// RoIAlign's backward pass with respect to the features).
//
// Gradient choice: boxes are constants (no gradient to the proposal coordinates), as in Faster R-CNN's
// "approximate joint training" and torchvision/Detectron: proposals come from the RPN outside the graph,
// and the head's loss trains the backbone only through the pooled features.
//
// The plan reproduces onnxruntime's RoiAlign (mode avg, coordinate_transformation_mode half_pixel,
// fixed sampling_ratio) sample for sample, so inference can use the ONNX RoiAlign op on the same weights;
// tests/native-models/detector/roi-align.test.ts checks the two agree.

/** Geometry of RoIAlign. */
export interface RoiAlignSpec {
  /** Feature map size. */
  height: number;
  width: number;
  /** Output bins per side (7 in Faster R-CNN). */
  pooled: number;
  /** Samples per bin side (>= 1; 2 is torchvision's). */
  samplingRatio: number;
  /** Feature cells per input pixel (1/stride). */
  spatialScale: number;
}

/** Gather rows per RoI: bins * samples * 4 bilinear corners. */
export function rowsPerRoi(s: RoiAlignSpec): number {
  return s.pooled * s.pooled * s.samplingRatio * s.samplingRatio * 4;
}

/**
 * Writes the gather plan of RoI r (box in input pixels, on image `batch` of the feature map batch):
 * `index` gets flat row numbers into the features laid out as [B*H*W, C] and `weight` the matching
 * weights (bilinear weight / samples per bin), starting at r * rowsPerRoi(s), bins in row-major order.
 */
export function roiAlignPlan(s: RoiAlignSpec, box: ArrayLike<number>, bi: number, batch: number, r: number, index: BigInt64Array, weight: Float32Array): void {
  const { height, width, pooled, samplingRatio: g } = s;
  const x0 = box[bi] * s.spatialScale - 0.5;
  const y0 = box[bi + 1] * s.spatialScale - 0.5;
  const rw = box[bi + 2] * s.spatialScale - 0.5 - x0;
  const rh = box[bi + 3] * s.spatialScale - 0.5 - y0;
  const bw = rw / pooled;
  const bh = rh / pooled;
  const count = g * g;
  const base = batch * height * width;
  let o = r * rowsPerRoi(s);
  for (let ph = 0; ph < pooled; ph++) {
    for (let pw = 0; pw < pooled; pw++) {
      for (let iy = 0; iy < g; iy++) {
        const yy = y0 + ph * bh + ((iy + 0.5) * bh) / g;
        for (let ix = 0; ix < g; ix++) {
          const xx = x0 + pw * bw + ((ix + 0.5) * bw) / g;
          if (yy < -1 || yy > height || xx < -1 || xx > width) {
            for (let c = 0; c < 4; c++) {
              index[o] = BigInt(base);
              weight[o++] = 0;
            }
            continue;
          }
          let y = yy <= 0 ? 0 : yy;
          let x = xx <= 0 ? 0 : xx;
          let yl = Math.floor(y);
          let xl = Math.floor(x);
          let yh: number;
          let xh: number;
          if (yl >= height - 1) {
            yh = yl = height - 1;
            y = yl;
          } else yh = yl + 1;
          if (xl >= width - 1) {
            xh = xl = width - 1;
            x = xl;
          } else xh = xl + 1;
          const ly = y - yl;
          const lx = x - xl;
          const hy = 1 - ly;
          const hx = 1 - lx;
          index[o] = BigInt(base + yl * width + xl);
          weight[o++] = (hy * hx) / count;
          index[o] = BigInt(base + yl * width + xh);
          weight[o++] = (hy * lx) / count;
          index[o] = BigInt(base + yh * width + xl);
          weight[o++] = (ly * hx) / count;
          index[o] = BigInt(base + yh * width + xh);
          weight[o++] = (ly * lx) / count;
        }
      }
    }
  }
}
