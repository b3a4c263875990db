/**
 * mm/: a domain kernel's memory.
 *
 * Contract: upper layers allocate pages only through the `PageAllocator` interface and objects only through
 * slab handles (byte addresses in machine memory). Allocation failure is an outcome (-1), never an exception;
 * misuse (double free, a frame or object of another allocator, bad parameters) throws a PvnetError. Whether a
 * caller may dip below the watermarks is decided per call from its gfp mask and the domain's ExecContext
 * (`current`, interrupt state), never from globals. Pages handed out from below the watermarks carry
 * PG_pfmemalloc; slabs copy it and serve tagged objects to entitled callers only. Reservation groups (v20)
 * and the NTA pool are modes beside the mainline reserve, built on the same interface.
 */

export {
  __GFP_DIRECT_RECLAIM, __GFP_FS, __GFP_HARDWALL, __GFP_HIGH, __GFP_HIGHMEM, __GFP_IO, __GFP_KSWAPD_RECLAIM,
  __GFP_MEMALLOC, __GFP_NOFAIL, __GFP_NOMEMALLOC, __GFP_NOWARN, __GFP_RECLAIM, GFP_ATOMIC, GFP_HIGHUSER, GFP_KERNEL,
  GFP_NOFS, GFP_NOIO, GFP_NOWAIT, GFP_USER, gfpflagsAllowBlocking,
} from './gfp.ts';
export { FlatPageAllocator, PG_pfmemalloc } from './page-allocator.ts';
export { getPageRef, putPageRef } from './page-ref.ts';
export type { PageAllocator } from './page-allocator.ts';
export { BadPageState, EEXIST, ENOMEM, KmemCacheBusy } from './errors.ts';
export {
  ExecContext, kswapdTask, kthreadCreate, memallocNoreclaimRestore, memallocNoreclaimSave, PF_KSWAPD, PF_KTHREAD,
  PF_MEMALLOC, softirqEnter, softirqExit, TaskStruct, tskRestoreFlags,
} from './task.ts';
export {
  ALLOC_CPUSET, ALLOC_HARDER, ALLOC_HIGH, ALLOC_NO_WATERMARKS, ALLOC_WMARK_HIGH, ALLOC_WMARK_LOW, ALLOC_WMARK_MASK,
  ALLOC_WMARK_MIN, gfpPfmemallocAllowed, gfpToAllocFlags,
} from './alloc-flags.ts';
export {
  effectiveFloor, initPerZoneWmarkMin, intSqrt, MAX_ORDER, MIN_FREE_KBYTES_DEFAULT, MIN_FREE_KBYTES_MAX,
  MIN_FREE_KBYTES_MIN, setupPerZoneWmarks, WMARK_HIGH, WMARK_LOW, WMARK_MIN, Zone, zoneWatermarkOk,
} from './watermark.ts';
export type { Watermarks } from './watermark.ts';
export {
  directReclaimThrottled, pfmemallocWatermarkOk, THROTTLE_KILLABLE, THROTTLE_NONE, THROTTLE_TIMEOUT,
  throttleDirectReclaim,
} from './vmscan.ts';
export { AllocOutcome, ZonePageAllocator, ZoneStats } from './zone-allocator.ts';
export type { DirectReclaimHook, ZonePageAllocatorOptions } from './zone-allocator.ts';
export {
  KMEM_MAX_SIZE, KMEM_MIN_SIZE, kmemAllocEstimate, KmemAllocator, KmemCache, kmemCacheAlloc, kmemCacheCreate,
  kmemCacheDestroy, kmemCacheFree, kmemCacheShrink, KmemCacheStats, objFrame, objOffset, pfmemallocMatch,
  SLAB_FREE_END, slabIsPfmemalloc,
} from './slab.ts';
export {
  kfree, kmalloc, KMALLOC_MAX_SIZE, KMALLOC_SIZES, kmallocEstimateBytes, kmallocEstimateObjs, kmallocIndex,
  kmallocSlab, ksize,
} from './kmalloc.ts';
export {
  allocPagesReserve, kfreeReserve, kmallocReserve, kmemCacheAllocReserve, kmemCacheFreeReserve, MemReserve,
  memReserveCharge, memReserveConnect, memReserveDisconnect, memReserveInfo, memReserveInit, memReserveKmallocCharge,
  memReserveKmallocSet, memReserveKmemCacheCharge, memReserveKmemCacheSet, memReservePagesAdd, memReservePagesCharge,
  memReservePagesSet, memReserveRootInit, memReserveTop,
} from './reserve.ts';
export { NtaAllocator, NtaStats } from './nta.ts';
