// The runtime's public surface: the only way the rest of the project runs ONNX models.
export * from './tensor';
export * from './providers';
export { Session, DEFAULT_DISABLED_OPTIMIZERS, disabledOptimizers, type ModelSource, type SessionOptions, type ValueInfo, type RunOptions } from './session';
export * from './runtime';
export { MALLOC_ENV, WorkerRuntime } from './worker-runtime';
