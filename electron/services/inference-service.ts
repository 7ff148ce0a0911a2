// The studio's inference: runs the model package's components (region detector, image tokenizer, audio encoder) on data
// the renderer sends and answers plain data. Electron-free; hosted in a process or thread of its own
// (electron/workers/inference-process.ts, electron/web/service-thread.ts), since onnxruntime's run() blocks the
// thread it runs on.
import { AudioEncoder } from '../../native-models/audio/encoder';
import { AudioInputError } from '../../native-models/audio/front-end';
import { encodePng } from '../../native-models/data/demo/raster';
import { Dvae } from '../../native-models/dvae/codec';
import { iou } from '../../native-models/detector/boxes';
import { psnr } from '../../native-models/dvae/metrics';
import { loadPackage, defaultPackageDir } from '../../native-models/packages/format';
import { decodeImageCodes } from '../../native-models/tasks/decode-image-codes';
import { DEFAULT_DETECT, RegionDetector, type DetectedRegion } from '../../native-models/tasks/detect-regions';
import { encodeAudioFile } from '../../native-models/tasks/encode-audio';
import { tokenizeImage } from '../../native-models/tasks/tokenize-image';
import { SAME_REGION_IOU, UNREADABLE_INPUT_ERROR, type DetectRegionsOptions, type DetectRegionsResult, type ImageTokens, type InferenceService, type ModelInfo, type RegionProposal, type SpeechTokens } from '../common';

export interface InferenceServiceOptions {
  /** The model package (default: $OPT_MODEL_PACKAGE, else the one shipped in native-models/packages/default). */
  packageDir?: string;
  /** onnxruntime intra-op threads per session (default 2). */
  threads?: number;
}

/** Raised when the package has no working component for a request; the message says what is missing. */
export class ModelUnavailableError extends Error {
  override name = 'ModelUnavailableError';
}

/** The package's detector output as the contract's proposal (the region feature stays in this process). */
export function toProposal(r: DetectedRegion): RegionProposal {
  return {
    box: r.box,
    label: r.label,
    score: r.score,
    objectness: r.objectness,
    alternatives: r.top5.slice(1).map((c) => ({ label: c.label, score: c.score })),
  };
}

/** A loaded component and how to release its sessions. */
interface Loaded {
  value: unknown;
  release(): Promise<void>;
}

/**
 * Loads each component on first use and keeps it; runs one request at a time, loading included (a second waits for
 * the first), so two windows asking at once never run two sessions on the same cores.
 */
export class LocalInferenceService implements InferenceService {
  readonly packageDir: string;
  private readonly threads: number;
  private readonly loaded = new Map<string, Promise<Loaded>>();
  private queue: Promise<unknown> = Promise.resolve();
  private disposed = false;

  constructor(options: InferenceServiceOptions = {}) {
    this.packageDir = options.packageDir ?? (process.env.OPT_MODEL_PACKAGE || defaultPackageDir());
    this.threads = options.threads ?? 2;
  }

  async getModelInfo(): Promise<ModelInfo> {
    try {
      const { manifest } = loadPackage(this.packageDir);
      const components = Object.entries(manifest.components).map(([name, c]) => ({ name, kind: c.kind, metrics: c.metrics }));
      return { packageDir: this.packageDir, name: manifest.name, version: manifest.version, components };
    } catch (e) {
      return { packageDir: this.packageDir, components: [], error: (e as Error).message };
    }
  }

  detectRegions(image: Uint8Array, options: DetectRegionsOptions = {}): Promise<DetectRegionsResult> {
    return this.serially(async () => {
      const detector = await this.component('detector', 'Region detection', () => RegionDetector.load(this.packageDir, { threads: this.threads }), (d) => d.dispose());
      const t0 = performance.now();
      const regions = await readingInput('Region detection', () => detector.detect(image, {
        maxRegions: options.maxRegions ?? DEFAULT_DETECT.maxRegions,
        minObjectness: options.minObjectness ?? DEFAULT_DETECT.minObjectness,
      }, 'the image'));
      const exclude = options.exclude ?? [];
      const fresh = regions.filter((r) => !exclude.some((b) => iou(r.box, 0, b, 0) >= SAME_REGION_IOU));
      return { proposals: fresh.map(toProposal), excluded: regions.length - fresh.length, ms: performance.now() - t0 };
    });
  }

