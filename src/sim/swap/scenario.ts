/**
 * Scenario `swap-over-network` (REFERENCE §12): a domain swapping to a block server over the network while a
 * flood of unrelated traffic arrives, in five modes: `off` (A) and `naive` (A′) must deadlock and the watchdog
 * must say so; `mainline` (B, 3.6), `groups` (C, v20 reservation groups) and `nta` (Polyakov's separate pool)
 * must complete with the invariants of §12.4 holding at every step.
 *
 * One step (STEP_NS of virtual time), in order:
 * ```
 *   1. the wire: replies due from the server, then this step's flood frames, land in the NIC's rings
 *   2. softirq, CPU 0 (the flooded queue) then CPU 1 (the storage queue): NAPI polls, the receive path, ring
 *      refills; replies wait on swapSock
 *   3. checks of the softirq work (invariants 2, 3, 4)
 *   4. process context: kswapd (if awake), the flood's reader (once awake), the workload's tasks (direct
 *      reclaim, throttling), rpciod (the swap client: replies, retransmissions, new requests, idle ping)
 *   5. end-of-step checks (1, 5, 8, 10) and the watchdog (9)
 * ```
 * The run ends when the watchdog fires, when the workload is OOM-killed, after `recoverySteps` more steps once
 * the workload exited (for the reverse check), or after N steps. Then everything is torn down and audited.
 */

import { InvalidArgument } from '../../errors.ts';
import { NSEC_PER_MSEC } from '../../hv/clock.ts';
import { sockDrain } from '../../net/sock.ts';
import { check, scenarioResult, type InvariantCheck, type Scenario, type ScenarioOptions, type ScenarioResult } from '../scenarios/registry.ts';
import { MODES, SWAP_MODES, STEP_NS, defaultSwapParams, isSwapMode, withParams, type SwapMode, type SwapParams } from './params.ts';
import { netRxSoftirq } from './softirq.ts';
import { buildSwapWorld, teardownSwapWorld, type SwapWorld } from './world.ts';

/** How a run ended. */
export type SwapOutcome = 'completed' | 'deadlock' | 'oom' | 'incomplete';

export interface SwapRun {
  readonly outcome: SwapOutcome;
  readonly steps: number;
  readonly counters: Record<string, number | string | boolean>;
  readonly checks: InvariantCheck[];
  /** Every check passed (for off/naive: the deadlock was detected as expected). */
  readonly ok: boolean;
}

/** Run one step of `w` at step `t`. */
export function swapStep(w: SwapWorld, t: number): void {
  const { nic, checker, client } = w;
  w.step = t;
  client.now = t;
  w.sched.runUntil(t * STEP_NS);
  checker.beginStep(t);
  w.server.emitDue(t, w.serverDeliver);
  w.flood.arrive(t, nic, w.prng);
  const groups = w.groups;
  for (let c = 0; c < w.params.cpus; c++) {
    netRxSoftirq(w.ctx, nic, c, w.softirqTasks[c % w.softirqTasks.length]!, groups !== null ? groups.rxCpu[c]! : null, checker);
  }
  checker.afterSoftirq();
  w.reclaim.kswapdRun();
  floodReader(w, t);
  w.workload.step(t, w.prng);
  client.pump(t);
  checker.endStep();
}

/** The flood's reader: blocked until `floodReaderWake`, then it reads everything queued each step. */
function floodReader(w: SwapWorld, t: number): void {
  const wake = w.params.floodReaderWake;
  if (wake < 0 || t < wake) return;
  const sk = w.floodSock;
  sk.readerBlocked = false;
  const ctx = w.ctx;
  const prev = ctx.switchTo(w.floodTask);
  w.floodRead += sockDrain(sk);
  ctx.switchTo(prev);
}

