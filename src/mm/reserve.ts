/**
 * Reservation groups: the memory-reserve tree of the swap-over-NFS -v16..-v20 series (mm/reserve.c; never
 * merged; REFERENCE.md §11.10-11.11), with Neil Brown's lazy usage accounting.
 *
 * ```
 *   "total reserve" (root, one per page allocator)   pages → adjust_memalloc_reserve → zone.pagesEmerg
 *    └─ "total network reserve"                       connected on the first memalloc socket
 *        ├─ "network TX reserve" └─ "protocol TX pages"
 *        └─ "network RX reserve" └─ "SKB data reserve" └─ "IPv4 fragment cache"
 *   each node: pages (page demand of its subtree), limit, usage, peak   (limit/usage in bytes)
 * ```
 *
 * Sizing: `pages` and `limit` changes propagate to every ancestor. When the top of the chain is a root, the
 * change of the root's pages goes to its allocator's `adjustMemallocReserve`; if the pool cannot grow, the
 * pages are rolled back and -ENOMEM returned. Limits move only after the pages backing them were obtained. A
 * disconnected subtree keeps its totals, so connecting needs only the child's own totals.
 *
 * Charging: a charge succeeds iff it is negative or usage + charge < limit (strictly: a group sized for N
 * pages admits N − 1 concurrent emergency pages, as in v20). Usage is clamped at 0 and not propagated up (an
 * aggregate node may be charged in place of its leaves). Lazy accounting: an allocation made under a group is
 * charged only when it had to dip into the reserve; when memory allocated under the group is freed and usage
 * is non-zero, its size is subtracted. Frees happen before uncharges, so memory really exists when a later
 * charge succeeds.
 *
 * Owns: its children list and counters. Referenced by: its parent, ExecContext.reserve while allocations are
 * charged to it, and the page allocator's per-frame record of the group a page was allocated under.
 * Dies: when dropped; disconnect it first so the root's demand shrinks.
 *
 * Deviation: v20 callers that may sleep wait on the group's waitqueue when a charge fails; pvnet has no
 * sleeping inside an allocation, so a failed charge is a failed allocation (the caller may retry later).
 */

import { XEN_PAGE_SIZE } from '../abi/page.ts';
import { InvalidArgument } from '../errors.ts';
import { gfpPfmemallocAllowed } from './alloc-flags.ts';
import { EEXIST } from './errors.ts';
import { __GFP_NOMEMALLOC, __GFP_NOWARN } from './gfp.ts';
import { kfree, kmalloc, kmallocEstimateBytes, ksize } from './kmalloc.ts';
import { kmemAllocEstimate, kmemCacheAlloc, kmemCacheFree, type KmemAllocator, type KmemCache } from './slab.ts';
import type { ExecContext } from './task.ts';

/** A node of the reserve tree (struct mem_reserve). */
export class MemReserve {
  readonly name: string;
  parent: MemReserve | null = null;
  readonly children: MemReserve[] = [];
  /** Page demand of this node and everything connected below it. */
  pages = 0;
  /** Usage limit (bytes for page and kmalloc reserves, bytes of objects for kmem_cache reserves). */
  limit = 0;
  usage = 0;
  /** Highest usage ever reached. */
  peak = 0;
  /** Charges refused because they would reach the limit. */
  chargeFailures = 0;
  /** Only on a root: grows or shrinks the allocator's emergency pool; 0 or -ENOMEM. */
  readonly adjust: ((pages: number) => number) | null;

  constructor(name: string, adjust: ((pages: number) => number) | null = null) {
    this.name = name;
    this.adjust = adjust;
  }
}

/** mem_reserve_init(): a new node, connected under `parent` if given (a node with no demand always connects). */
export function memReserveInit(name: string, parent: MemReserve | null = null): MemReserve {
  const res = new MemReserve(name);
  if (parent !== null) memReserveConnect(res, parent);
  return res;
}

/** A root ("total reserve"): its page demand is handed to `adjust` (the allocator's adjustMemallocReserve). */
export function memReserveRootInit(name: string, adjust: (pages: number) => number): MemReserve {
  return new MemReserve(name, adjust);
}

/** The top of `res`'s chain (itself if unparented). */
export function memReserveTop(res: MemReserve): MemReserve {
  let r = res;
  while (r.parent !== null) r = r.parent;
  return r;
}

/**
 * mem_reserve_connect(): make `child` a child of `node`. 0 on success; -EEXIST if it already has a parent;
 * -ENOMEM if `node` hangs under a root and the pool cannot grow by the child's pages (then nothing changes).
 */
