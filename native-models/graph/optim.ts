// Optimizers in the graph: ONE ONNX graph computes forward, loss, gradients (./autodiff) and the AdamW update,
// so a plain InferenceSession trains. Naming convention (the trainer relies on it):
//
//   inputs   <batch names as the model declared them>    e.g. tokens, targets
//            param:<name>      every param (frozen ones too)
//            adam_m:<name>     first moment, per trainable param (zeros at step 1)
//            adam_v:<name>     second moment, per trainable param (zeros at step 1)
//            lr                f32[]  learning rate of this step (schedules are computed outside)
//            step              f32[]  1-based number of this update (bias correction)
//            seed              i64[]  only when the model uses dropout / Gumbel noise
//   outputs  loss              f32[]
//            metric:<name>     whatever the model returns in `metrics`
//            grad_norm         f32[]  global L2 norm of the gradients before clipping
//            new_param:<name>, new_adam_m:<name>, new_adam_v:<name>  per trainable param
//
// Gradient accumulation over micro-batches uses two graphs: mode 'accumulate' (inputs grad_acc:<name>, outputs
// new_grad_acc:<name> = grad_acc + grad, plus loss/metrics; no update) and mode 'apply' (inputs params, state,
// grad_acc:<name>, lr, step and grad_scale f32[] — usually 1/micro-batches; outputs as 'step' minus loss/metrics).
import { grad } from './autodiff';
import { GraphBuilder } from './builder';
import { cse, numel, prune } from './ir';
import type { Graph, Param, Value } from './ir';

/** What a model function returns: a scalar loss and optional scalar metrics. */
export interface ModelOutputs { loss: Value; metrics?: Record<string, Value> }
/** A model declares its batch inputs and params on the builder and returns its loss. */
export type ModelFn = (b: GraphBuilder) => ModelOutputs;

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Decoupled weight decay (AdamW): p -= lr*wd*p. Default 0.01. */
  weightDecay?: number;
  /** Which params decay; default: those of rank >= 2 (weights, not biases or norms). */
  decays?: (name: string, shape: readonly number[]) => boolean;
  /** Clip the global gradient norm to this value (none when omitted). */
  clipNorm?: number;
}

export interface TrainingGraphOptions extends AdamWOptions {
  /** 'step' (default): forward+backward+update; 'accumulate' / 'apply': gradient accumulation pair. */
  mode?: 'step' | 'accumulate' | 'apply';
}

export interface TrainingGraph {
  graph: Graph;
  /** Every param: name, shape, whether it is updated. */
  params: { name: string; shape: number[]; trainable: boolean }[];
  /** Names of the batch inputs the model declared (in order). */
  batchInputs: string[];
  /** Whether the graph takes a `seed` input. */
  usesSeed: boolean;
}

/**
 * AdamW for one param with the bias corrections folded into scalars (12 passes over the tensor):
 * m' = b1*m + (1-b1)*s*g;  v' = b2*v + (1-b2)*s^2*g^2;
 * p' = p*(1-lr*wd) - lr/bc1 * m'/(sqrt(v'/bc2) + eps) = p*(1-lr*wd) - [lr*sqrt(bc2)/bc1] * m'/(sqrt(v') + [eps*sqrt(bc2)])
 * where s is the clip/accumulation scale, bc1 = 1-b1^t, bc2 = 1-b2^t; bracketed factors are scalars.
 */
function adamwParam(b: GraphBuilder, p: Value, g: Value, m: Value, v: Value, k: {
  c1: Value; c2: Value; b1: number; b2: number; epsHat: Value; stepSize: Value; decay: Value | undefined;
}): { p: Value; m: Value; v: Value } {
  const m2 = b.add(b.mul(m, k.b1), b.mul(g, k.c1));
  const v2 = b.add(b.mul(v, k.b2), b.mul(b.mul(g, g), k.c2));
  const denom = b.add(b.sqrt(v2), k.epsHat);
  const upd = b.mul(b.div(m2, denom), k.stepSize);
  const p2 = b.sub(k.decay ? b.mul(p, k.decay) : p, upd);
  return { p: p2, m: m2, v: v2 };
}

/**
 * Builds the training graph of a model (see the naming convention at the top of this file).
 * Example:
 * ```ts
 * const tg = buildTrainingGraph((b) => {
 *   const x = b.input('x', 'float32', [8, 4]);
 *   const y = b.input('y', 'float32', [8, 1]);
 *   const w = b.param('w', [4, 1], { init: { kind: 'normal', std: 0.1 } });
 *   return { loss: mse(b, b.matmul(x, w), y) };
 * }, { weightDecay: 0, clipNorm: 1 });
 * const bytes = toOnnx(tg.graph).model;
 * ```
 */
