/**
 * The showcase: every run `pvnet demo` and `pvnet report` present, gathered into one plain JSON object
 * (`ShowcaseResults`, written as results.json). Simulation numbers come from seeded runs and are the same on
 * every machine; `wallMs` fields are measured on this machine and labelled as such.
 *
 *   1. the ring walkthrough (short);
 *   2. the mixed workload (workload.ts) under copy, map, hybrid and zerocopy, after one untimed warm-up run
 *      that also records the capture (capture.pcap);
 *   3. clone-storm under each strategy: the lifecycle invariants as pass/fail, and two traced runs (map and
 *      zerocopy) for the timelines;
 *   4. nfs-retransmit under every mode, plain-ref included (its "ok" means the corruption reproduced);
 *   5. swap-over-network in each reserve mode.
 */

import type { TxStrategy } from '../drivers/netback/index.ts';
import { runRingWalkthrough } from '../sim/ring-walkthrough.ts';
import { scenarioByName, type InvariantCheck, type TraceEvent } from '../sim/scenarios/index.ts';
import { PcapWriter } from './pcap.ts';
import { runWorkload, WORKLOAD_SIZES, type SizeRow, type WorkloadResult } from './workload.ts';

export interface ShowcaseOptions {
  seed?: number;
  /** A smaller run (fewer frames per size, a smaller swap workload): for tests. */
  quick?: boolean;
  /** Called before each long step (the progress line). */
  progress?: (step: string, index: number, total: number) => void;
}

export interface StrategyRow extends Omit<WorkloadResult, 'bySize' | 'checks'> {
  failed: string[];
}

export interface ShowcaseResults {
  pvnet: string;
  seed: number;
  quick: boolean;
  ok: boolean;
  /** Every check that failed, "section: check (detail)". */
  failures: string[];
  walkthrough: { packets: number; slots: number; bytes: number; copyOps: number; badBytes: number; virtualNs: number; modelledNs: number; auditFindings: string[] };
  workload: { description: string; sizes: number[]; perSize: number; strategies: StrategyRow[]; bySize: SizeRow[] };
  lifecycle: { scenario: string; strategies: string[]; checks: { name: string; results: Record<string, { ok: boolean; detail: string } | null> }[] };
  nfs: { mode: string; ok: boolean; corruptBytesOnWire: number; answeredNs: number; retransmitDepartNs: number; guardFaults: number }[];
  swap: { mode: string; reference: string; ok: boolean; outcome: string; steps: number; minFree: number; minFreeKbytes: number; detail: string }[];
  capture: { strategy: string; frames: number; expectedFrames: number; bytes: number };
  timelines: { strategy: string; events: TraceEvent[] }[];
}

/** The four strategies netback offers (plain-ref, the broken one, only appears in the NFS case). */
export const STRATEGIES: readonly TxStrategy[] = ['copy', 'map', 'hybrid', 'zerocopy'];
const NFS_MODES = ['copy', 'map', 'hybrid', 'zerocopy', 'plain-ref'];
const SWAP_MODES = ['off', 'naive', 'mainline', 'groups', 'nta'];
export const TIMELINE_STRATEGIES: readonly TxStrategy[] = ['map', 'zerocopy'];

export const WORKLOAD_DESCRIPTION =
  'two guests; every frame cloned by a dom0 tap (read 20 µs later); of each three frames, two forwarded guest to ' +
  'guest through br0 and one delivered locally to a dom0 UDP socket (read 10 µs later)';

function failuresOf(section: string, checks: readonly InvariantCheck[]): string[] {
  return checks.filter((c) => !c.ok).map((c) => `${section}: ${c.name}${c.detail ? ` (${c.detail})` : ''}`);
}

