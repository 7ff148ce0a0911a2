// The studio's "create a small demo dataset" action (first start with an empty library): generates
// EmojiScenes into the dataset service's library, reporting progress. Electron-free, like the other
// services. It needs the emoji catalog (the emoji packages in a development checkout; in the packaged
// app, the catalog folder build/build-demo-assets.ts makes, named by $OPT_DEMO_ASSETS) and, for
// speech, eSpeak (GPL-3), which the packaged app leaves out: there the demo has no spoken captions and
// getDemoAvailability() says speech: false.
//
// Its contract (DemoService, DemoRequest, DemoProgress) lives in electron/common with the other services.

import { DEMO_DEFAULT_SIZE, type DemoAvailability, type DemoDataset, type DemoProgress, type DemoRequest, type DemoService } from '../common';
import { createDemoDataset, demoAvailability, DemoError, type DemoResult } from '../../native-models/data/demo/create';
import { DatasetError } from '../../native-models/data/store';
import { Emitter } from './emitter';
import type { LocalDatasetService } from './dataset-service';

export { DEMO_DEFAULT_SIZE };
export type { DemoProgress, DemoRequest, DemoService } from '../common';

export class LocalDemoService implements DemoService {
  private readonly jobs = new Map<string, AbortController>();
  private readonly progressEmitter = new Emitter<DemoProgress>();
  readonly onDidChangeDemoProgress = this.progressEmitter.event;

  constructor(private readonly datasets: LocalDatasetService) {}

  async getDemoAvailability(): Promise<DemoAvailability> {
    return demoAvailability();
  }

  async createDemoDataset(request: DemoRequest): Promise<DemoDataset> {
    const { jobId } = request;
    const size = request.size ?? DEMO_DEFAULT_SIZE;
    if (typeof jobId !== 'string' || !jobId) throw new DatasetError('INVALID', 'a job needs a jobId');
    if (this.jobs.has(jobId)) throw new DatasetError('EXISTS', `job ${jobId} is already running`);
    if (!Number.isInteger(size) || size < 1 || size > 5000) throw new DatasetError('INVALID', `a demo dataset has 1 to 5000 items, not ${size}`);
    const controller = new AbortController();
    this.jobs.set(jobId, controller);
    let last = 0;
    try {
      const { dataset, result } = await createDemoDataset(this.datasets.library, {
        size, seed: request.seed ?? 1, speech: request.speech ?? 'auto', signal: controller.signal,
        onProgress: (p) => {
          const t = Date.now();
          if (p.done < p.total && t - last < 100) return;
          last = t;
          this.progressEmitter.fire({ jobId, ...p });
        },
      }).catch((e: unknown) => {
        throw e instanceof DemoError ? new DatasetError(controller.signal.aborted ? 'CANCELLED' : 'INVALID', e.message) : e;
      });
      return { ...dataset, digest: result.digest, spoken: hasSpeech(result) };
    } finally {
      this.jobs.delete(jobId);
    }
  }

  async cancelDemo(jobId: string): Promise<void> {
    this.jobs.get(jobId)?.abort();
  }

  dispose(): void {
    for (const c of this.jobs.values()) c.abort();
    this.progressEmitter.dispose();
  }
}

function hasSpeech(r: DemoResult): boolean {
  return r.summary.audioSeconds.total > 0;
}
