// Where the packaged app's demo catalog lives (no Electron imports: the build script and the tests read it too).
// build/build-electron.mjs writes the catalog into DEMO_ASSETS_DIR (build/build-demo-assets.ts), electron-builder.yml
// ships that folder and unpacks it from the asar (sharp reads its images by path), and the main process finds it from
// its own bundle's folder. tests/electron/packaging.test.ts checks that the three agree.
import path from 'node:path';

/** The catalog folder, relative to the app root (the repository root when building). */
export const DEMO_ASSETS_DIR = 'dist/demo-assets';
/** The main process bundle, relative to the app root (build-electron.mjs's outfile, package.json's main when packaged). */
export const MAIN_BUNDLE = 'dist/electron/main/index.js';

/**
 * The catalog folder seen from the main bundle's folder `mainDir`. Inside an asar archive the path is redirected to
 * its `app.asar.unpacked` twin, where electron-builder puts the folder's real files.
 */
export function packagedDemoAssetsDir(mainDir: string): string {
  const appRoot = path.resolve(mainDir, ...path.dirname(MAIN_BUNDLE).split('/').map(() => '..'));
  const dir = path.join(appRoot, DEMO_ASSETS_DIR);
  return dir.replace(`app.asar${path.sep}`, `app.asar.unpacked${path.sep}`);
}
