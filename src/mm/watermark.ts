/**
 * Watermarks: how much free memory each kind of caller must leave behind (REFERENCE.md §11.2, 3.6 semantics;
 * mm/page_alloc.c `init_per_zone_wmark_min`, `__setup_per_zone_wmarks`, `__zone_watermark_ok`).
 *
 * ```
 *   free pages ▲
 *              │ ............ HIGH = MIN + tmp/2   kswapd balances up to here
 *              │ ............ LOW  = MIN + tmp/4   below: the fast path fails, kswapd is woken
 *              │ ............ MIN  = tmp           normal callers stop here (free must stay > MIN)
 *              │ ............ 3/8 MIN              GFP_ATOMIC (ALLOC_HIGH, then ALLOC_HARDER) stops here
 *              │                                   PF_MEMALLOC / __GFP_MEMALLOC: down to the last page
 *            0 ┴
 * ```
 * In the v20 reservation-group mode `pagesEmerg` sits on top of every mark: a watermark check fails if
 * `free <= min' + lowmemReserve + pagesEmerg`, where min' is the mark after the HIGH/HARDER reductions, so the
 * emergency pool stays a strict floor for everyone but NO_WATERMARKS callers.
 *
 * pvnet models one lowmem zone per domain (ZONE_NORMAL, no highmem), so `zone_present == lowmem_present` and
 * `tmp == pages_min`. `lowmemKbytes` is the zone's present memory; Linux uses `nr_free_buffer_pages()` at boot,
 * which is slightly smaller. The upper clamp is 3.6's 65536 KiB (kernels since 5.7 clamp at 262144).
 */

import { InvalidArgument } from '../errors.ts';
import { ALLOC_HARDER, ALLOC_HIGH, ALLOC_NO_WATERMARKS } from './alloc-flags.ts';

/** Index of the MIN watermark in `Zone.watermark`. */
export const WMARK_MIN = 0;
/** Index of the LOW watermark. */
export const WMARK_LOW = 1;
/** Index of the HIGH watermark. */
export const WMARK_HIGH = 2;
/** Orders a zone tracks free counts for (MAX_ORDER in 3.6). */
export const MAX_ORDER = 11;
/** KiB per page: PAGE_SHIFT - 10 = 2. */
const KB_SHIFT = 2;

/** Lower clamp of min_free_kbytes. */
export const MIN_FREE_KBYTES_MIN = 128;
/** Upper clamp of min_free_kbytes (3.6). */
export const MIN_FREE_KBYTES_MAX = 65536;
/** min_free_kbytes before init_per_zone_wmark_min runs. */
export const MIN_FREE_KBYTES_DEFAULT = 1024;

/** int_sqrt(): the largest integer whose square is ≤ x. */
export function intSqrt(x: number): number {
  if (!(Number.isInteger(x) && x >= 0)) throw new InvalidArgument(`intSqrt: ${x} is not a non-negative integer`);
  let r = Math.floor(Math.sqrt(x));
  while (r * r > x) r--;
  while ((r + 1) * (r + 1) <= x) r++;
  return r;
}

/** init_per_zone_wmark_min(): min_free_kbytes = int_sqrt(lowmem_kbytes × 16), clamped to [128, 65536]. */
export function initPerZoneWmarkMin(lowmemKbytes: number): number {
  const k = intSqrt(lowmemKbytes * 16);
  return k < MIN_FREE_KBYTES_MIN ? MIN_FREE_KBYTES_MIN : k > MIN_FREE_KBYTES_MAX ? MIN_FREE_KBYTES_MAX : k;
}

/** The three marks of one zone, in pages. */
export interface Watermarks {
  readonly min: number;
  readonly low: number;
  readonly high: number;
}

/**
 * __setup_per_zone_wmarks() for one lowmem zone: pages_min = min_free_kbytes >> 2; the zone's share
 * tmp = pages_min × present / lowmem_present; MIN = tmp, LOW = MIN + tmp/4, HIGH = MIN + tmp/2.
 */
