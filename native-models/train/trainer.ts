// The trainer: runs a training-step graph (forward, loss, gradients and optimizer update in one ONNX
// model, see graph/) step after step. Parameters and optimizer state stay resident in the runtime
// (carried outputs), so a step moves only the batch in and the loss out. It feeds the learning rate
// from a schedule, reports progress, evaluates, checkpoints every N steps and on cancel, and resumes
// exactly: the same losses bit for bit as an uninterrupted run.
import type { Runtime, ModelInfo } from '../runtime/runtime';
import { BucketedModel } from '../runtime/runtime';
import type { ModelSource } from '../runtime/session';
import type { ProviderName } from '../runtime/providers';
import { allocData, item, tensor, type DType, type Tensor } from '../runtime/tensor';
import type { Batch, BatchSource } from './batching';
import { loadCheckpoint, saveCheckpoint, latestCheckpoint, type CheckpointData } from './checkpoint';
import { Rng, type RngState } from './rng';
import { lrAt, type LrSchedule } from './schedule';

/** One tensor the step reads and writes back: a parameter or a piece of optimizer state. */
export interface CarriedTensor {
  /** Name in the checkpoint (model.safetensors / optimizer.safetensors). */
  name: string;
  /** Graph input holding the current value. */
  input: string;
  /** Graph output holding the updated value (none for frozen parameters: they stay as they are). */
  output?: string;
  dims: readonly number[];
  dtype?: DType;
}

/** What the trainer needs to know about a training-step graph. */
export interface TrainStepSpec {
  /** The step's ONNX for a shape bucket (built on first use of that bucket). */
  model: (bucket: string) => ModelSource | Promise<ModelSource>;
  params: readonly CarriedTensor[];
  /** Optimizer state (moments...), zero-initialised on a fresh start. */
  state: readonly CarriedTensor[];
  /** Names of the scalar inputs fed each step; their dtype and rank come from the model. */
  inputs: { lr?: string; step?: string; seed?: string };
  /** Loss output name, and other scalar outputs reported as metrics. */
  loss: string;
  metrics?: readonly string[];
  /** Recorded in checkpoints (kind and hyper-parameters). */
  optimizer: { kind: string; [k: string]: unknown };
  /** Gradient accumulation over micro-batches (TrainOptions.microBatches > 1). */
  accumulation?: AccumulationSpec;
}

/** The graph pair for gradient accumulation (graph/optim.ts modes 'accumulate' and 'apply'). */
export interface AccumulationSpec {
  /** Forward + backward of one micro-batch, adding its gradients into the accumulators; per bucket. */
  model: (bucket: string) => ModelSource | Promise<ModelSource>;
  /** The optimizer update from the accumulated gradients (no batch inputs). */
  apply: () => ModelSource | Promise<ModelSource>;
  /** The accumulators: grad_acc:<name> in, new_grad_acc:<name> out. Zeroed after each update. */
  grads: readonly CarriedTensor[];
  /** The scalar input scaling the accumulated gradients (1 / micro-batches). */
  scale: string;
}

export interface Progress {
  step: number;
  totalSteps: number;
  loss: number;
  /** Exponential moving average of the loss (bias-corrected, 0.9 decay), for curves and logs. */
  smoothedLoss: number;
  lr: number;
  metrics: Record<string, number>;
  /** This step's wall time, and the running mean since start/resume. */
  stepMs: number;
  meanStepMs: number;
  /** Examples (Batch.size units) per second over the run so far. */
  throughput: number;
  etaSeconds: number;
}

export interface EvalContext {
  step: number;
  runtime: Runtime;
  /**
   * Runs a model loaded in the same runtime with the current parameters filled in from the resident
   * state (inputs named like the training graph's parameter inputs); see Runtime.step.
   */
  withParams: (key: string, feeds: Record<string, Tensor>) => Promise<Record<string, Tensor>>;
  /** Copies of the current parameters, by checkpoint name. */
  params: () => Promise<Record<string, Tensor>>;
}

