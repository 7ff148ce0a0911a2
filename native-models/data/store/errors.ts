// One error type for everything the dataset layer refuses, with a stable code the service and
// UI can branch on and a message that names the file (and line) at fault.

export type DatasetErrorCode =
  | 'NOT_FOUND' // dataset, item, caption, region or blob id that does not exist
  | 'DATASET_MISSING' // the dataset folder disappeared while open
  | 'DISK_FULL' // ENOSPC / SQLITE_FULL: nothing was half-written
  | 'INVALID' // bad argument (box out of range, empty name...)
  | 'BAD_MEDIA' // corrupt, truncated, empty or unsupported image/audio
  | 'TOO_LARGE' // image over the pixel limit
  | 'BAD_FORMAT' // malformed import file
  | 'CANCELLED'
  | 'EXISTS'
  | 'BUSY' // the dataset is in use by a job that the call would interfere with (undo during an import)
  | 'UNAVAILABLE' // something the call needs is not connected to this host (the region detector)
  | 'IO';

/** An expected failure with a code; `file`/`line` name the input at fault when there is one. */
export class DatasetError extends Error {
  readonly code: DatasetErrorCode;
  readonly file?: string;
  readonly line?: number;
  constructor(code: DatasetErrorCode, message: string, opts: { file?: string; line?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'DatasetError';
    this.code = code;
    this.file = opts.file;
    this.line = opts.line;
  }
}

/** True for the errors a full disk raises, from node:fs (ENOSPC, EDQUOT) or SQLite (SQLITE_FULL). */
export function isDiskFull(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL';
}

/** Maps low-level failures to DatasetError so callers see one kind of error with a clear message. */
export function toDatasetError(e: unknown, context: string): DatasetError {
  if (e instanceof DatasetError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  if (isDiskFull(e)) return new DatasetError('DISK_FULL', `${context}: the disk is full (${msg}); nothing was written`, { cause: e });
  const code = (e as { code?: unknown } | null)?.code;
  if (code === 'ENOENT') return new DatasetError('DATASET_MISSING', `${context}: ${msg}`, { cause: e });
  return new DatasetError('IO', `${context}: ${msg}`, { cause: e });
}
