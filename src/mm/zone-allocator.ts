/**
 * The watermark-aware page allocator of one domain kernel: one lowmem zone over frames the domain owns, with
 * Linux 3.6's allocation order, the emergency reserve below MIN, pfmemalloc tagging and the v20 emergency pool.
 *
 * ```
 *   allocPage(gfp)
 *     1. fast path: free > LOW?                                  -> page
 *     2. slow path: wake kswapd if below LOW (__GFP_KSWAPD_RECLAIM)
 *     3.   alloc flags = gfpToAllocFlags(gfp, ctx); retry against MIN with HIGH/HARDER but without
 *          NO_WATERMARKS                                          -> page (untagged)
 *     4.   NO_WATERMARKS allowed: charge ctx.reserve (if any), take any free page -> page tagged PG_pfmemalloc
 *     5.   cannot sleep                                           -> -1 (FAIL_NOWAIT)
 *     6.   PF_MEMALLOC: never recurse into reclaim                -> -1 (FAIL_MEMALLOC_NORECURSE)
 *     7.   TIF_MEMDIE without __GFP_NOFAIL                        -> -1 (FAIL_MEMDIE)
 *     8.   throttle_direct_reclaim: would block                   -> -1 (FAIL_THROTTLED)
 *     9.   directReclaim hook under PF_MEMALLOC, retry step 3     -> page, or -1 (FAIL_RECLAIM / FAIL_NO_RECLAIM)
 * ```
 *
 * Owns: the free list of the frames it was given (a LIFO stack in an Int32Array), the `managed` bitmap, the
 * zone (marks, pagesEmerg, free counts), the reservation-group root "total reserve" whose page demand becomes
 * pagesEmerg, and the per-frame record of the group each page was allocated under (for lazy uncharging).
 * Referenced by: every upper layer of the domain (slab, skb, net, drivers) through the PageAllocator
 * interface; the scenario drives its hooks (`directReclaim`, `onKswapdWake`, `kswapdSleep`).
 * Who writes what: `mem.refcount[f]` and PG_pfmemalloc in `mem.flags[f]` for managed frames are written only
 * here (and by getPage/putPage callers through this object).
 * Dies: with the domain; the frames stay owned by the domain (teardown releases them through hv).
 *
 * Invariants:
 * - a managed frame is on the free list iff its refcount is 0; freePages + inUse = managedPages;
 * - an allocation without NO_WATERMARKS succeeds only while free > its effective floor, so it never takes free
 *   below that floor; a NO_WATERMARKS allocation succeeds while free > 0;
 * - PG_pfmemalloc is set on a page exactly when it was handed out by step 4 (the watermark had to be ignored),
 *   and cleared when the page is freed;
 * - stats.pfmemallocOutstanding = managed pages in use with PG_pfmemalloc set.
 */

import { XEN_PAGE_SIZE } from '../abi/page.ts';
import type { MachineMemory } from '../hv/memory.ts';
import { InvalidArgument } from '../errors.ts';
import { ALLOC_CPUSET, ALLOC_NO_WATERMARKS, ALLOC_WMARK_MASK, ALLOC_WMARK_MIN, gfpToAllocFlags } from './alloc-flags.ts';
import { ENOMEM } from './errors.ts';
import { __GFP_DIRECT_RECLAIM, __GFP_KSWAPD_RECLAIM, __GFP_NOFAIL, GFP_KERNEL } from './gfp.ts';
import { PG_pfmemalloc, type PageAllocator } from './page-allocator.ts';
import { getPageRef, putPageRef } from './page-ref.ts';
import { memReservePagesCharge, memReserveRootInit, type MemReserve } from './reserve.ts';
import { memallocNoreclaimRestore, memallocNoreclaimSave, PF_MEMALLOC, type ExecContext } from './task.ts';
import { THROTTLE_NONE, throttleDirectReclaim } from './vmscan.ts';
import { initPerZoneWmarkMin, setupPerZoneWmarks, Zone, zoneWatermarkOk, type Watermarks } from './watermark.ts';

