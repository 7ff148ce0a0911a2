// detect-regions: image -> up to K regions (box, class, confidence, top-5 classes, region feature).
// prepare (letterbox) -> run the RPN graph -> proposals (TS) -> run the head graph -> postprocess
// (box decoding, score threshold, NMS, top K). The CLI, the tests, the evaluation and the app all call
// this file, so they get identical regions. The output contract is documented in
// native-models/detector/README.md.
import { readFileSync } from 'node:fs';
import { HEAD_CODE_WEIGHTS, clipBox, decodeBox, nms } from '../detector/boxes';
import { anchorsOf, detectorConfigSchema, shapesOf, type DetectorConfig } from '../detector/config';
import { prepareImageFile, prepareRgba, toImageBox, type Letterbox, type PreparedImage } from '../detector/preprocess';
import { proposals, TEST_PROPOSALS } from '../detector/targets';
import { defaultPackageDir, loadPackage, PackageError } from '../packages/format';
import { Session } from '../runtime/session';
import { tensor } from '../runtime/tensor';

/** Package component name of the shipped detector. */
export const DETECTOR_COMPONENT = 'detector';

/** One class with its probability. */
export interface ClassScore {
  classId: number;
  label: string;
  score: number;
}

/** One detected region: the contract the OPT image encoder and the region inspector consume. */
export interface DetectedRegion {
  /** [x0, y0, x1, y1] normalised to the original image (0..1, origin top-left). */
  box: [number, number, number, number];
  /** Index into the package's class vocabulary (no background). */
  classId: number;
  label: string;
  /** Probability of that class (softmax over background + classes). */
  score: number;
  /** 1 - p(background): how sure the detector is that the box holds an object (regions are ranked by it). */
  objectness: number;
  /** The five most probable classes (the first is classId). */
  top5: ClassScore[];
  /** The box head's region feature (dimension = manifest config.featureDim). */
  feature: Float32Array;
}

export interface DetectOptions {
  /** Most regions returned (default 10). */
  maxRegions?: number;
  /**
   * Smallest objectness (1 - p(background)) kept (default 0.5). Regions are selected and ranked by
   * objectness, not by class probability: with ~850 classes a box can be clearly an object while its
   * probability mass is spread over several similar classes.
   */
  minObjectness?: number;
  /** Smallest probability of the region's class kept (default 0: every object-like box is a region). */
  scoreThreshold?: number;
  /** Class-agnostic NMS IoU (default 0.5): one region per object, as OPT wants. */
  nmsIou?: number;
}

export const DEFAULT_DETECT: Required<DetectOptions> = { maxRegions: 10, minObjectness: 0.5, scoreThreshold: 0, nmsIou: 0.5 };

/** The head's raw outputs for `count` valid proposals (rows beyond count are padding). */
export interface HeadOutputs {
  /** Proposal boxes [P,4] in input pixels. */
  rois: Float32Array;
  count: number;
  /** [P, numClasses + 1], index 0 = background. */
  probs: Float32Array;
  /** [P, 4] head box deltas (torchvision coding, weights 10,10,5,5). */
  deltas: Float32Array;
  /** [P, featureDim]. */
  features: Float32Array;
}

/**
 * Post-processing shared by every caller: per proposal the most probable non-background class,
 * its decoded box clipped to the image area of the letterbox, objectness and score thresholds,
 * class-agnostic NMS by objectness, the top `maxRegions`, boxes normalised to the original image.
 */
