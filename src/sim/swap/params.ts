/**
 * The swap-over-network scenario's parameters (REFERENCE.md §12.2) and its five modes (§12.3).
 *
 * Time is integer steps; one step is STEP_NS of virtual time on the scheduler. Every size is in pages of 4 KiB
 * unless the name says bytes. `defaultSwapParams()` is §12.2's table; the scenario's knobs (flood, steps, tap,
 * reclaimers, ...) override single fields, and tests build reduced configurations with `withParams`.
 *
 * Two departures from the table are deliberate and written where they apply:
 * - the NIC has one RX queue per CPU (RSS); the storage flow is steered to queue 1 (an ntuple rule, as an admin
 *   running swap over the network would set), everything else hashes to queue 0. With one shared ring a flood
 *   larger than a CPU's NAPI budget crowds replies out in hardware, which no memory design can cure;
 * - `mainline` runs with an admin-tuned min_free_kbytes (computed by `mainlineMinFreeKbytes`), as the
 *   `sk_set_memalloc` comment asks: the GFP_ATOMIC floor (3/8 MIN), not MIN, is what the flood leaves behind.
 */

import { XEN_PAGE_SIZE } from '../../abi/page.ts';
import { RX_RESERVE_AWARE, RX_RESERVE_NAIVE, RX_RESERVE_OFF, type RxReserveMode } from '../../net/constants.ts';

/** Virtual time of one step: 1 ms. */
export const STEP_NS = 1_000_000;
/** TX_RESERVE_PAGES (v20): a 64 KiB packet, doubled. */
export const TX_RESERVE_PAGES = 32;
/** SWAP_CLUSTER_MAX: pages one reclaim pass handles. */
export const SWAP_CLUSTER_MAX = 32;

export const MODE_OFF = 'off';
export const MODE_NAIVE = 'naive';
export const MODE_MAINLINE = 'mainline';
export const MODE_GROUPS = 'groups';
export const MODE_NTA = 'nta';
export const SWAP_MODES = [MODE_MAINLINE, MODE_GROUPS, MODE_NTA, MODE_OFF, MODE_NAIVE] as const;
export type SwapMode = (typeof SWAP_MODES)[number];

/** What a mode switches on (REFERENCE §12.3: A = off, A′ = naive, B = mainline, C = groups; NTA §11.12). */
export interface ModeSpec {
  readonly name: SwapMode;
  /** §12.3's letter, for reports. */
  readonly letter: string;
  readonly rxReserveMode: RxReserveMode;
  /** sk_set_memalloc on the swap socket (xs_set_memalloc / nbd). Pre-2012 kernels (off) and NTA have none. */
  readonly memallocSocket: boolean;
  /** v20 reservation groups and the emergency watermark. */
  readonly groups: boolean;
  /** Network buffers from a separate NtaAllocator pool. */
  readonly nta: boolean;
  /** §12.3 expects a deadlock the watchdog must detect. */
  readonly expectDeadlock: boolean;
  /** The receive-path rules are on: invariants 2, 3, 4 and 10 apply. */
  readonly rxRules: boolean;
}

export const MODES: Readonly<Record<SwapMode, ModeSpec>> = {
  off: { name: MODE_OFF, letter: 'A', rxReserveMode: RX_RESERVE_OFF, memallocSocket: false, groups: false, nta: false, expectDeadlock: true, rxRules: false },
  naive: { name: MODE_NAIVE, letter: 'A′', rxReserveMode: RX_RESERVE_NAIVE, memallocSocket: true, groups: false, nta: false, expectDeadlock: true, rxRules: false },
  mainline: { name: MODE_MAINLINE, letter: 'B', rxReserveMode: RX_RESERVE_AWARE, memallocSocket: true, groups: false, nta: false, expectDeadlock: false, rxRules: true },
  groups: { name: MODE_GROUPS, letter: 'C', rxReserveMode: RX_RESERVE_AWARE, memallocSocket: true, groups: true, nta: false, expectDeadlock: false, rxRules: true },
  nta: { name: MODE_NTA, letter: 'NTA', rxReserveMode: RX_RESERVE_OFF, memallocSocket: false, groups: false, nta: true, expectDeadlock: false, rxRules: false },
};

export function isSwapMode(m: string): m is SwapMode {
  return (SWAP_MODES as readonly string[]).includes(m);
}

