// The trained encoder at inference: ONNX graphs per frame bucket (from the model package, or built from weights
// in memory), run on 16 kHz normalised speech. Long input is encoded in chunks of the largest bucket.
import { existsSync, readFileSync } from 'node:fs';
import { toHalf, toOnnx, type ParamMode } from '../graph/index';
import { encodeSafetensors, safetensorsLayout } from '../train/safetensors';
import { componentWeights, defaultPackageDir, loadPackage, writeComponent, type ComponentEntry } from '../packages/format';
import { InThreadRuntime, type Runtime } from '../runtime/index';
import type { Tensor } from '../runtime/tensor';
import { checkConfig, framesFor, hopOf, samplesFor, type AudioEncoderConfig } from './config';
import { checkFrameLayer, describeTap, formatFrameLayer, frameDim, frameTaps, inferenceGraph, pretrainModel, type FrameLayer } from './model';
import { buildTrainingGraph } from '../graph/index';

/** Name of the component in a model package. */
export const COMPONENT = 'audio-encoder';
/** The component's full fp16 weights (safetensors), which its fp16 graphs also read their weights from. */
const WEIGHTS_FILE = 'weights.safetensors';
/** Frame buckets of the shipped inference graphs (20 ms frames: 2.56 s to 20.48 s). */
export const INFERENCE_BUCKETS = [128, 256, 512, 1024];
/** OPT takes at most this many audio tokens (pooled frame vectors). */
export const MAX_AUDIO_TOKENS = 64;

/** What the encoder gives for one utterance. */
export interface EncodedAudio {
  /** Frames (20 ms each). */
  length: number;
  dim: number;
  /** Context vectors, row-major [length, dim]. */
  frames: Float32Array;
  /** Codebook entry per group, row-major [length, groups]. */
  codes: Int32Array;
  groups: number;
  entries: number;
}

/** Speech tokens: one id per frame, the groups' entries as one mixed-radix number (group 0 most significant). */
export function speechTokens(e: EncodedAudio): number[] {
  const out: number[] = [];
  for (let t = 0; t < e.length; t++) {
    let id = 0;
    for (let g = 0; g < e.groups; g++) id = id * e.entries + e.codes[t * e.groups + g];
    out.push(id);
  }
  return out;
}

/**
 * Pooled frame vectors for OPT: mean over windows of ceil(length / maxTokens) consecutive frames, so at most
 * maxTokens vectors ([count, dim] row-major).
 */
export function poolFrames(e: EncodedAudio, maxTokens = MAX_AUDIO_TOKENS): { count: number; window: number; vectors: Float32Array } {
  const window = Math.max(1, Math.ceil(e.length / maxTokens));
  const count = Math.ceil(e.length / window);
  const v = new Float32Array(count * e.dim);
  for (let i = 0; i < count; i++) {
    const a = i * window;
    const z = Math.min(e.length, a + window);
    for (let t = a; t < z; t++) for (let d = 0; d < e.dim; d++) v[i * e.dim + d] += e.frames[t * e.dim + d];
    for (let d = 0; d < e.dim; d++) v[i * e.dim + d] /= z - a;
  }
  return { count, window, vectors: v };
}

type Source = (frames: number) => Uint8Array | string;

/** Runs the encoder; one session per bucket, loaded on first use. */
export class AudioEncoder {
  private readonly loaded = new Map<number, Promise<void>>();
  private readonly key: string;
  private static counter = 0;

  /** Width of a frame vector (the model width times the number of context outputs given as frames). */
  readonly frameDim: number;

  private constructor(readonly config: AudioEncoderConfig, private readonly source: Source, readonly buckets: number[], private readonly runtime: Runtime, readonly frameLayer: FrameLayer,
    private readonly threads?: number) {
    this.frameDim = frameDim(config, frameLayer);
    this.key = `audio-encoder-${AudioEncoder.counter++}`;
  }

  /** From weights in memory (training, evaluation before export). */
  static fromParams(cfg: AudioEncoderConfig, params: Readonly<Record<string, Float32Array>>, o: { buckets?: number[]; storage?: 'float32' | 'float16'; runtime?: Runtime; frameLayer?: FrameLayer } = {}): AudioEncoder {
    checkConfig(cfg);
    const layer = checkFrameLayer(cfg, o.frameLayer ?? 'final');
    const src: Source = (f) => toOnnx(inferenceGraph(cfg, f, 1, layer), { params: { kind: 'initializers', values: params, storage: o.storage ?? 'float32' } }).model;
    return new AudioEncoder(cfg, src, o.buckets ?? INFERENCE_BUCKETS, o.runtime ?? new InThreadRuntime(), layer);
  }