export function buildTrainingGraph(model: ModelFn, opts: TrainingGraphOptions = {}): TrainingGraph {
  const mode = opts.mode ?? 'step';
  const b = new GraphBuilder();
  const { loss, metrics = {} } = model(b);
  const batchInputs = b.inputs.filter((v) => v.name !== 'seed');
  const usesSeed = b.inputs.some((v) => v.name === 'seed');
  const trainable = b.params.filter((p) => p.trainable);
  const info = b.params.map((p) => ({ name: p.value.name!, shape: [...p.value.shape], trainable: p.trainable }));
  const nameOf = (p: Param) => p.value.name!;

  if (mode === 'apply') {
    // A fresh builder: only params, state and accumulated gradients (no forward pass).
    const a = new GraphBuilder();
    const ps = trainable.map((p) => a.param(nameOf(p), p.value.shape, { init: p.init }));
    const accs = trainable.map((p) => a.input(`grad_acc:${nameOf(p)}`, 'float32', p.value.shape));
    const scale = a.input('grad_scale', 'float32', []);
    emitUpdate(a, trainable, ps, accs, scale, opts);
    return { graph: prune(cse(a.build())), params: info.filter((p) => p.trainable), batchInputs: [], usesSeed: false };
  }

  if (loss.shape.length !== 0) throw new Error(`the model's loss must be a scalar, got shape [${loss.shape.join(',')}]`);
  const grads = grad(b, loss, trainable.map((p) => p.value));
  b.output('loss', loss);
  for (const [k, v] of Object.entries(metrics)) b.output(`metric:${k}`, v);
  if (mode === 'accumulate') {
    trainable.forEach((p, i) => {
      const acc = b.input(`grad_acc:${nameOf(p)}`, 'float32', p.value.shape);
      b.output(`new_grad_acc:${nameOf(p)}`, b.add(acc, grads[i]));
    });
  } else {
    emitUpdate(b, trainable, trainable.map((p) => p.value), grads, undefined, opts);
  }
  return { graph: prune(cse(b.build())), params: info, batchInputs: batchInputs.map((v) => v.name!), usesSeed };
}

/** Params smaller than this are updated together as one flat vector (one set of Adam ops, not one per bias). */
const SMALL_PARAM = 1 << 16;

function emitUpdate(b: GraphBuilder, params: readonly Param[], ps: readonly Value[], grads: readonly Value[],
  gradScale: Value | undefined, opts: AdamWOptions): void {
  const beta1 = opts.beta1 ?? 0.9;
  const beta2 = opts.beta2 ?? 0.999;
  const eps = opts.eps ?? 1e-8;
  const wd = opts.weightDecay ?? 0.01;
  const decays = opts.decays ?? ((_n: string, shape: readonly number[]) => shape.length >= 2);
  const lr = b.input('lr', 'float32', []);
  const step = b.input('step', 'float32', []);
  const ms = params.map((p) => b.input(`adam_m:${p.value.name}`, 'float32', p.value.shape));
  const vs = params.map((p) => b.input(`adam_v:${p.value.name}`, 'float32', p.value.shape));

  // Update units: each large param alone; small ones (biases, norms) concatenated per decay flag, so a
  // model with dozens of biases pays two dozen tiny kernels instead of hundreds.
  const units: { members: number[]; decay: boolean }[] = [];
  const smallGroups = new Map<boolean, number[]>();
  params.forEach((p, i) => {
    const decay = wd > 0 && decays(p.value.name!, p.value.shape);
    if (numel(p.value.shape) >= SMALL_PARAM) units.push({ members: [i], decay });
    else smallGroups.set(decay, [...(smallGroups.get(decay) ?? []), i]);
  });
  for (const [decay, members] of smallGroups) units.push({ members, decay });
  const flat = (vals: readonly Value[], members: number[]) =>
    members.length === 1 ? vals[members[0]] : b.concat(members.map((i) => b.reshape(vals[i], [-1])), 0);
  const unitGrads = units.map((u) => flat(grads, u.members));

  // Global norm of the (scaled) gradients: sqrt(sum_i ||s*g_i||^2).
  let sq: Value | undefined;
  for (const g of unitGrads) {
    const s = b.reduceSumSquare(g);
    sq = sq ? b.add(sq, s) : s;
  }
  let norm = b.sqrt(sq ?? b.scalar(0));
  if (gradScale) norm = b.mul(norm, gradScale);
  b.output('grad_norm', norm);
  let scale: Value | undefined = gradScale;
  if (opts.clipNorm !== undefined) {
    const clip = b.min(b.div(opts.clipNorm, b.add(norm, 1e-6)), 1);
    scale = scale ? b.mul(scale, clip) : clip;
  }
  const one = b.scalar(1);
  const bc1 = b.sub(one, b.pow(b.scalar(beta1), step));
  const bc2 = b.sub(one, b.pow(b.scalar(beta2), step));
  const k = {
    c1: scale ? b.mul(scale, 1 - beta1) : b.scalar(1 - beta1),
    c2: scale ? b.mul(b.mul(scale, scale), 1 - beta2) : b.scalar(1 - beta2),
    b1: beta1,
    b2: beta2,
    epsHat: b.mul(b.sqrt(bc2), eps),
    stepSize: b.div(b.mul(lr, b.sqrt(bc2)), bc1),
  };
  const decayFactor = wd > 0 ? b.sub(one, b.mul(lr, wd)) : undefined;
  units.forEach((u, j) => {
    const r = adamwParam(b, flat(ps, u.members), unitGrads[j], flat(ms, u.members), flat(vs, u.members), { ...k, decay: u.decay ? decayFactor : undefined });
    const unflat = (x: Value): Value[] => (u.members.length === 1 ? [x]
      : b.split(x, 0, u.members.map((i) => numel(params[i].value.shape))).map((part, t) => b.reshape(part, params[u.members[t]].value.shape)));
    const [np, nm, nv] = [unflat(r.p), unflat(r.m), unflat(r.v)];
    u.members.forEach((i, t) => {
      const name = params[i].value.name!;
      b.output(`new_param:${name}`, np[t]);
      b.output(`new_adam_m:${name}`, nm[t]);
      b.output(`new_adam_v:${name}`, nv[t]);
    });
  });
}

/** Builds a plain (inference) graph: the function declares inputs/params and returns named outputs. */
export function buildGraph(fn: (b: GraphBuilder) => Record<string, Value>): Graph {
  const b = new GraphBuilder();
  for (const [k, v] of Object.entries(fn(b))) b.output(k, v);
  return b.build();
}
