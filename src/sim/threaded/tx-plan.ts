/**
 * What the main thread hands the two workers of a threaded TX run, and what they hand back.
 */

import type { CostParams, DomainCost } from '../../hv/cost.ts';
import type { MachineMemoryShared } from '../../hv/memory.ts';
import type { NetbackQueueStats } from '../../drivers/netback/stats.ts';
import type { NetfrontQueueStats } from '../../drivers/netfront/stats.ts';
import type { TxWorkloadSpec } from '../bench/workload.ts';
import type { HeapReport } from './heap.ts';
import type { LoopStats } from './loop.ts';
import type { LinkParts } from './protocol.ts';
import type { GuestDomainInfo } from './remote-hv.ts';

export interface TxRunPlan {
  readonly spec: TxWorkloadSpec;
  /** Packets sent and answered before the measured window (JIT warm-up, pools filled). */
  readonly warmup: number;
  /** Packets in the measured window. */
  readonly packets: number;
  readonly cost?: Partial<CostParams>;
  /** Watch the heap and the collections of both threads over the measured window. */
  readonly heap?: boolean;
  /** A thread that makes no progress for this long fails the run (ms). */
  readonly stallMs?: number;
  /** How long an idle thread spins before it sleeps on its doorbell (ms; loop.ts's default if absent). */
  readonly spinMs?: number;
}

/** Labels of the posted marks. */
export const MARK_START = 0;
export const MARK_END = 1;

export interface TxWorkerData {
  readonly plan: TxRunPlan;
  readonly link: LinkParts;
  /** epochMs() origin both WallClocks count from. */
  readonly originMs: number;
}

export interface TxGuestWorkerData extends TxWorkerData {
  readonly memory: MachineMemoryShared;
  readonly guest: GuestDomainInfo;
}

/** Backend → main, once built. */
export interface TxBackendReady {
  readonly type: 'ready';
  readonly memory: MachineMemoryShared;
  readonly guest: GuestDomainInfo;
}

export interface TxMark {
  readonly label: number;
  readonly atMs: number;
  /** dom0 + guest modelled cost counters at the mark. */
  readonly cost: DomainCost;
  readonly delivered: number;
  /** The hypervisor thread's loop counters at the mark. */
  readonly loop: LoopStats;
}

export interface TxBackendResult {
  readonly type: 'result';
  readonly marks: TxMark[];
  readonly delivered: number;
  readonly mismatches: number;
  readonly seqs: number[] | null;
  readonly digests: number[] | null;
  readonly netback: NetbackQueueStats;
  readonly audit: string[];
  readonly posted: number;
  readonly calls: number;
  readonly heap: HeapReport | null;
}

export interface TxGuestResult {
  readonly type: 'result';
  readonly startMs: number;
  readonly endMs: number;
  readonly records: string[] | null;
  readonly strays: number;
  readonly netfront: NetfrontQueueStats;
  readonly broken: string | null;
  readonly busy: number;
  readonly deferred: number;
  readonly posted: number;
  /** The guest thread's loop over the measured window. */
  readonly loop: LoopStats;
  readonly heap: HeapReport | null;
}

export type TxWorkerMessage = TxBackendReady | TxBackendResult | TxGuestResult | { readonly type: 'error'; readonly message: string; readonly stack?: string };
