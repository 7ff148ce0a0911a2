// Where the app's own folders live (no Electron imports: the build script and the tests read it too). The build
// writes them (build/build-electron.mjs), electron-builder.yml ships them and unpacks them from the asar (sharp and
// onnxruntime read their files by path), and the main process finds them from its own bundle's folder.
// tests/electron/packaging.test.ts checks that the three agree.
import path from 'node:path';

/** The demo generator's emoji catalog (build/build-demo-assets.ts writes it), relative to the app root. */
export const DEMO_ASSETS_DIR = 'dist/demo-assets';
/** The default model package (the inference service's models), relative to the app root. */
export const MODEL_PACKAGE_DIR = 'native-models/packages/default';
/** The main process bundle, relative to the app root (build-electron.mjs's outfile, package.json's main when packaged). */
export const MAIN_BUNDLE = 'dist/electron/main/index.js';

/**
 * An app folder (`rel`, relative to the app root; the repository root in a development build) seen from the main
 * bundle's folder `mainDir`. Inside an asar archive the path is redirected to its `app.asar.unpacked` twin, where
 * electron-builder puts the folder's real files.
 */
export function appDir(mainDir: string, rel: string): string {
  const appRoot = path.resolve(mainDir, ...path.dirname(MAIN_BUNDLE).split('/').map(() => '..'));
  return path.join(appRoot, rel).replace(`app.asar${path.sep}`, `app.asar.unpacked${path.sep}`);
}
