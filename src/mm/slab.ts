/**
 * A SLUB-flavoured object cache over any PageAllocator, with the pfmemalloc rule (REFERENCE.md §11.4).
 *
 * ```
 *   KmemAllocator (one per domain and page allocator)        per frame f that is a slab:
 *   ├─ caches[id] ─▶ KmemCache "skbuff_head_cache"           slabCache[f]   id + 1 (0: not a slab)
 *   │                ├─ cpuSlab[cpu]   the CPU's slab         slabInuse[f]   objects handed out
 *   │                └─ partial list   slabs with free objs   slabFreeHead[f] offset of the first free object
 *   └─ kmallocCaches (kmalloc.ts)                             slabFlags[f]   PFMEMALLOC | FROZEN | ON_PARTIAL
 *                                                             objBits[f*16..] one bit per allocated object
 *   frame f:  | obj 0 | obj 1 | obj 2 | ... |     a free object's first two bytes hold the offset of the next
 *              free object (0xffff ends the list), as SLUB keeps its free pointer inside the object.
 *              Objects are handed out as they are: not zeroed, the free pointer's bytes included.
 * ```
 *
 * An object is a handle: its byte address in machine memory, `frame × 4096 + offset`, so `mem.bytes[handle]`
 * is its first byte and `objFrame`/`objOffset` split it. Nothing is allocated per object on the JS heap.
 *
 * The pfmemalloc rule: a new slab copies its page's PG_pfmemalloc tag; `pfmemallocMatch(slab, gfp)` = the slab
 * is untagged or the caller passes `gfpPfmemallocAllowed`. A mismatching CPU slab is deactivated, tagged
 * partial slabs are skipped, and a non-entitled caller then gets a fresh slab from a watermark-checked page
 * allocation, or fails.
 *
 * Owns: the per-frame slab metadata and, through its caches, the slab pages (each holds one page reference).
 * Referenced by: upper layers (skb heads, RPC buffers) through kmemCacheAlloc / kmalloc and the handles.
 * Dies: with the domain; `kmemCacheDestroy` returns a cache's pages (and throws KmemCacheBusy if objects live).
 *
 * Invariants: a slab is at most one of {some CPU's slab (FROZEN), on its cache's partial list, full and on no
 * list}; a non-frozen slab with no object in use does not exist (it is discarded at once); an object from a
 * tagged slab is handed only to a caller for which gfpPfmemallocAllowed holds.
 *
 * Deviations: slabs are order 0 (objects up to one page); empty slabs are freed at once (SLUB keeps
 * MIN_PARTIAL of them); SLUB's lockless fast path does not re-check pfmemalloc_match on the CPU slab, pvnet
 * checks it on every allocation so that REFERENCE §12.4's slab invariant holds strictly.
 */

import { XEN_PAGE_SIZE } from '../abi/page.ts';
import type { MachineMemory } from '../hv/memory.ts';
import { InvalidArgument, RefUnderflow, UseAfterDestroy } from '../errors.ts';
import { gfpPfmemallocAllowed } from './alloc-flags.ts';
import { KmemCacheBusy } from './errors.ts';
import type { PageAllocator } from './page-allocator.ts';
import type { ExecContext } from './task.ts';

/** Ends a slab's free list. */
export const SLAB_FREE_END = 0xffff;
/** Smallest object (a word, room for the free pointer). */
export const KMEM_MIN_SIZE = 8;
/** Largest object: one page (order-0 slabs). */
export const KMEM_MAX_SIZE = XEN_PAGE_SIZE;

/** Slab flag: built on a page the page allocator tagged pfmemalloc (PageSlabPfmemalloc). */
const SLAB_PFMEMALLOC = 1;
/** Slab flag: it is some CPU's slab. */
const SLAB_FROZEN = 2;
/** Slab flag: it is on its cache's partial list. */
const SLAB_ON_PARTIAL = 4;
/** u32 words of allocation bitmap per frame: KMEM_MAX_SIZE / KMEM_MIN_SIZE bits. */
const BITMAP_WORDS = XEN_PAGE_SIZE / KMEM_MIN_SIZE / 32;

