/**
 * Shared by the scenario suites: run a scenario with its trace recorded, and the invariants every lifecycle
 * scenario must show, checked twice: from the result's counters and checks, and again from the recorded
 * timeline alone (checkTrace).
 */
import * as assert from 'uvu/assert';
import type { Scenario, ScenarioResult, TraceEvent } from '../../../src/sim/scenarios/index.ts';
import { checkTrace, type TraceCheck } from '../../../src/sim/world.ts';

export interface Run {
  readonly r: ScenarioResult;
  readonly events: TraceEvent[];
  readonly trace: TraceCheck;
  /** A counter as a number. */
  c(name: string): number;
}

export function run(s: Scenario, mode: string, knobs: Record<string, number> = {}, seed = 7): Run {
  const events: TraceEvent[] = [];
  const r = s.run({ mode, seed, knobs, trace: (e) => events.push(e) });
  return {
    r, events, trace: checkTrace(events),
    c: (name) => {
      const v = r.counters[name];
      assert.type(v, 'number', `counter ${name}`);
      return v as number;
    },
  };
}

/** Failed checks, for assertion messages. */
export function failed(r: ScenarioResult): string {
  return JSON.stringify(r.checks.filter((c) => !c.ok));
}

/**
 * The invariants of every run in a correct mode: ok, each request answered exactly once, no response before
 * the unmap (all but plain-ref), no early unmap, nothing left mapped or leaked; the same from the trace.
 */
export function assertLifecycle(x: Run, mode: string): void {
  assert.ok(x.r.ok, `${x.r.scenario}/${mode}: ${failed(x.r)}`);
  assert.is(x.c('earlyUnmaps'), 0);
  assert.is(x.c('auditFindings'), 0);
  assert.ok(x.c('packets') > 0);
  assert.is(x.c('grantMaps'), x.c('grantUnmaps'), 'every map unmapped');
  if (mode === 'copy') assert.is(x.c('grantMaps'), 0, 'copy mode maps nothing');
  else assert.ok(x.c('grantMaps') > 0, `${mode} maps`);
  if (mode !== 'plain-ref') assert.is(x.c('responsesBeforeUnmap'), 0);
  // From the trace alone.
  const t = x.trace;
  assert.ok(t.requests > 0);
  assert.is(t.unanswered, 0, 'every request answered (trace)');
  assert.is(t.doubleAnswers, 0, 'no request answered twice (trace)');
  assert.is(t.responses, t.requests, 'one response per request (trace)');
  assert.is(t.earlyUnmaps, 0, 'no unmap with references left (trace)');
  if (mode !== 'plain-ref') {
    assert.is(t.responsesBeforeUnmap, 0, 'no response before unmap (trace)');
    assert.is(t.endFailures, 0, 'every end-access succeeded (trace)');
  }
  assert.is(t.responses, x.c('responses'));
  assert.ok(x.events.every((e, i) => i === 0 || e.t >= x.events[i - 1]!.t), 'the trace is in time order');
  assert.ok(x.events.filter((e) => e.page !== undefined).every((e) => /^\d+:\d+$/.test(e.page!)), 'page ids are domid:frame');
}