export function runShowcase(opts: ShowcaseOptions = {}): { results: ShowcaseResults; pcap: Uint8Array } {
  const seed = opts.seed ?? 1;
  const quick = opts.quick === true;
  const perSize = quick ? 6 : 24;
  const steps = ['ring walkthrough', 'warm-up and capture', ...STRATEGIES.map((s) => `workload: ${s}`),
    'clone-storm lifecycle', 'nfs-retransmit', ...SWAP_MODES.map((m) => `swap-over-network: ${m}`)];
  let step = 0;
  const progress = (name: string) => opts.progress?.(name, step++, steps.length);
  const failures: string[] = [];

  progress(steps[0]!);
  const rw = runRingWalkthrough();
  const walkthrough = {
    packets: rw.packets, slots: rw.slots, bytes: rw.bytes, copyOps: rw.copyOps, badBytes: rw.badBytes,
    virtualNs: rw.virtualNs, modelledNs: rw.modelledNs, auditFindings: rw.auditFindings,
  };
  if (rw.auditFindings.length > 0 || rw.badBytes !== 0) failures.push(`walkthrough: ${rw.badBytes} bad slot(s); ${rw.auditFindings.join('; ')}`);

  // The warm-up (untimed: the JIT's first pass would be charged to whichever strategy ran first) records the capture.
  progress(steps[1]!);
  const pcap = new PcapWriter();
  const warm = runWorkload('hybrid', { seed, perSize, pcap: (t, f, off, len) => pcap.record(t, f, off, len) });
  failures.push(...failuresOf('capture run (hybrid)', warm.checks));
  const capture = { strategy: 'hybrid', frames: pcap.frames, expectedFrames: warm.packets + warm.forwarded, bytes: warm.bytes };
  if (capture.frames !== capture.expectedFrames) failures.push(`capture: ${capture.frames} frames, expected ${capture.expectedFrames}`);

  const strategies: StrategyRow[] = [];
  const bySize: SizeRow[] = [];
  for (const s of STRATEGIES) {
    progress(`workload: ${s}`);
    const r = runWorkload(s, { seed, perSize });
    const { bySize: rows, checks, ...rest } = r;
    const failed = failuresOf(`workload ${s}`, checks);
    failures.push(...failed);
    strategies.push({ ...rest, failed });
    bySize.push(...rows);
  }

  progress('clone-storm lifecycle');
  const cs = scenarioByName('clone-storm')!;
  const names: string[] = [];
  const per = new Map<string, Record<string, { ok: boolean; detail: string } | null>>();
  const timelines: ShowcaseResults['timelines'] = [];
  for (const s of STRATEGIES) {
    const events: TraceEvent[] = [];
    const traced = TIMELINE_STRATEGIES.includes(s);
    const r = cs.run({ mode: s, seed, knobs: { packets: quick ? 10 : 30 } });
    if (traced) {
      cs.run({ mode: s, seed, knobs: { packets: 3, hold: 20, gap: 10 }, trace: (e) => events.push(e) });
      timelines.push({ strategy: s, events });
    }
    failures.push(...failuresOf(`clone-storm ${s}`, r.checks));
    for (const c of r.checks) {
      if (!per.has(c.name)) {
        names.push(c.name);
        per.set(c.name, Object.fromEntries(STRATEGIES.map((x) => [x, null])));
      }
      per.get(c.name)![s] = { ok: c.ok, detail: c.detail };
    }
  }
  const lifecycle = { scenario: 'clone-storm', strategies: [...STRATEGIES], checks: names.map((n) => ({ name: n, results: per.get(n)! })) };

  progress('nfs-retransmit');
  const nfsS = scenarioByName('nfs-retransmit')!;
  const nfs = NFS_MODES.map((m) => {
    const r = nfsS.run({ mode: m, seed, knobs: {} });
    failures.push(...failuresOf(`nfs-retransmit ${m}`, r.checks));
    const c = r.counters;
    return {
      mode: m, ok: r.ok, corruptBytesOnWire: Number(c['corruptBytesOnWire']), answeredNs: Number(c['dataAnsweredNs']),
      retransmitDepartNs: Number(c['retransmitDepartNs']), guardFaults: Number(c['guardFaults']),
    };
  });

  const swapS = scenarioByName('swap-over-network')!;
  const swap = SWAP_MODES.map((m) => {
    progress(`swap-over-network: ${m}`);
    const r = swapS.run({ mode: m, seed, knobs: quick ? { target: 1 } : {} });
    failures.push(...failuresOf(`swap-over-network ${m}`, r.checks));
    const c = r.counters;
    const live = r.checks.find((x) => /deadlock|complete|liveness/i.test(x.name));
    return {
      mode: m, reference: String(c['reference']), ok: r.ok, outcome: String(c['outcome']), steps: Number(c['steps']),
      minFree: Number(c['minFree']), minFreeKbytes: Number(c['minFreeKbytes']), detail: live?.detail ?? '',
    };
  });

  const results: ShowcaseResults = {
    pvnet: 'Xen paravirtual networking, emulated byte for byte', seed, quick, ok: failures.length === 0, failures,
    walkthrough,
    workload: { description: WORKLOAD_DESCRIPTION, sizes: [...WORKLOAD_SIZES], perSize, strategies, bySize },
    lifecycle, nfs, swap, capture, timelines,
  };
  return { results, pcap: pcap.toBytes() };
}
