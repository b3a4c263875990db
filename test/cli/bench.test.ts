/**
 * `pvnet bench`: usage, and paths that cannot be written refused before any benchmarking (exit 2, one line).
 * The benchmark itself is exercised by test/sim/bench/harness.test.ts on a tiny run.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.ts';
import type { CliIO } from '../../src/cli/common.ts';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIO = { out: (s) => out.push(s), err: (s) => err.push(s), isTTY: false };
  return { io, out, err };
}

async function usageError(argv: string[], pattern: RegExp): Promise<void> {
  const c = capture();
  const t0 = performance.now();
  assert.is(await main(argv, c.io), 2, argv.join(' '));
  assert.is(c.err.length, 1, argv.join(' '));
  assert.match(c.err[0]!, pattern);
  assert.not.match(c.err[0]!, /\n\s+at /);
  assert.is(c.out.length, 0, 'nothing was benchmarked');
  assert.ok(performance.now() - t0 < 60_000);
}

test('cli bench --help: the usage, exit 0', async () => {
  const c = capture();
  assert.is(await main(['bench', '--help'], c.io), 0);
  assert.match(c.out.join('\n'), /usage: pvnet bench \[--quick\] \[--json FILE\] \[--svg DIR\]/);
});

test('cli bench: unknown flags and stray arguments are usage errors', async () => {
  await usageError(['bench', '--fast'], /pvnet bench: .*--fast/);
  await usageError(['bench', 'now'], /unexpected argument 'now'/);
  await usageError(['bench', '--cost', 'warpNs=3'], /no parameter 'warpNs'/);
  await usageError(['bench', '--cost', 'mapNs'], /NAME=NS/);
});

test('cli bench: an unwritable --json or --svg is refused before running', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pvnet-bench-'));
  const file = join(dir, 'plain-file');
  writeFileSync(file, 'x');
  await usageError(['bench', '--quick', '--json', join(dir, 'no', 'such', 'dir', 'out.json')], /--json .*cannot write there/);
  await usageError(['bench', '--quick', '--json', dir], /--json .*is a directory/);
  await usageError(['bench', '--quick', '--svg', join(file, 'sub')], /--svg .*cannot write there/);
  await usageError(['bench', '--quick', '--svg', file], /--svg .*(not a directory|cannot write there)/);
});

test.run();
