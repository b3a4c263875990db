import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
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

test('cli demo --quick: every section, every check passed, exit 0, the report written to --out, quiet off a TTY', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pvnet-demo-'));
  try {
    const c = capture();
    assert.is(await main(['demo', '--quick', '--out', join(dir, 'r')], c.io), 0, c.out.join('\n'));
    const text = c.out.join('\n');
    for (const re of [/1\. Ring walkthrough/, /2\. Four TX strategies/, /3\. Lifecycle invariants/, /4\. NFS retransmit/, /5\. Swap over the network/, /All checks passed\./]) {
      assert.match(text, re);
    }
    for (const s of ['copy', 'map', 'hybrid', 'zerocopy']) assert.match(text, new RegExp(`^   ${s} +\\d`, 'm'));
    assert.match(text, /^   plain-ref +[1-9][\d,]* /m, 'plain-ref puts corrupt bytes on the wire');
    assert.match(text, /^   off +A +deadlock/m);
    assert.match(text, /^   mainline +B +completed/m);
    assert.not.match(text, /FAIL/);
    assert.is(c.err.length, 0, 'no progress output when not a TTY');
    const j = JSON.parse(readFileSync(join(dir, 'r', 'results.json'), 'utf8'));
    assert.is(j.ok, true);
    assert.equal(j.workload.strategies.map((s: { strategy: string }) => s.strategy), ['copy', 'map', 'hybrid', 'zerocopy']);
    assert.ok(existsSync(join(dir, 'r', 'index.html')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('cli: bad usage is one line on stderr and exit 2', async () => {
  for (const argv of [['demo', '--bogus'], ['nosuch'], ['demo', 'extra'], ['demo', '--seed', 'x'], ['report'], ['report', 'a', 'b']]) {
    const c = capture();
    assert.is(await main(argv, c.io), 2, argv.join(' '));
    assert.is(c.err.length, 1);
    assert.not.match(c.err[0]!, /\n\s+at /);
  }
});

test('cli: --help on every command exits 0 and prints usage', async () => {
  for (const argv of [['--help'], ['demo', '--help'], ['ring', '--help'], ['report', '--help'], ['run', '--help'], ['scenarios', '--help']]) {
    const c = capture();
    assert.is(await main(argv, c.io), 0, argv.join(' '));
    assert.match(c.out.join('\n'), /usage:/);
  }
});

test.run();
