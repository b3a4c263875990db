/**
 * Shared CLI plumbing: the command interface, usage errors, and argument parsing through node:util parseArgs.
 *
 * Every command is a `Command` with a name, a one-line summary, a usage text (printed by --help) and a `run`
 * that returns an exit code: 0 success, 1 a scenario invariant failed, 2 bad usage. Bad usage is raised as a
 * `UsageError`; the entry point prints its message as one line on stderr and exits 2, never a stack trace.
 */

import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { PvnetError } from '../errors.ts';

export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  /** True when stdout is a terminal (progress display is shown only then). */
  readonly isTTY: boolean;
}

export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  run(argv: string[], io: CliIO): Promise<number>;
}

/** Bad usage: unknown flag, missing or unreadable file, malformed input file. Exit code 2. */
export class UsageError extends PvnetError {
  constructor(message: string) {
    super('ERR_USAGE', message);
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * Parse `argv` strictly against `options` (plus --help). Unknown flags, missing values and stray positionals
 * beyond `maxPositionals` become UsageErrors.
 */
export function parseCommandArgs<O extends Options>(argv: string[], options: O, maxPositionals: number) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    throw new UsageError((e as Error).message.split('\n')[0]!);
  }
  if (parsed.positionals.length > maxPositionals) {
    throw new UsageError(`unexpected argument '${parsed.positionals[maxPositionals]}'`);
  }
  return parsed;
}

/** Parse a non-negative integer flag value, or throw a UsageError naming the flag. */
export function intFlag(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw new UsageError(`--${name} takes a non-negative integer, got '${value}'`);
  return Number(value);
}

/**
 * Create `dir` and any missing parents, one component at a time, and require a writable directory; throws the
 * fs error otherwise. Not `mkdirSync(dir, { recursive: true })`: on Node 20 that loops forever on some paths
 * (`/proc/x`), and a CLI must answer bad usage, not hang.
 */
export function makeOutputDir(dir: string): void {
  const path = resolve(dir);
  const missing: string[] = [];
  let p = path;
  while (!existsSync(p)) {
    missing.push(p);
    const parent = dirname(p);
    if (parent === p) break;
    p = parent;
  }
  for (let i = missing.length - 1; i >= 0; i--) mkdirSync(missing[i]!);
  if (!statSync(path).isDirectory()) throw new Error('not a directory');
  accessSync(path, constants.W_OK);
}
