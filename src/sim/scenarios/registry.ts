/**
 * The scenario registry: every named scenario `pvnet run NAME` can run.
 *
 * A scenario is a deterministic experiment on the scheduler: it builds a machine, drives a workload, checks
 * its invariants as it goes, and ends with the teardown audit. It answers a `ScenarioResult`: the counters
 * it measured (flat JSON), the invariant checks with pass / fail and a message, and `ok` (every check passed).
 * `pvnet run` exits 0 when ok, 1 when an invariant failed. Scenarios never read the wall clock or
 * Math.random: the seed is the only input besides the options, so a failing seed is a bug report.
 */

import { InvalidArgument } from '../../errors.ts';

export interface ScenarioOptions {
  /** The mode (a TX strategy, a reserve mode...): one of the scenario's `modes`. */
  mode: string;
  seed: number;
  /** Scenario-specific numeric knobs from the command line (e.g. --flood N). */
  knobs: Readonly<Record<string, number>>;
  /** Optional recorders the scenario feeds when given. */
  trace?: (event: TraceEvent) => void;
  pcap?: (timeNs: number, frame: Uint8Array, off: number, len: number) => void;
}

/** One lifecycle event of one guest page (for the timeline chart and --trace). */
export interface TraceEvent {
  /** Virtual time, ns. */
  t: number;
  /** What happened: granted, requested, mapped, copied, in-skb, cloned, released, unmapped, answered, ended... */
  kind: string;
  /** The guest page (domid:frame) or another subject. */
  page?: string;
  [key: string]: unknown;
}

export interface InvariantCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface ScenarioResult {
  scenario: string;
  mode: string;
  seed: number;
  ok: boolean;
  counters: Record<string, number | string | boolean>;
  checks: InvariantCheck[];
}

export interface Scenario {
  readonly name: string;
  readonly summary: string;
  readonly modes: readonly string[];
  readonly defaultMode: string;
  /** Knobs the scenario accepts (name → one-line help), e.g. { flood: 'scale the flood by N' }. */
  readonly knobs: Readonly<Record<string, string>>;
  run(opts: ScenarioOptions): ScenarioResult;
}

const registry = new Map<string, Scenario>();

/** Add a scenario; names are unique. */
export function registerScenario(s: Scenario): void {
  if (registry.has(s.name)) throw new InvalidArgument(`scenario '${s.name}' is already registered`);
  if (!s.modes.includes(s.defaultMode)) throw new InvalidArgument(`scenario '${s.name}': default mode not in modes`);
  registry.set(s.name, s);
}

export function scenarioByName(name: string): Scenario | undefined {
  return registry.get(name);
}

/** Registered scenarios, in registration order. */
export function allScenarios(): Scenario[] {
  return [...registry.values()];
}

/** Build a result from counters and checks; `ok` iff every check passed. */
export function scenarioResult(
  s: Scenario, opts: ScenarioOptions, counters: ScenarioResult['counters'], checks: InvariantCheck[],
): ScenarioResult {
  return { scenario: s.name, mode: opts.mode, seed: opts.seed, ok: checks.every((c) => c.ok), counters, checks };
}

/** A check helper: `check('no early unmap', early === 0, `${early} early unmaps`)`. */
export function check(name: string, ok: boolean, detail = ''): InvariantCheck {
  return { name, ok, detail };
}
