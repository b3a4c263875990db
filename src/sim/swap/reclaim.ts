/**
 * Reclaim: the anonymous LRU, kswapd, direct reclaim and the pfmemalloc_wait queue (REFERENCE §12.1 item 9,
 * §11.8), over the real allocator's hooks.
 *
 * ```
 *   workload touches a page ─▶ lru (dirty, oldest first)
 *   shrink(n)  (shrink_page_list, run under PF_MEMALLOC by kswapd or a direct reclaimer):
 *     free up to n written-back pages (put_page: the page returns to the allocator)
 *     move up to n dirty pages from the lru to the swap device's queue (pageout: swap_writepage)
 *   the swap device writes them; a reply hands the page back here ─▶ written (clean, freed by the next shrink)
 *   kswapd: a kernel thread with PF_MEMALLOC for life; runs each step while the allocator has it awake, shrinks,
 *     wakes pfmemalloc_wait once free > reserve/2, and sleeps (waking the waiters first) once free > HIGH.
 *   direct reclaim: the allocator's `directReclaim` hook, for user tasks whose allocation failed; a task the
 *     allocator throttles (FAIL_THROTTLED) is parked on pfmemalloc_wait until kswapd wakes it.
 * ```
 *
 * Writeback is asynchronous, as with network swap: pageout frees nothing at once; a page is freed by a later
 * pass, after its write completed, in process context. So memory a completion returns is seen first by whoever
 * allocates next, not by the softirq that received the reply.
 *
 * Owns: one page reference per page on the lru and the written list; the wait queue. Referenced by the
 * allocator (hook), the workload (addAnon, park), the swap client (onWritten) and the checker. Dies at
 * `teardown()`, which gives every page back.
 */

import { pfmemallocWatermarkOk } from '../../mm/vmscan.ts';
import type { PageAllocator } from '../../mm/page-allocator.ts';
import { kswapdTask, memallocNoreclaimRestore, memallocNoreclaimSave, type ExecContext, type TaskStruct } from '../../mm/task.ts';
import type { ZonePageAllocator } from '../../mm/zone-allocator.ts';
import { FrameFifo } from './frame-fifo.ts';
import { SWAP_CLUSTER_MAX } from './params.ts';
import type { SwapClient } from './swap-client.ts';

/** Pages one kswapd run handles per step (four reclaim passes). */
export const KSWAPD_BATCH = 4 * SWAP_CLUSTER_MAX;

/** What reclaim reports to the invariant checker. */
export interface ReclaimObserver {
  /** `task` entered direct reclaim (the allocator decided not to throttle it). */
  onDirectReclaim(task: TaskStruct): void;
}

export class ReclaimStats {
  /** Pages freed after writeback. */
  freed = 0;
  /** Pages handed to the swap device (pageout). */
  pagedOut = 0;
  /** Runs of the direct-reclaim hook. */
  directReclaims = 0;
  /** kswapd steps run. */
  kswapdRuns = 0;
  /** Tasks parked on pfmemalloc_wait, and wake-ups of the queue. */
  throttled = 0;
  wakeups = 0;
}

export class Reclaim {
  readonly zone: ZonePageAllocator;
  readonly pages: PageAllocator;
  readonly ctx: ExecContext;
  readonly kswapd: TaskStruct;
  /** The CPU kswapd runs on. */
  readonly kswapdCpu: number;
  readonly lru: FrameFifo;
  readonly written: FrameFifo;
  /** pfmemalloc_wait: one flag per workload task. */
  readonly waiting: Uint8Array;
  waiters = 0;
  client: SwapClient | null = null;
  observer: ReclaimObserver | null = null;
  readonly stats = new ReclaimStats();

  constructor(zone: ZonePageAllocator, pages: PageAllocator, tasks: number, kswapdCpu = 0) {
    this.zone = zone;
    this.pages = pages;
    this.ctx = zone.ctx;
    this.kswapd = kswapdTask();
    this.kswapdCpu = kswapdCpu;
    this.lru = new FrameFifo(zone.managedPages);
    this.written = new FrameFifo(zone.managedPages);
    this.waiting = new Uint8Array(tasks);
    zone.directReclaim = (_gfp, _order) => this.directReclaim();
  }

  /** A freshly touched anonymous page (its reference moves here). */
  addAnon(frame: number): void {
    this.lru.push(frame);
  }

  /** The swap device wrote `frame` (its reference comes back). */
  onWritten(frame: number): void {
    this.written.push(frame);
  }

  /** Nothing is left that reclaim could ever free: no dirty page, no written page, no write outstanding. */
  nothingReclaimable(): boolean {
    return this.lru.count === 0 && this.written.count === 0 && (this.client === null || this.client.outstanding === 0);
  }

  /** shrink_page_list: free written pages, page out dirty ones; returns pages freed. */
  shrink(max: number): number {
    let freed = 0;
    while (freed < max && this.written.count > 0) {
      this.pages.putPage(this.written.shift());
      freed++;
    }
    this.stats.freed += freed;
    const client = this.client;
    if (client !== null) {
      let out = 0;
      while (out < max && this.lru.count > 0 && client.queuePage(this.lru.peek())) {
        this.lru.shift();
        out++;
      }
      this.stats.pagedOut += out;
    }
    return freed;
  }

  /** kswapd's step, if the allocator woke it: shrink, wake the throttled, sleep once balanced. */
  kswapdRun(): void {
    const z = this.zone;
    if (!z.kswapdAwake) return;
    const ctx = this.ctx;
    const prev = ctx.switchTo(this.kswapd);
    const prevCpu = ctx.cpu;
    ctx.cpu = this.kswapdCpu;
    const saved = memallocNoreclaimSave(ctx);
    this.stats.kswapdRuns++;
    this.shrink(KSWAPD_BATCH);
    memallocNoreclaimRestore(ctx, saved);
    ctx.cpu = prevCpu;
    ctx.switchTo(prev);
    if (z.freePages > z.zone.high + z.zone.pagesEmerg) {
      this.wakeAll();
      z.kswapdSleep();
    } else if (pfmemallocWatermarkOk(z, false)) {
      this.wakeAll();
    }
  }

  /** throttle_direct_reclaim's wait: `task` sleeps on pfmemalloc_wait. */
  park(task: number): void {
    if (this.waiting[task] === 1) return;
    this.waiting[task] = 1;
    this.waiters++;
    this.stats.throttled++;
  }

  isParked(task: number): boolean {
    return this.waiting[task] === 1;
  }

  /** wake_up(&pfmemalloc_wait). */
  wakeAll(): void {
    if (this.waiters === 0) return;
    this.waiting.fill(0);
    this.waiters = 0;
    this.stats.wakeups++;
  }

  /** The workload exited: its resident pages are freed at once (unmapped, never written). */
  dropAnon(): number {
    let n = 0;
    while (this.lru.count > 0) {
      this.pages.putPage(this.lru.shift());
      n++;
    }
    return n;
  }

  /** Give every page back (end of run). */
  teardown(): void {
    this.dropAnon();
    while (this.written.count > 0) this.pages.putPage(this.written.shift());
    this.wakeAll();
    this.zone.directReclaim = null;
  }

  /** The allocator's hook: `current` (PF_MEMALLOC already set by the allocator) reclaims a cluster. */
  private directReclaim(): number {
    this.observer?.onDirectReclaim(this.ctx.current);
    this.stats.directReclaims++;
    return this.shrink(SWAP_CLUSTER_MAX);
  }
}
