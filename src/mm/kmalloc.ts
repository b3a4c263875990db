/**
 * kmalloc: general-purpose allocations in power-of-two-ish size classes, each a slab cache (mm/slab.ts), plus
 * the v20 estimators that turn an object or byte demand into pages for a reservation group.
 *
 * The classes are SLUB's: 8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096 bytes; a request takes the
 * smallest class that fits. pvnet's slabs are order 0, so kmalloc serves at most one page (KMALLOC_MAX_SIZE);
 * a larger request is a caller error. Caches are created on first use, per KmemAllocator (per domain).
 */

import { XEN_PAGE_SIZE } from '../abi/page.ts';
import { InvalidArgument } from '../errors.ts';
import { kmemAllocEstimate, kmemCacheAlloc, kmemCacheCreate, kmemCacheFree, type KmemAllocator, type KmemCache } from './slab.ts';

/** The kmalloc size classes, smallest first. */
export const KMALLOC_SIZES: readonly number[] = [8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096];
/** The largest kmalloc pvnet serves: one page. */
export const KMALLOC_MAX_SIZE = XEN_PAGE_SIZE;

/** kmalloc_index(): the size class serving `size` bytes, or -1 above KMALLOC_MAX_SIZE. */
export function kmallocIndex(size: number): number {
  for (let i = 0; i < KMALLOC_SIZES.length; i++) if (size <= KMALLOC_SIZES[i]!) return i;
  return -1;
}

/** kmalloc_slab(): the cache serving `size` bytes (created on first use). */
export function kmallocSlab(kmem: KmemAllocator, size: number): KmemCache {
  if (!(Number.isInteger(size) && size >= 1 && size <= KMALLOC_MAX_SIZE)) {
    throw new InvalidArgument(`kmalloc: size ${size} outside 1..${KMALLOC_MAX_SIZE}`);
  }
  const i = kmallocIndex(size);
  let cache = kmem.kmallocCaches[i];
  if (cache === undefined || cache === null) {
    cache = kmemCacheCreate(kmem, `kmalloc-${KMALLOC_SIZES[i]}`, KMALLOC_SIZES[i]!);
    kmem.kmallocCaches[i] = cache;
  }
  return cache;
}

/** kmalloc(): an object handle of at least `size` bytes, or -1. */
export function kmalloc(kmem: KmemAllocator, size: number, gfp: number): number {
  return kmemCacheAlloc(kmallocSlab(kmem, size), gfp);
}

/** kfree(): free a kmalloc (or any slab) object of this allocator. */
export function kfree(kmem: KmemAllocator, handle: number): void {
  const cache = kmem.cacheOf(handle);
  if (cache === null) throw new InvalidArgument(`kfree: ${handle} is not a slab object of this allocator`);
  kmemCacheFree(cache, handle);
}

/** ksize(): the usable size of the object at `handle` (its slot size). */
export function ksize(kmem: KmemAllocator, handle: number): number {
  const cache = kmem.cacheOf(handle);
  if (cache === null) throw new InvalidArgument(`ksize: ${handle} is not a slab object of this allocator`);
  return cache.size;
}

/** kmalloc_estimate_objs() (v20): pages to kmalloc `count` objects of `size` bytes one after another. */
export function kmallocEstimateObjs(kmem: KmemAllocator, size: number, count: number): number {
  return kmemAllocEstimate(kmallocSlab(kmem, size), count);
}

/**
 * kmalloc_estimate_bytes() (v20): pages to kmalloc `bytes` in allocations of unknown, varying sizes:
 * ⌈2 × bytes / PAGE_SIZE⌉ (worst-case power-of-two slack) plus every kmalloc cache's empty-CPU-slab overhead.
 */
export function kmallocEstimateBytes(kmem: KmemAllocator, bytes: number): number {
  if (!(Number.isInteger(bytes) && bytes >= 0)) throw new InvalidArgument(`kmallocEstimateBytes: bad byte count ${bytes}`);
  let pages = Math.ceil((2 * bytes) / XEN_PAGE_SIZE);
  for (const size of KMALLOC_SIZES) pages += kmemAllocEstimate(kmallocSlab(kmem, size), 0);
  return pages;
}
