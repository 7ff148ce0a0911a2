// Configuration of the compact wav2vec 2.0 (see README.md): one object fixes every graph's shapes, so the
// training graph, the inference graphs and the package's manifest all derive from it.

/** One strided 1-d convolution of the feature encoder. */
export interface ConvLayer { channels: number; kernel: number; stride: number }

export interface AudioEncoderConfig {
  /** Input sample rate (the front end converts everything to it). */
  sampleRate: number;
  /** Feature encoder on the raw waveform; the strides multiply to the frame hop (320 = 20 ms at 16 kHz). */
  conv: ConvLayer[];
  /** Transformer width, layers, heads and feed-forward width of the context network. */
  dim: number;
  layers: number;
  heads: number;
  ffn: number;
  /** Convolutional relative position embedding: odd kernel width (frames) and groups. */
  posKernel: number;
  posGroups: number;
  /** Product quantiser: groups x entries per group, and the total codevector width. */
  codebookGroups: number;
  codebookEntries: number;
  codeDim: number;
  /** Width of the space the contrastive loss compares context and quantised vectors in. */
  finalDim: number;
  /** Distractors per masked frame, drawn from the same utterance. */
  negatives: number;
  /** Span masking: probability that a frame starts a masked span, and the span length. */
  maskProb: number;
  maskSpan: number;
  /** Cosine-similarity temperature of the contrastive loss. */
  temperature: number;
  /** Weights of the codebook diversity loss and of the L2 penalty on encoder features. */
  diversityWeight: number;
  featurePenalty: number;
  /**
   * HuBERT-style unit prediction (units.ts): classes of the unit targets (0 = none) and the weight of the masked
   * frames' cross-entropy against them, added to the loss. Packages from before these fields have neither (0).
   */
  unitClasses?: number;
  unitWeight?: number;
}

/** The shipped configuration: about 0.9 M parameters, sized for CPU pre-training (see README.md). */
export const DEFAULT_CONFIG: AudioEncoderConfig = {
  sampleRate: 16000,
  conv: [
    { channels: 48, kernel: 10, stride: 5 },
    { channels: 64, kernel: 8, stride: 4 },
    { channels: 96, kernel: 8, stride: 4 },
    { channels: 128, kernel: 8, stride: 4 },
  ],
  dim: 128,
  layers: 3,
  heads: 4,
  ffn: 384,
  posKernel: 31,
  posGroups: 8,
  codebookGroups: 2,
  codebookEntries: 64,
  codeDim: 128,
  finalDim: 64,
  negatives: 20,
  maskProb: 0.065,
  maskSpan: 5,
  temperature: 0.1,
  diversityWeight: 0.1,
  featurePenalty: 0,
  unitClasses: 0,
  unitWeight: 1,
};

/** A tiny configuration for tests: the same graph, small widths. */
export const TINY_CONFIG: AudioEncoderConfig = {
  ...DEFAULT_CONFIG,
  conv: [
    { channels: 8, kernel: 10, stride: 5 },
    { channels: 8, kernel: 8, stride: 4 },
    { channels: 16, kernel: 4, stride: 4 },
    { channels: 16, kernel: 4, stride: 4 },
  ],
  dim: 16,
  layers: 1,
  heads: 2,
  ffn: 32,
  posKernel: 5,
  posGroups: 2,
  codebookEntries: 8,
  codeDim: 16,
  finalDim: 8,
  negatives: 4,
};

/** Samples per frame (the product of the conv strides). */
export function hopOf(c: AudioEncoderConfig): number {
  return c.conv.reduce((h, l) => h * l.stride, 1);
}

/** Frames the feature encoder gives for n samples (valid convolutions, no padding): 0 when n is too short. */
export function framesFor(c: AudioEncoderConfig, samples: number): number {
  let n = samples;
  for (const l of c.conv) {
    n = Math.floor((n - l.kernel) / l.stride) + 1;
    if (n <= 0) return 0;
  }
  return n;
}

/** The fewest samples that give exactly `frames` frames (the input length of a frame bucket). */
export function samplesFor(c: AudioEncoderConfig, frames: number): number {
  let n = frames;
  for (let i = c.conv.length - 1; i >= 0; i--) n = (n - 1) * c.conv[i].stride + c.conv[i].kernel;
  return n;
}

/** Checks a configuration, naming the first problem. */
export function checkConfig(c: AudioEncoderConfig): void {
  if (c.dim % c.heads !== 0) throw new Error(`audio config: dim ${c.dim} is not divisible by ${c.heads} heads`);
  if (c.dim % c.posGroups !== 0) throw new Error(`audio config: dim ${c.dim} is not divisible by ${c.posGroups} position-conv groups`);
  if (c.posKernel % 2 !== 1) throw new Error(`audio config: posKernel must be odd, got ${c.posKernel}`);
  if (c.codeDim % c.codebookGroups !== 0) throw new Error(`audio config: codeDim ${c.codeDim} is not divisible by ${c.codebookGroups} groups`);
  if (c.conv.length === 0) throw new Error('audio config: the feature encoder needs at least one conv layer');
  const u = c.unitClasses ?? 0;
  if (!Number.isInteger(u) || u < 0 || u > 32767) throw new Error(`audio config: unitClasses must be a whole number from 0 to 32767, got ${u}`);
}