export interface SwapParams {
  /** Pages of the client domain (lowmem). */
  readonly totalPages: number;
  /** min_free_kbytes; null = the mode's default (int_sqrt rule, or the admin-tuned value in mainline). */
  readonly minFreeKbytes: number | null;
  readonly cpus: number;
  /** B: frames one NAPI poll may process. */
  readonly napiBudget: number;
  /** netdev_budget: frames one net_rx_action may process per CPU and step. */
  readonly netdevBudget: number;
  /** RX descriptors per queue. */
  readonly ringSize: number;
  /** Bytes of one RX buffer (a page fragment): 2 per page. */
  readonly fragSize: number;
  /**
   * rx_copybreak: frames up to this length are copied into a small skb from the napi frag cache and their
   * buffer is posted again (igb/e1000 style); 0 (default) = every frame is build_skb'd around its buffer, which
   * the ring then refills (§12.1's NIC). The sticky-tag bug needs copybreak: only quickly freed small
   * fragments let the cache recycle a page.
   */
  readonly rxCopybreak: number;
  /** M: swap requests in flight (UDP RPC slot table). */
  readonly maxInFlight: number;
  /** Requests reclaim may queue for the swap device (nr_requests). */
  readonly swapQueueMax: number;
  /** RPC call header bytes in front of the page (S_req = PAGE + rpcHdrBytes). */
  readonly rpcHdrBytes: number;
  /** sunrpc's rq_buffer: kmalloc'd per request (call and reply headers). */
  readonly rpcBufBytes: number;
  /** S_reply: RPC reply payload bytes. */
  readonly replyBytes: number;
  /** L: the server answers this many steps after a request. */
  readonly serverLatency: number;
  /** T_rto: steps before a request is sent again. */
  readonly rto: number;
  /** The client sends a NULL ping when idle this many steps (keeps replies flowing after recovery). */
  readonly pingIdle: number;
  /** F: flood frames per step (before the multiplier). */
  readonly floodFrames: number;
  readonly floodMultiplier: number;
  /** S_flood: bytes per flood frame. */
  readonly floodBytes: number;
  /** t0: first step of the flood. */
  readonly floodStart: number;
  /** One flood frame in this many is not IP (ethertype 0x88b5), for the protocol rule; 0 = none. */
  readonly nonIpEvery: number;
  /** floodSock's SO_RCVBUF in bytes; the kernel doubles it into sk_rcvbuf (bytes of truesize). */
  readonly floodRcvbuf: number;
  /** Step at which floodSock's reader wakes up and from then on reads everything each step; -1 = never. */
  readonly floodReaderWake: number;
  /** A: anonymous pages the workload touches per step. */
  readonly anonPerStep: number;
  /** targetPages: pages touched once before the workload exits. */
  readonly targetPages: number;
  /** D: user tasks of the workload, each a potential direct reclaimer. */
  readonly reclaimers: number;
  /** N: the most steps the run may take. */
  readonly steps: number;
  /** W: liveness window. */
  readonly watchdogWindow: number;
  /** Steps run after the workload exits, for the reverse check (invariant 10). */
  readonly recoverySteps: number;
  /** An AF_PACKET tap that never reads. */
  readonly tap: boolean;
  /** The tap's SO_RCVBUF (libpcap's default 2 MiB; doubled by the kernel). */
  readonly tapRcvbuf: number;
  /** The page-frag cache recycles a reserve page (the 2013-2020 sticky-tag bug). */
  readonly stickyFrag: boolean;
  /** NTA: pages in the network pool (taken out of totalPages), split over the CPUs. */
  readonly ntaPoolPages: number;
}

/** REFERENCE §12.2's defaults. */
export function defaultSwapParams(): SwapParams {
  const total = 16384;
  const rto = 20;
  return {
    totalPages: total,
    minFreeKbytes: null,
    cpus: 2,
    napiBudget: 64,
    netdevBudget: 300,
    ringSize: 256,
    fragSize: 2048,
    rxCopybreak: 0,
    maxInFlight: 16,
    swapQueueMax: 128,
    rpcHdrBytes: 200,
    rpcBufBytes: 512,
    replyBytes: 200,
    serverLatency: 3,
    rto,
    pingIdle: 5,
    floodFrames: 128,
    floodMultiplier: 1,
    floodBytes: 1500,
    floodStart: 0,
    nonIpEvery: 32,
    floodRcvbuf: 32 << 20,
    floodReaderWake: -1,
    anonPerStep: 64,
    targetPages: 4 * total,
    reclaimers: 4,
    steps: 20000,
    watchdogWindow: 10 * rto,
    recoverySteps: 2 * rto,
    tap: false,
    tapRcvbuf: 2 << 20,
    stickyFrag: false,
    ntaPoolPages: 512,
  };
}

/** `base` with some fields replaced (the type keeps a typo from compiling). */
export function withParams(base: SwapParams, over: Partial<SwapParams>): SwapParams {
  return { ...base, ...over };
}

/** Pages a fragment of `bytes` takes, rounded up. */
export function pagesFor(bytes: number): number {
  return Math.ceil(bytes / XEN_PAGE_SIZE);
}

/**
 * The network's reserve demand in pages, REFERENCE §12.2 (v20 sizing):
 * TX = M × (1 page + header page) + TX_RESERVE_PAGES; RX in transit = CPUs × B × ⌈S_max / PAGE⌉ (Neil's per-CPU
 * bound); RPC = kmalloc_estimate_objs(rpc buffer, M), passed in because it needs the slab layer.
 */
export interface ReserveDemand {
  readonly tx: number;
  readonly rxPerCpu: number;
  readonly rx: number;
  readonly rpc: number;
  readonly total: number;
}

export function reserveDemand(p: SwapParams, rpcPages: number): ReserveDemand {
  const tx = p.maxInFlight * 2 + TX_RESERVE_PAGES;
  const rxPerCpu = p.napiBudget * pagesFor(p.fragSize);
  const rx = p.cpus * rxPerCpu;
  return { tx, rxPerCpu, rx, rpc: rpcPages, total: tx + rx + rpcPages };
}

/** The GFP_ATOMIC floor of a zone whose MIN is `min` (ALLOC_HIGH halves, ALLOC_HARDER takes a quarter more). */
export function atomicFloor(min: number): number {
  const high = min - (min >> 1);
  return high - (high >> 2);
}

/**
 * The admin's min_free_kbytes for mainline: the smallest value whose GFP_ATOMIC floor covers the network's
 * reserve demand. In 3.6 the reserve is "the pages below MIN", but GFP_ATOMIC callers (the flood's RX refills,
 * which are untagged while free is above their floor) may take MIN down to 3/8 of it, so only what lies below
 * 3/8 MIN is left for the swap traffic.
 */
export function mainlineMinFreeKbytes(demandPages: number): number {
  let min = demandPages;
  while (atomicFloor(min) < demandPages) min++;
  return min * (XEN_PAGE_SIZE >> 10);
}
