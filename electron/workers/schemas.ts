// Argument schemas for every contract method: the service host validates each call against these
// before a service sees it. Typed against the contract, so a changed signature fails to compile here.
import { z } from 'zod';
import { MAX_REGION_LABEL } from '../../native-models/data/store/types';
import { MAX_INFERENCE_FILE_BYTES, type MethodArgs, type ServiceMethods, type ServiceName } from '../common';

const id = z.string().min(1).max(200);
const text = z.string().max(100_000);
const name = z.string().trim().min(1, 'a name is required').max(200);
const unit = z.number().finite().min(0).max(1);
const box = z.tuple([unit, unit, unit, unit]).refine(([x0, y0, x1, y1]) => x0 <= x1 && y0 <= y1, 'box must be [x0, y0, x1, y1] with x0 <= x1 and y0 <= y1');
const format = z.enum(['folder', 'coco', 'localized-narratives', 'imagefolder']);
const hostPath = z.string().min(1).max(4096);
const split = z.string().min(1).max(64);
const captionSource = z.enum(['user', 'import', 'generated', 'transcript']);
const regionSource = z.enum(['user', 'import', 'generated', 'detector']);
const regionInput = z.object({ box, label: z.string().max(MAX_REGION_LABEL), score: z.number().finite().optional(), source: regionSource.optional() });
const regionList = z.array(regionInput).min(1, 'no regions given').max(1000);
/** At most 100,000 items and 1,000,000 regions in one call (one undo step). */
const regionsForItems = z.array(z.object({ itemId: id, regions: regionList })).min(1, 'no items given').max(100_000)
  .refine((entries) => entries.reduce((n, e) => n + e.regions.length, 0) <= 1_000_000, 'at most 1,000,000 regions in one call');
/** An encoded file for the inference service (`what`: 'image', 'recording'). */
const fileBytes = (what: string) => z.instanceof(Uint8Array).refine((a) => a.length > 0, `the ${what} is empty`)
  .refine((a) => a.length <= MAX_INFERENCE_FILE_BYTES, `the ${what} is over ${MAX_INFERENCE_FILE_BYTES / 1024 / 1024} MiB`);
const imageBytes = fileBytes('image');
const tracePoint = z.object({ x: z.number().finite(), y: z.number().finite(), t: z.number().finite().min(0) });

const query = z.object({
  text: z.string().max(1000).optional(),
  split: split.optional(),
  hasSpoken: z.boolean().optional(),
  hasRegions: z.boolean().optional(),
  offset: z.number().int().min(0),
  limit: z.number().int().min(1).max(2000),
});

const recording = z.object({
  pcm: z.instanceof(Float32Array).refine((a) => a.length > 0, 'the recording is empty'),
  sampleRate: z.number().int().min(8000).max(192_000),
  original: z.instanceof(Uint8Array).optional(),
  originalMime: z.string().max(200).optional(),
  trace: z.array(z.array(tracePoint).max(1_000_000)).max(10_000),
  replaces: id.optional(),
});

type ArgSchemas = { [S in ServiceName]: { [M in ServiceMethods<S>]: z.ZodType<MethodArgs<S, M>> } };

/** One tuple schema per method of every service. */
export const ARG_SCHEMAS: ArgSchemas = {
  dataset: {
    listDatasets: z.tuple([]),
    createDataset: z.tuple([name]),
    renameDataset: z.tuple([id, name]),
    deleteDataset: z.tuple([id]),
    importDataset: z.tuple([z.object({ jobId: id, datasetId: id, format, path: hostPath, split: split.optional() })]),
    exportDataset: z.tuple([z.object({ jobId: id, datasetId: id, format, path: hostPath })]),
    detectDatasetRegions: z.tuple([z.object({ jobId: id, datasetId: id })]),
    cancelJob: z.tuple([id]),
    listJobs: z.tuple([]),
    queryItems: z.tuple([id, query]),
    getItem: z.tuple([id, id]),
    updateItem: z.tuple([id, id, z.object({ split: split.optional() })]),
    deleteItem: z.tuple([id, id]),
    addCaption: z.tuple([id, id, text]),
    updateCaption: z.tuple([id, id, id, z.object({ text: text.optional(), source: captionSource.optional() })]),
    deleteCaption: z.tuple([id, id, id]),
    acceptCaptions: z.tuple([id, id]),
    undo: z.tuple([id]),
    redo: z.tuple([id]),
    getHistory: z.tuple([id]),
    addSpokenCaption: z.tuple([id, id, recording]),
    deleteSpokenCaption: z.tuple([id, id, id]),
    addRegion: z.tuple([id, id, regionInput]),
    addRegions: z.tuple([id, id, regionList]),
    addRegionsToItems: z.union([z.tuple([id, regionsForItems]), z.tuple([id, regionsForItems, name])]),
    updateRegion: z.tuple([id, id, id, z.object({ box: box.optional(), label: z.string().max(MAX_REGION_LABEL).optional() })]),
    deleteRegion: z.tuple([id, id, id]),
  },
  demo: {
    getDemoAvailability: z.tuple([]),
    createDemoDataset: z.tuple([z.object({
      jobId: id,
      size: z.number().int().min(1, 'a demo dataset has 1 to 5000 items').max(5000, 'a demo dataset has 1 to 5000 items').optional(),
      seed: z.number().int().min(0).max(0xffffffff).optional(),
      speech: z.boolean().optional(),
    })]),
    cancelDemo: z.tuple([id]),
  },
  inference: {
    getModelInfo: z.tuple([]),
    detectRegions: z.tuple([imageBytes, z.object({ maxRegions: z.number().int().min(1).max(100).optional(), minObjectness: unit.optional(), exclude: z.array(box).max(10_000).optional() })]),
    tokenizeImage: z.tuple([imageBytes]),
    encodeSpeech: z.tuple([fileBytes('recording')]),
  },
  host: {
    getAppInfo: z.tuple([]),
    pickPath: z.tuple([z.object({
      kind: z.enum(['folder', 'file', 'save-folder']),
      title: z.string().max(200).optional(),
      extensions: z.array(z.string().regex(/^[a-z0-9]{1,10}$/i)).max(20).optional(),
    })]),
  },
};