/** What the last `allocPage` did (`ZonePageAllocator.lastOutcome`). */
export const AllocOutcome = {
  /** Served above the watermarks. */
  OK: 0,
  /** Served from the reserve with NO_WATERMARKS; the page is tagged. */
  OK_PFMEMALLOC: 1,
  /** The caller cannot sleep and the watermark check failed. */
  FAIL_NOWAIT: 2,
  /** A PF_MEMALLOC caller found nothing and may not recurse into reclaim. */
  FAIL_MEMALLOC_NORECURSE: 3,
  /** The OOM victim found nothing (it would otherwise loop on the reserve). */
  FAIL_MEMDIE: 4,
  /** The direct reclaimer would be throttled on pfmemalloc_wait (see vmscan.ts). */
  FAIL_THROTTLED: 5,
  /** No directReclaim hook is installed. */
  FAIL_NO_RECLAIM: 6,
  /** Direct reclaim ran and the retry still failed (OOM is the scenario's decision). */
  FAIL_RECLAIM: 7,
  /** Entitled to the reserve but it is empty (free == 0): a reserve overrun. */
  FAIL_RESERVE_EMPTY: 8,
  /** Entitled, but the reservation group's charge went over its limit. */
  FAIL_RESERVE_LIMIT: 9,
} as const;

/** Number of AllocOutcome values (sizes `failuresByOutcome`). */
const NR_OUTCOMES = 10;

/**
 * The direct-reclaim hook: called (with PF_MEMALLOC set on `current`, as __perform_reclaim does) when an
 * allocation that may sleep failed; returns how many pages it freed back to this allocator.
 */
export type DirectReclaimHook = (gfp: number, order: number) => number;

export interface ZonePageAllocatorOptions {
  /** min_free_kbytes; default initPerZoneWmarkMin(present pages × 4 KiB). */
  readonly minFreeKbytes?: number;
  /** Fixed marks instead of the computed ones (still raised by the v20 pool through pagesEmerg). */
  readonly watermarks?: Watermarks;
}

/** Counters a scenario or a report reads. Plain fields, one object per allocator. */
export class ZoneStats {
  /** Successful allocations. */
  allocs = 0;
  /** Failed allocations (all outcomes). */
  failures = 0;
  /** Pages freed back (refcount reached 0). */
  frees = 0;
  /** Pages handed out from below MIN (free ≤ MIN before the allocation). */
  belowMin = 0;
  /** The lowest free count seen after an allocation. */
  minFreeSeen: number;
  /** Pages handed out with NO_WATERMARKS (tagged), ever. */
  pfmemallocAllocs = 0;
  /** Tagged pages currently held. */
  pfmemallocOutstanding = 0;
  /** Times kswapd was woken from sleep. */
  kswapdWakeups = 0;
  /** Times the directReclaim hook ran. */
  directReclaims = 0;
  /** pgscan_direct_throttle: direct reclaimers found over half the reserve in use. */
  pgscanDirectThrottle = 0;
  /** Entitled allocations that found free == 0 (must never happen in a correctly sized run). */
  reserveOverruns = 0;
  /** Failures per AllocOutcome value. */
  readonly failuresByOutcome = new Int32Array(NR_OUTCOMES);

  constructor(free: number) {
    this.minFreeSeen = free;
  }
}

export class ZonePageAllocator implements PageAllocator {
  readonly mem: MachineMemory;
  readonly domid: number;
  readonly ctx: ExecContext;
  readonly zone: Zone;
  readonly stats: ZoneStats;
  /** "total reserve": the root of this domain's reservation-group tree; its pages become zone.pagesEmerg. */
  readonly reserveRoot: MemReserve;
  readonly managedPages: number;
  /** min_free_kbytes (the sysctl). */
  minFreeKbytes: number;
  /** v20 var_free_kbytes: the reservation groups' demand, in KiB. */
  varFreeKbytes = 0;
  /** What the last allocPage did (an AllocOutcome value). */
  lastOutcome: number = AllocOutcome.OK;
  /** Direct reclaim, supplied by the scenario; null means an allocation that needs reclaim fails. */
  directReclaim: DirectReclaimHook | null = null;
  /** Called when kswapd is woken from sleep. */
  onKswapdWake: (() => void) | null = null;
  /** kswapd is running (woken and not yet put back to sleep by `kswapdSleep`). */
  kswapdAwake = false;

