// Child process for the crash test: imports a folder into a dataset and prints progress, until
// the parent kills it with SIGKILL. Usage: node --import tsx crash-child.ts <datasetDir> <sourceDir>
import { importDataset } from '../../../../native-models/data/formats';
import { DatasetStore } from '../../../../native-models/data/store';

const [dir, src] = process.argv.slice(2);
const store = DatasetStore.open(dir);
await importDataset(store, 'folder', src, {
  onProgress: (p) => process.stdout.write(`progress ${p.done}\n`),
});
process.stdout.write('finished\n');
