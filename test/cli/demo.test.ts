import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { main } from '../../src/cli/main.ts';
import type { CliIO } from '../../src/cli/common.ts';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIO = { out: (s) => out.push(s), err: (s) => err.push(s), isTTY: false };
  return { io, out, err };
}

test('cli demo: runs the walkthrough and reports a clean audit, exit 0', async () => {
  const c = capture();
  assert.is(await main(['demo'], c.io), 0);
  const text = c.out.join('\n');
  assert.match(text, /teardown audit: clean/);
  assert.match(text, /all equal to what the guest wrote/);
});

test('cli demo --json: machine-readable result with ok=true', async () => {
  const c = capture();
  assert.is(await main(['demo', '--json'], c.io), 0);
  const j = JSON.parse(c.out.join('\n'));
  assert.is(j.ok, true);
  assert.equal(j.walkthrough.auditFindings, []);
});

test('cli: bad usage is one line on stderr and exit 2', async () => {
  for (const argv of [['demo', '--bogus'], ['nosuch'], ['demo', 'extra']]) {
    const c = capture();
    assert.is(await main(argv, c.io), 2, argv.join(' '));
    assert.is(c.err.length, 1);
    assert.not.match(c.err[0]!, /\n\s+at /);
  }
});

test('cli: --help on every command exits 0 and prints usage', async () => {
  for (const argv of [['--help'], ['demo', '--help'], ['ring', '--help']]) {
    const c = capture();
    assert.is(await main(argv, c.io), 0, argv.join(' '));
    assert.match(c.out.join('\n'), /usage:/);
  }
});

test.run();
