// The packaged app's layout is spelled in three places that no test can run together here (no Electron, no
// electron-builder download): the build script writes the bundles and the demo catalog, electron-builder.yml ships
// them and the model package, the main process finds them. These checks fail when one of them moves without the others.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { appDir, DEMO_ASSETS_DIR, MAIN_BUNDLE, MODEL_PACKAGE_DIR } from '../../electron/main/app-paths';

const root = path.resolve(__dirname, '../..');
const builder = load(readFileSync(path.join(root, 'build/electron-builder.yml'), 'utf8')) as {
  files: string[]; asarUnpack: string[]; extraMetadata: { main: string };
};
const buildScript = readFileSync(path.join(root, 'build/build-electron.mjs'), 'utf8');

describe('packaged app layout', () => {
  it('electron-builder starts the bundle build-electron.mjs writes', () => {
    expect(builder.extraMetadata.main).toBe(MAIN_BUNDLE);
    expect(buildScript).toContain(`outfile: '${MAIN_BUNDLE}'`);
  });

  it('ships the demo catalog folder and unpacks it from the asar', () => {
    expect(builder.files).toContain(`${DEMO_ASSETS_DIR}/**`);
    expect(builder.asarUnpack).toContain(`${DEMO_ASSETS_DIR}/**`);
    // The build script leaves the folder to build-demo-assets.ts's default (DEMO_ASSETS_DIR), naming no other.
    expect(buildScript).toMatch(/'build\/build-demo-assets\.ts'\]/);
  });

  it('ships the default model package and unpacks it (onnxruntime reads graphs by path); bundles the inference process', () => {
    expect(builder.files).toContain(`${MODEL_PACKAGE_DIR}/**`);
    expect(builder.asarUnpack).toContain(`${MODEL_PACKAGE_DIR}/**`);
    expect(existsSync(path.join(root, MODEL_PACKAGE_DIR, 'manifest.json'))).toBe(true);
    // Main forks '../workers/inference-process.js' beside its own bundle.
    expect(buildScript).toContain(`outfile: '${path.posix.join(path.posix.dirname(MAIN_BUNDLE), '../workers/inference-process.js')}'`);
    expect(readFileSync(path.join(root, 'electron/main/index.ts'), 'utf8')).toContain("'../workers/inference-process.js'");
  });

  it("opt-blob answers the page's fetch() (cross-origin from file://): corsEnabled and an Allow-Origin header", () => {
    const main = readFileSync(path.join(root, 'electron/main/index.ts'), 'utf8');
    expect(main).toMatch(/scheme: 'opt-blob', privileges: \{[^}]*supportFetchAPI: true[^}]*corsEnabled: true/);
    expect(main).toContain("'Access-Control-Allow-Origin': '*'");
  });

  it('the inference process bundle runs the models without the dataset store (no better-sqlite3 loaded there)', async () => {
    const r = await build({
      entryPoints: ['electron/workers/inference-process.ts'], absWorkingDir: root, bundle: true, platform: 'node', format: 'esm',
      packages: 'external', write: false, metafile: true, logLevel: 'silent',
    });
    const inputs = Object.keys(r.metafile.inputs);
    const imports = Object.values(r.metafile.outputs).flatMap((o) => o.imports.map((i) => i.path));
    expect(inputs).toContain('native-models/dvae/pixels.ts');
    expect(imports).toContain('onnxruntime-node');
    expect(imports).not.toContain('better-sqlite3');
    // Only the store's plain modules (its error type, its domain types and bounds), none that opens a database.
    expect(inputs.filter((f) => f.startsWith('native-models/data/store/') && !/\/(errors|types)\.ts$/.test(f))).toEqual([]);
  });

  it('the main process finds the catalog and the model package from its bundle folder, unpacked when inside an asar', () => {
    const mainDir = path.dirname(path.join(root, MAIN_BUNDLE));
    expect(appDir(mainDir, DEMO_ASSETS_DIR)).toBe(path.join(root, DEMO_ASSETS_DIR));
    expect(appDir(mainDir, MODEL_PACKAGE_DIR)).toBe(path.join(root, MODEL_PACKAGE_DIR));
    const app = path.join(path.sep, 'opt', 'OPT Studio', 'resources', 'app.asar');
    expect(appDir(path.join(app, path.dirname(MAIN_BUNDLE)), DEMO_ASSETS_DIR)).toBe(path.join(`${app}.unpacked`, DEMO_ASSETS_DIR));
    expect(appDir(path.join(app, path.dirname(MAIN_BUNDLE)), MODEL_PACKAGE_DIR)).toBe(path.join(`${app}.unpacked`, MODEL_PACKAGE_DIR));
  });
});
