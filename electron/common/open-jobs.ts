// The jobs a dataset service has announced and not ended, as its host sees them in the progress events. When the
// service's process (Electron) or thread (web mode) dies, those jobs never announce their end: the host ends them
// as failed itself, so a page following one does not show it running forever. Plain TypeScript, shared by both hosts.
import type { JobProgress } from './dto';

export class OpenJobs {
  private readonly open = new Map<string, JobProgress>();

  /** Give it every progress event of the service. */
  readonly track = (p: JobProgress): void => {
    if (p.ended) this.open.delete(p.jobId);
    else this.open.set(p.jobId, p);
  };

  /** The last events, ended as failed with `message`, of the jobs still open; forgets them. */
  failAll(message: string): JobProgress[] {
    const ends = [...this.open.values()].map((p): JobProgress => ({ ...p, ended: 'failed', message }));
    this.open.clear();
    return ends;
  }
}
