import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.ts';
import type { CliIO } from '../../src/cli/common.ts';
import { readPcap } from '../../src/report/pcap.ts';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIO = { out: (s) => out.push(s), err: (s) => err.push(s), isTTY: false };
  return { io, out, err };
}

test('cli report DIR: index.html with inline SVG, results.json, SVG charts, traces and a readable pcap', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pvnet-report-'));
  try {
    const c = capture();
    assert.is(await main(['report', dir, '--quick'], c.io), 0, c.err.join('\n'));
    assert.match(c.out.join('\n'), /all checks passed/);
    const files = readdirSync(dir).sort();
    for (const f of ['capture.pcap', 'index.html', 'results.json', 'strategy-cost.svg', 'strategy-wall.svg', 'timeline-map.jsonl', 'timeline-map.svg', 'timeline-zerocopy.jsonl', 'timeline-zerocopy.svg']) {
      assert.ok(files.includes(f), `${f} in ${files.join(', ')}`);
    }
    const html = readFileSync(join(dir, 'index.html'), 'utf8');
    assert.ok((html.match(/<svg/g) ?? []).length >= 4, 'four charts inline');
    assert.not.match(html, /<script|<link|src="http/, 'no external asset');
    assert.not.match(html, /<\?xml/);
    const j = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'));
    for (const k of ['seed', 'ok', 'failures', 'walkthrough', 'workload', 'lifecycle', 'nfs', 'swap', 'capture', 'timelines']) assert.ok(k in j, k);
    assert.is(j.ok, true);
    assert.is(j.workload.bySize.length, 4 * j.workload.sizes.length);
    assert.ok(j.nfs.find((n: { mode: string }) => n.mode === 'plain-ref').corruptBytesOnWire > 0);
    for (const n of j.nfs.filter((x: { mode: string }) => x.mode !== 'plain-ref')) assert.is(n.corruptBytesOnWire, 0, n.mode);
    for (const f of ['strategy-cost.svg', 'timeline-map.svg']) assert.match(readFileSync(join(dir, f), 'utf8'), /^(<\?xml[^>]*>\s*)?<svg[\s\S]*<\/svg>\s*$/);
    const pcap = readPcap(new Uint8Array(readFileSync(join(dir, 'capture.pcap'))));
    assert.is(pcap.length, j.capture.frames);
    assert.is(pcap.length, j.capture.expectedFrames);
    const trace = readFileSync(join(dir, 'timeline-map.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(trace.some((e) => e.kind === 'unmapped') && trace.every((e) => typeof e.t === 'number'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('cli report: an unwritable DIR is bad usage (exit 2, one line), found before any run', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pvnet-report-'));
  try {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    const ro = join(dir, 'ro');
    const targets = [join(file, 'sub')];
    if (process.getuid?.() !== 0) {
      writeFileSync(join(dir, 'placeholder'), '');
      chmodSync(dir, 0o500);
      targets.push(ro);
    }
    for (const t of targets) {
      const c = capture();
      const t0 = performance.now();
      assert.is(await main(['report', t], c.io), 2, t);
      assert.is(c.err.length, 1);
      assert.match(c.err[0]!, /cannot write the report/);
      assert.ok(performance.now() - t0 < 1000, 'no run before the check');
    }
  } finally {
    chmodSync(dir, 0o700);
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