/** Run the scenario with parameters `p` in mode `mode` from `seed`. */
export function runSwapOverNetwork(p: SwapParams, mode: SwapMode, seed: number): SwapRun {
  const w = buildSwapWorld(p, mode, seed);
  let t = 0;
  let end = p.steps;
  let outcome: SwapOutcome = 'incomplete';
  for (; t < end; t++) {
    swapStep(w, t);
    if (w.watchdog.check(t, w.client, w.zone.freePages)) {
      outcome = 'deadlock';
      t++;
      break;
    }
    if (w.workload.killed) {
      outcome = 'oom';
      t++;
      break;
    }
    if (w.workload.done && end === p.steps) end = Math.min(p.steps, t + 1 + p.recoverySteps);
  }
  if (outcome === 'incomplete' && w.workload.done) outcome = 'completed';
  if (outcome === 'completed') w.checker.finishRecovery(w.workload.exitStep, w.flood.perStep > 0 && t > w.flood.start);
  const counters = swapCounters(w, outcome, t);
  const findings = teardownSwapWorld(w);
  const checks = [livenessCheck(w, outcome, t), ...w.checker.report(), check('teardown audit clean', findings.length === 0, findings.slice(0, 5).join('; '))];
  return { outcome, steps: t, counters, checks, ok: checks.every((c) => c.ok) };
}

/** Invariant 9 against §12.3's expectation for the mode. */
function livenessCheck(w: SwapWorld, outcome: SwapOutcome, steps: number): InvariantCheck {
  const name = '9 liveness';
  const wd = w.watchdog;
  if (w.mode.expectDeadlock) {
    return outcome === 'deadlock'
      ? check(name, true, `deadlock detected as expected at step ${wd.firedAt}: ${wd.detail}`)
      : check(name, false, `mode ${w.mode.letter} should deadlock, but the run ended '${outcome}' after ${steps} steps`);
  }
  if (outcome === 'completed') {
    return check(name, true, `completed: workload exited at step ${w.workload.exitStep}, 0 OOM kills, longest stall ${wd.longestStall} steps (W = ${wd.window})`);
  }
  return check(name, false, outcome === 'deadlock' ? `deadlock: ${wd.detail}` : `${outcome} after ${steps} steps (${w.workload.touched}/${w.workload.target} pages touched)`);
}

function swapCounters(w: SwapWorld, outcome: SwapOutcome, steps: number): Record<string, number | string | boolean> {
  const z = w.zone;
  const st = w.stack.stats;
  const fs = w.floodSock.stats;
  const cs = w.client.stats;
  const seen = w.checker.seen;
  const c: Record<string, number | string | boolean> = {
    outcome,
    steps,
    stepLimit: w.params.steps,
    virtualMs: (steps * STEP_NS) / NSEC_PER_MSEC,
    swapCompletions: cs.completions,
    swapWrites: cs.writes,
    retransmits: cs.retransmits,
    inFlight: w.client.writesInFlight,
    pagesTouched: w.workload.touched,
    targetPages: w.workload.target,
    workloadExitStep: w.workload.exitStep,
    oomKills: w.workload.stats.oomKills,
    'flood.offered': w.flood.stats.offered,
    'flood.delivered': fs.queued,
    'flood.read': w.floodRead,
    'flood.drop.hardware': w.flood.stats.hwDropped,
    'flood.drop.pfmemallocFilter': fs.pfmemallocDrops,
    'flood.drop.rcvbuf': fs.rcvbufDrops,
    'flood.drop.pfmemallocProto': st.dropPfmemallocProto,
    'flood.drop.noHandler': st.dropNoHandler,
    minFreeKbytes: z.minFreeKbytes,
    'wmark.min': z.zone.min,
    'wmark.low': z.zone.low,
    'wmark.high': z.zone.high,
    pagesEmerg: z.zone.pagesEmerg,
    minFree: z.stats.minFreeSeen,
    maxDip: seen.maxDip,
    reserveOverruns: z.stats.reserveOverruns,
    pfmemallocPages: z.stats.pfmemallocAllocs,
    taggedRx: seen.taggedRx,
    taggedTx: cs.taggedTx,
    taggedStray: seen.taggedStray,
    taggedOnFloodSock: seen.taggedOnFloodSock,
    taggedOnTap: seen.taggedOnTapRx,
    taggedTxOnTap: seen.taggedOnTapTx,
    'rx.missed.storage': w.nic.queues[1]?.missed ?? 0,
    'rx.allocDrops': w.nic.rxAllocDrops,
    'rx.refillFailures': w.nic.queues.reduce((a, q) => a + q.refillFailures, 0),
    throttled: w.reclaim.stats.throttled,
    pgscanDirectThrottle: z.stats.pgscanDirectThrottle,
    kswapdWakeups: z.stats.kswapdWakeups,
    directReclaims: w.reclaim.stats.directReclaims,
    'frag.recycledReserve': w.nic.napiCaches.reduce((a, f) => a + f.stats.recycledReserve, 0) + w.nic.netdevCaches.reduce((a, f) => a + f.stats.recycledReserve, 0),
    recoveredAt: seen.recoveredAt,
    'watchdog.firedAt': w.watchdog.firedAt,
    'watchdog.longestStall': w.watchdog.longestStall,
    'watchdog.detail': w.watchdog.detail,
  };
  if (w.groups !== null) {
    const g = w.groups;
    const groups: [string, { peak: number; limit: number; chargeFailures: number }][] = [
      ['tx', g.txPages], ['rpc', g.rpc], ...g.rxCpu.map((r, i): [string, typeof r] => [`rx.cpu${i}`, r]),
    ];
    for (const [k, r] of groups) {
      c[`groupPeak.${k}`] = r.peak;
      c[`groupLimit.${k}`] = r.limit;
      c[`groupChargeFailures.${k}`] = r.chargeFailures;
    }
  }
  if (w.nta !== null) {
    c['nta.minFree'] = w.nta.stats.minFreeSeen;
    c['nta.failures'] = w.nta.stats.failures;
  }
  return c;
}

