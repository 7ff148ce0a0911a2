// The renderer's one door to the host. Stores (and only stores) use it.
import type { DatasetService, DemoService, HostMode, HostService, InferenceService } from '../../../electron/common';

/** A file chosen in the browser, with its path inside the chosen folder. */
export interface UploadFile {
  file: Blob;
  relativePath: string;
}

export interface UploadProgress {
  doneBytes: number;
  totalBytes: number;
  file: string;
}

export interface Bridge {
  readonly mode: HostMode;
  readonly dataset: DatasetService;
  readonly demo: DemoService;
  readonly inference: InferenceService;
  readonly host: HostService;
  /** URL the renderer can put in <img>/<audio> for a blob of a dataset. */
  blobUrl(datasetId: string, sha: string): string;
  /** Web mode only: copies files to a host folder (kept relative paths); resolves with that folder. */
  upload?(files: UploadFile[], onProgress?: (p: UploadProgress) => void): Promise<string>;
  /** Web mode only: URL of a finished export's folder as a ZIP download (the export ran on the server). */
  exportDownloadUrl?(jobId: string): string;
  /** Web mode only: drops an upload folder once imported. */
  discardUpload?(folder: string): Promise<void>;
  /** Fires when the connection to the host is lost. */
  onDidDisconnect(listener: () => void): { dispose(): void };
}
