/**
 * `pvnet bench`'s run: the baselines, the threaded throughput of every strategy at every size, the cost
 * model beside each result, the modelled copy/map crossover, the target checks and (full runs) the
 * steady-state allocation check. Everything is measured in this one run, and every throughput is also given
 * as a ratio to the baselines measured here (baselines.ts), so results from different machines compare.
 *
 * A result is one threaded run (sim/threaded/runtime.ts): fresh workers and a fresh machine, a warm-up,
 * then `packets` packets timed by the guest. A quick run uses fewer packets and one repetition; a full run
 * repeats each measurement three times and keeps the median.
 */

import type { TxStrategy } from '../../drivers/netback/netback.ts';
import { DEFAULT_COST_PARAMS, type CostParams } from '../../hv/cost.ts';
import { InvalidArgument } from '../../errors.ts';
import { runThreadedTx, type ThreadedTxResult } from '../threaded/runtime.ts';
import type { HeapReport } from '../threaded/heap.ts';
import { machineInfo, memcpyBytesPerSec, ringMsgsPerSec, type MachineInfo } from './baselines.ts';
import { modelCrossover, modelNs } from './model.ts';
import { BENCH_SIZES, BENCH_STRATEGIES, TX_HDR_LEN, TX_LINEAR_MAX, TX_MAX_SIZE, TX_MIN_SIZE } from './workload.ts';
import { XEN_PAGE_SIZE } from '../../abi/page.ts';

export interface BenchOptions {
  /** Fewer packets, one repetition, no allocation check: finishes within a minute on two cores. */
  readonly quick?: boolean;
  readonly strategies?: readonly TxStrategy[];
  readonly sizes?: readonly number[];
  /** Also run every case with a tap cloning each packet in dom0 (default: full runs only). */
  readonly tap?: boolean;
  /** Run the allocation check (default: full runs only). */
  readonly alloc?: boolean;
  /** Packets of the allocation check (default 1 000 000). */
  readonly allocPackets?: number;
  /** Scale every packet count (tests use a tiny factor). */
  readonly scale?: number;
  readonly cost?: Partial<CostParams>;
  /** One line per step, for a progress display. */
  readonly progress?: (line: string) => void;
}

export interface Baselines {
  /** Messages per second through the bare two-thread SharedArrayBuffer ring (12-byte messages). */
  readonly ringMsgsPerSec: number;
  /** Typed-array copy bandwidth for 64 KiB copies, bytes per second. */
  readonly memcpyBytesPerSec: number;
  /** The same for each frame size (what each result's ratioToMemcpy divides by). */
  readonly memcpyBytesPerSecBySize: Readonly<Record<string, number>>;
  readonly machine: MachineInfo;
  readonly date: string;
}

export interface BenchRecord {
  readonly strategy: TxStrategy;
  /** Frame bytes. */
  readonly size: number;
  /** A dom0 tap cloned every packet. */
  readonly tap: boolean;
  /** Packets per second, from the guest's clock. */
  readonly pps: number;
  /** Frame bytes per second × 8 / 1e9. */
  readonly gbps: number;
  /** pps / baselines.ringMsgsPerSec. */
  readonly ratioToRing: number;
  /** Frame bytes per second / the memcpy bandwidth for the same size. */
  readonly ratioToMemcpy: number;
  /** Modelled hypervisor ns per packet: the run's own hypercall counters (both domains), priced. */
  readonly modelNsPerPacket: number;
  readonly packets: number;
  readonly elapsedMs: number;
  /** Share of the measured window each thread spent working (the other is the bottleneck's peer). */
  readonly backendBusy: number;
  readonly guestBusy: number;
}

export interface TargetCheck {
  readonly name: string;
  readonly target: string;
  /** The measured value, or null if this run did not measure it. */
  readonly value: number | null;
  readonly met: boolean | null;
}

export interface AllocationCheck {
  readonly strategy: TxStrategy;
  readonly size: number;
  readonly packets: number;
  readonly guest: HeapReport;
  readonly backend: HeapReport;
}

export interface BenchReport {
  readonly tool: 'pvnet bench';
  readonly quick: boolean;
  readonly baselines: Baselines;
  readonly results: BenchRecord[];
  readonly costParams: CostParams;
  /** Smallest frame size at which map is modelled cheaper than copy; null: none up to 65535 bytes. */
  readonly modelCrossoverBytes: number | null;
  /** Per-byte copy cost above which mapping a full payload page is modelled cheaper than copying it. */
  readonly modelBreakEvenCopyByteNs: number;
  /** The model's ns per packet for every strategy over a grid of sizes (the chart's curves). */
  readonly model: readonly { readonly size: number; readonly strategy: TxStrategy; readonly ns: number }[];
  readonly targets: TargetCheck[];
  readonly allocation: AllocationCheck[] | null;
}

