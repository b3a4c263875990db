/**
 * Allocation flags: what a gfp mask plus the calling context allow (mm/internal.h and `gfp_to_alloc_flags`
 * in mm/page_alloc.c, 3.6 semantics; REFERENCE.md §11.1).
 *
 * gfp bits say what the *call site* asks for; alloc flags say what the page allocator will actually let it
 * do, once `current` (PF_MEMALLOC, TIF_MEMDIE, realtime) and the interrupt state are taken into account.
 * `gfpPfmemallocAllowed` is the one predicate slab and the skb code use to ask "is this caller entitled to the
 * emergency reserve?".
 */

import { __GFP_DIRECT_RECLAIM, __GFP_HIGH, __GFP_MEMALLOC, __GFP_NOMEMALLOC } from './gfp.ts';
import { PF_MEMALLOC, type ExecContext } from './task.ts';

/** Index into the zone's watermark array: check against MIN (the slow path). */
export const ALLOC_WMARK_MIN = 0;
/** Check against LOW (the fast path's first attempt). */
export const ALLOC_WMARK_LOW = 1;
/** Check against HIGH. */
export const ALLOC_WMARK_HIGH = 2;
/** Mask of the watermark index bits. */
export const ALLOC_WMARK_MASK = 0x03;
/** Skip the watermark check: the allocation may take the last free page. */
export const ALLOC_NO_WATERMARKS = 0x04;
/** Try harder: the mark is lowered by a further quarter. */
export const ALLOC_HARDER = 0x10;
/** __GFP_HIGH was set: the mark is halved. Equal to __GFP_HIGH on purpose, as in Linux. */
export const ALLOC_HIGH = 0x20;
/** Respect the cpuset (no effect in pvnet's single zone; kept so the derived value reads as Linux's). */
export const ALLOC_CPUSET = 0x40;

/**
 * gfp_to_alloc_flags(), in REFERENCE §11.1's order:
 * 1. start from WMARK_MIN | CPUSET; __GFP_HIGH adds ALLOC_HIGH;
 * 2. a caller that cannot sleep gets ALLOC_HARDER (unless __GFP_NOMEMALLOC) and loses ALLOC_CPUSET; one that
 *    can sleep gets ALLOC_HARDER if it is a realtime task outside interrupt context;
 * 3. unless __GFP_NOMEMALLOC: NO_WATERMARKS for __GFP_MEMALLOC, for PF_MEMALLOC while serving a softirq, and
 *    for PF_MEMALLOC or TIF_MEMDIE outside interrupt context. __GFP_NOMEMALLOC therefore beats all of them.
 */
export function gfpToAllocFlags(gfp: number, ctx: ExecContext): number {
  let flags = ALLOC_WMARK_MIN | ALLOC_CPUSET | (gfp & __GFP_HIGH);
  const task = ctx.current;
  const nomemalloc = (gfp & __GFP_NOMEMALLOC) !== 0;
  if ((gfp & __GFP_DIRECT_RECLAIM) === 0) {
    if (!nomemalloc) flags |= ALLOC_HARDER;
    flags &= ~ALLOC_CPUSET;
  } else if (task.rt && !ctx.inInterrupt()) {
    flags |= ALLOC_HARDER;
  }
  if (!nomemalloc) {
    const pfMemalloc = (task.flags & PF_MEMALLOC) !== 0;
    if ((gfp & __GFP_MEMALLOC) !== 0) flags |= ALLOC_NO_WATERMARKS;
    else if (ctx.inServingSoftirq() && pfMemalloc) flags |= ALLOC_NO_WATERMARKS;
    else if (!ctx.inInterrupt() && (pfMemalloc || task.memdie)) flags |= ALLOC_NO_WATERMARKS;
  }
  return flags;
}

/** gfp_pfmemalloc_allowed(): the caller may take pages below the watermarks (the derived flags say so). */
export function gfpPfmemallocAllowed(gfp: number, ctx: ExecContext): boolean {
  return (gfpToAllocFlags(gfp, ctx) & ALLOC_NO_WATERMARKS) !== 0;
}
