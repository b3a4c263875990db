/**
 * The fuzzer in CI (README of test/hostile/support/fuzz/cli.ts for the long runs): every saved regression input of
 * test/hostile/support/corpus/ replays clean, and a short fuzz pass (a fixed seed, 2 500 cases, under the same
 * watchdog as `npm run fuzz`) finds nothing: no exception, no hang, no leak, every request answered exactly
 * once or the vif disabled, memory bounded.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runCase } from './support/fuzz/run-case.ts';
import { fuzzWithWatchdog } from './support/fuzz/runner.ts';
import type { FuzzCase } from './support/fuzz/case.ts';

const corpus = fileURLToPath(new URL('./support/corpus/', import.meta.url));

test('fuzz corpus: every saved failing case replays clean', () => {
  const files = readdirSync(corpus).filter((f) => f.endsWith('.json')).sort();
  assert.ok(files.length >= 2, 'the corpus holds the regressions found so far');
  for (const f of files) {
    const saved = JSON.parse(readFileSync(`${corpus}${f}`, 'utf8')) as { case: FuzzCase };
    const r = runCase(saved.case);
    assert.ok(r.ok, `${f}: ${r.kind}: ${r.message}`);
  }
});

test('fuzz: 2 500 hostile sessions against netback, nothing escapes, loops, leaks or goes unanswered', async () => {
  // The time budget only bounds a pathological run (about 10 s normally); the case count is what is asserted.
  const report = await fuzzWithWatchdog({ seed: 0x5eed1e, cases: 2500, seconds: 300, corpusDir: null, hangSeconds: 60 });
  const failures = report.failures.map((f) => `${f.kind}: ${f.message}\n${JSON.stringify(f.case)}`);
  assert.equal(failures, [], 'no failure');
  assert.is(report.casesRun, 2500);
  assert.ok(report.disabled > 100 && report.judged - report.disabled > 1000, 'both live and disabled vifs were judged');
  assert.ok(report.exact > 1000, 'the exact answer check applied often');
  assert.ok(report.delivered > 1000 && report.rxResponses > 1000, 'traffic flowed both ways');
  assert.ok(report.corruptions > 1000 && report.stormEvents > 10_000, 'the injectors struck');
});

test.run();
