// The trainer's public surface: training loop, checkpoints (safetensors), batching, schedules.
export * from './trainer';
export * from './graph-spec';
export * from './batching';
export * from './checkpoint';
export * from './safetensors';
export * from './schedule';
export * from './rng';
export { writeFileAtomic, fsyncDir } from './atomic';
export * from './metrics';
export * from './grow';
