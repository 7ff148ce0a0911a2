// Listing a folder tree: the one walker the importers and web mode's export download share. Only node:fs and
// node:path, so a host can use it without loading the dataset layer (sharp, SQLite).
import fs from 'node:fs';
import path from 'node:path';

/** All files under a folder, recursively (to maxDepth folders down), sorted, skipping dot-files; paths relative to root. */
export function walk(root: string, maxDepth = Infinity): string[] {
  const out: string[] = [];
  const rec = (dir: string, depth: number) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (e.name.startsWith('.') || e.name === 'node_modules') continue;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (depth < maxDepth) rec(p, depth + 1);
      } else if (e.isFile()) out.push(path.relative(root, p));
    }
  };
  rec(root, 0);
  return out;
}
