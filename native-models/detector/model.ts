// The Faster R-CNN as engine graphs. One set of parameter names, three graphs:
//   rpn graph   image -> fused stride-8 features, objectness (sigmoid) and RPN box deltas per anchor
//   head graph  features + proposals -> RoIAlign (ONNX op) -> FC, FC -> class probabilities, box deltas,
//               region features (the second FC's output)
//   training    image + targets -> both stages end to end: RPN losses, RoIAlign as a gather plan
//               (./roi-align), head losses; one AdamW step (graph/optim)
// Proposal selection between the stages happens in TypeScript (./targets, tasks/detect-regions).
import { GraphBuilder, buildTrainingGraph, nn, type TrainingGraph, type Value } from '../graph/index';
import { shapesOf, ROI_STRIDE, type DetectorConfig } from './config';
import { rowsPerRoi } from './roi-align';

/** Pixel normalisation applied in TS before the graph: (v/255 - MEAN) / STD per channel. */
export const PIXEL_MEAN = [0.5, 0.5, 0.5] as const;
export const PIXEL_STD = [0.25, 0.25, 0.25] as const;
/** Smooth-L1 transition point (torchvision's 1/9). */
const BETA = 1 / 9;

function conv(b: GraphBuilder, x: Value, name: string, out: number, k: number, stride = 1, o: { relu?: boolean; gain?: number } = {}): Value {
  const cin = x.shape[1];
  const y = b.scope(name, () => {
    const w = b.param('weight', [out, cin, k, k], { init: { kind: 'normal', std: (o.gain ?? Math.SQRT2) / Math.sqrt(cin * k * k) } });
    const bias = b.param('bias', [out], { init: { kind: 'zeros' } });
    const p = k === stride ? 0 : (k - 1) >> 1;
    return b.conv(x, w, bias, { strides: [stride, stride], pads: [p, p, p, p] });
  });
  return o.relu === false ? y : b.relu(y);
}

/** A basic residual block; the second conv starts small so the block starts near identity. */
function resBlock(b: GraphBuilder, x: Value, name: string): Value {
  const c = x.shape[1];
  return b.scope(name, () => {
    const h = conv(b, x, 'conv1', c, 3);
    const y = conv(b, h, 'conv2', c, 3, 1, { relu: false, gain: 0.2 });
    return b.relu(b.add(x, y));
  });
}

/** Backbone + top-down merge: the stride-8 map for RoIAlign and the stride-16 map for the RPN. */
export function backbone(b: GraphBuilder, image: Value, c: DetectorConfig): { roiMap: Value; rpnMap: Value } {
  return b.scope('backbone', () => {
    let x = conv(b, image, 'stem', c.widths[0], 4, 4); // stride 4
    x = conv(b, x, 'stem2', c.widths[0], 3);
    x = conv(b, x, 'down1', c.widths[1], 3, 2); // stride 8
    for (let i = 0; i < c.blocks[0]; i++) x = resBlock(b, x, `s8.${i}`);
    const c3 = x;
    x = conv(b, x, 'down2', c.widths[2], 3, 2); // stride 16
    for (let i = 0; i < c.blocks[1]; i++) x = resBlock(b, x, `s16.${i}`);
    const c4 = x;
    const lat3 = conv(b, c3, 'lat8', c.roiChannels, 1, 1, { relu: false });
    const lat4 = conv(b, c4, 'lat16', c.roiChannels, 1, 1, { relu: false });
    const roiMap = b.relu(b.add(lat3, b.upsample(lat4, [2, 2])));
    return { roiMap, rpnMap: c4 };
  });
}

/** RPN head: objectness logits [B, N] and deltas [B, N, 4], anchors in (y, x, anchor) order. */
export function rpnHead(b: GraphBuilder, map: Value, c: DetectorConfig): { logits: Value; deltas: Value } {
  const { anchorsPerCell: a } = shapesOf(c);
  const [bs, , h, w] = map.shape;
  return b.scope('rpn', () => {
    const t = conv(b, map, 'conv', c.rpnChannels, 3);
    const obj = conv(b, t, 'cls', a, 1, 1, { relu: false, gain: 0.1 });
    const del = conv(b, t, 'box', 4 * a, 1, 1, { relu: false, gain: 0.1 });
    const logits = b.reshape(b.transpose(obj, [0, 2, 3, 1]), [bs, h * w * a]);
    const deltas = b.reshape(b.transpose(b.reshape(del, [bs, a, 4, h, w]), [0, 3, 4, 1, 2]), [bs, h * w * a, 4]);
    return { logits, deltas };
  });
}

