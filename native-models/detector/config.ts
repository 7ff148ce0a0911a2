// The detector's hyper-parameters: one plain object, recorded in checkpoints and in the package
// manifest (so a package's graphs can be checked against the vocabulary and the post-processing).
import { z } from 'zod';
import { makeAnchors } from './boxes';

export const detectorConfigSchema = z.object({
  /** Square network input side in pixels (images are letterboxed to it). */
  inputSize: z.number().int().positive(),
  /** Backbone widths: stem (stride 4), stride-8 stage, stride-16 stage. */
  widths: z.tuple([z.number().int().positive(), z.number().int().positive(), z.number().int().positive()]),
  /** Residual blocks in the stride-8 and stride-16 stages. */
  blocks: z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]),
  /** Channels of the fused stride-8 map that RoIAlign reads (FPN-style top-down merge). */
  roiChannels: z.number().int().positive(),
  /** RPN hidden channels; anchors live on the stride-16 map. */
  rpnChannels: z.number().int().positive(),
  anchorSizes: z.array(z.number().positive()).min(1),
  anchorRatios: z.array(z.number().positive()).min(1),
  /** RoIAlign output bins per side and samples per bin side. */
  pooled: z.number().int().positive(),
  samplingRatio: z.number().int().positive(),
  /** Box head FC widths; the last one is the region feature dimension. */
  fc: z.tuple([z.number().int().positive(), z.number().int().positive()]),
  /** Emoji classes (the head scores numClasses + 1, index 0 = background). */
  numClasses: z.number().int().positive(),
  /** Proposals the head scores per image at inference (a fixed bucket; padded). */
  proposals: z.number().int().positive(),
  /** Training: anchors sampled per image for the RPN loss, RoIs per image for the head loss. */
  rpnBatch: z.number().int().positive(),
  roiBatch: z.number().int().positive(),
  /** Inference classifier: false = the trained softmax; true = imprinted class prototypes (see model.ts). */
  prototypes: z.boolean().default(false),
  protoTemperature: z.number().positive().default(20),
});

export type DetectorConfig = z.infer<typeof detectorConfigSchema>;

/** Strides of the two maps (fixed by the backbone's layout). */
export const ROI_STRIDE = 8;
export const RPN_STRIDE = 16;

/** The shipped configuration (sized for a 2-core CPU: about 0.2 GMAC per 256x256 image). */
export function defaultConfig(numClasses: number): DetectorConfig {
  return {
    inputSize: 256,
    widths: [32, 64, 128],
    blocks: [1, 1],
    roiChannels: 64,
    rpnChannels: 64,
    anchorSizes: [32, 56, 96, 160],
    anchorRatios: [0.5, 1, 2],
    pooled: 7,
    samplingRatio: 2,
    fc: [512, 256],
    numClasses,
    proposals: 32,
    rpnBatch: 128,
    roiBatch: 32,
    prototypes: false,
    protoTemperature: 20,
  };
}

/** A tiny configuration for tests (64x64 input, a few channels). */
export function tinyConfig(numClasses: number): DetectorConfig {
  return {
    ...defaultConfig(numClasses),
    inputSize: 64,
    widths: [8, 8, 16],
    blocks: [1, 0],
    roiChannels: 8,
    rpnChannels: 8,
    anchorSizes: [16, 32],
    anchorRatios: [1],
    pooled: 3,
    fc: [32, 16],
    proposals: 8,
    rpnBatch: 32,
    roiBatch: 8,
  };
}

/** Derived sizes of a configuration. */
export function shapesOf(c: DetectorConfig) {
  const roiSide = c.inputSize / ROI_STRIDE;
  const rpnSide = c.inputSize / RPN_STRIDE;
  if (!Number.isInteger(rpnSide)) throw new Error(`detector inputSize ${c.inputSize} must be a multiple of ${RPN_STRIDE}`);
  const anchorsPerCell = c.anchorSizes.length * c.anchorRatios.length;
  return {
    roiSide,
    rpnSide,
    anchorsPerCell,
    numAnchors: rpnSide * rpnSide * anchorsPerCell,
    featureDim: c.fc[1],
    /** Scores per RoI: background + classes. */
    numScores: c.numClasses + 1,
  };
}

/** Anchors of a configuration (input pixels, (y, x, anchor) order). */
export function anchorsOf(c: DetectorConfig): Float32Array {
  const { rpnSide } = shapesOf(c);
  return makeAnchors(rpnSide, rpnSide, RPN_STRIDE, c.anchorSizes, c.anchorRatios);
}
