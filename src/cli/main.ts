/**
 * The `pvnet` command: dispatches to one module per command. Run as `npx pvnet ...` (src/cli/pvnet.mjs) or
 * `npx tsx src/cli/main.ts ...`.
 */

import { pathToFileURL } from 'node:url';
import { UsageError, type CliIO, type Command } from './common.ts';
import { benchCommand } from './bench.ts';
import { demoCommand } from './demo.ts';
import { reportCommand } from './report.ts';
import { ringCommand } from './ring.ts';
import { runCommand, scenariosCommand } from './run.ts';

const COMMANDS: readonly Command[] = [demoCommand, scenariosCommand, runCommand, ringCommand, benchCommand, reportCommand];

function topUsage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'usage: pvnet <command> [options]',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "Run 'pvnet <command> --help' for a command's options.",
  ].join('\n');
}

export const processIO: CliIO = {
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : text + '\n'),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : text + '\n'),
  isTTY: process.stdout.isTTY === true,
};

/** Run the CLI with `argv` (without node and script); returns the exit code. Never throws. */
export async function main(argv: string[], io: CliIO = processIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(topUsage());
    return name === undefined ? 2 : 0;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (cmd === undefined) {
    io.err(`pvnet: unknown command '${name}' (try 'pvnet --help')`);
    return 2;
  }
  try {
    return await cmd.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`pvnet ${name}: ${e.message}`);
      return 2;
    }
    const err = e as Error;
    io.err(`pvnet ${name}: internal error: ${err.message}`);
    if (process.env['PVNET_DEBUG']) io.err(String(err.stack));
    return 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main(process.argv.slice(2));
}