export interface TrainOptions {
  runtime: Runtime;
  spec: TrainStepSpec;
  data: BatchSource;
  schedule: LrSchedule;
  /** Train until this many steps are done (counting steps before a resume). */
  steps: number;
  /** Initial parameters by checkpoint name; required unless resuming. */
  params?: Record<string, Tensor>;
  /** Resume from this checkpoint (a step directory, or a run directory for its latest). */
  resume?: string;
  /** Seed of the per-step seed input (dropout and other in-graph randomness). */
  seed?: number;
  checkpoint?: { dir: string; every?: number; keep?: number; config?: unknown };
  evaluate?: { every: number; run: (ctx: EvalContext) => Promise<Record<string, number>> };
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  onEval?: (step: number, metrics: Record<string, number>) => void;
  /** Micro-batches per optimizer step (gradient accumulation; default 1). */
  microBatches?: number;
  /** Name used for the runtime session keys (default "train"). */
  name?: string;
  /**
   * Execution providers for the training graphs (default: OPT_PROVIDERS, else CUDA then CPU). WebGPU and
   * DirectML are left out by default: their coverage of gradient ops is partial, so a training graph would
   * be split across devices with copies at every boundary.
   */
  providers?: readonly ProviderName[];
  /** Intra-op threads for the training sessions (runtime default: 2). */
  threads?: number;
  /**
   * This run's command line, kept in every checkpoint's run history (extra.history) so a model trained in
   * several runs (resumes with new step counts, a new run grown from another's weights) can say how it was
   * made. `before`: the history of a run this one starts from without resuming it (e.g. an --init-from).
   */
  run?: { command: string; before?: readonly RunRecord[] };
}

/** One run of a training history: its command and the optimizer steps it took (from, to]. */
export interface RunRecord { command: string; from: number; to: number }

/** "cmd (steps 0-1500); cmd2 (steps 1500-5000)": a history for a manifest or a log. */
export function formatHistory(history: readonly RunRecord[]): string {
  return history.map((r) => `${r.command} (steps ${r.from}-${r.to})`).join('; ');
}

/** formatHistory's text back into records; undefined where it is not such a text. */
export function parseHistory(text: string): RunRecord[] | undefined {
  const out: RunRecord[] = [];
  const re = /(.*?) \(steps (\d+)-(\d+)\)(?:; |$)/gy;
  let m: RegExpExecArray | null;
  while (re.lastIndex < text.length && (m = re.exec(text))) out.push({ command: m[1], from: Number(m[2]), to: Number(m[3]) });
  return text.length && re.lastIndex === text.length ? out : undefined;
}

const UNRECORDED = '(earlier runs not recorded in the checkpoint)';

/** The run history saved in a checkpoint's meta (a checkpoint from before histories were kept gets one unrecorded run). */
export function checkpointHistory(ck: { step: number; extra?: Record<string, unknown> }): RunRecord[] {
  const h = ck.extra?.history;
  const valid = Array.isArray(h) && h.every((r) => r && typeof r.command === 'string' && Number.isInteger(r.from) && Number.isInteger(r.to));
  const out = valid ? (h as RunRecord[]).map((r) => ({ ...r })) : [];
  // Steps past the last record were taken by runs that kept no history (e.g. train() called without `run`).
  const upTo = out.length ? out[out.length - 1].to : 0;
  if (ck.step > upTo) out.push({ command: UNRECORDED, from: upTo, to: ck.step });
  return out;
}

/**
 * What a trainer's `--export-only` exports: the latest checkpoint in a run folder, the model config it was trained
 * with (`config.model`, recognised by `isModel`) and its run history; the flags of a new run play no part. Throws a
 * message for the user when the folder has no checkpoint or one of another model (`what` names the expected one).
 */
export function runToExport<M>(runDir: string, what: string, isModel: (m: Partial<M> | undefined) => boolean): { ck: CheckpointData; at: string; model: M; history: RunRecord[] } {
  const at = latestCheckpoint(runDir);
  if (!at) throw new Error(`${runDir}: no checkpoint to export (train first, or give the run folder of a stopped run with --out)`);
  const ck = loadCheckpoint(at);
  const model = (ck.config as { model?: M } | null)?.model;
  if (!model || !isModel(model)) throw new Error(`${at}: not ${what} checkpoint (its config has no ${what.replace(/^an? /, '')} model)`);
  return { ck, at, model, history: checkpointHistory(ck) };
}

