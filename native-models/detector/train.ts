// Training the detector with the engine's trainer (train/trainer.ts): one training-step graph
// (./model trainingGraph) whose parameters and AdamW state stay resident in the runtime. Each batch is
// made in TypeScript between the stages: decode images, run the RPN graph on the CURRENT resident
// weights (the same runtime, Runtime.step fills the `param:*` inputs from state), pick proposals,
// sample anchors and RoIs, and write the RoIAlign gather plan. Checkpoints, resume and progress are the
// trainer's.
import { toOnnx } from '../graph/index';
import type { Runtime } from '../runtime/runtime';
import { tensor, type Tensor } from '../runtime/tensor';
import { EpochSampler } from '../train/batching';
import type { Batch, BatchSource, SamplerState } from '../train/batching';
import { initialParams, trainStepSpec } from '../train/graph-spec';
import { Rng } from '../train/rng';
import type { LrSchedule } from '../train/schedule';
import { train, type Progress, type TrainResult } from '../train/trainer';
import { anchorsOf, shapesOf, ROI_STRIDE, type DetectorConfig } from './config';
import { cropMosaic, type DecodedImage } from './augment';
import { decodeExample, fillDecoded, type DetectionExample } from './data';
import { rpnGraph, trainingGraph, trainingInputs } from './model';
import { roiAlignPlan, rowsPerRoi } from './roi-align';
import { anchorTargets, proposals, sampleRois, TRAIN_PROPOSALS } from './targets';


/** Runs the RPN graph on a batch of images: objectness [B*N] and deltas [B*N*4]. */
export type Proposer = (image: Tensor) => Promise<{ objectness: Float32Array; deltas: Float32Array }>;

/** Batches of detection examples with all targets, resumable (the sampler's state fixes order and RNG). */
export class DetectionBatches implements BatchSource {
  private readonly sampler: EpochSampler;
  private readonly anchors: Float32Array;

  constructor(private readonly examples: readonly DetectionExample[], private readonly c: DetectorConfig, private readonly batch: number,
    private readonly propose: Proposer, private readonly seed = 0, private readonly mosaic = 0.75) {
    this.sampler = new EpochSampler(examples.length, seed);
    this.anchors = anchorsOf(c);
  }

  state(): SamplerState {
    return this.sampler.state();
  }

  restore(s: unknown): void {
    this.sampler.restore(s);
  }

  next(): Promise<Batch> {
    const st = this.sampler.state();
    // Taken synchronously so state() after next() already points past this batch.
    const idx = this.sampler.take(this.batch);
    // Target sampling draws from an RNG fixed by (seed, epoch, position): a resumed run makes the same batches.
    return this.make(idx, new Rng(st.rng[0] * 65_536 + st.rng[1] + st.epoch * 1_000_003 + st.pos));
  }

