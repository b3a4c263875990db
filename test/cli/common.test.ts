import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeOutputDir } from '../../src/cli/common.ts';

test('cli common: makeOutputDir creates missing parents and leaves a writable directory', () => {
  const base = mkdtempSync(join(tmpdir(), 'pvnet-out-'));
  const dir = join(base, 'a', 'b', 'c');
  makeOutputDir(dir);
  assert.ok(statSync(dir).isDirectory());
  makeOutputDir(dir);
});

test('cli common: makeOutputDir answers at once where a recursive mkdir would spin (/proc) or a file is in the way', () => {
  if (existsSync('/proc/self')) assert.throws(() => makeOutputDir('/proc/pvnet-no/such'), /ENOENT/);
  const base = mkdtempSync(join(tmpdir(), 'pvnet-out-'));
  writeFileSync(join(base, 'file'), 'x');
  assert.throws(() => makeOutputDir(join(base, 'file')), /not a directory/);
  assert.throws(() => makeOutputDir(join(base, 'file', 'sub')), /ENOTDIR/);
});

test.run();