  /** From a model package (default: the shipped one); `threads`: onnxruntime intra-op threads per session (default 2). */
  static fromPackage(dir = defaultPackageDir(), o: { runtime?: Runtime; threads?: number } = {}): AudioEncoder {
    const pkg = loadPackage(dir);
    const c = pkg.component(COMPONENT, 'audio-encoder');
    const cfg = c.config.model as AudioEncoderConfig;
    checkConfig(cfg);
    const buckets = (c.config.buckets as number[]).slice().sort((a, b) => a - b);
    const src: Source = (f) => pkg.file(COMPONENT, `model_${f}`);
    // Packages from before frameLayer was recorded gave the final layer.
    const layer = checkFrameLayer(cfg, (c.config.frameLayer as FrameLayer | undefined) ?? 'final');
    return new AudioEncoder(cfg, src, buckets, o.runtime ?? new InThreadRuntime(), layer, o.threads);
  }

  /** True when the package holds an audio encoder. */
  static inPackage(dir = defaultPackageDir()): boolean {
    if (!existsSync(`${dir}/manifest.json`)) return false;
    const m = JSON.parse(readFileSync(`${dir}/manifest.json`, 'utf8')) as { components?: Record<string, unknown> };
    return Boolean(m.components?.[COMPONENT]);
  }

  private ensure(frames: number): Promise<void> {
    let p = this.loaded.get(frames);
    if (!p) {
      p = this.runtime.load(`${this.key}@${frames}`, this.source(frames), this.threads ? { intraOpThreads: this.threads } : {}).then(() => undefined);
      this.loaded.set(frames, p);
      p.catch(() => this.loaded.delete(frames));
    }
    return p;
  }

  /** The fewest samples the encoder accepts (one frame). */
  get minSamples(): number {
    return samplesFor(this.config, 1);
  }

  /** Encodes 16 kHz mono samples (normalised by the front end). */
  async encode(samples: Float32Array): Promise<EncodedAudio> {
    const cfg = this.config;
    const total = framesFor(cfg, samples.length);
    if (total === 0) throw new Error(`audio of ${samples.length} samples is shorter than one frame (${this.minSamples} samples)`);
    const G = cfg.codebookGroups;
    const D = this.frameDim;
    const frames = new Float32Array(total * D);
    const codes = new Int32Array(total * G);
    const maxB = this.buckets[this.buckets.length - 1];
    const hop = hopOf(cfg);
    for (let f0 = 0; f0 < total; f0 += maxB) {
      const chunk = samples.subarray(f0 * hop, f0 * hop + samplesFor(cfg, maxB));
      const n = Math.min(framesFor(cfg, chunk.length), total - f0);
      const bucket = this.buckets.find((b) => b >= n) ?? maxB;
      await this.ensure(bucket);
      const ns = samplesFor(cfg, bucket);
      const audio = new Float32Array(ns);
      audio.set(chunk.subarray(0, Math.min(chunk.length, ns)));
      const padding = new Float32Array(bucket);
      padding.fill(1, 0, n);
      const feeds: Record<string, Tensor> = {
        audio: { dtype: 'float32', dims: [1, ns], data: audio },
        padding: { dtype: 'float32', dims: [1, bucket], data: padding },
      };
      const out = await this.runtime.run(`${this.key}@${bucket}`, feeds);
      frames.set((out.frames.data as Float32Array).subarray(0, n * D), f0 * D);
      const c = out.codes.data as BigInt64Array;
      for (let i = 0; i < n * G; i++) codes[f0 * G + i] = Number(c[i]);
    }
    return { length: total, dim: D, frames, codes, groups: G, entries: cfg.codebookEntries };
  }

  async close(): Promise<void> {
    for (const f of this.loaded.keys()) await this.runtime.unload(`${this.key}@${f}`);
    this.loaded.clear();
  }
}

/**
 * Writes the encoder into a model package: one fp16 (or fp32) inference ONNX per bucket, the config (model
 * shapes + output contract) and the metrics/training records.
 */