/**
 * Packets per run, by size: a warm-up long enough for the JIT to settle in fresh workers (a third of the
 * measured count), then about 0.1-0.3 s of measured work on a quick run, three times that on a full run.
 */
function packetsFor(size: number, quick: boolean, scale: number): { warmup: number; packets: number } {
  const base = size <= 1500 ? 60_000 : size <= 4096 ? 30_000 : size <= 16384 ? 15_000 : 8_000;
  const packets = Math.max(1, Math.round(base * (quick ? 1 : 3) * scale));
  return { warmup: Math.max(1, Math.round((base / 3) * scale)), packets };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[(s.length - 1) >> 1]!;
}

function busyShare(r: ThreadedTxResult): { backend: number; guest: number } {
  const [m0, m1] = [r.backend.marks[0]!, r.backend.marks[1]!];
  const window = m1.atMs - m0.atMs;
  return {
    backend: window > 0 ? (m1.loop.busyMs - m0.loop.busyMs) / window : 0,
    guest: r.elapsedMs > 0 ? r.guest.loop.busyMs / r.elapsedMs : 0,
  };
}

function checkResult(r: ThreadedTxResult): void {
  const what = `${r.plan.spec.strategy} ${r.plan.spec.size} B`;
  if (r.backend.audit.length > 0) throw new InvalidArgument(`bench ${what}: the hypervisor audit failed: ${r.backend.audit.join('; ')}`);
  if (r.guest.broken !== null) throw new InvalidArgument(`bench ${what}: netfront broke: ${r.guest.broken}`);
  if (r.guest.netfront.txErrors !== 0 || r.guest.netfront.txDropped !== 0) {
    throw new InvalidArgument(`bench ${what}: ${r.guest.netfront.txErrors} TX errors, ${r.guest.netfront.txDropped} drops`);
  }
  const expected = r.plan.warmup + r.plan.packets;
  if (r.backend.delivered !== expected) throw new InvalidArgument(`bench ${what}: dom0 received ${r.backend.delivered} of ${expected} packets`);
}

/** Run the benchmark. */
export async function runBench(opts: BenchOptions = {}): Promise<BenchReport> {
  const quick = opts.quick ?? false;
  const scale = opts.scale ?? 1;
  const strategies = opts.strategies ?? BENCH_STRATEGIES;
  const sizes = opts.sizes ?? BENCH_SIZES;
  for (const s of sizes) {
    if (!Number.isInteger(s) || s < TX_MIN_SIZE || s > TX_MAX_SIZE) throw new InvalidArgument(`bench: bad size ${s}`);
  }
  const taps = (opts.tap ?? !quick) ? [false, true] : [false];
  const reps = quick ? 1 : 3;
  const say = opts.progress ?? (() => {});
  const params: CostParams = Object.freeze({ ...DEFAULT_COST_PARAMS, ...(opts.cost ?? {}) });
  const machine = machineInfo();
  const date = new Date().toISOString();

  say('baselines: memcpy');
  const bySize: Record<string, number> = {};
  for (const s of new Set([...sizes, TX_MAX_SIZE])) bySize[String(s)] = memcpyBytesPerSec(s, reps, quick ? 80 : 150);
  say('baselines: bare ring between two threads');
  const ring = await ringMsgsPerSec(Math.max(10_000, Math.round((quick ? 5_000_000 : 20_000_000) * scale)), reps);
  const baselines: Baselines = {
    ringMsgsPerSec: ring.msgsPerSec, memcpyBytesPerSec: bySize[String(TX_MAX_SIZE)]!, memcpyBytesPerSecBySize: bySize, machine, date,
  };

  // One short run first, not recorded: the first workers of a process also pay for loading and compiling the
  // sources (tsx's cache, the OS page cache), which would otherwise land on whichever case runs first.
  say('warming up');
  await runThreadedTx({ spec: { strategy: strategies[0]!, size: sizes[0]!, tap: false, verify: false }, warmup: 100, packets: 100 });

  // Sizes outside, strategies inside: strategies compared at one size are measured back to back, so a change
  // in the machine's load during the run spreads over sizes rather than over strategies.
  const results: BenchRecord[] = [];
  for (const tap of taps) {
    for (const size of sizes) {
      for (const strategy of strategies) {
        const { warmup, packets } = packetsFor(size, quick, scale);
        say(`${strategy} ${size} B${tap ? ' + tap' : ''}: ${packets} packets`);
        const runs: ThreadedTxResult[] = [];
        for (let r = 0; r < reps; r++) {
          const res = await runThreadedTx({ spec: { strategy, size, tap, verify: false }, warmup, packets, ...(opts.cost ? { cost: opts.cost } : {}) });
          checkResult(res);
          runs.push(res);
        }
        const pps = median(runs.map((x) => x.pps));
        const run = runs.find((x) => x.pps === pps)!;
        const busy = busyShare(run);
        results.push({
          strategy, size, tap, pps, gbps: (pps * size * 8) / 1e9,
          ratioToRing: pps / baselines.ringMsgsPerSec,
          ratioToMemcpy: (pps * size) / bySize[String(size)]!,
          modelNsPerPacket: run.modelNsPerPacket,
          packets, elapsedMs: run.elapsedMs, backendBusy: busy.backend, guestBusy: busy.guest,
        });
      }
    }
  }

  const order = (x: BenchRecord) => strategies.indexOf(x.strategy) * 1e6 + x.size + (x.tap ? 1e9 : 0);
  results.sort((a, b) => order(a) - order(b));

  const crossover = modelCrossover(params);
  const model: { size: number; strategy: TxStrategy; ns: number }[] = [];
  for (const size of modelGrid()) for (const strategy of strategies) model.push({ size, strategy, ns: modelNs(params, strategy, size) });

  let allocation: AllocationCheck[] | null = null;
  if (opts.alloc ?? !quick) {
    allocation = [];
    const n = opts.allocPackets ?? 1_000_000;
    for (const strategy of strategies) {
      say(`allocation: ${strategy} 64 B, ${n} packets`);
      const res = await runThreadedTx({ spec: { strategy, size: 64, tap: false, verify: false }, warmup: Math.min(n, 20_000), packets: n, heap: true });
      checkResult(res);
      allocation.push({ strategy, size: 64, packets: n, guest: res.guest.heap!, backend: res.backend.heap! });
    }
  }

  return {
    tool: 'pvnet bench', quick, baselines, results, costParams: params,
    modelCrossoverBytes: crossover.bytes, modelBreakEvenCopyByteNs: crossover.breakEvenCopyByteNs, model,
    targets: targetChecks(results, allocation), allocation,
  };
}