  private readonly fixedMarks: Watermarks | undefined;
  private readonly freeList: Int32Array;
  private nrFree: number;
  private readonly managed: Uint8Array;
  private readonly frameReserve: (MemReserve | null)[];
  private used = 0;

  /** Manage `frames` (owned by `domid`, refcount 0), with `ctx` as the domain's `current`. */
  constructor(mem: MachineMemory, domid: number, frames: ArrayLike<number>, ctx: ExecContext, opts: ZonePageAllocatorOptions = {}) {
    const n = frames.length;
    if (n === 0) throw new InvalidArgument('ZonePageAllocator: a zone needs at least one frame');
    this.mem = mem;
    this.domid = domid;
    this.ctx = ctx;
    this.managedPages = n;
    this.freeList = new Int32Array(n);
    this.managed = new Uint8Array(mem.nrFrames);
    this.frameReserve = new Array<MemReserve | null>(mem.nrFrames).fill(null);
    for (let i = 0; i < n; i++) {
      const f = frames[n - 1 - i]!;
      if (mem.owner[f] !== domid) throw new InvalidArgument(`ZonePageAllocator: frame ${f} is not owned by dom${domid}`);
      if (this.managed[f] === 1) throw new InvalidArgument(`ZonePageAllocator: frame ${f} given twice`);
      if (mem.refcount[f] !== 0) throw new InvalidArgument(`ZonePageAllocator: frame ${f} has refcount ${mem.refcount[f]}`);
      this.freeList[i] = f;
      this.managed[f] = 1;
      mem.flags[f]! &= ~PG_pfmemalloc;
    }
    this.nrFree = n;
    this.fixedMarks = opts.watermarks;
    this.minFreeKbytes = opts.minFreeKbytes ?? initPerZoneWmarkMin(n * (XEN_PAGE_SIZE >> 10));
    this.zone = new Zone(n, this.computeMarks());
    this.zone.freeArea[0] = n;
    this.stats = new ZoneStats(n);
    this.reserveRoot = memReserveRootInit('total reserve', (pages) => this.adjustMemallocReserve(pages));
  }

  // ---- PageAllocator -------------------------------------------------------------------------------------

  get inUse(): number {
    return this.used;
  }

  get freePages(): number {
    return this.nrFree;
  }

  /** Pages of the reserve in use: max(0, MIN − free) (REFERENCE §12.1 `dip`). */
  get dip(): number {
    const d = this.zone.min - this.nrFree;
    return d > 0 ? d : 0;
  }

  allocPage(gfp: number): number {
    const z = this.zone;
    // First attempt: the LOW mark with no HIGH/HARDER reductions (get_page_from_freelist with ALLOC_WMARK_LOW).
    if (zoneWatermarkOk(z, 0, z.low, ALLOC_CPUSET, this.nrFree)) return this.take(AllocOutcome.OK);
    return this.allocPagesSlowpath(gfp);
  }

  getPage(frame: number): void {
    getPageRef(this.mem, frame, this.managed[frame] === 1);
  }

  putPage(frame: number): void {
    if (putPageRef(this.mem, this.domid, frame, this.managed[frame] === 1)) this.freeOne(frame);
  }

  isPfmemalloc(frame: number): boolean {
    return (this.mem.flags[frame]! & PG_pfmemalloc) !== 0;
  }

  /** True if this allocator hands out `frame`. */
  manages(frame: number): boolean {
    return this.managed[frame] === 1;
  }

  // ---- watermarks and the v20 emergency pool -------------------------------------------------------------

  /** Set min_free_kbytes (the sysctl) and recompute the marks. */
  setMinFreeKbytes(kbytes: number): void {
    if (!(Number.isInteger(kbytes) && kbytes >= 0)) throw new InvalidArgument(`min_free_kbytes ${kbytes}`);
    this.minFreeKbytes = kbytes;
    this.zone.setWatermarks(this.computeMarks());
  }

