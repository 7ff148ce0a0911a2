// The graph library's public surface: build graphs, differentiate, lower to ONNX, train in-graph.
export * from './ir';
export * from './ops';
export * from './builder';
export * from './autodiff';
export * from './typecheck';
export * from './onnx';
export * from './params';
export * from './optim';
export * as nn from './nn';
