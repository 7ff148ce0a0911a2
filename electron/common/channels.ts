// Channel names: the single list every host derives its IPC handlers, preload functions and
// validation from. A compile-time check keeps each list equal to its interface's members.
import type { ServiceMap } from './services';

/** Prefix of every IPC channel, so a host can reject anything else. */
export const CHANNEL_PREFIX = 'opt:';

type MethodKeys<T> = { [K in keyof T]: K extends `onDid${string}` ? never : T[K] extends (...a: never[]) => Promise<unknown> ? K : never }[keyof T];
type EventKeys<T> = { [K in keyof T]: K extends `onDid${string}` ? K : never }[keyof T];

/** Methods (Promise-returning) of a service. */
export type ServiceMethods<S extends keyof ServiceMap> = MethodKeys<ServiceMap[S]> & string;
/** Events (onDid*) of a service. */
export type ServiceEvents<S extends keyof ServiceMap> = EventKeys<ServiceMap[S]> & string;

/** Argument tuple of a method. */
export type MethodArgs<S extends keyof ServiceMap, M extends ServiceMethods<S>> =
  ServiceMap[S][M] extends (...args: infer A) => Promise<unknown> ? A : never;
/** Resolved value of a method. */
export type MethodResult<S extends keyof ServiceMap, M extends ServiceMethods<S>> =
  ServiceMap[S][M] extends (...args: never[]) => Promise<infer R> ? R : never;
/** Payload of an event. */
export type EventPayload<S extends keyof ServiceMap, E extends ServiceEvents<S>> =
  ServiceMap[S][E] extends (listener: (e: infer P) => void) => unknown ? P : never;

export interface ServiceChannels<M extends string, E extends string> {
  readonly methods: readonly M[];
  readonly events: readonly E[];
}

type Exact<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/** The channel list, per service. Add a later service (training) here and to ServiceMap. */
export const SERVICE_CHANNELS = {
  dataset: {
    methods: [
      'listDatasets', 'createDataset', 'renameDataset', 'deleteDataset',
      'importDataset', 'exportDataset', 'detectDatasetRegions', 'cancelJob', 'listJobs',
      'queryItems', 'getItem', 'updateItem', 'deleteItem',
      'addCaption', 'updateCaption', 'deleteCaption', 'acceptCaptions',
      'undo', 'redo', 'getHistory',
      'addSpokenCaption', 'deleteSpokenCaption',
      'addRegion', 'addRegions', 'addRegionsToItems', 'updateRegion', 'deleteRegion',
    ],
    events: ['onDidChangeDatasets', 'onDidChangeItems', 'onDidChangeJobProgress'],
  },
  demo: {
    methods: ['getDemoAvailability', 'createDemoDataset', 'cancelDemo'],
    events: ['onDidChangeDemoProgress'],
  },
  inference: {
    methods: ['getModelInfo', 'detectRegions', 'tokenizeImage', 'encodeSpeech'],
    events: [],
  },
  host: {
    methods: ['getAppInfo', 'pickPath'],
    events: ['onDidRequestCommand'],
  },
} as const satisfies { [S in keyof ServiceMap]: ServiceChannels<ServiceMethods<S>, ServiceEvents<S>> };

// Compile-time: every member listed, nothing extra.
type ListedMethods<S extends keyof ServiceMap> = (typeof SERVICE_CHANNELS)[S]['methods'][number];
type ListedEvents<S extends keyof ServiceMap> = (typeof SERVICE_CHANNELS)[S]['events'][number];
type AllListed = { [S in keyof ServiceMap]: Exact<ListedMethods<S>, ServiceMethods<S>> & Exact<ListedEvents<S>, ServiceEvents<S>> };
/** Fails to compile when SERVICE_CHANNELS and ServiceMap disagree (a `false` here). */
export const CHANNEL_LIST_CHECK: AllListed = { dataset: true, demo: true, inference: true, host: true };

/** IPC channel of a method or event: `opt:<service>.<member>`. */
export type ChannelName = `${typeof CHANNEL_PREFIX}${string}.${string}`;
