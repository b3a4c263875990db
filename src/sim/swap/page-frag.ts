/**
 * PageFragCache: Linux's page_frag_cache (one `netdev_alloc_cache` and one `napi_alloc_cache` per CPU), the
 * allocator behind RX buffers and small skb heads: it carves a page into fragments and hands each one out with
 * its own page reference, so a page returns to the page allocator only when its last fragment is freed.
 *
 * ```
 *   page P (refcount = 1 held by the cache + 1 per fragment still alive)
 *   | frag 0 | frag 1 |            offset runs up; when the next fragment does not fit, the cache refills:
 *     - every fragment of P is gone (refcount 1) and P is not a reserve page: recycle P (offset 0)
 *     - P came from the reserve: drop it and take a new page          (the 2020 fix; `sticky` = before it)
 *     - fragments of P are still alive: drop the cache's reference, take a new page
 * ```
 *
 * The tag (REFERENCE §11.5): build_skb tags an skb whose head fragment sits on a PG_pfmemalloc page. The flag lives
 * on the page and is cleared only when the page is freed, so a reserve page that the cache keeps recycling tags
 * every later skb until it is finally freed: the sticky bug (79930f5892e exposed it in 2013; fixed in 2020 by
 * freeing, not recycling, a reserve page). `sticky: true` reproduces it.
 *
 * Owns: one reference to its current page. Referenced by: the NIC that refills from it (one cache per CPU and
 * kind). Dies: `release()` drops the page reference (teardown). pvnet's skb layer has no page_frag cache
 * (netdevAllocSkb takes a whole page per skb), so the scenario carries this adapter; it allocates through the
 * domain's PageAllocator exactly as netdev_alloc_frag would, with the stack's gfp.
 */

import { XEN_PAGE_SIZE } from '../../abi/page.ts';
import { InvalidArgument } from '../../errors.ts';
import type { PageAllocator } from '../../mm/page-allocator.ts';

export class PageFragStats {
  /** Fragments handed out. */
  allocs = 0;
  /** Fragments refused because no page could be had. */
  failures = 0;
  /** Fresh pages taken from the page allocator. */
  newPages = 0;
  /** Fresh pages that were reserve (PG_pfmemalloc) pages. */
  reservePages = 0;
  /** Pages reused in place because all their fragments were gone. */
  recycled = 0;
  /** Reserve pages recycled anyway (sticky mode only). */
  recycledReserve = 0;
  /** Reserve pages dropped instead of recycled (the fix). */
  reserveDropped = 0;
}

export class PageFragCache {
  readonly name: string;
  readonly pages: PageAllocator;
  readonly sticky: boolean;
  /** The current page, or -1. */
  page = -1;
  offset = 0;
  /** Bumped whenever the cache starts a page (new or recycled): "the frag cache has been refilled". */
  epoch = 0;
  /** Frame and offset of the last fragment handed out by `alloc`. */
  frame = -1;
  off = 0;
  readonly stats = new PageFragStats();

  constructor(name: string, pages: PageAllocator, sticky = false) {
    this.name = name;
    this.pages = pages;
    this.sticky = sticky;
  }

  /**
   * page_frag_alloc: a fragment of `fragsz` bytes with its own page reference, left in `frame` / `off`. False
   * when a page was needed and the allocator refused `gfp`; the cache keeps nothing then.
   */
  alloc(fragsz: number, gfp: number): boolean {
    if (!(Number.isInteger(fragsz) && fragsz > 0 && fragsz <= XEN_PAGE_SIZE)) {
      throw new InvalidArgument(`page_frag_alloc: bad fragment size ${fragsz}`);
    }
    if (this.page < 0 || this.offset + fragsz > XEN_PAGE_SIZE) {
      if (!this.refill(gfp)) {
        this.stats.failures++;
        return false;
      }
    }
    const p = this.page;
    this.pages.getPage(p);
    this.frame = p;
    this.off = this.offset;
    this.offset += fragsz;
    this.stats.allocs++;
    return true;
  }

  /** The current page is a reserve page (nc->pfmemalloc). */
  get pfmemalloc(): boolean {
    return this.page >= 0 && this.pages.isPfmemalloc(this.page);
  }

  /** Drop the cache's own page reference (teardown, or a CPU going away). */
  release(): void {
    if (this.page >= 0) this.pages.putPage(this.page);
    this.page = -1;
    this.offset = 0;
  }

  private refill(gfp: number): boolean {
    const old = this.page;
    if (old >= 0) {
      const reserve = this.pages.isPfmemalloc(old);
      if (this.pages.mem.refcount[old] === 1 && (!reserve || this.sticky)) {
        this.offset = 0;
        this.epoch++;
        this.stats.recycled++;
        if (reserve) this.stats.recycledReserve++;
        return true;
      }
      if (reserve && this.pages.mem.refcount[old] === 1) this.stats.reserveDropped++;
      this.page = -1;
      this.pages.putPage(old);
    }
    const f = this.pages.allocPage(gfp);
    if (f < 0) return false;
    this.page = f;
    this.offset = 0;
    this.epoch++;
    this.stats.newPages++;
    if (this.pages.isPfmemalloc(f)) this.stats.reservePages++;
    return true;
  }
}