/** Box head on pooled RoI features [R, C*P*P]: class logits, box deltas, region features. */
export function boxHead(b: GraphBuilder, pooled: Value, c: DetectorConfig): { logits: Value; deltas: Value; features: Value } {
  const { numScores } = shapesOf(c);
  return b.scope('head', () => {
    const h = b.relu(nn.linear(b, pooled, 'fc1', c.fc[0], { std: Math.SQRT2 / Math.sqrt(pooled.shape[1]) }));
    const features = b.relu(nn.linear(b, h, 'fc2', c.fc[1], { std: Math.SQRT2 / Math.sqrt(c.fc[0]) }));
    const logits = nn.linear(b, features, 'cls', numScores, { std: 0.01 });
    const deltas = nn.linear(b, features, 'box', 4, { std: 0.001 });
    return { logits, deltas, features };
  });
}

/** Normalised image input of batch `batch`. */
function imageInput(b: GraphBuilder, c: DetectorConfig, batch: number): Value {
  return b.input('image', 'float32', [batch, 3, c.inputSize, c.inputSize]);
}

/** Inference stage 1 (also run during training, on the resident weights, to propose RoIs). */
export function rpnGraph(c: DetectorConfig, batch = 1) {
  const b = new GraphBuilder();
  const { roiMap, rpnMap } = backbone(b, imageInput(b, c, batch), c);
  const { logits, deltas } = rpnHead(b, rpnMap, c);
  b.output('features', roiMap);
  b.output('objectness', b.sigmoid(logits));
  b.output('rpn_deltas', deltas);
  return b.build();
}

/** Inference stage 2 for `rois` proposals of one image (rois in input pixels). */
export function headGraph(c: DetectorConfig, rois = c.proposals) {
  const b = new GraphBuilder();
  const { roiSide } = shapesOf(c);
  const features = b.input('features', 'float32', [1, c.roiChannels, roiSide, roiSide]);
  const boxes = b.input('rois', 'float32', [rois, 4]);
  const bi = b.input('batch_indices', 'int64', [rois]);
  const pooled = b.roiAlign(features, boxes, bi, {
    outputHeight: c.pooled, outputWidth: c.pooled, samplingRatio: c.samplingRatio, spatialScale: 1 / ROI_STRIDE, mode: 'avg',
  });
  const head = boxHead(b, b.reshape(pooled, [rois, -1]), c);
  b.output('class_probs', c.prototypes ? prototypeProbs(b, head.logits, head.features, c) : b.softmax(head.logits, -1));
  b.output('box_deltas', head.deltas);
  b.output('region_features', head.features);
  return b.build();
}

/**
 * Imprinted-prototype classifier (Qi et al. 2018, "Low-shot learning with imprinted weights"): p(background)
 * from the trained softmax, the class distribution given an object from cosine similarity of the region
 * feature to each class's mean training feature (`head.proto.weight` [D, K], unit columns, set by
 * ./imprint.ts), sharpened by config.protoTemperature:
 * class_probs = [p_bg, (1 - p_bg) * softmax(t * cos(f, proto))].
 */
function prototypeProbs(b: GraphBuilder, logits: Value, features: Value, c: DetectorConfig): Value {
  const d = features.shape[1];
  const proto = b.param('head.proto.weight', [d, c.numClasses], { init: { kind: 'zeros' }, trainable: false });
  const pBg = b.slice(b.softmax(logits, -1), [1], [0], [1]); // [R,1]
  const cos = b.matmul(nn.l2Normalize(b, features), proto); // [R,K]
  const q = b.softmax(b.mul(cos, c.protoTemperature), -1);
  return b.concat([pBg, b.mul(b.sub(1, pBg), q)], 1);
}

/** 0.5*min(|d|,beta)^2/beta + (|d| - min(|d|,beta)): smooth L1 written with differentiable Min/Abs. */
function smoothL1(b: GraphBuilder, d: Value, beta = BETA): Value {
  const a = b.abs(d);
  const m = b.min(a, beta);
  return b.add(b.mul(b.mul(m, m), 0.5 / beta), b.sub(a, m));
}