export interface TrainResult {
  step: number;
  losses: number[];
  cancelled: boolean;
  /** Last checkpoint written by this run, if any. */
  checkpoint?: string;
  meanStepMs: number;
  /** The runs that made these parameters, this one last (when opts.run was given). */
  history: RunRecord[];
}

function scalarLike(info: ModelInfo, name: string, value: number): Tensor {
  const inp = info.inputs.find((i) => i.name === name);
  if (!inp) throw new Error(`training graph has no input '${name}' (inputs: ${info.inputs.map((i) => i.name).join(', ')})`);
  const dims = inp.dims.map((d) => (typeof d === 'number' ? d : 1));
  switch (inp.dtype) {
    case 'float32':
    case 'float64':
    case 'int32':
      return tensor(inp.dtype, dims, [value]);
    case 'int64':
      return tensor('int64', dims, [BigInt(Math.trunc(value))]);
    default:
      throw new Error(`input '${name}' has dtype ${inp.dtype}; a scalar input must be float32/float64/int32/int64`);
  }
}

/**
 * Trains until opts.steps steps are done or opts.signal aborts; checkpoints every N steps, at the end
 * and on cancel. Example:
 * ```ts
 * const rt = new WorkerRuntime();
 * const res = await train({ runtime: rt, spec, data, schedule: { kind: 'cosine', peak: 1e-3, warmup: 100, total: 10_000 },
 *   steps: 10_000, params: initial, checkpoint: { dir: 'runs/a', every: 500 }, signal, onProgress: console.log });
 * ```
 */