export function postprocess(h: HeadOutputs, lb: Letterbox, classes: readonly string[], opts: DetectOptions = {}): DetectedRegion[] {
  const o = { ...DEFAULT_DETECT, ...opts };
  const k = classes.length;
  const ns = k + 1;
  const dim = h.count > 0 ? h.features.length / (h.probs.length / ns) : 0;
  const boxes = new Float32Array(h.count * 4);
  const scores = new Float32Array(h.count);
  const objectness = new Float32Array(h.count);
  const best = new Int32Array(h.count);
  const cand: number[] = [];
  for (let i = 0; i < h.count; i++) {
    let c = 1;
    for (let j = 2; j <= k; j++) if (h.probs[i * ns + j] > h.probs[i * ns + c]) c = j;
    best[i] = c - 1;
    scores[i] = h.probs[i * ns + c];
    objectness[i] = 1 - h.probs[i * ns];
    decodeBox(h.rois, 4 * i, h.deltas, 4 * i, HEAD_CODE_WEIGHTS, boxes, 4 * i);
    // Clip to the image inside the letterbox (not the padding).
    boxes[4 * i] -= lb.padX;
    boxes[4 * i + 2] -= lb.padX;
    boxes[4 * i + 1] -= lb.padY;
    boxes[4 * i + 3] -= lb.padY;
    clipBox(boxes, 4 * i, lb.innerWidth, lb.innerHeight);
    boxes[4 * i] += lb.padX;
    boxes[4 * i + 2] += lb.padX;
    boxes[4 * i + 1] += lb.padY;
    boxes[4 * i + 3] += lb.padY;
    const area = (boxes[4 * i + 2] - boxes[4 * i]) * (boxes[4 * i + 3] - boxes[4 * i + 1]);
    if (objectness[i] >= o.minObjectness && scores[i] >= o.scoreThreshold && area > 0) cand.push(i);
  }
  return nms(boxes, objectness, o.nmsIou, o.maxRegions, cand).map((i) => {
    const row = h.probs.subarray(i * ns + 1, (i + 1) * ns);
    const order = Array.from({ length: k }, (_, j) => j).sort((a, b) => row[b] - row[a] || a - b).slice(0, 5);
    return {
      box: toImageBox(lb, boxes, 4 * i),
      classId: best[i],
      label: classes[best[i]],
      score: scores[i],
      objectness: objectness[i],
      top5: order.map((j) => ({ classId: j, label: classes[j], score: row[j] })),
      feature: h.features.slice(i * dim, (i + 1) * dim),
    };
  });
}

/** What an image can be given as: encoded file bytes, or raw RGBA pixels. */
export type ImageInput = Uint8Array | { rgba: Uint8Array; width: number; height: number };

/**
 * A loaded detector (two ONNX sessions and the class vocabulary). Example:
 * ```ts
 * const det = await RegionDetector.load();                 // the default package
 * const regions = await det.detect(readFileSync('a.png'));  // DetectedRegion[]
 * await det.dispose();
 * ```
 */
export class RegionDetector {
  private readonly anchors: Float32Array;

  private constructor(readonly config: DetectorConfig, readonly classes: readonly string[], private readonly rpn: Session,
    private readonly head: Session) {
    this.anchors = anchorsOf(config);
  }

  /** Region feature dimension. */
  get featureDim(): number {
    return shapesOf(this.config).featureDim;
  }

  /**
   * Loads the detector component of a package (default: the shipped one) and checks that its class
   * vocabulary, config and graphs agree; a mismatch is a PackageError saying which.
   */
  static async load(dir = defaultPackageDir(), o: { component?: string; threads?: number } = {}): Promise<RegionDetector> {
    const name = o.component ?? DETECTOR_COMPONENT;
    const pkg = loadPackage(dir);
    const entry = pkg.component(name, 'detector');
    const parsed = detectorConfigSchema.safeParse(entry.config);
    if (!parsed.success) {
      const i = parsed.error.issues[0];
      throw new PackageError(pkg.dir, `component ${name}: config.${i.path.join('.')}: ${i.message}`);
    }
    const config = parsed.data;
    let classes: unknown;
    try {
      classes = JSON.parse(readFileSync(pkg.file(name, 'classes'), 'utf8'));
    } catch (e) {
      if (e instanceof PackageError) throw e;
      throw new PackageError(pkg.dir, `component ${name}: ${entry.files.classes} is not valid JSON (${(e as Error).message})`);
    }
    if (!Array.isArray(classes) || !classes.every((c) => typeof c === 'string' && c.length > 0)) {
      throw new PackageError(pkg.dir, `component ${name}: ${entry.files.classes} must be a JSON array of class names`);
    }
    if (classes.length !== config.numClasses) {
      throw new PackageError(pkg.dir, `component ${name}: ${entry.files.classes} lists ${classes.length} classes but config.numClasses is ${config.numClasses}`);
    }
    const threads = o.threads ?? 2;
    const rpn = await Session.create(pkg.file(name, 'rpn'), { name: `${name}/rpn`, intraOpThreads: threads, providers: [] });
    const head = await Session.create(pkg.file(name, 'head'), { name: `${name}/head`, intraOpThreads: threads, providers: [] });
    const det = new RegionDetector(config, classes as string[], rpn, head);
    try {
      det.checkGraphs(pkg.dir, name);
    } catch (e) {
      await det.dispose();
      throw e;
    }
    return det;
  }