/** Names and shapes of the training graph's batch inputs for batch size `batch`. */
export function trainingInputs(c: DetectorConfig, batch: number) {
  const { numAnchors } = shapesOf(c);
  const r = batch * c.roiBatch;
  const rows = r * rowsPerRoi({ height: 0, width: 0, pooled: c.pooled, samplingRatio: c.samplingRatio, spatialScale: 0 });
  return { numAnchors, rois: r, rows };
}

/**
 * The end-to-end training graph (forward, losses, gradients, AdamW) for `batch` images.
 * Batch inputs: image [B,3,S,S]; rpn_label, rpn_weight, rpn_box_weight [B,N]; rpn_box [B,N,4];
 * roi_index i64 [rows], roi_weight [rows,1] (the RoIAlign gather plan); roi_label i64 [R];
 * roi_box [R,4]; roi_box_weight [R].
 */
export function trainingGraph(c: DetectorConfig, batch: number, opts: { weightDecay?: number; clipNorm?: number } = {}): TrainingGraph {
  const { numAnchors, rois, rows } = trainingInputs(c, batch);
  const { roiSide } = shapesOf(c);
  return buildTrainingGraph((b) => {
    const image = imageInput(b, c, batch);
    const rpnLabel = b.input('rpn_label', 'float32', [batch, numAnchors]);
    const rpnWeight = b.input('rpn_weight', 'float32', [batch, numAnchors]);
    const rpnBox = b.input('rpn_box', 'float32', [batch, numAnchors, 4]);
    const rpnBoxWeight = b.input('rpn_box_weight', 'float32', [batch, numAnchors]);
    const roiIndex = b.input('roi_index', 'int64', [rows]);
    const roiWeight = b.input('roi_weight', 'float32', [rows, 1]);
    const roiLabel = b.input('roi_label', 'int64', [rois]);
    const roiBox = b.input('roi_box', 'float32', [rois, 4]);
    const roiBoxWeight = b.input('roi_box_weight', 'float32', [rois]);

    const { roiMap, rpnMap } = backbone(b, image, c);
    const rpn = rpnHead(b, rpnMap, c);
    // RPN: BCE over the sampled anchors, smooth L1 over the positive ones, both per sampled anchor.
    const x = rpn.logits;
    const bce = b.add(b.sub(b.relu(x), b.mul(x, rpnLabel)), b.log(b.add(b.exp(b.neg(b.abs(x))), 1)));
    const nSampled = b.max(b.reduceSum(rpnWeight), 1);
    const rpnCls = b.div(b.reduceSum(b.mul(bce, rpnWeight)), nSampled);
    const rpnReg = b.div(b.reduceSum(b.mul(b.reduceSum(smoothL1(b, b.sub(rpn.deltas, rpnBox)), [2]), rpnBoxWeight)), nSampled);

    // RoIAlign as gather + weighted sum, then the box head.
    const flat = b.reshape(b.transpose(roiMap, [0, 2, 3, 1]), [batch * roiSide * roiSide, c.roiChannels]);
    const samples = b.mul(b.gather(flat, roiIndex, 0), roiWeight); // [rows, C]
    const bins = c.pooled * c.pooled;
    const pooled = b.reduceSum(b.reshape(samples, [rois, bins, rows / (rois * bins), c.roiChannels]), [2]); // [R, P*P, C]
    const head = boxHead(b, b.reshape(b.transpose(pooled, [0, 2, 1]), [rois, c.roiChannels * bins]), c);
    const headCls = nn.crossEntropy(b, head.logits, roiLabel);
    const headReg = b.div(b.reduceSum(b.mul(b.reduceSum(smoothL1(b, b.sub(head.deltas, roiBox)), [1]), roiBoxWeight)), rois);

    const fg = b.cast(b.greater(roiLabel, b.scalar(0, 'int64')), 'float32');
    const hit = b.cast(b.equal(b.argmax(head.logits, -1), roiLabel), 'float32');
    const fgAcc = b.div(b.reduceSum(b.mul(hit, fg)), b.max(b.reduceSum(fg), 1));
    return {
      loss: b.add(b.add(rpnCls, rpnReg), b.add(headCls, headReg)),
      metrics: { rpn_cls: rpnCls, rpn_box: rpnReg, head_cls: headCls, head_box: headReg, fg_acc: fgAcc },
    };
  }, { weightDecay: opts.weightDecay ?? 1e-4, clipNorm: opts.clipNorm ?? 10 });
}
