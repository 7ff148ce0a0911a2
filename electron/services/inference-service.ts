// The studio's inference: runs the model package's components (so far the region detector) on data the renderer
// sends and answers plain data. Electron-free; hosted in a process or thread of its own (electron/workers/
// inference-process.ts, electron/web/service-thread.ts), since onnxruntime's run() blocks the thread it runs on.
import { loadPackage, defaultPackageDir } from '../../native-models/packages/format';
import { DEFAULT_DETECT, RegionDetector, type DetectedRegion } from '../../native-models/tasks/detect-regions';
import type { DetectRegionsOptions, DetectRegionsResult, InferenceService, ModelInfo, RegionProposal } from '../common';

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

/**
 * Loads each component on first use and keeps it; runs one request at a time (a second waits for the first),
 * so two windows asking at once never run two sessions on the same cores.
 */
export class LocalInferenceService implements InferenceService {
  readonly packageDir: string;
  private readonly threads: number;
  private detector: Promise<RegionDetector> | undefined;
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

  async detectRegions(image: Uint8Array, options: DetectRegionsOptions = {}): Promise<DetectRegionsResult> {
    const detector = await this.loadDetector();
    return this.serially(async () => {
      const t0 = performance.now();
      let regions: DetectedRegion[];
      try {
        regions = await detector.detect(image, {
          maxRegions: options.maxRegions ?? DEFAULT_DETECT.maxRegions,
          minObjectness: options.minObjectness ?? DEFAULT_DETECT.minObjectness,
        }, 'the image');
      } catch (e) {
        // An undecodable image is the usual failure: say so with the decoder's reason (not the file-name prefix).
        const { code, cause } = e as { code?: string; cause?: Error };
        throw new Error(code === 'BAD_MEDIA' && cause ? `The detector could not read the image: ${cause.message}` : `Region detection failed: ${(e as Error).message}`);
      }
      return { proposals: regions.map(toProposal), ms: performance.now() - t0 };
    });
  }

  /** Releases the loaded sessions (the host calls this on exit). */
  async dispose(): Promise<void> {
    this.disposed = true;
    const det = this.detector;
    this.detector = undefined;
    await this.queue.catch(() => undefined);
    if (det) await det.then((d) => d.dispose(), () => undefined);
  }

  private loadDetector(): Promise<RegionDetector> {
    if (this.disposed) return Promise.reject(new Error('The inference service has stopped.'));
    // A failed load is not kept: the next request tries again (the user may have fixed the package).
    this.detector ??= RegionDetector.load(this.packageDir, { threads: this.threads }).catch((e: unknown) => {
      this.detector = undefined;
      throw new ModelUnavailableError(`Region detection is unavailable: ${(e as Error).message}`);
    });
    return this.detector;
  }

  private serially<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