/** Sizes the model is drawn at: 1/16 octave apart, both ends of every step in slot count, the bench sizes. */
function modelGrid(): number[] {
  const sizes = new Set<number>([TX_MIN_SIZE, TX_MAX_SIZE, TX_LINEAR_MAX, TX_LINEAR_MAX + 1, ...BENCH_SIZES]);
  for (let e = Math.log2(TX_MIN_SIZE); e < Math.log2(TX_MAX_SIZE); e += 1 / 16) sizes.add(Math.round(2 ** e));
  for (let edge = TX_HDR_LEN + XEN_PAGE_SIZE; edge < TX_MAX_SIZE; edge += XEN_PAGE_SIZE) sizes.add(edge).add(edge + 1);
  return [...sizes].filter((s) => s >= TX_MIN_SIZE && s <= TX_MAX_SIZE).sort((a, b) => a - b);
}

function find(rs: readonly BenchRecord[], strategy: TxStrategy, size: number): BenchRecord | undefined {
  return rs.find((r) => r.strategy === strategy && r.size === size && !r.tap);
}

/** The targets, as measured in this run (null where the run did not measure them). */
export function targetChecks(rs: readonly BenchRecord[], alloc: readonly AllocationCheck[] | null): TargetCheck[] {
  const copy64 = find(rs, 'copy', 64);
  const copyG = find(rs, 'copy', TX_MAX_SIZE);
  const ratio = (s: TxStrategy): number | null => {
    const r = find(rs, s, TX_MAX_SIZE);
    return r !== undefined && copyG !== undefined ? r.gbps / copyG.gbps : null;
  };
  const check = (name: string, target: string, value: number | null, ok: (v: number) => boolean): TargetCheck =>
    ({ name, target, value, met: value === null ? null : ok(value) });
  const out = [
    check('copy 64 B vs the bare ring', 'pps ≥ 0.2 × ring msgs/s', copy64?.ratioToRing ?? null, (v) => v >= 0.2),
    check('map 64 KiB vs copy 64 KiB', 'Gbit/s ≥ 2 × copy', ratio('map'), (v) => v >= 2),
    check('hybrid 64 KiB vs copy 64 KiB', 'Gbit/s ≥ 2 × copy', ratio('hybrid'), (v) => v >= 2),
    check('copy 64 KiB vs memcpy', 'bytes/s ≥ 0.6 × memcpy', copyG?.ratioToMemcpy ?? null, (v) => v >= 0.6),
  ];
  if (alloc !== null && alloc.length > 0) {
    const growth = Math.max(...alloc.flatMap((a) => [a.guest.growth, a.backend.growth]));
    const majors = alloc.reduce((n, a) => n + a.guest.majorGcs + a.backend.majorGcs, 0);
    out.push(check('steady-state heap growth', '< 1 MiB over 1 000 000 packets', growth, (v) => v < 1 << 20));
    out.push(check('steady-state major GCs', '0 over 1 000 000 packets', majors, (v) => v === 0));
  }
  return out;
}
