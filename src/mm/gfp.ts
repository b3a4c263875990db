/**
 * gfp flags: what an allocation may do (include/linux/gfp_types.h).
 *
 * pvnet uses the modern bit values (REFERENCE.md §11.1 lists both the 3.6 and the modern ones); only the bits
 * pvnet models are defined. `__GFP_NOMEMALLOC` wins over `__GFP_MEMALLOC` when both are set.
 */

/** __GFP_HIGHMEM: the page may come from highmem (pvnet has one lowmem zone; carried for GFP_HIGHUSER). */
export const __GFP_HIGHMEM = 0x02;
/** __GFP_HIGH: the caller is high priority; may dip to half of the watermark (ALLOC_HIGH). */
export const __GFP_HIGH = 0x20;
/** __GFP_IO: may start physical I/O. */
export const __GFP_IO = 0x40;
/** __GFP_FS: may call into the filesystem layer. */
export const __GFP_FS = 0x80;
/** __GFP_DIRECT_RECLAIM: the caller may sleep and reclaim (3.6's __GFP_WAIT). */
export const __GFP_DIRECT_RECLAIM = 0x400;
/** __GFP_KSWAPD_RECLAIM: wake kswapd when below the low watermark. */
export const __GFP_KSWAPD_RECLAIM = 0x800;
/** __GFP_NOWARN: do not log a failure. */
export const __GFP_NOWARN = 0x2000;
/** __GFP_NOFAIL: the caller cannot handle failure (pvnet never loops on it; listed for completeness). */
export const __GFP_NOFAIL = 0x8000;
/** __GFP_MEMALLOC: may use the emergency reserve (no watermarks). */
export const __GFP_MEMALLOC = 0x20000;
/** __GFP_NOMEMALLOC: must not use the emergency reserve; beats __GFP_MEMALLOC. */
export const __GFP_NOMEMALLOC = 0x80000;
/** __GFP_HARDWALL: enforce the cpuset memory wall (user allocations; no effect in pvnet's single zone). */
export const __GFP_HARDWALL = 0x100000;

export const __GFP_RECLAIM = __GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM;

/** GFP_ATOMIC: cannot sleep, high priority (floor 3/8 of MIN). */
export const GFP_ATOMIC = __GFP_HIGH | __GFP_KSWAPD_RECLAIM;
/** GFP_KERNEL: ordinary kernel allocation, may sleep and reclaim (floor MIN). */
export const GFP_KERNEL = __GFP_RECLAIM | __GFP_IO | __GFP_FS;
/** GFP_NOWAIT: cannot sleep, not high priority. */
export const GFP_NOWAIT = __GFP_KSWAPD_RECLAIM;
/** GFP_NOIO: may sleep but must not start I/O (used on the swap-out path). */
export const GFP_NOIO = __GFP_RECLAIM;
/** GFP_NOFS: may sleep and start I/O but must not recurse into the filesystem (throttled with a timeout). */
export const GFP_NOFS = __GFP_RECLAIM | __GFP_IO;
/** GFP_USER: a user-space allocation. */
export const GFP_USER = __GFP_RECLAIM | __GFP_IO | __GFP_FS | __GFP_HARDWALL;
/** GFP_HIGHUSER: a user-space page that may live in highmem (the scenario's anonymous pages). */
export const GFP_HIGHUSER = GFP_USER | __GFP_HIGHMEM;

/** gfpflags_allow_blocking: the caller may sleep (3.6's __GFP_WAIT, today __GFP_DIRECT_RECLAIM). */
export function gfpflagsAllowBlocking(gfp: number): boolean {
  return (gfp & __GFP_DIRECT_RECLAIM) !== 0;
}