/** Frame of an object handle. */
export function objFrame(handle: number): number {
  return Math.floor(handle / XEN_PAGE_SIZE);
}

/** Offset of an object handle inside its frame. */
export function objOffset(handle: number): number {
  return handle % XEN_PAGE_SIZE;
}

/** Counters of one cache. */
export class KmemCacheStats {
  allocs = 0;
  frees = 0;
  failures = 0;
  /** Slabs built on tagged pages. */
  pfmemallocSlabs = 0;
  /** Objects handed out from tagged slabs (always to entitled callers). */
  pfmemallocObjects = 0;
  /** CPU slabs deactivated because the caller was not entitled to their tag. */
  pfmemallocMismatches = 0;
}

/** One object cache (struct kmem_cache). Create with `kmemCacheCreate`. */
export class KmemCache {
  readonly kmem: KmemAllocator;
  readonly id: number;
  readonly name: string;
  /** Size asked for at creation. */
  readonly objectSize: number;
  /** Slot size: objectSize rounded up to the alignment. */
  readonly size: number;
  readonly objsPerSlab: number;
  /** Each CPU's slab frame, or -1. */
  readonly cpuSlab: Int32Array;
  readonly stats = new KmemCacheStats();
  /** First slab of the partial list, or -1. */
  partialHead = -1;
  nrPartial = 0;
  /** Slabs (pages) this cache holds. */
  nrSlabs = 0;
  /** Objects handed out and not yet freed. */
  inUse = 0;
  destroyed = false;

  constructor(kmem: KmemAllocator, id: number, name: string, objectSize: number, size: number) {
    this.kmem = kmem;
    this.id = id;
    this.name = name;
    this.objectSize = objectSize;
    this.size = size;
    this.objsPerSlab = Math.floor(XEN_PAGE_SIZE / size);
    this.cpuSlab = new Int32Array(kmem.cpus).fill(-1);
  }
}

/** The slab layer of one domain over one page allocator. */
export class KmemAllocator {
  readonly pa: PageAllocator;
  readonly ctx: ExecContext;
  readonly mem: MachineMemory;
  /** Possible CPUs: one CPU slab per cache each; the estimators count them. */
  readonly cpus: number;
  readonly caches: (KmemCache | null)[] = [];
  /** kmalloc-<size> caches, created on first use (kmalloc.ts). */
  readonly kmallocCaches: (KmemCache | null)[] = [];
  readonly slabCache: Int32Array;
  readonly slabInuse: Uint16Array;
  readonly slabFreeHead: Uint16Array;
  readonly slabFlags: Uint8Array;
  readonly slabNext: Int32Array;
  readonly slabPrev: Int32Array;
  readonly objBits: Uint32Array;

  constructor(pa: PageAllocator, ctx: ExecContext, cpus = 1) {
    if (!(Number.isInteger(cpus) && cpus >= 1 && cpus <= 256)) throw new InvalidArgument(`KmemAllocator: bad CPU count ${cpus}`);
    const n = pa.mem.nrFrames;
    this.pa = pa;
    this.ctx = ctx;
    this.mem = pa.mem;
    this.cpus = cpus;
    this.slabCache = new Int32Array(n);
    this.slabInuse = new Uint16Array(n);
    this.slabFreeHead = new Uint16Array(n);
    this.slabFlags = new Uint8Array(n);
    this.slabNext = new Int32Array(n);
    this.slabPrev = new Int32Array(n);
    this.objBits = new Uint32Array(n * BITMAP_WORDS);
  }