  private async make(idx: number[], rng: Rng): Promise<Batch> {
    const c = this.c;
    const B = this.batch;
    const S = c.inputSize;
    const { numAnchors, rois, rows } = trainingInputs(c, B);
    const { roiSide } = shapesOf(c);
    const image = new Float32Array(B * 3 * S * S);
    const gts: DecodedImage[] = [];
    for (const k of idx) {
      const first = await decodeExample(this.examples[k], S);
      let img = first;
      if (rng.next() < this.mosaic) {
        // A crop mosaic of this image's objects and those of random others (see ./augment).
        const grid = 2 + rng.int(3); // 2x2, 3x3 or 4x4 cells
        const sources = [first];
        let objects = first.gt.classes.length;
        while (objects < grid * grid && sources.length < grid * grid) {
          const extra = await decodeExample(this.examples[rng.int(this.examples.length)], S);
          sources.push(extra);
          objects += extra.gt.classes.length;
        }
        img = cropMosaic(sources, S, grid, rng);
      }
      fillDecoded(img, image, gts.length * 3 * S * S);
      gts.push(img);
    }
    const imageT = tensor('float32', [B, 3, S, S], image);
    const rpn = await this.propose(imageT);

    const label = new Float32Array(B * numAnchors);
    const weight = new Float32Array(B * numAnchors);
    const box = new Float32Array(B * numAnchors * 4);
    const boxWeight = new Float32Array(B * numAnchors);
    const roiIndex = new BigInt64Array(rows);
    const roiWeight = new Float32Array(rows);
    const roiLabel = new BigInt64Array(rois);
    const roiBox = new Float32Array(rois * 4);
    const roiBoxWeight = new Float32Array(rois);
    const spec = { height: roiSide, width: roiSide, pooled: c.pooled, samplingRatio: c.samplingRatio, spatialScale: 1 / ROI_STRIDE };
    for (let b = 0; b < B; b++) {
      const { gt } = gts[b];
      anchorTargets(this.anchors, gt, c.rpnBatch, rng, { label, weight, box, boxWeight }, b * numAnchors);
      const props = proposals(rpn.objectness, rpn.deltas, this.anchors, b * numAnchors, S, TRAIN_PROPOSALS);
      const s = sampleRois(props.boxes, gt, c.roiBatch, S, rng);
      for (let r = 0; r < c.roiBatch; r++) {
        const R = b * c.roiBatch + r;
        roiAlignPlan(spec, s.boxes, 4 * r, b, R, roiIndex, roiWeight);
        roiLabel[R] = BigInt(s.labels[r]);
        roiBoxWeight[R] = s.boxWeights[r];
      }
      roiBox.set(s.targets, b * c.roiBatch * 4);
    }
    if (rows !== rois * rowsPerRoi(spec)) throw new Error('internal: RoIAlign plan size mismatch');
    return {
      bucket: String(B),
      size: B,
      feeds: {
        image: imageT,
        rpn_label: tensor('float32', [B, numAnchors], label),
        rpn_weight: tensor('float32', [B, numAnchors], weight),
        rpn_box: tensor('float32', [B, numAnchors, 4], box),
        rpn_box_weight: tensor('float32', [B, numAnchors], boxWeight),
        roi_index: tensor('int64', [rows], roiIndex),
        roi_weight: tensor('float32', [rows, 1], roiWeight),
        roi_label: tensor('int64', [rois], roiLabel),
        roi_box: tensor('float32', [rois, 4], roiBox),
        roi_box_weight: tensor('float32', [rois], roiBoxWeight),
      },
    };
  }
}

export interface TrainDetectorOptions {
  runtime: Runtime;
  config: DetectorConfig;
  examples: readonly DetectionExample[];
  batch: number;
  steps: number;
  schedule: LrSchedule;
  seed?: number;
  /** Run directory for checkpoints; resume from its latest checkpoint when `resume` is set. */
  runDir?: string;
  checkpointEvery?: number;
  resume?: boolean;
  /** Share of training images replaced by crop mosaics (default 0.75). */
  mosaic?: number;
  /** Recorded in checkpoints (vocabulary, data path...). */
  meta?: Record<string, unknown>;
  /** The command line of this run, for the checkpoints' run history (see TrainOptions.run). */
  command?: string;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
}

/** Trains (or resumes) and returns the trainer's result plus the final parameters by name. */
export async function trainDetector(o: TrainDetectorOptions): Promise<TrainResult & { params: Record<string, Tensor> }> {
  const { config: c, batch: B } = o;
  if (o.examples.length === 0) throw new Error('trainDetector: no training examples');
  const spec = trainStepSpec((bucket) => trainingGraph(c, Number(bucket)), String(B), { optimizer: { weightDecay: 1e-4, clipNorm: 10 } });
  const rpnKey = `detector-rpn@${B}`;
  await o.runtime.load(rpnKey, toOnnx(rpnGraph(c, B)).model);
  const propose: Proposer = async (image) => {
    const out = await o.runtime.step(rpnKey, { image }, { outputs: ['objectness', 'rpn_deltas'] });
    return { objectness: out.objectness.data as Float32Array, deltas: out.rpn_deltas.data as Float32Array };
  };
  const data = new DetectionBatches(o.examples, c, B, propose, o.seed ?? 0, o.mosaic ?? 0.75);
  const res = await train({
    runtime: o.runtime,
    spec,
    data,
    schedule: o.schedule,
    steps: o.steps,
    seed: o.seed ?? 0,
    name: 'detector-train',
    ...(o.resume && o.runDir ? { resume: o.runDir } : { params: initialParams(spec.graph.graph, o.seed ?? 0) }),
    ...(o.runDir ? { checkpoint: { dir: o.runDir, every: o.checkpointEvery ?? 200, keep: 2, config: { detector: c, ...o.meta } } } : {}),
    ...(o.command ? { run: { command: o.command } } : {}),
    signal: o.signal,
    onProgress: o.onProgress,
  });
  const state = await o.runtime.getState(spec.params.map((p) => p.input));
  const params = Object.fromEntries(spec.params.map((p) => [p.name, state[p.input]]));
  return { ...res, params };
}
