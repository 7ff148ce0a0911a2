// Trained weights -> the `detector` component of a model package: the two inference graphs with their
// weights baked in (fp16 storage, one Cast each), the class vocabulary, and the config the task checks.
import { toOnnx } from '../graph/index';
import { setComponentMetrics, writeComponent, type Manifest } from '../packages/format';
import type { Tensor } from '../runtime/tensor';
import { shapesOf, type DetectorConfig } from './config';
import { headGraph, rpnGraph, PIXEL_MEAN, PIXEL_STD } from './model';
import { PAD_VALUE } from './preprocess';

/** File names inside the package. */
export const DETECTOR_FILES = { rpn: 'detector/rpn.onnx', head: 'detector/head.onnx', classes: 'detector/classes.json' } as const;

/** The two inference graphs' ONNX bytes with the given weights. */
export function inferenceModels(c: DetectorConfig, params: Readonly<Record<string, Tensor>>, storage: 'float32' | 'float16' = 'float16'): { rpn: Uint8Array; head: Uint8Array } {
  const values: Record<string, Float32Array> = {};
  for (const [k, t] of Object.entries(params)) values[k] = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>);
  const bake = (g: ReturnType<typeof rpnGraph>) => {
    const names = g.params.map((p) => p.value.name!);
    const missing = names.filter((n) => !values[n]);
    if (missing.length) throw new Error(`detector export: no weights for ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', ...' : ''}`);
    return toOnnx(g, { params: { kind: 'initializers', values, storage } }).model;
  };
  return { rpn: bake(rpnGraph(c, 1)), head: bake(headGraph(c)) };
}

/**
 * Writes the detector component into the package at `dir` (created if needed). `metrics` and `training`
 * go to the manifest as given.
 */
export function writeDetector(dir: string, c: DetectorConfig, classes: readonly string[], params: Readonly<Record<string, Tensor>>,
  o: { storage?: 'float32' | 'float16'; metrics?: Record<string, number | string>; training?: Record<string, number | string>; component?: string } = {}): Manifest {
  if (classes.length !== c.numClasses) throw new Error(`detector export: ${classes.length} class names for ${c.numClasses} classes`);
  const m = inferenceModels(c, params, o.storage ?? 'float16');
  const { featureDim } = shapesOf(c);
  return writeComponent(dir, o.component ?? 'detector', {
    kind: 'detector',
    config: {
      ...c,
      featureDim,
      storage: o.storage ?? 'float16',
      preprocessing: { letterbox: 'longer side to inputSize, centred', padValue: PAD_VALUE, alphaOnto: 'white', mean: [...PIXEL_MEAN], std: [...PIXEL_STD], layout: 'NCHW float32, value/255' },
      contract: 'native-models/detector/README.md',
    },
    metrics: o.metrics ?? {},
    training: o.training ?? {},
  }, {
    rpn: { name: DETECTOR_FILES.rpn, bytes: m.rpn },
    head: { name: DETECTOR_FILES.head, bytes: m.head },
    classes: { name: DETECTOR_FILES.classes, bytes: JSON.stringify(classes, null, 0) + '\n' },
  });
}

/** Records evaluation figures in the manifest entry of an already written detector (files unchanged). */
export function recordDetectorMetrics(dir: string, metrics: Record<string, number | string>, component = 'detector'): Manifest {
  return setComponentMetrics(dir, component, 'detector', (old) => ({ ...old, ...metrics }));
}