  /** The cache `handle` belongs to, or null if its frame is not a slab of this allocator. */
  cacheOf(handle: number): KmemCache | null {
    const frame = objFrame(handle);
    if (!(Number.isInteger(handle) && handle >= 0 && frame < this.mem.nrFrames)) return null;
    const id = this.slabCache[frame]!;
    return id === 0 ? null : this.caches[id - 1] ?? null;
  }

  /** Teardown audit: live objects and slab pages, per cache. Empty when everything was freed and shrunk. */
  audit(): string[] {
    const out: string[] = [];
    for (const c of this.caches) {
      if (c !== null && (c.inUse !== 0 || c.nrSlabs !== 0)) out.push(`${c.name}: ${c.inUse} objects in ${c.nrSlabs} slabs`);
    }
    return out;
  }
}

/**
 * kmem_cache_create(): an object cache of `size`-byte objects aligned to `align` (a power of two ≥ 8).
 * Objects are at most one page.
 */
export function kmemCacheCreate(kmem: KmemAllocator, name: string, size: number, align = KMEM_MIN_SIZE): KmemCache {
  if (!(Number.isInteger(size) && size >= 1 && size <= KMEM_MAX_SIZE)) {
    throw new InvalidArgument(`kmem_cache_create ${name}: object size ${size} outside 1..${KMEM_MAX_SIZE}`);
  }
  if (!(Number.isInteger(align) && align >= KMEM_MIN_SIZE && align <= KMEM_MAX_SIZE && (align & (align - 1)) === 0)) {
    throw new InvalidArgument(`kmem_cache_create ${name}: alignment ${align} is not a power of two in ${KMEM_MIN_SIZE}..${KMEM_MAX_SIZE}`);
  }
  const slot = Math.ceil(size / align) * align;
  const cache = new KmemCache(kmem, kmem.caches.length, name, size, slot);
  kmem.caches.push(cache);
  return cache;
}

/** pfmemalloc_match(): a slab may serve this caller if it is untagged or the caller is entitled. */
export function pfmemallocMatch(kmem: KmemAllocator, slab: number, gfp: number): boolean {
  return (kmem.slabFlags[slab]! & SLAB_PFMEMALLOC) === 0 || gfpPfmemallocAllowed(gfp, kmem.ctx);
}

/** True if `slab` (a frame) is a slab built on a pfmemalloc page. */
export function slabIsPfmemalloc(kmem: KmemAllocator, slab: number): boolean {
  return (kmem.slabFlags[slab]! & SLAB_PFMEMALLOC) !== 0;
}

/** kmem_cache_alloc(): an object handle, or -1 when no slab may serve the caller and no page can be had. */
export function kmemCacheAlloc(cache: KmemCache, gfp: number): number {
  if (cache.destroyed) throw new UseAfterDestroy(`kmem_cache ${cache.name}`);
  const kmem = cache.kmem;
  const cpu = kmem.ctx.cpu;
  if (!(cpu < kmem.cpus)) throw new InvalidArgument(`kmem_cache_alloc(${cache.name}): CPU ${cpu} of ${kmem.cpus}`);
  let slab = cache.cpuSlab[cpu]!;
  if (slab >= 0) {
    if (!pfmemallocMatch(kmem, slab, gfp)) {
      cache.stats.pfmemallocMismatches++;
      deactivateSlab(cache, cpu);
    } else if (kmem.slabFreeHead[slab] !== SLAB_FREE_END) {
      return takeObject(cache, slab);
    } else {
      kmem.slabFlags[slab]! &= ~SLAB_FROZEN;
      cache.cpuSlab[cpu] = -1;
    }
  }
  slab = getPartial(cache, gfp);
  if (slab < 0) slab = newSlab(cache, gfp);
  if (slab < 0) {
    cache.stats.failures++;
    return -1;
  }
  kmem.slabFlags[slab]! |= SLAB_FROZEN;
  cache.cpuSlab[cpu] = slab;
  return takeObject(cache, slab);
}