  /**
   * adjust_memalloc_reserve() (v20 "mm: emergency pool"): add `pages` to the emergency pool. Growing wakes
   * kswapd and then checks that an order-0 GFP_KERNEL allocation could still be made; if not, the change is
   * rolled back and -ENOMEM returned. Shrinking below zero is a bug (it throws).
   */
  adjustMemallocReserve(pages: number): number {
    const kbytes = this.varFreeKbytes + pages * (XEN_PAGE_SIZE >> 10);
    if (!Number.isInteger(pages) || kbytes < 0) throw new InvalidArgument(`adjustMemallocReserve: ${pages} pages leaves var_free_kbytes at ${kbytes}`);
    this.setVarFreeKbytes(kbytes);
    if (pages > 0 && !this.testReserveLimits()) {
      this.setVarFreeKbytes(kbytes - pages * (XEN_PAGE_SIZE >> 10));
      return -ENOMEM;
    }
    return 0;
  }

  // ---- kswapd --------------------------------------------------------------------------------------------

  /** Wake kswapd if it sleeps (the counter moves only on a real wake-up). */
  wakeKswapd(): void {
    if (this.kswapdAwake) return;
    this.kswapdAwake = true;
    this.stats.kswapdWakeups++;
    this.onKswapdWake?.();
  }

  /** kswapd goes back to sleep (the scenario calls this once it has balanced the zone). */
  kswapdSleep(): void {
    this.kswapdAwake = false;
  }

  /** Teardown audit: what is still held. Empty when the allocator is back to its baseline. */
  audit(): string[] {
    const out: string[] = [];
    if (this.used !== 0) out.push(`dom${this.domid}: ${this.used} pages still allocated`);
    if (this.nrFree !== this.managedPages) out.push(`dom${this.domid}: ${this.nrFree}/${this.managedPages} pages free`);
    if (this.stats.pfmemallocOutstanding !== 0) out.push(`dom${this.domid}: ${this.stats.pfmemallocOutstanding} pfmemalloc pages held`);
    return out;
  }

  // ---- internals -----------------------------------------------------------------------------------------

  private allocPagesSlowpath(gfp: number): number {
    const z = this.zone;
    const ctx = this.ctx;
    if ((gfp & __GFP_KSWAPD_RECLAIM) !== 0 && !zoneWatermarkOk(z, 0, z.low, 0, this.nrFree)) this.wakeKswapd();
    const allocFlags = gfpToAllocFlags(gfp, ctx);
    if (this.watermarkOk(allocFlags)) return this.take(AllocOutcome.OK);
    if ((allocFlags & ALLOC_NO_WATERMARKS) !== 0) {
      if (this.nrFree > 0) return this.allocHighPriority();
      this.stats.reserveOverruns++;
      if ((gfp & __GFP_DIRECT_RECLAIM) === 0 || (ctx.current.flags & PF_MEMALLOC) !== 0) return this.fail(AllocOutcome.FAIL_RESERVE_EMPTY);
    }
    if ((gfp & __GFP_DIRECT_RECLAIM) === 0) return this.fail(AllocOutcome.FAIL_NOWAIT);
    if ((ctx.current.flags & PF_MEMALLOC) !== 0) return this.fail(AllocOutcome.FAIL_MEMALLOC_NORECURSE);
    if (ctx.current.memdie && (gfp & __GFP_NOFAIL) === 0) return this.fail(AllocOutcome.FAIL_MEMDIE);
    return this.allocPagesDirectReclaim(gfp, allocFlags);
  }

  /** __alloc_pages_high_priority: take a page below the marks, charging the current reservation group. */
  private allocHighPriority(): number {
    const res = this.ctx.reserve;
    if (res !== null && !memReservePagesCharge(res, 1)) return this.fail(AllocOutcome.FAIL_RESERVE_LIMIT);
    return this.take(AllocOutcome.OK_PFMEMALLOC);
  }

