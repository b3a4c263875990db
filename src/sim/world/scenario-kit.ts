/**
 * What every lifecycle scenario shares: its World built from the ScenarioOptions (the mode is the TX strategy,
 * the seed, the trace and capture sinks), and the counters and invariant checks it reports, computed after
 * the World's teardown. A scenario adds its own on top.
 *
 * Checks (DESIGN.md principle 8, REFERENCE.md §5.5):
 * - each TX request answered exactly once (unless netback disabled the vif);
 * - no unmap while any sk_buff still references the page (the `refs` of every `unmapped` event is 0);
 * - no response before its grant is unmapped: every mode but plain-ref, whose whole point is to break it;
 * - every grant ended and no mapping left (hypervisor audit: no foreign mapping, pin, GTF_reading, live
 *   grant or deferred end-access);
 * - no leak (skb audits of every domain: sk_buffs, shared infos, destructors, completions, page counts);
 * - the teardown audit as a whole is clean.
 */

import { TX_STRATEGIES, type TxStrategy } from '../../drivers/netback/index.ts';
import { InvalidArgument } from '../../errors.ts';
import { check, type InvariantCheck, type ScenarioOptions } from '../scenarios/registry.ts';
import { World, type TeardownReport, type WorldOptions } from '../world.ts';

/** The modes of the lifecycle scenarios: the four TX strategies (plain-ref only where a scenario says so). */
export const LIFECYCLE_MODES: readonly TxStrategy[] = ['copy', 'map', 'hybrid', 'zerocopy'];

/** Knob `name` of the run, `def` when not set, clamped to [min, max]. */
export function knob(opts: ScenarioOptions, name: string, def: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  return Math.min(max, Math.max(min, opts.knobs[name] ?? def));
}

/** The World of a scenario run: every vif on `opts.mode` (a TX strategy), seeded, traced and captured. */
export function scenarioWorld(opts: ScenarioOptions, more: Omit<WorldOptions, 'strategy' | 'seed' | 'trace' | 'pcap'> = {}): World {
  const strategy = opts.mode as TxStrategy;
  if (!TX_STRATEGIES.includes(strategy)) throw new InvalidArgument(`'${opts.mode}' is not a TX strategy (${TX_STRATEGIES.join(', ')})`);
  return new World({
    ...more, strategy, seed: opts.seed,
    ...(opts.trace !== undefined ? { trace: opts.trace } : {}), ...(opts.pcap !== undefined ? { pcap: opts.pcap } : {}),
  });
}

/** The common counters, flat, for ScenarioResult.counters. */
export function worldCounters(w: World, report: TeardownReport): Record<string, number> {
  return { ...w.counters(), auditFindings: report.findings.length };
}

const GRANT_FINDINGS = /^(grant not ended|deferred end-access|leaked grant)/;
const MAPPING_FINDINGS = /^(foreign mapping|maptrack|pinned grant|GTF_reading)|still mapped/;
const LEAK_FINDINGS = / skb: /;

/** The lifecycle invariants of every scenario, for `mode` (a TX strategy). */
export function lifecycleChecks(w: World, report: TeardownReport, mode: string): InvariantCheck[] {
  const l = w.life;
  const unanswered = l.unanswered().length;
  const f = report.findings;
  const pick = (re: RegExp) => f.filter((x) => re.test(x));
  const grants = pick(GRANT_FINDINGS);
  const maps = pick(MAPPING_FINDINGS);
  const leaks = pick(LEAK_FINDINGS);
  const out = [
    check('each TX request answered exactly once', unanswered === 0 && l.doubleAnswers === 0 && l.requests > 0,
      `${l.requests} requests, ${l.responses} responses, ${unanswered} unanswered, ${l.doubleAnswers} extra`),
    check('no unmap while an sk_buff still references the page', l.earlyUnmaps === 0, `${l.earlyUnmaps} early unmap(s) of ${l.unmaps}`),
  ];
  if (mode !== 'plain-ref') {
    out.push(check('no response before its grant is unmapped', l.responsesBeforeUnmap === 0, `${l.responsesBeforeUnmap} early response(s)`));
  }
  out.push(
    check('every grant ended', grants.length === 0, grants.slice(0, 3).join('; ')),
    check('no mapping left', maps.length === 0 && l.mappedNow === 0, maps.slice(0, 3).join('; ')),
    check('no leak', leaks.length === 0, leaks.slice(0, 3).join('; ')),
    check('teardown audit clean', f.length === 0, f.slice(0, 5).join('; ')),
  );
  return out;
}
