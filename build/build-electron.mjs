// Bundles Electron's main, preload, service and inference processes with esbuild into dist/electron/ (what
// electron-builder packages). Dependencies stay external (node_modules ships beside, natives unpacked);
// the preload is CommonJS because sandboxed preloads cannot be ES modules.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const common = { bundle: true, platform: 'node', target: 'node22', sourcemap: true, logLevel: 'warning', absWorkingDir: root };

await Promise.all([
  build({ ...common, entryPoints: ['electron/main/index.ts'], outfile: 'dist/electron/main/index.js', format: 'esm', packages: 'external' }),
  build({ ...common, entryPoints: ['electron/workers/service-process.ts'], outfile: 'dist/electron/workers/service-process.js', format: 'esm', packages: 'external' }),
  build({ ...common, entryPoints: ['electron/workers/inference-process.ts'], outfile: 'dist/electron/workers/inference-process.js', format: 'esm', packages: 'external' }),
  // The demo generator's worker thread, beside the bundle that starts it (create.ts looks for ./worker.js).
  build({ ...common, entryPoints: ['native-models/data/demo/worker.ts'], outfile: 'dist/electron/workers/worker.js', format: 'esm', packages: 'external' }),
  // Sandboxed preload: only 'electron' may be required; everything else is bundled in.
  build({ ...common, entryPoints: ['electron/preload/index.ts'], outfile: 'dist/electron/preload/index.cjs', format: 'cjs', external: ['electron'] }),
]);
// The demo's emoji catalog and images (the emoji packages themselves stay out of the app), in the folder that
// electron/main/app-paths.ts names.
execFileSync(process.execPath, ['--import', 'tsx', 'build/build-demo-assets.ts'], { cwd: root, stdio: 'inherit' });
console.log('built dist/electron/{main,preload,workers} and the demo assets');
