// The training graph's RoIAlign (a gather plan + weighted sum) must equal onnxruntime's RoiAlign op,
// which the inference head graph uses on the same weights.
import { describe, expect, it } from 'vitest';
import { GraphBuilder, toOnnx } from '../../../native-models/graph/index';
import { roiAlignPlan, rowsPerRoi } from '../../../native-models/detector/roi-align';
import { Session, tensor } from '../../../native-models/runtime/index';
import { Rng } from '../../../native-models/train/rng';

describe('RoIAlign gather plan', () => {
  it('matches the ONNX RoiAlign op (avg, half_pixel) for boxes inside, across and outside the border', async () => {
    const B = 2, C = 3, H = 8, W = 8, P = 3, G = 2, scale = 1 / 8;
    const boxes = [
      [0, 0, 64, 64], [5, 7, 30, 45], [40, 40, 70, 90], [-20, -10, 10, 12], [63, 2, 64, 60], [10, 10, 10.5, 11], [-50, -50, -20, -20],
    ];
    const R = boxes.length;
    const rng = new Rng(3);
    const feat = Float32Array.from({ length: B * C * H * W }, () => rng.normal());
    const bi = boxes.map((_, i) => i % B);
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [B, C, H, W]);
    const rois = b.input('rois', 'float32', [R, 4]);
    const idx = b.input('bi', 'int64', [R]);
    b.output('y', b.roiAlign(x, rois, idx, { outputHeight: P, outputWidth: P, samplingRatio: G, spatialScale: scale }));
    const s = await Session.create(toOnnx(b.build()).model, { providers: [] });
    const ref = (await s.run({
      x: tensor('float32', [B, C, H, W], feat), rois: tensor('float32', [R, 4], Float32Array.from(boxes.flat())),
      bi: tensor('int64', [R], BigInt64Array.from(bi.map(BigInt))),
    })).y.data as Float32Array;
    await s.dispose();

    const spec = { height: H, width: W, pooled: P, samplingRatio: G, spatialScale: scale };
    const n = rowsPerRoi(spec);
    const index = new BigInt64Array(R * n);
    const weight = new Float32Array(R * n);
    boxes.forEach((bx, r) => roiAlignPlan(spec, bx, 0, bi[r], r, index, weight));
    // features as [B*H*W, C] rows, as the training graph lays them out
    const rows = (row: number, c: number) => {
      const bb = Math.floor(row / (H * W));
      const p = row % (H * W);
      return feat[(bb * C + c) * H * W + p];
    };
    const per = n / (P * P);
    for (let r = 0; r < R; r++) {
      for (let c = 0; c < C; c++) {
        for (let bin = 0; bin < P * P; bin++) {
          let v = 0;
          for (let k = 0; k < per; k++) {
            const o = r * n + bin * per + k;
            v += weight[o] * rows(Number(index[o]), c);
          }
          expect(v).toBeCloseTo(ref[(r * C + c) * P * P + bin], 5);
        }
      }
    }
  });
});
