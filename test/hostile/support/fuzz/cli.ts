/**
 * `npm run fuzz`: fuzz netback with hostile rings, grants, events and xenstore writes (engine.ts), under a
 * watchdog (runner.ts), and report what was run and what failed.
 *
 *   tsx test/hostile/support/fuzz/cli.ts [--seconds S] [--cases N] [--seed N] [--corpus DIR] [--hang S] [--json]
 *   tsx test/hostile/support/fuzz/cli.ts --replay FILE [--trace]     run one saved case and show its outcome
 *
 * Defaults: 180 s, no case limit, a fresh seed (printed: pass it back with --seed to replay the run),
 * corpus test/hostile/support/corpus/, a case counts as hung after 30 s. Exit status 0 when nothing failed, 1
 * otherwise; each failure is shrunk and saved as JSON for `npm test` to replay.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runCase } from './run-case.ts';
import { fuzzWithWatchdog } from './runner.ts';
import type { FuzzCase } from './case.ts';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}
const flag = (name: string) => process.argv.includes(`--${name}`);
function num(name: string, dflt: number): number {
  const v = arg(name);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) {
    console.error(`--${name}: not a number: ${v}`);
    process.exit(2);
  }
  return n;
}

const replay = arg('replay');
if (replay !== undefined) {
  const saved = JSON.parse(readFileSync(replay, 'utf8')) as { case: FuzzCase; kind?: string; message?: string };
  const r = runCase(saved.case, undefined, flag('trace') ? (l) => console.log(`  ${l}`) : null);
  console.log(r.ok ? `${replay}: passes now` : `${replay}: ${r.kind}: ${r.message}`);
  console.log(JSON.stringify(r.stats));
  process.exit(r.ok ? 0 : 1);
}

const seconds = num('seconds', 180);
const cases = num('cases', Number.MAX_SAFE_INTEGER);
const seed = num('seed', (Date.now() ^ (process.pid << 16)) >>> 0);
const hang = num('hang', 30);
const corpus = arg('corpus') ?? fileURLToPath(new URL('../corpus/', import.meta.url));
console.log(`fuzz: seed ${seed}, up to ${cases === Number.MAX_SAFE_INTEGER ? '∞' : cases} cases in ${seconds} s, corpus ${corpus}`);
const report = await fuzzWithWatchdog({ seed, cases, seconds, corpusDir: corpus, hangSeconds: hang, log: (l) => console.log(l) });
if (flag('json')) {
  console.log(JSON.stringify({ ...report, failures: report.failures.map((f) => ({ kind: f.kind, message: f.message, file: f.file })) }, null, 1));
}
const b = report.byKind;
const live = report.judged - report.disabled;
console.log([
  `cases run        ${report.casesRun} in ${(report.ms / 1000).toFixed(1)} s (${(report.casesRun / Math.max(report.ms / 1000, 1e-3)).toFixed(0)}/s), seed ${seed}`,
  `failures         ${report.failures.length}: crashes (exceptions) ${b.exception}, hangs ${b.hang}, leaks ${b.leak}, invariant violations ${b.invariant}`,
  `vifs             ${live} ended live, ${report.disabled} disabled by a fatal error (of ${report.judged} judged); exact answer check on ${report.exact}`,
  `traffic          ${report.txSlots} TX slots written, ${report.txResponses} TX answers, ${report.delivered} packets to the stack, ${report.rxResponses} RX answers`,
  `injectors        ${report.corruptions} slot corruptions after the backend's read, ${report.stormEvents} storm events`,
].join('\n'));
for (const f of report.failures) console.log(`- ${f.kind}: ${f.message.split('\n')[0]}${f.file === null ? '' : `\n  saved: ${f.file}`}`);
process.exit(report.failures.length === 0 ? 0 : 1);