export function memReserveConnect(child: MemReserve, node: MemReserve): number {
  if (child.adjust !== null) throw new InvalidArgument(`mem_reserve_connect: ${child.name} is a root`);
  if (child.parent !== null) return -EEXIST;
  for (let r: MemReserve | null = node; r !== null; r = r.parent) {
    if (r === child) throw new InvalidArgument(`mem_reserve_connect: ${node.name} is below ${child.name}`);
  }
  child.parent = node;
  node.children.push(child);
  const ret = memReserveAdd(node, child.pages, child.limit);
  if (ret !== 0) detach(child);
  return ret;
}

/** mem_reserve_disconnect(): cut `node` (and its subtree) off its parent; the root's demand shrinks. */
export function memReserveDisconnect(node: MemReserve): void {
  const parent = node.parent;
  if (parent === null) throw new InvalidArgument(`mem_reserve_disconnect: ${node.name} has no parent`);
  memReserveAdd(parent, -node.pages, -node.limit);
  detach(node);
}

/** mem_reserve_pages_set(): size `res` at `pages` pages (limit pages × PAGE_SIZE). 0 or -ENOMEM. */
export function memReservePagesSet(res: MemReserve, pages: number): number {
  const delta = checkCount(pages, 'pages') - res.pages;
  return memReserveAdd(res, delta, delta * XEN_PAGE_SIZE);
}

/** mem_reserve_pages_add(): grow (or shrink) `res` by `pages` pages. 0 or -ENOMEM. */
export function memReservePagesAdd(res: MemReserve, pages: number): number {
  if (!Number.isInteger(pages)) throw new InvalidArgument(`memReservePagesAdd: ${pages} is not an integer`);
  return memReserveAdd(res, pages, pages * XEN_PAGE_SIZE);
}

/** mem_reserve_kmalloc_set(): size `res` for `bytes` of kmalloc (pages from kmallocEstimateBytes). */
export function memReserveKmallocSet(res: MemReserve, kmem: KmemAllocator, bytes: number): number {
  const pages = kmallocEstimateBytes(kmem, checkCount(bytes, 'bytes'));
  return memReserveAdd(res, pages - res.pages, bytes - res.limit);
}

/** mem_reserve_kmem_cache_set(): size `res` for `objects` objects of `cache`. */
export function memReserveKmemCacheSet(res: MemReserve, cache: KmemCache, objects: number): number {
  const pages = kmemAllocEstimate(cache, checkCount(objects, 'objects'));
  return memReserveAdd(res, pages - res.pages, objects * cache.size - res.limit);
}

/** The charge primitive: succeeds iff `charge` < 0 or usage + charge < limit; usage never goes below 0. */
export function memReserveCharge(res: MemReserve, charge: number): boolean {
  if (charge >= 0 && res.usage + charge >= res.limit) {
    res.chargeFailures++;
    return false;
  }
  const usage = res.usage + charge;
  res.usage = usage > 0 ? usage : 0;
  if (res.usage > res.peak) res.peak = res.usage;
  return true;
}

/** mem_reserve_pages_charge(): charge (or, negative, uncharge) `pages` pages. */
export function memReservePagesCharge(res: MemReserve, pages: number): boolean {
  return memReserveCharge(res, pages * XEN_PAGE_SIZE);
}

/** mem_reserve_kmalloc_charge(): charge `bytes` rounded up to a power of two (sign kept). */
export function memReserveKmallocCharge(res: MemReserve, bytes: number): boolean {
  const rounded = roundupPowOfTwo(Math.abs(bytes));
  return memReserveCharge(res, bytes < 0 ? -rounded : rounded);
}

/** mem_reserve_kmem_cache_charge(): charge `objs` objects of `cache`. */
export function memReserveKmemCacheCharge(res: MemReserve, cache: KmemCache, objs: number): boolean {
  return memReserveCharge(res, objs * cache.size);
}

/**
 * /proc/reserve_info: one line per node, depth first, `id:parent "name" <pages×4>K usage/limit`, as v20
 * printed it (e.g. `1:0 "total reserve" 6232K 0/278581`).
 */
export function memReserveInfo(root: MemReserve): string {
  const lines: string[] = [];
  let id = 0;
  const walk = (res: MemReserve, parent: number): void => {
    const mine = ++id;
    lines.push(`${mine}:${parent} "${res.name}" ${res.pages * (XEN_PAGE_SIZE >> 10)}K ${res.usage}/${res.limit}`);
    for (const c of res.children) walk(c, mine);
  };
  walk(root, 0);
  return lines.join('\n') + '\n';
}

