// The typed contract between the renderer and every host: types and constants, plus the two
// environment-free pieces both ends share (the RPC client proxy and the typed-array JSON codec).
export type * from './dto';
export { DATASET_FORMATS, DEMO_DEFAULT_SIZE, MAX_INFERENCE_FILE_BYTES, SAME_REGION_IOU, UNREADABLE_INPUT_ERROR } from './dto';
export type * from './event';
export type * from './services';
export type * from './channels';
export { CHANNEL_PREFIX, SERVICE_CHANNELS } from './channels';
export type * from './wire';
export { TOKEN_PARAM } from './wire';
export { createRpcClient, RemoteError, stoppedUnder, type RpcClient } from './rpc-client';
export { typedArrayReplacer, typedArrayReviver } from './wire-codec';
