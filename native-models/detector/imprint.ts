// Weight imprinting for the class head (Qi et al. 2018): each class's prototype is the mean unit region
// feature of its ground-truth boxes in training images, computed with the trained network. With ~850
// classes and a short CPU budget the trained softmax sees each class a few dozen times; nearest-prototype
// classification on the same features is far better in that regime (measured in README.md).
import { Session } from '../runtime/session';
import { tensor, type Tensor } from '../runtime/tensor';
import { shapesOf, type DetectorConfig } from './config';
import { decodeExample, fillDecoded, type DetectionExample } from './data';
import { inferenceModels } from './export';

/**
 * Prototypes [featureDim, numClasses] (unit columns; zero for classes without examples) from the
 * ground-truth boxes of `examples`, and how many classes got at least one example.
 */
export async function imprintPrototypes(c: DetectorConfig, params: Readonly<Record<string, Tensor>>, examples: readonly DetectionExample[],
  onProgress?: (done: number, total: number) => void): Promise<{ prototypes: Float32Array; covered: number }> {
  const { featureDim: d } = shapesOf(c);
  const k = c.numClasses;
  const m = inferenceModels({ ...c, prototypes: false }, params, 'float32');
  const rpn = await Session.create(m.rpn, { name: 'imprint/rpn', providers: [] });
  const head = await Session.create(m.head, { name: 'imprint/head', providers: [] });
  const sum = new Float64Array(d * k);
  const count = new Int32Array(k);
  const s = c.inputSize;
  const p = c.proposals;
  try {
    for (let e = 0; e < examples.length; e++) {
      const img = await decodeExample(examples[e], s);
      const x = new Float32Array(3 * s * s);
      fillDecoded(img, x, 0);
      const r = await rpn.run({ image: tensor('float32', [1, 3, s, s], x) }, { outputs: ['features'] });
      const n = img.gt.classes.length;
      for (let o = 0; o < n; o += p) {
        const rois = new Float32Array(p * 4);
        for (let i = 0; i < p; i++) rois.set(o + i < n ? img.gt.boxes.subarray(4 * (o + i), 4 * (o + i) + 4) : [0, 0, s, s], 4 * i);
        const h = await head.run({ features: r.features, rois: tensor('float32', [p, 4], rois), batch_indices: tensor('int64', [p], new BigInt64Array(p)) }, { outputs: ['region_features'] });
        const f = h.region_features.data as Float32Array;
        for (let i = 0; i < p && o + i < n; i++) {
          const cls = img.gt.classes[o + i];
          let norm = 0;
          for (let j = 0; j < d; j++) norm += f[i * d + j] ** 2;
          norm = Math.sqrt(norm) + 1e-8;
          for (let j = 0; j < d; j++) sum[j * k + cls] += f[i * d + j] / norm;
          count[cls]++;
        }
      }
      onProgress?.(e + 1, examples.length);
    }
  } finally {
    await rpn.dispose();
    await head.dispose();
  }
  const prototypes = new Float32Array(d * k);
  let covered = 0;
  for (let cls = 0; cls < k; cls++) {
    if (count[cls] === 0) continue;
    covered++;
    let norm = 0;
    for (let j = 0; j < d; j++) norm += sum[j * k + cls] ** 2;
    norm = Math.sqrt(norm) + 1e-12;
    for (let j = 0; j < d; j++) prototypes[j * k + cls] = sum[j * k + cls] / norm;
  }
  return { prototypes, covered };
}