export async function train(opts: TrainOptions): Promise<TrainResult> {
  const { runtime, spec, data } = opts;
  const name = opts.name ?? 'train';
  const carry: Record<string, string> = {};
  for (const t of [...spec.params, ...spec.state]) if (t.output) carry[t.output] = t.input;
  const sessionOpts = {
    ...(opts.providers ? { providers: opts.providers } : process.env.OPT_PROVIDERS ? {} : { providers: ['cuda', 'cpu'] as ProviderName[] }),
    ...(opts.threads ? { intraOpThreads: opts.threads } : {}),
  };
  const model = new BucketedModel(runtime, name, spec.model, { ...sessionOpts, carry });

  // Initial state: a checkpoint, or the given params with zeroed optimizer state.
  let step = 0;
  let rngState: RngState | undefined;
  let history: RunRecord[] = opts.run?.before ? opts.run.before.map((r) => ({ ...r })) : [];
  const initial: Record<string, Tensor> = {};
  const resumeFrom = opts.resume !== undefined ? (latestCheckpoint(opts.resume) ?? opts.resume) : undefined;
  if (resumeFrom !== undefined) {
    const ck = loadCheckpoint(resumeFrom);
    step = ck.step;
    for (const p of spec.params) {
      const t = ck.params[p.name];
      if (!t) throw new Error(`${resumeFrom}: checkpoint has no parameter '${p.name}'`);
      initial[p.input] = t;
    }
    for (const s of spec.state) {
      const t = ck.optimizer[s.name];
      if (!t) throw new Error(`${resumeFrom}: checkpoint has no optimizer tensor '${s.name}'`);
      initial[s.input] = t;
    }
    rngState = (ck.rng as { seed?: RngState } | undefined)?.seed;
    data.restore(ck.data);
    history = checkpointHistory(ck);
  } else {
    if (!opts.params) throw new Error('train: give params (initial values) or resume (a checkpoint)');
    for (const p of spec.params) {
      const t = opts.params[p.name];
      if (!t) throw new Error(`train: no initial value for parameter '${p.name}'`);
      initial[p.input] = t;
    }
    for (const s of spec.state) {
      const dtype = s.dtype ?? 'float32';
      initial[s.input] = { dtype, dims: [...s.dims], data: allocData(dtype, s.dims.reduce((a, b) => a * b, 1)) };
    }
  }
  for (const t of [...spec.params, ...spec.state]) {
    const v = initial[t.input];
    const n = t.dims.reduce((a, b) => a * b, 1);
    if (v.data.length !== n) throw new Error(`train: '${t.name}' has ${v.data.length} values, expected [${t.dims.join(', ')}]`);
  }
  await runtime.setState(initial);
  const rng = new Rng(rngState ?? opts.seed ?? 0);
  // This run's record: the same command continuing where it stopped (a resume after a cancel) extends its entry;
  // a run that takes no step (a finished run re-run to export) adds none.
  let current: RunRecord | undefined;
  if (opts.run) {
    const last = history[history.length - 1];
    current = last && last.command === opts.run.command && last.to === step ? history.pop()! : { command: opts.run.command, from: step, to: step };
  }
  const historyNow = (): RunRecord[] => (current && current.to > current.from ? [...history, { ...current }] : history.map((r) => ({ ...r })));

  const saveNow = (s: number, dataState: unknown, snapshot: Record<string, Tensor>): string => {
    const c = opts.checkpoint!;
    const params: Record<string, Tensor> = {};
    const optim: Record<string, Tensor> = {};
    for (const p of spec.params) params[p.name] = snapshot[p.input];
    for (const st of spec.state) optim[st.name] = snapshot[st.input];
    if (current) current.to = s;
    const h = historyNow();
    return saveCheckpoint(c.dir, {
      step: s, params, optimizer: optim, config: c.config ?? null, optimizerInfo: spec.optimizer, rng: { seed: rng.state() }, data: dataState,
      ...(h.length ? { extra: { history: h } } : {}),
    }, c.keep ?? 3);
  };
  const checkpoint = async (s: number, dataState: unknown): Promise<string | undefined> => {
    if (!opts.checkpoint) return undefined;
    const snap = await runtime.getState([...spec.params, ...spec.state].map((t) => t.input));
    return saveNow(s, dataState, snap);
  };

  const k = opts.microBatches ?? 1;
  if (!Number.isInteger(k) || k < 1) throw new Error(`train: microBatches must be a positive integer, got ${k}`);
  const acc = spec.accumulation;
  if (k > 1 && !acc) throw new Error('train: microBatches > 1 needs spec.accumulation (see trainStepSpec(..., { accumulation: true }))');
  let accModel: BucketedModel | undefined;
  let applyModel: BucketedModel | undefined;
  if (k > 1 && acc) {
    const accCarry: Record<string, string> = {};
    for (const g of acc.grads) accCarry[g.output!] = g.input;
    accModel = new BucketedModel(runtime, `${name}-accumulate`, acc.model, { ...sessionOpts, carry: accCarry });
    applyModel = new BucketedModel(runtime, `${name}-apply`, () => acc.apply(), { ...sessionOpts, carry });
    const zeros: Record<string, Tensor> = {};
    for (const g of acc.grads) zeros[g.input] = { dtype: 'float32', dims: [...g.dims], data: allocData('float32', g.dims.reduce((x, y) => x * y, 1)) };
    await runtime.setState(zeros);
  }

  const losses: number[] = [];
  const started = performance.now();
  let examples = 0;
  let stepsRun = 0;
  let lastCheckpoint: string | undefined;
  let lastSavedStep = -1;
  // Prefetch: the next batch is prepared while the current step runs. The data state saved in a
  // checkpoint is the one taken just after the last consumed batch (before the prefetched one).
  let consumedState = data.state();
  let batchesLeft = (opts.steps - step) * k;
  let pending: Promise<Batch> | undefined = batchesLeft > 0 ? Promise.resolve(data.next()) : undefined;
  const take = async (): Promise<Batch> => {
    const b = await pending!;
    consumedState = data.state();
    batchesLeft--;
    pending = batchesLeft > 0 ? Promise.resolve(data.next()) : undefined;
    pending?.catch(() => undefined); // surfaced when awaited
    return b;
  };
  const outputs = [spec.loss, ...(spec.metrics ?? [])];
  let cancelled = false;
  let ema = 0;

  while (step < opts.steps) {
    if (opts.signal?.aborted) {
      cancelled = true;
      break;
    }
    const t0 = performance.now();
    const lr = lrAt(opts.schedule, step);
    let loss = 0;
    const metrics: Record<string, number> = {};
    if (k === 1) {
      const batch = await take();
      const info = await model.ensure(batch.bucket);
      const feeds: Record<string, Tensor> = { ...batch.feeds };
      if (spec.inputs.lr) feeds[spec.inputs.lr] = scalarLike(info, spec.inputs.lr, lr);
      // The optimizer's bias correction counts from 1.
      if (spec.inputs.step) feeds[spec.inputs.step] = scalarLike(info, spec.inputs.step, step + 1);
      if (spec.inputs.seed) feeds[spec.inputs.seed] = scalarLike(info, spec.inputs.seed, rng.nextU32() & 0x7fffffff);
      const out = await model.step(batch.bucket, feeds, { outputs, transfer: true });
      loss = item(out[spec.loss]);
      for (const m of spec.metrics ?? []) metrics[m] = item(out[m]);
      examples += batch.size;
    } else {
      // Micro-batches add their gradients into resident accumulators; one update applies their mean.
      const accOutputs = outputs.filter((o) => o !== 'grad_norm');
      for (let j = 0; j < k; j++) {
        const batch = await take();
        const info = await accModel!.ensure(batch.bucket);
        const feeds: Record<string, Tensor> = { ...batch.feeds };
        if (spec.inputs.seed) feeds[spec.inputs.seed] = scalarLike(info, spec.inputs.seed, rng.nextU32() & 0x7fffffff);
        const out = await accModel!.step(batch.bucket, feeds, { outputs: accOutputs, transfer: true });
        loss += item(out[spec.loss]) / k;
        for (const m of accOutputs.slice(1)) metrics[m] = (metrics[m] ?? 0) + item(out[m]) / k;
        examples += batch.size;
      }
      const info = await applyModel!.ensure('all');
      const feeds: Record<string, Tensor> = { [acc!.scale]: scalarLike(info, acc!.scale, 1 / k) };
      if (spec.inputs.lr) feeds[spec.inputs.lr] = scalarLike(info, spec.inputs.lr, lr);
      if (spec.inputs.step) feeds[spec.inputs.step] = scalarLike(info, spec.inputs.step, step + 1);
      const out = await applyModel!.step('all', feeds, { outputs: info.outputs.some((o) => o.name === 'grad_norm') ? ['grad_norm'] : [] });
      if (out.grad_norm) metrics.grad_norm = item(out.grad_norm);
      await runtime.fillState(acc!.grads.map((g) => g.input), 0);
    }
    if (!Number.isFinite(loss)) throw new Error(`step ${step + 1}: loss is ${loss} (lr ${lr}); stopping before the state is checkpointed`);
    step++;
    stepsRun++;
    losses.push(loss);
    ema = 0.9 * ema + 0.1 * loss;
    const now = performance.now();
    const elapsed = now - started;
    const meanStepMs = elapsed / stepsRun;
    opts.onProgress?.({
      step,
      totalSteps: opts.steps,
      loss,
      smoothedLoss: ema / (1 - 0.9 ** stepsRun),
      lr,
      metrics,
      stepMs: now - t0,
      meanStepMs,
      throughput: (examples * 1000) / elapsed,
      etaSeconds: ((opts.steps - step) * meanStepMs) / 1000,
    });
    if (opts.evaluate && step % opts.evaluate.every === 0) {
      const m = await opts.evaluate.run({
        step,
        runtime,
        withParams: (key, f) => runtime.step(key, f),
        params: async () => {
          const st = await runtime.getState(spec.params.map((p) => p.input));
          return Object.fromEntries(spec.params.map((p) => [p.name, st[p.input]]));
        },
      });
      opts.onEval?.(step, m);
    }
    if (opts.checkpoint?.every && step % opts.checkpoint.every === 0) {
      lastCheckpoint = await checkpoint(step, consumedState);
      lastSavedStep = step;
    }
  }
  if (opts.checkpoint && lastSavedStep !== step && (cancelled || step >= opts.steps)) {
    lastCheckpoint = await checkpoint(step, consumedState);
  }
  if (current) current.to = step;
  return { step, losses, cancelled, checkpoint: lastCheckpoint, meanStepMs: stepsRun ? (performance.now() - started) / stepsRun : 0, history: historyNow() };
}
