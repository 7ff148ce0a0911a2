// `package`: model packages from the command line. `package show [DIR]` verifies a package (every file against its
// sha256) and lists its components with their files, sizes and measured figures; `package copy FROM COMPONENT`
// puts one component of another package into this one (default: the shipped default package), replacing its
// namesake, transactionally (packages/format.ts).
import { statSync } from 'node:fs';
import { copyComponent, defaultPackageDir, loadPackage, LOCK_FILE, lockHolder, PackageError } from '../packages/format';
import { parseOptions, UsageError } from './args';
import type { Command } from './main';

const USAGE = `Usage: npm run cli -- package show [DIR]
       npm run cli -- package copy FROM_DIR COMPONENT [--to DIR]

show   verifies a model package (every file against its sha256) and lists its components: kind, files
       with sizes, metrics and how they were trained. DIR defaults to the default package.
copy   copies COMPONENT (e.g. dvae, audio-encoder, detector) of the package FROM_DIR, verified first, into
       the package --to DIR (default: native-models/packages/default; created if missing), replacing the
       component of that name there. The write is transactional: an interrupted copy leaves the old
       component or the new one. Files of the replaced component that nothing names any more are removed.
Example: npm run cli -- package copy /tmp/pkg-new dvae && npm run cli -- package show`;

function show(dir: string): void {
  const pkg = loadPackage(dir);
  const m = pkg.manifest;
  console.log(`${pkg.dir}: ${m.name} ${m.version}${m.license ? ` (${m.license})` : ''}, ${Object.keys(m.components).length} components, all files verified`);
  const writer = lockHolder(pkg.dir);
  if (writer) console.log(`being written now by process ${writer.pid} on ${writer.host} since ${writer.since} (${LOCK_FILE})`);
  for (const [name, c] of Object.entries(m.components)) {
    const sizes = Object.entries(c.files).map(([role, rel]) => ({ role, rel, mb: statSync(pkg.file(name, role)).size / 1e6 }));
    console.log(`\n${name} (${c.kind}), ${sizes.reduce((t, f) => t + f.mb, 0).toFixed(2)} MB`);
    for (const f of sizes) console.log(`  ${f.role.padEnd(12)} ${f.rel} (${f.mb.toFixed(2)} MB)`);
    const figures = Object.entries(c.metrics).filter(([k]) => k !== 'command');
    if (figures.length) console.log(`  metrics      ${figures.map(([k, v]) => `${k}=${typeof v === 'number' ? Number(v.toPrecision(4)) : v}`).join(' ')}`);
    if (typeof c.metrics.command === 'string') console.log(`  measured by  ${c.metrics.command}`);
    if (typeof c.training.command === 'string') console.log(`  trained by   ${c.training.command}`);
  }
}

export const packageCommand: Command = {
  summary: 'model packages: verify and list one (show), or copy a component between packages (copy)',
  usage: USAGE,
  async run(argv) {
    const [sub, ...rest] = argv;
    try {
      if (sub === 'show') {
        const [dir, ...more] = rest;
        if (more.length) throw new UsageError(`show takes one package folder, got: ${rest.join(' ')}`);
        show(dir ?? defaultPackageDir());
      } else if (sub === 'copy') {
        const [from, component, ...opts] = rest;
        if (!from || !component || from.startsWith('--') || component.startsWith('--')) throw new UsageError(`copy needs FROM_DIR and COMPONENT\n\n${USAGE}`);
        const o = parseOptions(opts, { to: { type: 'string' } });
        const to = o.to ?? defaultPackageDir();
        const m = copyComponent(from, component, to);
        const c = m.components[component];
        console.log(`copied ${component} (${c.kind}: ${Object.values(c.files).join(', ')}) from ${from} into ${to}`);
      } else {
        throw new UsageError(`expected "show [DIR]" or "copy FROM_DIR COMPONENT [--to DIR]"\n\n${USAGE}`);
      }
      return 0;
    } catch (e) {
      if (e instanceof UsageError || e instanceof PackageError) {
        console.error(e.message);
        return e instanceof UsageError ? 2 : 1;
      }
      throw e;
    }
  },
};