/** kmem_cache_free(): give the object back. Misuse (foreign handle, not an object start, double free) throws. */
export function kmemCacheFree(cache: KmemCache, handle: number): void {
  const kmem = cache.kmem;
  const frame = objFrame(handle);
  if (!(Number.isInteger(handle) && handle >= 0 && frame < kmem.mem.nrFrames) || kmem.slabCache[frame] !== cache.id + 1) {
    throw new InvalidArgument(`kmem_cache_free(${cache.name}): ${handle} is not an object of this cache`);
  }
  const off = objOffset(handle);
  const idx = off / cache.size;
  if (!Number.isInteger(idx) || idx >= cache.objsPerSlab) {
    throw new InvalidArgument(`kmem_cache_free(${cache.name}): offset ${off} is not the start of an object`);
  }
  const w = frame * BITMAP_WORDS + (idx >>> 5);
  const bit = 1 << (idx & 31);
  if ((kmem.objBits[w]! & bit) === 0) throw new RefUnderflow(`double free of object ${handle} in ${cache.name}`);
  kmem.objBits[w]! &= ~bit;
  kmem.mem.view.setUint16(handle, kmem.slabFreeHead[frame]!, true);
  kmem.slabFreeHead[frame] = off;
  const inuse = --kmem.slabInuse[frame]!;
  cache.inUse--;
  cache.stats.frees++;
  const flags = kmem.slabFlags[frame]!;
  if ((flags & SLAB_FROZEN) !== 0) return;
  if (inuse === 0) {
    if ((flags & SLAB_ON_PARTIAL) !== 0) removePartial(cache, frame);
    discardSlab(cache, frame);
  } else if ((flags & SLAB_ON_PARTIAL) === 0) {
    addPartial(cache, frame);
  }
}

/** kmem_cache_shrink(): take every CPU slab off its CPU, freeing the empty ones. Returns slabs still held. */
export function kmemCacheShrink(cache: KmemCache): number {
  for (let cpu = 0; cpu < cache.cpuSlab.length; cpu++) if (cache.cpuSlab[cpu]! >= 0) deactivateSlab(cache, cpu);
  return cache.nrSlabs;
}

/** kmem_cache_destroy(): shrink and forget the cache; throws KmemCacheBusy if objects are still allocated. */
export function kmemCacheDestroy(cache: KmemCache): void {
  if (cache.destroyed) throw new UseAfterDestroy(`kmem_cache ${cache.name}`);
  kmemCacheShrink(cache);
  if (cache.inUse !== 0) throw new KmemCacheBusy(cache.name, cache.inUse);
  cache.destroyed = true;
  cache.kmem.caches[cache.id] = null;
}

/**
 * kmem_alloc_estimate() (v20, SLUB): pages needed to allocate `objects` objects one after another:
 * ⌈objects / objsPerSlab⌉ slabs, plus one slab per possible CPU when a slab holds more than one object (the
 * CPU slabs may all be empty and need refilling).
 */
export function kmemAllocEstimate(cache: KmemCache, objects: number): number {
  if (!(Number.isInteger(objects) && objects >= 0)) throw new InvalidArgument(`kmemAllocEstimate: bad object count ${objects}`);
  const pages = Math.ceil(objects / cache.objsPerSlab);
  return cache.objsPerSlab > 1 ? pages + cache.kmem.cpus : pages;
}

// ---- internals ------------------------------------------------------------------------------------------

function takeObject(cache: KmemCache, slab: number): number {
  const kmem = cache.kmem;
  const off = kmem.slabFreeHead[slab]!;
  const handle = slab * XEN_PAGE_SIZE + off;
  kmem.slabFreeHead[slab] = kmem.mem.view.getUint16(handle, true);
  kmem.slabInuse[slab]!++;
  const idx = off / cache.size;
  kmem.objBits[slab * BITMAP_WORDS + (idx >>> 5)]! |= 1 << (idx & 31);
  cache.inUse++;
  cache.stats.allocs++;
  if ((kmem.slabFlags[slab]! & SLAB_PFMEMALLOC) !== 0) cache.stats.pfmemallocObjects++;
  return handle;
}

