import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.ts';
import type { CliIO } from '../../src/cli/common.ts';
import { allScenarios } from '../../src/sim/scenarios/index.ts';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIO = { out: (s) => out.push(s), err: (s) => err.push(s), isTTY: false };
  return { io, out, err };
}

test('cli scenarios: lists every registered scenario with its modes', async () => {
  const c = capture();
  assert.is(await main(['scenarios', '--json'], c.io), 0);
  const list = JSON.parse(c.out.join('\n')) as { name: string; modes: string[] }[];
  assert.equal(list.map((s) => s.name), allScenarios().map((s) => s.name));
  assert.ok(list.every((s) => s.modes.length > 0));
});

test('cli run: every scenario in every mode runs, answers JSON and exits 0 with ok=true', async () => {
  for (const s of allScenarios()) {
    for (const mode of s.modes) {
      const c = capture();
      const rc = await main(['run', s.name, '--mode', mode, '--seed', '7', '--json'], c.io);
      const r = JSON.parse(c.out.join('\n'));
      assert.is(r.scenario, s.name);
      assert.is(r.mode, mode);
      assert.is(r.ok, true, `${s.name}/${mode}: ${JSON.stringify(r.checks.filter((x: { ok: boolean }) => !x.ok))}`);
      assert.is(rc, 0);
    }
  }
});

test('cli run: the same seed gives the same result; --trace writes JSON lines', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pvnet-run-'));
  const a = capture();
  const b = capture();
  await main(['run', 'ring-walkthrough', '--seed', '11', '--json', '--trace', join(dir, 't.jsonl')], a.io);
  await main(['run', 'ring-walkthrough', '--seed', '11', '--json'], b.io);
  assert.is(a.out.join(''), b.out.join(''));
  const lines = readFileSync(join(dir, 't.jsonl'), 'utf8').trim().split('\n');
  assert.ok(lines.length > 3);
  assert.ok(lines.every((l) => typeof JSON.parse(l).t === 'number'));
});

test('cli run: bad usage (unknown scenario, mode, knob, seed) is one line and exit 2', async () => {
  const cases = [
    ['run'], ['run', 'nosuch'], ['run', 'ring-walkthrough', '--mode', 'bogus'],
    ['run', 'ring-walkthrough', '--set', 'nope=1'], ['run', 'ring-walkthrough', '--seed', '-3'],
    ['run', 'ring-walkthrough', '--set', 'packets'], ['run', 'ring-walkthrough', '--trace', '/nonexistent/dir/x'],
  ];
  for (const argv of cases) {
    const c = capture();
    assert.is(await main(argv, c.io), 2, argv.join(' '));
    assert.is(c.err.length, 1, argv.join(' '));
  }
});

test('cli run: --reserve is --mode, and a knob may be its own flag (--flood 100 = --set flood=100)', async () => {
  const a = capture();
  const b = capture();
  assert.is(await main(['run', 'swap-over-network', '--reserve', 'nta', '--flood', '2', '--json'], a.io), 0);
  assert.is(await main(['run', 'swap-over-network', '--mode', 'nta', '--set', 'flood=2', '--json'], b.io), 0);
  assert.is(a.out.join(''), b.out.join(''));
  const r = JSON.parse(a.out.join(''));
  assert.is(r.mode, 'nta');
  const c = capture();
  assert.is(await main(['run', 'swap-over-network', '--mode', 'off', '--reserve', 'nta'], c.io), 2);
  assert.is(c.err.length, 1);
});

test.run();