  private checkGraphs(dir: string, name: string): void {
    const { numScores, featureDim, numAnchors, roiSide } = shapesOf(this.config);
    const dims = (s: Session, io: 'inputs' | 'outputs', n: string) => s[io].find((v) => v.name === n)?.dims.join(',') ?? 'missing';
    const want: [Session, 'inputs' | 'outputs', string, string][] = [
      [this.rpn, 'inputs', 'image', `1,3,${this.config.inputSize},${this.config.inputSize}`],
      [this.rpn, 'outputs', 'objectness', `1,${numAnchors}`],
      [this.rpn, 'outputs', 'features', `1,${this.config.roiChannels},${roiSide},${roiSide}`],
      [this.head, 'inputs', 'rois', `${this.config.proposals},4`],
      [this.head, 'outputs', 'class_probs', `${this.config.proposals},${numScores}`],
      [this.head, 'outputs', 'region_features', `${this.config.proposals},${featureDim}`],
    ];
    for (const [s, io, n, d] of want) {
      const got = dims(s, io, n);
      if (got !== d) {
        const what = n === 'class_probs' ? ` (${this.classes.length} classes + background in the class list)` : '';
        throw new PackageError(dir, `component ${name}: graph ${s === this.rpn ? 'rpn' : 'head'} ${io.slice(0, -1)} '${n}' is [${got}], the config and class list expect [${d}]${what}`);
      }
    }
  }

  /** Letterboxes an image (file bytes or RGBA) to the network input. */
  async prepare(image: ImageInput, file = '<image>'): Promise<PreparedImage> {
    const size = this.config.inputSize;
    return image instanceof Uint8Array ? prepareImageFile(image, size, file) : prepareRgba(image.rgba, image.width, image.height, size);
  }

  /** Runs both stages on a prepared image and returns the head's raw outputs. */
  async runStages(p: PreparedImage): Promise<HeadOutputs> {
    const c = this.config;
    const s = c.inputSize;
    const r = await this.rpn.run({ image: tensor('float32', [1, 3, s, s], p.data) });
    const props = proposals(r.objectness.data as Float32Array, r.rpn_deltas.data as Float32Array, this.anchors, 0, s, { ...TEST_PROPOSALS, postNms: c.proposals });
    const count = props.scores.length;
    const rois = new Float32Array(c.proposals * 4);
    rois.set(props.boxes);
    for (let i = count; i < c.proposals; i++) rois.set([0, 0, s, s], 4 * i); // padding rows, ignored
    const h = await this.head.run({ features: r.features, rois: tensor('float32', [c.proposals, 4], rois), batch_indices: tensor('int64', [c.proposals], new BigInt64Array(c.proposals)) });
    return { rois, count, probs: h.class_probs.data as Float32Array, deltas: h.box_deltas.data as Float32Array, features: h.region_features.data as Float32Array };
  }

  /** Regions of one image. */
  async detect(image: ImageInput, opts: DetectOptions = {}, file = '<image>'): Promise<DetectedRegion[]> {
    const p = await this.prepare(image, file);
    return postprocess(await this.runStages(p), p.letterbox, this.classes, opts);
  }

  async dispose(): Promise<void> {
    await this.rpn.dispose();
    await this.head.dispose();
  }
}
