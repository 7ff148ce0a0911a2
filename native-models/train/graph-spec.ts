// Adapts graph/'s training graphs (buildTrainingGraph) to the trainer: names of the carried tensors
// per graph/optim.ts's convention, and initial parameters as runtime tensors.
import { initParams, toOnnx, type Graph, type TrainingGraph } from '../graph/index';
import type { Tensor } from '../runtime/tensor';
import type { CarriedTensor, TrainStepSpec } from './trainer';

export interface GraphSpecOptions {
  /** Recorded in checkpoints; pass the AdamW options given to buildTrainingGraph. */
  optimizer?: { kind?: string; [k: string]: unknown };
  /**
   * Also build the gradient-accumulation pair (build is then called with mode 'accumulate' and 'apply'),
   * so train() can take microBatches > 1.
   */
  accumulation?: boolean;
}

/** Which graph a builder is asked for: the fused step, or one of the accumulation pair. */
export type GraphMode = 'step' | 'accumulate' | 'apply';

/**
 * A TrainStepSpec from a per-bucket training-graph builder. Parameters are saved under their own
 * names; AdamW moments as `<name>.exp_avg` / `<name>.exp_avg_sq` (PyTorch's names).
 * @param build builds the training graph of one shape bucket (same params in every bucket)
 * @param firstBucket a bucket to build up front for the parameter list
 */
export function trainStepSpec(build: (bucket: string, mode: GraphMode) => TrainingGraph, firstBucket: string, o: GraphSpecOptions = {}): TrainStepSpec & { graph: TrainingGraph } {
  const first = build(firstBucket, 'step');
  const params: CarriedTensor[] = first.params.map((p) => ({
    name: p.name,
    input: `param:${p.name}`,
    ...(p.trainable ? { output: `new_param:${p.name}` } : {}),
    dims: p.shape,
  }));
  const state: CarriedTensor[] = [];
  for (const p of first.params) {
    if (!p.trainable) continue;
    state.push({ name: `${p.name}.exp_avg`, input: `adam_m:${p.name}`, output: `new_adam_m:${p.name}`, dims: p.shape });
    state.push({ name: `${p.name}.exp_avg_sq`, input: `adam_v:${p.name}`, output: `new_adam_v:${p.name}`, dims: p.shape });
  }
  const outs = first.graph.outputs.map((x) => x.name);
  const metrics = outs.filter((n) => n.startsWith('metric:') || n === 'grad_norm');
  const names = (g: Graph) => g.params.map((p) => p.value.name).join(',');
  return {
    graph: first,
    model: (bucket) => {
      const tg = bucket === firstBucket ? first : build(bucket, 'step');
      if (names(tg.graph) !== names(first.graph)) throw new Error(`bucket ${bucket}: the training graph's parameters differ from bucket ${firstBucket}'s`);
      return toOnnx(tg.graph).model;
    },
    params,
    state,
    inputs: { lr: 'lr', step: 'step', ...(first.usesSeed ? { seed: 'seed' } : {}) },
    loss: 'loss',
    metrics,
    optimizer: { kind: 'adamw', ...o.optimizer },
    ...(o.accumulation
      ? {
          accumulation: {
            model: (bucket: string) => toOnnx(build(bucket, 'accumulate').graph).model,
            apply: () => toOnnx(build(firstBucket, 'apply').graph).model,
            grads: first.params.filter((p) => p.trainable).map((p) => ({ name: `${p.name}.grad`, input: `grad_acc:${p.name}`, output: `new_grad_acc:${p.name}`, dims: p.shape })),
            scale: 'grad_scale',
          },
        }
      : {}),
  };
}

/** Initial parameters of a graph (graph/'s seeded initialisers) as runtime tensors by name. */
export function initialParams(graph: Graph, seed = 0): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  const shapes = new Map(graph.params.map((p) => [p.value.name!, p.value.shape]));
  for (const [k, v] of initParams(graph, seed)) out[k] = { dtype: 'float32', dims: [...shapes.get(k)!], data: v };
  return out;
}
