// The trained dVAE as two ONNX graphs (`encode`: image -> 8x8 code ids, `decode`: code ids -> image), how
// they are written into a model package (component kind 'dvae') and how they are loaded and run.
import { toOnnx } from '../graph/index';
import { defaultPackageDir, loadPackage, setComponentMetrics, writeComponent, type ComponentEntry } from '../packages/format';
import { Session, type SessionOptions } from '../runtime/index';
import { checkConfig, decodeGraph, encodeGraph, type DvaeConfig } from './model';

/** Component name of the dVAE in a package. */
export const DVAE_COMPONENT = 'dvae';

/** What the package's component config holds (the model config plus the input contract). */
export interface DvaeComponentConfig extends DvaeConfig {
  /** Batch size the exported graphs take (static shapes). */
  batch: number;
  /** How pixels enter `encode` and leave `decode`. */
  normalisation: string;
  storage: 'float32' | 'float16';
}

/** Inference weights: the trainable params plus the codebook (EMA statistics are training-only). */
export function inferenceWeights(params: ReadonlyMap<string, Float32Array> | Record<string, Float32Array>): Map<string, Float32Array> {
  const entries = params instanceof Map ? [...params.entries()] : Object.entries(params);
  return new Map(entries.filter(([k]) => !k.startsWith('vq.ema_')));
}

/** The two graphs as ONNX bytes with weights baked in (fp16 storage + one Cast each when asked). */
export function exportOnnx(c: DvaeConfig, weights: ReadonlyMap<string, Float32Array>, o: { batch?: number; storage?: 'float32' | 'float16' } = {}): { encode: Uint8Array; decode: Uint8Array } {
  const batch = o.batch ?? 1;
  const storage = o.storage ?? 'float16';
  const bake = (g: ReturnType<typeof encodeGraph>) => {
    const graph = g.build();
    const values = new Map(graph.params.map((p) => {
      const v = weights.get(p.value.name!);
      if (!v) throw new Error(`dvae export: no weights for '${p.value.name}'`);
      return [p.value.name!, v] as const;
    }));
    return toOnnx(graph, { params: { kind: 'initializers', values, storage }, name: 'dvae' }).model;
  };
  return { encode: bake(encodeGraph(c, batch)), decode: bake(decodeGraph(c, batch)) };
}

/** The model config of a package's dVAE component config (its export settings dropped), checked. */
export function packageDvaeConfig(config: Record<string, unknown> | undefined): DvaeConfig {
  const { batch: _batch, storage: _storage, normalisation: _normalisation, ...model } = (config ?? {}) as Partial<DvaeComponentConfig>;
  return checkConfig(model as DvaeConfig);
}

/** Writes (or replaces) the 'dvae' component of a package. */
export function writeDvaeComponent(pkgDir: string, c: DvaeConfig, onnx: { encode: Uint8Array; decode: Uint8Array },
  o: { batch: number; storage: 'float32' | 'float16'; metrics?: ComponentEntry['metrics']; training?: ComponentEntry['training'] }): void {
  const config: DvaeComponentConfig = {
    ...c, batch: o.batch, storage: o.storage,
    normalisation: 'encode takes image f32 [B,3,H,W] RGB in [0,1] (value/255); decode returns the same layout clamped to [0,1]; codes are int64 [B,grid,grid], row-major (id at y*grid+x)',
  };
  writeComponent(pkgDir, DVAE_COMPONENT, {
    kind: 'dvae', config: { ...config }, metrics: o.metrics ?? {}, training: o.training ?? {},
  }, {
    encode: { name: 'dvae/encode.onnx', bytes: onnx.encode },
    decode: { name: 'dvae/decode.onnx', bytes: onnx.decode },
  });
}

/** Replaces only the metrics of a package's dVAE component (files and config unchanged). */
export function setDvaeMetrics(pkgDir: string, metrics: ComponentEntry['metrics']): void {
  setComponentMetrics(pkgDir, DVAE_COMPONENT, 'dvae', metrics);
}

/**
 * A loaded dVAE: encode images to code grids and decode grids to images, one batch of the exported size at a
 * time. Example:
 * ```ts
 * const dvae = await Dvae.load();                       // the default package
 * const codes = await dvae.encode(planar);             // f32 [3*64*64] in [0,1] -> BigInt64Array [64]
 * const image = await dvae.decode(codes);              // -> Float32Array [3*64*64] in [0,1]
 * ```
 */
export class Dvae {
  private constructor(readonly config: DvaeComponentConfig, private readonly enc: Session, private readonly dec: Session) {}

  /** Loads the dvae component of a package (default: the shipped default package). */
  static async load(pkgDir?: string, o: SessionOptions = {}): Promise<Dvae> {
    const pkg = loadPackage(pkgDir ?? defaultPackageDir());
    const entry = pkg.component(DVAE_COMPONENT, 'dvae');
    const config = entry.config as unknown as DvaeComponentConfig;
    checkConfig(config);
    const opts: SessionOptions = { intraOpThreads: 2, ...o };
    const enc = await Session.create(pkg.file(DVAE_COMPONENT, 'encode'), { ...opts, name: 'dvae/encode.onnx' });
    const dec = await Session.create(pkg.file(DVAE_COMPONENT, 'decode'), { ...opts, name: 'dvae/decode.onnx' });
    return new Dvae(config, enc, dec);
  }

  /** From ONNX bytes (tests and training-time evaluation). */
  static async fromBytes(config: DvaeComponentConfig, onnx: { encode: Uint8Array; decode: Uint8Array }, o: SessionOptions = {}): Promise<Dvae> {
    const opts: SessionOptions = { intraOpThreads: 2, ...o };
    return new Dvae(config, await Session.create(onnx.encode, { ...opts, name: 'dvae/encode' }), await Session.create(onnx.decode, { ...opts, name: 'dvae/decode' }));
  }

  get grid(): number { return this.config.grid; }
  get imageSize(): number { return this.config.imageSize; }

  /** Images f32 [batch*3*S*S] planar RGB in [0,1] -> code ids int64 [batch*G*G]. */
  async encode(planar: Float32Array): Promise<BigInt64Array> {
    const { batch, imageSize: s } = this.config;
    if (planar.length !== batch * 3 * s * s) throw new Error(`dvae.encode: expected ${batch}x3x${s}x${s} floats, got ${planar.length}`);
    const out = await this.enc.run({ image: { dtype: 'float32', dims: [batch, 3, s, s], data: planar } });
    return out.codes.data as BigInt64Array;
  }

  /** Code ids int64 [batch*G*G] (each in [0, codebookSize)) -> images f32 [batch*3*S*S] in [0,1]. */
  async decode(codes: BigInt64Array): Promise<Float32Array> {
    const { batch, grid: g, codebookSize: k } = this.config;
    if (codes.length !== batch * g * g) throw new Error(`dvae.decode: expected ${batch}x${g}x${g} codes, got ${codes.length}`);
    for (let i = 0; i < codes.length; i++) {
      if (codes[i] < 0n || codes[i] >= BigInt(k)) throw new Error(`dvae.decode: code ${codes[i]} at position ${i} is outside the codebook [0, ${k})`);
    }
    const out = await this.dec.run({ codes: { dtype: 'int64', dims: [batch, g, g], data: codes } });
    return out.image.data as Float32Array;
  }

  async dispose(): Promise<void> {
    await this.enc.dispose();
    await this.dec.dispose();
  }
}
