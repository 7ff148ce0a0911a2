// Writes the demo generator's emoji catalog and images into a folder (default DEMO_ASSETS_DIR) for the
// packaged app, which leaves the emoji packages out: its main process points the service process at
// the folder ($OPT_DEMO_ASSETS), so a user can create the demo dataset (without speech: eSpeak is GPL
// and stays out too). Run by build/build-electron.mjs.
import path from 'node:path';
import { DEMO_ASSETS_DIR } from '../electron/main/app-paths';
import { writeCatalogAssets } from '../native-models/data/demo/catalog';

const dir = path.resolve(process.argv[2] ?? DEMO_ASSETS_DIR);
const { classes, bytes } = writeCatalogAssets(dir);
console.log(`wrote ${dir}: ${classes} emoji classes, ${(bytes / 1e6).toFixed(1)} MB of images`);
