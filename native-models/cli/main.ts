// The OPT Studio command line: `npm run cli -- <command> [options]`. Commands live one per file and
// are listed in COMMANDS; adding one is adding a row.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { demoDataCommand } from './demo-data';
import { demoGridCommand } from './demo-grid';
import { detectCommand } from './detect';
import { dvaeCommand } from './dvae';
import { encodeAudioCommand } from './encode-audio';
import { packageCommand } from './package';

export interface Command {
  /** One line for the command list. */
  summary: string;
  /** Full usage text (`<command> --help`). */
  usage: string;
  /** Runs with the arguments after the command name; resolves to the exit code. */
  run(argv: string[]): Promise<number>;
}

/** Every command, by name. */
export const COMMANDS: Record<string, Command> = {
  'demo-data': demoDataCommand,
  'demo-grid': demoGridCommand,
  detect: detectCommand,
  dvae: dvaeCommand,
  'encode-audio': encodeAudioCommand,
  package: packageCommand,
};

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  return ['Usage: npm run cli -- <command> [options]   (<command> --help for its options)', '', 'Commands:',
    ...Object.entries(COMMANDS).map(([k, c]) => `  ${k.padEnd(width)}  ${c.summary}`)].join('\n');
}

/** Dispatches argv (without node and script) to a command; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(help());
    return name ? 0 : 1;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    console.error(`unknown command "${name}"\n\n${help()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(cmd.usage);
    return 0;
  }
  return cmd.run(rest);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  }, (e: unknown) => {
    console.error(e instanceof Error ? e.stack ?? e.message : String(e));
    process.exitCode = 1;
  });
}