  tokenizeImage(image: Uint8Array): Promise<ImageTokens> {
    return this.serially(async () => {
      const dvae = await this.component('dvae', 'Image tokenization', () => Dvae.load(this.packageDir, { intraOpThreads: this.threads }), (d) => d.dispose());
      const t0 = performance.now();
      const tokens = await readingInput('Image tokenization', () => tokenizeImage(dvae, image, 'the image'));
      const decoded = await decodeImageCodes(dvae, tokens.codes);
      const unit = (rgb: Uint8Array) => Float32Array.from(rgb, (v) => v / 255);
      return {
        grid: tokens.grid,
        codebookSize: tokens.codebookSize,
        codes: tokens.codes.flat(),
        size: decoded.width,
        input: encodePng(tokens.pixels, decoded.width, decoded.height),
        reconstruction: decoded.png,
        psnr: psnr(unit(tokens.pixels), unit(decoded.rgb)),
        ms: performance.now() - t0,
      };
    });
  }

  encodeSpeech(audio: Uint8Array): Promise<SpeechTokens> {
    return this.serially(async () => {
      const encoder = await this.component('audio-encoder', 'Speech encoding', async () => AudioEncoder.fromPackage(this.packageDir, { threads: this.threads }), (e) => e.close());
      const t0 = performance.now();
      const t = await readingInput('Speech encoding', () => encodeAudioFile(encoder, audio, { file: 'the recording' }));
      return {
        frameRate: t.frameRate, tokens: t.tokens, vocab: t.vocab, durationS: t.durationS, pooled: t.pooled.count, window: t.pooled.window,
        silent: t.silent, clipped: t.clipped, gainDb: t.gainDb, ms: performance.now() - t0,
      };
    });
  }

  /** Releases the loaded sessions after the requests already queued; later requests are refused. */
  dispose(): Promise<void> {
    this.disposed = true;
    return this.serially(async () => {
      const loaded = [...this.loaded.values()];
      this.loaded.clear();
      await Promise.all(loaded.map((p) => p.then((c) => c.release(), () => undefined)));
    }, true);
  }

  /**
   * A component, loaded on first use (`release` frees it on dispose). A failed load is not kept: the next request
   * tries again (the package may have been fixed).
   */
  private async component<T>(name: string, feature: string, load: () => Promise<T>, release: (value: T) => Promise<void>): Promise<T> {
    let p = this.loaded.get(name);
    if (!p) {
      p = load().then((value) => ({ value, release: () => release(value) }), (e: unknown) => {
        this.loaded.delete(name);
        throw new ModelUnavailableError(`${feature} is unavailable: ${(e as Error).message}`);
      });
      this.loaded.set(name, p);
    }
    return (await p).value as T;
  }

  /**
   * Runs `fn` after every request queued before it (loads included: a component is never loaded or used while it is
   * released). Once dispose() has queued the release, further requests are refused.
   */
  private serially<T>(fn: () => Promise<T>, releasing = false): Promise<T> {
    if (this.disposed && !releasing) return Promise.reject(new Error('The inference service has stopped.'));
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/**
 * Runs a task on an input file; an undecodable image or unusable recording (the usual failures) is said so with the
 * reason, anything else as the feature failing.
 */
async function readingInput<T>(feature: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const { code, cause } = e as { code?: string; cause?: Error };
    if (code === 'BAD_MEDIA' && cause) throw unreadable(`The image could not be read: ${cause.message}`);
    if (e instanceof AudioInputError) throw unreadable(`The recording could not be used: ${e.message.replace(`${e.file}: `, '')}`);
    throw new Error(`${feature} failed: ${(e as Error).message}`);
  }
}

/** An input's fault, named so (UNREADABLE_INPUT_ERROR) across the wire. */
function unreadable(message: string): Error {
  const e = new Error(message);
  e.name = UNREADABLE_INPUT_ERROR;
  return e;
}