export function exportEncoder(dir: string, cfg: AudioEncoderConfig, params: Readonly<Record<string, Float32Array>>, o: {
  storage: 'float32' | 'float16'; metrics?: ComponentEntry['metrics']; training?: ComponentEntry['training']; buckets?: number[];
  /** The context output given as `frames` (default 'final'); recorded in the component config. */
  frameLayer?: FrameLayer;
}): void {
  const buckets = o.buckets ?? INFERENCE_BUCKETS;
  const frameLayer = checkFrameLayer(cfg, o.frameLayer ?? 'final');
  const taps = frameTaps(frameLayer);
  const width = frameDim(cfg, frameLayer);
  const files: Record<string, { name: string; bytes: Uint8Array }> = {};
  // All weights (including the pre-training heads the inference graphs drop), fp16, for evaluation and fine-tuning.
  const raw: Record<string, { dtype: 'F16'; shape: number[]; bytes: Uint8Array }> = {};
  const shapes = paramShapes(cfg);
  for (const [k, v] of Object.entries(params)) {
    const h = new Uint16Array(v.length);
    for (let i = 0; i < v.length; i++) h[i] = toHalf(v[i]);
    raw[k] = { dtype: 'F16', shape: shapes.get(k) ?? [v.length], bytes: new Uint8Array(h.buffer) };
  }
  const weights = encodeSafetensors(raw, { format: 'opt-studio audio-encoder' });
  files.weights = { name: `audio-encoder/${WEIGHTS_FILE}`, bytes: weights };
  // fp16: every bucket's graph reads its weights from that file (ONNX external data), so they are stored once;
  // float32: each graph holds its own.
  const mode: ParamMode = o.storage === 'float16'
    ? { kind: 'referenced', location: WEIGHTS_FILE, tensors: new Map([...safetensorsLayout(weights)].map(([k, t]) => [k, { dtype: 'float16' as const, offset: t.offset, length: t.length }])) }
    : { kind: 'initializers', values: params, storage: o.storage };
  for (const f of buckets) files[`model_${f}`] = { name: `audio-encoder/encoder-${f}.onnx`, bytes: toOnnx(inferenceGraph(cfg, f, 1, frameLayer), { params: mode }).model };
  writeComponent(dir, COMPONENT, {
    kind: 'audio-encoder',
    config: {
      model: cfg, buckets, storage: o.storage, frameLayer, sampleRate: cfg.sampleRate, hopSamples: hopOf(cfg), frameMs: (hopOf(cfg) / cfg.sampleRate) * 1000,
      inputs: { audio: 'f32 [1, samplesFor(bucket)] 16 kHz mono, loudness-normalised (front-end.ts), zero-padded', padding: 'f32 [1, bucket]: 1 for real frames' },
      frameDim: width,
      outputs: { frames: `f32 [1, bucket, ${width}] context vectors (${taps.length === 1 ? describeTap(taps[0]) : `${taps.map(describeTap).join(', ')}: ${cfg.dim} each, concatenated in that order (${formatFrameLayer(frameLayer)})`})`, codes: `i64 [1, bucket, ${cfg.codebookGroups}] codebook entry per group` },
      maxAudioTokens: MAX_AUDIO_TOKENS, pooling: 'mean over windows of ceil(frames / 64) frames',
      speechTokens: `id = sum_g code_g * ${cfg.codebookEntries}^(G-1-g), vocabulary ${cfg.codebookEntries ** cfg.codebookGroups}`,
    },
    metrics: o.metrics ?? {},
    training: o.training ?? {},
  }, files);
}

/** Shapes of every pre-training parameter, by name. */
export function paramShapes(cfg: AudioEncoderConfig): Map<string, number[]> {
  const tg = buildTrainingGraph(pretrainModel(cfg, 1, 8, false), {});
  return new Map(tg.params.map((p) => [p.name, p.shape]));
}

/** The full fp16 weights of a package's encoder, widened to float32, with its config. */
export function loadEncoderWeights(dir = defaultPackageDir()): { config: AudioEncoderConfig; params: Record<string, Float32Array> } {
  const pkg = loadPackage(dir);
  const c = pkg.component(COMPONENT, 'audio-encoder');
  pkg.file(COMPONENT, 'weights'); // the full weights (the ONNX graphs lack the pre-training heads): an error if absent
  const params = Object.fromEntries(Object.entries(componentWeights(pkg, COMPONENT, 'audio-encoder')).map(([k, t]) => [k, t.data]));
  return { config: c.config.model as AudioEncoderConfig, params };
}