export function setupPerZoneWmarks(minFreeKbytes: number, presentPages: number, lowmemPages = presentPages): Watermarks {
  if (!(Number.isInteger(minFreeKbytes) && minFreeKbytes >= 0)) {
    throw new InvalidArgument(`setupPerZoneWmarks: bad min_free_kbytes ${minFreeKbytes}`);
  }
  if (!(Number.isInteger(presentPages) && presentPages > 0 && lowmemPages >= presentPages)) {
    throw new InvalidArgument(`setupPerZoneWmarks: bad page counts ${presentPages}/${lowmemPages}`);
  }
  const tmp = Math.floor(((minFreeKbytes >> KB_SHIFT) * presentPages) / lowmemPages);
  return { min: tmp, low: tmp + (tmp >> 2), high: tmp + (tmp >> 1) };
}

/**
 * One zone's watermark state.
 *
 * Owns: the marks, the v20 emergency pool size and the per-order free counts the order loop of the watermark
 * check reads. Referenced by: its page allocator (which keeps `freeArea` current) and by read-only observers.
 * Invariants: min ≤ low ≤ high; pagesEmerg ≥ 0; Σ freeArea[o] << o = the zone's free pages.
 */
export class Zone {
  readonly presentPages: number;
  /** [MIN, LOW, HIGH] in pages, indexed by WMARK_* (= ALLOC_WMARK_*). */
  readonly watermark = new Int32Array(3);
  /** v20 `pages_emerg`: the reservation groups' pool, added on top of every watermark check. */
  pagesEmerg = 0;
  /** lowmem_reserve[classzone] for the (only) class zone: 0 unless a test sets it. */
  lowmemReserve = 0;
  /** nr_free per order. pvnet's allocator hands out order-0 pages only, so only freeArea[0] moves. */
  readonly freeArea = new Int32Array(MAX_ORDER);

  constructor(presentPages: number, marks: Watermarks) {
    this.presentPages = presentPages;
    this.setWatermarks(marks);
  }

  setWatermarks(marks: Watermarks): void {
    const { min, low, high } = marks;
    if (!(Number.isInteger(min) && Number.isInteger(low) && Number.isInteger(high) && 0 <= min && min <= low && low <= high)) {
      throw new InvalidArgument(`watermarks must satisfy 0 <= min <= low <= high, got ${min}/${low}/${high}`);
    }
    this.watermark[WMARK_MIN] = min;
    this.watermark[WMARK_LOW] = low;
    this.watermark[WMARK_HIGH] = high;
  }

  get min(): number {
    return this.watermark[WMARK_MIN]!;
  }

  get low(): number {
    return this.watermark[WMARK_LOW]!;
  }

  get high(): number {
    return this.watermark[WMARK_HIGH]!;
  }
}

/**
 * __zone_watermark_ok(): may an allocation of 2^order pages proceed with `freePages` free, against `mark`?
 * 1. free -= 2^order − 1; 2. ALLOC_HIGH halves the mark, then ALLOC_HARDER takes a further quarter off;
 * 3. fail if free ≤ mark + lowmem_reserve + pages_emerg; 4. for each lower order the pages of that order stop
 * counting and the mark halves again. ALLOC_NO_WATERMARKS is not looked at here: as in Linux, the caller skips
 * this check altogether for such allocations.
 */
export function zoneWatermarkOk(z: Zone, order: number, mark: number, allocFlags: number, freePages: number): boolean {
  let free = freePages - ((1 << order) - 1);
  let min = mark;
  if ((allocFlags & ALLOC_HIGH) !== 0) min -= min >> 1;
  if ((allocFlags & ALLOC_HARDER) !== 0) min -= min >> 2;
  if (free <= min + z.lowmemReserve + z.pagesEmerg) return false;
  for (let o = 0; o < order; o++) {
    free -= z.freeArea[o]! << o;
    min >>= 1;
    if (free <= min) return false;
  }
  return true;
}

/**
 * The effective floor of an order-0 allocation with `allocFlags` against the MIN mark: it succeeds only while
 * free > floor (so it never takes free below the floor). NO_WATERMARKS has floor 0: it needs one free page.
 * REFERENCE §11.2's table: MIN for GFP_KERNEL, 3/8·MIN for GFP_ATOMIC, 0 for PF_MEMALLOC / __GFP_MEMALLOC.
 */
export function effectiveFloor(z: Zone, allocFlags: number): number {
  if ((allocFlags & ALLOC_NO_WATERMARKS) !== 0) return 0;
  let min = z.min;
  if ((allocFlags & ALLOC_HIGH) !== 0) min -= min >> 1;
  if ((allocFlags & ALLOC_HARDER) !== 0) min -= min >> 2;
  return min + z.lowmemReserve + z.pagesEmerg;
}