// ---- allocation wrappers (v20 alloc_pages_reserve, kmalloc_reserve, kmem_cache_alloc_reserve) -------------

/** The minimal page-allocator surface the page wrapper needs (ZonePageAllocator provides it). */
interface ReserveAwarePageAllocator {
  readonly ctx: ExecContext;
  allocPage(gfp: number): number;
}

/**
 * alloc_pages_reserve(): allocate a page with `res` as the current group. The allocator charges `res` only if
 * the page had to come from below the watermarks, and lazily uncharges when the page is freed (putPage).
 */
export function allocPagesReserve(pa: ReserveAwarePageAllocator, gfp: number, res: MemReserve): number {
  const ctx = pa.ctx;
  const saved = ctx.reserve;
  ctx.reserve = res;
  const frame = pa.allocPage(gfp);
  ctx.reserve = saved;
  return frame;
}

/**
 * kmalloc_reserve(): try without the reserve; if that fails and the caller is entitled, charge `res` (the
 * power of two of `size`) and allocate from the reserve, uncharging if even that fails. Returns the handle or
 * -1. The current group is cleared around the inner allocations so the page allocator does not charge the
 * same memory a second time, in pages.
 */
export function kmallocReserve(kmem: KmemAllocator, size: number, gfp: number, res: MemReserve): number {
  const ctx = kmem.ctx;
  const saved = ctx.reserve;
  ctx.reserve = null;
  try {
    let obj = kmalloc(kmem, size, gfp | __GFP_NOMEMALLOC | __GFP_NOWARN);
    if (obj < 0 && gfpPfmemallocAllowed(gfp, ctx) && memReserveKmallocCharge(res, size)) {
      obj = kmalloc(kmem, size, gfp);
      if (obj < 0) memReserveKmallocCharge(res, -size);
    }
    return obj;
  } finally {
    ctx.reserve = saved;
  }
}

/** kfree_reserve(): free first, then (lazily) uncharge the object's size while the group's usage is non-zero. */
export function kfreeReserve(kmem: KmemAllocator, handle: number, res: MemReserve): void {
  const size = ksize(kmem, handle);
  kfree(kmem, handle);
  if (res.usage > 0) memReserveKmallocCharge(res, -size);
}

/** kmem_cache_alloc_reserve(): as kmallocReserve, charging one object of `cache`. */
export function kmemCacheAllocReserve(cache: KmemCache, gfp: number, res: MemReserve): number {
  const ctx = cache.kmem.ctx;
  const saved = ctx.reserve;
  ctx.reserve = null;
  try {
    let obj = kmemCacheAlloc(cache, gfp | __GFP_NOMEMALLOC | __GFP_NOWARN);
    if (obj < 0 && gfpPfmemallocAllowed(gfp, ctx) && memReserveKmemCacheCharge(res, cache, 1)) {
      obj = kmemCacheAlloc(cache, gfp);
      if (obj < 0) memReserveKmemCacheCharge(res, cache, -1);
    }
    return obj;
  } finally {
    ctx.reserve = saved;
  }
}

/** kmem_cache_free_reserve(): free first, then lazily uncharge one object. */
export function kmemCacheFreeReserve(cache: KmemCache, handle: number, res: MemReserve): void {
  kmemCacheFree(cache, handle);
  if (res.usage > 0) memReserveKmemCacheCharge(res, cache, -1);
}

// ---- internals ------------------------------------------------------------------------------------------

/** __mem_reserve_add(): propagate pages, let the root grow the pool (rolling back on -ENOMEM), then limits. */
function memReserveAdd(res: MemReserve, pages: number, limit: number): number {
  addUp(res, pages, 0);
  const top = memReserveTop(res);
  if (pages !== 0 && top.adjust !== null) {
    const ret = top.adjust(pages);
    if (ret !== 0) {
      addUp(res, -pages, 0);
      return ret;
    }
  }
  addUp(res, 0, limit);
  return 0;
}

function addUp(res: MemReserve, pages: number, limit: number): void {
  for (let r: MemReserve | null = res; r !== null; r = r.parent) {
    r.pages += pages;
    r.limit += limit;
  }
}

function detach(child: MemReserve): void {
  const parent = child.parent!;
  parent.children.splice(parent.children.indexOf(child), 1);
  child.parent = null;
}

function checkCount(n: number, what: string): number {
  if (!(Number.isInteger(n) && n >= 0)) throw new InvalidArgument(`mem_reserve: bad ${what} ${n}`);
  return n;
}

function roundupPowOfTwo(n: number): number {
  return n <= 1 ? n : 2 ** Math.ceil(Math.log2(n));
}