  /** __alloc_pages_direct_reclaim: throttle check, the reclaim hook under PF_MEMALLOC, one retry. */
  private allocPagesDirectReclaim(gfp: number, allocFlags: number): number {
    if (throttleDirectReclaim(this, gfp) !== THROTTLE_NONE) return this.fail(AllocOutcome.FAIL_THROTTLED);
    const reclaim = this.directReclaim;
    if (reclaim === null) return this.fail(AllocOutcome.FAIL_NO_RECLAIM);
    this.stats.directReclaims++;
    const saved = memallocNoreclaimSave(this.ctx);
    const progress = reclaim(gfp, 0);
    memallocNoreclaimRestore(this.ctx, saved);
    if (progress > 0 && this.watermarkOk(allocFlags)) return this.take(AllocOutcome.OK);
    return this.fail(AllocOutcome.FAIL_RECLAIM);
  }

  /** The order-0 watermark check for `allocFlags`, NO_WATERMARKS left out (that is a separate attempt). */
  private watermarkOk(allocFlags: number): boolean {
    const z = this.zone;
    return zoneWatermarkOk(z, 0, z.watermark[allocFlags & ALLOC_WMARK_MASK]!, allocFlags & ~ALLOC_NO_WATERMARKS, this.nrFree);
  }

  /** Pop a page, give it refcount 1 and its tag, record the reservation group and the counters. */
  private take(outcome: number): number {
    const freeBefore = this.nrFree;
    const f = this.freeList[--this.nrFree]!;
    this.zone.freeArea[0]!--;
    this.mem.refcount[f] = 1;
    const st = this.stats;
    if (outcome === AllocOutcome.OK_PFMEMALLOC) {
      this.mem.flags[f]! |= PG_pfmemalloc;
      st.pfmemallocAllocs++;
      st.pfmemallocOutstanding++;
    } else {
      this.mem.flags[f]! &= ~PG_pfmemalloc;
    }
    this.frameReserve[f] = this.ctx.reserve;
    this.used++;
    st.allocs++;
    if (freeBefore <= this.zone.min) st.belowMin++;
    if (this.nrFree < st.minFreeSeen) st.minFreeSeen = this.nrFree;
    this.lastOutcome = outcome;
    return f;
  }

  private fail(outcome: number): number {
    this.stats.failures++;
    this.stats.failuresByOutcome[outcome]!++;
    this.lastOutcome = outcome;
    return -1;
  }

  /** Free a page (refcount just reached 0): back on the list first, then the lazy uncharge of its group. */
  private freeOne(f: number): void {
    const flags = this.mem.flags;
    if ((flags[f]! & PG_pfmemalloc) !== 0) {
      flags[f]! &= ~PG_pfmemalloc;
      this.stats.pfmemallocOutstanding--;
    }
    this.freeList[this.nrFree++] = f;
    this.zone.freeArea[0]!++;
    this.used--;
    this.stats.frees++;
    const res = this.frameReserve[f]!;
    if (res !== null) {
      this.frameReserve[f] = null;
      if (res.usage > 0) memReservePagesCharge(res, -1);
    }
  }

  private computeMarks(): Watermarks {
    return this.fixedMarks ?? setupPerZoneWmarks(this.minFreeKbytes, this.managedPages);
  }

  private setVarFreeKbytes(kbytes: number): void {
    this.varFreeKbytes = kbytes;
    this.zone.pagesEmerg = kbytes >> 2;
  }

  /**
   * v20 test_reserve_limits(): wake kswapd, then see whether an order-0 GFP_KERNEL allocation could be made.
   * Modelled as its watermark check plus one round of the directReclaim hook, so that the probe neither moves
   * the counters nor depends on the caller's PF_MEMALLOC.
   */
  private testReserveLimits(): boolean {
    this.wakeKswapd();
    const flags = ALLOC_WMARK_MIN | ALLOC_CPUSET;
    if (this.watermarkOk(flags)) return true;
    const reclaim = this.directReclaim;
    if (reclaim === null) return false;
    const saved = memallocNoreclaimSave(this.ctx);
    reclaim(GFP_KERNEL, 0);
    memallocNoreclaimRestore(this.ctx, saved);
    return this.watermarkOk(flags);
  }
}
