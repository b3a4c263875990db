/**
 * The reclaim side the allocator consults (mm/vmscan.c, 3.6; REFERENCE.md §11.8): the pfmemalloc watermark
 * and direct-reclaim throttling. Reclaim itself (picking pages, writing them out) is the scenario's job; the
 * allocator calls it through its `directReclaim` hook.
 *
 * A direct reclaimer that finds half of the reserve in use is throttled: it sleeps on `pfmemalloc_wait` until
 * kswapd brings free memory back above half the reserve (killably, or for at most HZ when it may not enter the
 * filesystem). Kernel threads are exempt: they may be the ones that clean the pages. pvnet cannot sleep inside
 * an allocation, so throttling is an *outcome*: `throttleDirectReclaim` says the task would block, the
 * allocation fails with AllocOutcome.FAIL_THROTTLED, and the scenario parks the task until
 * `pfmemallocWatermarkOk` holds again.
 */

import { __GFP_FS } from './gfp.ts';
import type { TaskStruct } from './task.ts';
import type { ZonePageAllocator } from './zone-allocator.ts';

/** Not throttled: the reclaimer proceeds (kernel threads always do). */
export const THROTTLE_NONE = 0;
/** Would wait on pfmemalloc_wait for at most HZ (the caller lacks __GFP_FS), then proceed. */
export const THROTTLE_TIMEOUT = 1;
/** Would wait killably until kswapd makes the pfmemalloc watermark ok again. */
export const THROTTLE_KILLABLE = 2;

/** The reserve the throttle protects: MIN plus the v20 emergency pool (0 in mainline mode). */
function pfmemallocReserve(pa: ZonePageAllocator): number {
  return pa.zone.min + pa.zone.pagesEmerg;
}

/**
 * pfmemalloc_watermark_ok(): free > reserve / 2. When it is not ok and kswapd sleeps, kswapd is woken (the
 * side effect Linux has; pass `wake = false` for a pure check).
 */
export function pfmemallocWatermarkOk(pa: ZonePageAllocator, wake = true): boolean {
  const ok = pa.freePages > pfmemallocReserve(pa) >> 1;
  if (!ok && wake) pa.wakeKswapd();
  return ok;
}

/** Pure predicate for invariants: would `task` be throttled entering direct reclaim right now? */
export function directReclaimThrottled(pa: ZonePageAllocator, task: TaskStruct): boolean {
  return !task.isKthread && !pfmemallocWatermarkOk(pa, false);
}

/**
 * throttle_direct_reclaim(), the first step of try_to_free_pages, for `pa.ctx.current`: kernel threads are
 * never throttled; otherwise, when the pfmemalloc watermark is not ok, count pgscan_direct_throttle and say how
 * the task would wait.
 */
export function throttleDirectReclaim(pa: ZonePageAllocator, gfp: number): number {
  if (pa.ctx.current.isKthread) return THROTTLE_NONE;
  if (pfmemallocWatermarkOk(pa)) return THROTTLE_NONE;
  pa.stats.pgscanDirectThrottle++;
  return (gfp & __GFP_FS) !== 0 ? THROTTLE_KILLABLE : THROTTLE_TIMEOUT;
}