/** get_partial(): the first partial slab that matches the caller, taken off the list; -1 if none. */
function getPartial(cache: KmemCache, gfp: number): number {
  const kmem = cache.kmem;
  let allowed = -1; // not computed yet: gfpPfmemallocAllowed only matters when a tagged slab is met
  for (let s = cache.partialHead; s >= 0; s = kmem.slabNext[s]!) {
    if ((kmem.slabFlags[s]! & SLAB_PFMEMALLOC) !== 0) {
      if (allowed < 0) allowed = gfpPfmemallocAllowed(gfp, kmem.ctx) ? 1 : 0;
      if (allowed === 0) continue;
    }
    removePartial(cache, s);
    return s;
  }
  return -1;
}

/** new_slab(): one page from the page allocator with the caller's gfp; the slab copies the page's tag. */
function newSlab(cache: KmemCache, gfp: number): number {
  const kmem = cache.kmem;
  const page = kmem.pa.allocPage(gfp);
  if (page < 0) return -1;
  const view = kmem.mem.view;
  const base = page * XEN_PAGE_SIZE;
  const size = cache.size;
  const n = cache.objsPerSlab;
  for (let i = 0; i < n; i++) view.setUint16(base + i * size, i + 1 < n ? (i + 1) * size : SLAB_FREE_END, true);
  kmem.slabCache[page] = cache.id + 1;
  kmem.slabInuse[page] = 0;
  kmem.slabFreeHead[page] = 0;
  kmem.objBits.fill(0, page * BITMAP_WORDS, (page + 1) * BITMAP_WORDS);
  const tagged = kmem.pa.isPfmemalloc(page);
  kmem.slabFlags[page] = tagged ? SLAB_PFMEMALLOC : 0;
  if (tagged) cache.stats.pfmemallocSlabs++;
  cache.nrSlabs++;
  return page;
}

/** deactivate_slab(): the CPU lets its slab go: freed if empty, on the partial list if it has room. */
function deactivateSlab(cache: KmemCache, cpu: number): void {
  const kmem = cache.kmem;
  const slab = cache.cpuSlab[cpu]!;
  cache.cpuSlab[cpu] = -1;
  kmem.slabFlags[slab]! &= ~SLAB_FROZEN;
  if (kmem.slabInuse[slab] === 0) discardSlab(cache, slab);
  else if (kmem.slabFreeHead[slab] !== SLAB_FREE_END) addPartial(cache, slab);
}

function discardSlab(cache: KmemCache, slab: number): void {
  const kmem = cache.kmem;
  kmem.slabCache[slab] = 0;
  kmem.slabFlags[slab] = 0;
  cache.nrSlabs--;
  kmem.pa.putPage(slab);
}

function addPartial(cache: KmemCache, slab: number): void {
  const kmem = cache.kmem;
  kmem.slabPrev[slab] = -1;
  kmem.slabNext[slab] = cache.partialHead;
  if (cache.partialHead >= 0) kmem.slabPrev[cache.partialHead] = slab;
  cache.partialHead = slab;
  kmem.slabFlags[slab]! |= SLAB_ON_PARTIAL;
  cache.nrPartial++;
}

function removePartial(cache: KmemCache, slab: number): void {
  const kmem = cache.kmem;
  const prev = kmem.slabPrev[slab]!;
  const next = kmem.slabNext[slab]!;
  if (prev >= 0) kmem.slabNext[prev] = next;
  else cache.partialHead = next;
  if (next >= 0) kmem.slabPrev[next] = prev;
  kmem.slabFlags[slab]! &= ~SLAB_ON_PARTIAL;
  cache.nrPartial--;
}