/** The knobs, as `pvnet run swap-over-network --set KNOB=N` takes them. */
export const SWAP_KNOBS: Readonly<Record<string, string>> = {
  flood: 'multiply the flood (F = 128 frames/step) by N (default 1; 100 must still complete in mainline, groups, nta)',
  steps: 'N, the most steps the run may take (default 20000, REFERENCE §12.2)',
  tap: '1 = open an AF_PACKET tap that never reads (default 0)',
  reclaimers: 'D, the workload tasks that may direct-reclaim (default 4)',
  sticky: '1 = the page-frag cache recycles reserve pages (the 2013-2020 sticky-tag bug; with copybreak=256 and wake=400 mainline fails invariant 10)',
  copybreak: 'rx_copybreak in bytes: smaller frames are copied into an skb from the napi frag cache (default 0: none)',
  minfree: 'min_free_kbytes (default: int_sqrt rule, 1024 KiB; in mainline the admin-tuned value)',
  target: 'pages the workload touches, as a multiple of RAM (default 4)',
  t0: 'first step of the flood (default 0)',
  wake: 'step at which the flood\'s blocked reader wakes and drains its socket (default: never)',
};

/** SwapParams from the CLI knobs. */
export function paramsFromKnobs(knobs: Readonly<Record<string, number>>): SwapParams {
  const base = defaultSwapParams();
  const k = (name: string): number | undefined => knobs[name];
  const flood = k('flood');
  const steps = k('steps');
  const tap = k('tap');
  const reclaimers = k('reclaimers');
  const sticky = k('sticky');
  const minfree = k('minfree');
  const target = k('target');
  const t0 = k('t0');
  const wake = k('wake');
  const copybreak = k('copybreak');
  return withParams(base, {
    ...(flood !== undefined ? { floodMultiplier: flood } : {}),
    ...(steps !== undefined ? { steps: Math.max(1, steps) } : {}),
    ...(tap !== undefined ? { tap: tap !== 0 } : {}),
    ...(reclaimers !== undefined ? { reclaimers: Math.max(1, reclaimers) } : {}),
    ...(sticky !== undefined ? { stickyFrag: sticky !== 0 } : {}),
    ...(minfree !== undefined ? { minFreeKbytes: minfree } : {}),
    ...(target !== undefined ? { targetPages: Math.max(1, target) * base.totalPages } : {}),
    ...(t0 !== undefined ? { floodStart: t0 } : {}),
    ...(wake !== undefined ? { floodReaderWake: wake } : {}),
    ...(copybreak !== undefined ? { rxCopybreak: copybreak } : {}),
  });
}

export const swapOverNetworkScenario: Scenario = {
  name: 'swap-over-network',
  summary: 'swap to a block server over the network under a flood: off/naive deadlock (detected), mainline/groups/nta complete',
  modes: SWAP_MODES,
  defaultMode: 'mainline',
  knobs: SWAP_KNOBS,
  run(opts: ScenarioOptions): ScenarioResult {
    if (!isSwapMode(opts.mode)) throw new InvalidArgument(`swap-over-network: unknown mode ${opts.mode}`);
    const r = runSwapOverNetwork(paramsFromKnobs(opts.knobs), opts.mode, opts.seed);
    return scenarioResult(this, opts, { reference: MODES[opts.mode].letter, ...r.counters }, r.checks);
  },
};
