// A dataset file (an image, a recording) as bytes: what the inference service takes. Stores call it (only they talk
// to the bridge); the host serves blobs by URL in both modes.
import { useBridge } from '../bridge';

/** `what` names the file in the error ("the item's image"). */
export async function blobBytes(datasetId: string, sha: string, what: string): Promise<Uint8Array> {
  const res = await fetch(useBridge().blobUrl(datasetId, sha));
  if (!res.ok) throw new Error(`Could not read ${what} (${res.status} ${res.statusText}).`);
  return new Uint8Array(await res.arrayBuffer());
}
