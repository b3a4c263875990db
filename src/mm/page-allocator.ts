/**
 * The page-allocator interface a domain kernel's upper layers (skb/, net/, drivers/) allocate frames through.
 *
 * A `PageAllocator` hands out frames owned by one domain and keeps Linux's page reference count in
 * `mem.refcount[frame]`: `allocPage` returns a frame with count 1, `getPage` adds one, `putPage` drops one and
 * frees the frame back to the allocator when the count reaches zero. Failure to allocate is a normal outcome
 * (-1), never an exception: callers turn it into NULL / -ENOMEM as Linux does. Misuse (a put below zero, a
 * page of another allocator) throws.
 *
 * `isPfmemalloc(frame)` tells whether the page was handed out from the emergency reserve (REFERENCE.md §11.3);
 * the flag lives in `mem.flags` bit PG_pfmemalloc so that it travels with the frame.
 *
 * Foreign frames (grant-mapped from another domain) are not this allocator's: `getPage`/`putPage` on them
 * only move the count and never free; their lifetime is the grant's. Since a backend's getPage on a guest's
 * frame and the guest's own get/put may run on two threads (the worker runtime), the count moves with
 * Atomics (Linux's page->_refcount is an atomic_t for the same reason).
 *
 * `FlatPageAllocator` below is the simplest implementation (a free list, no watermarks, never tags a page);
 * the watermark-aware allocator with the emergency reserve lives beside it in mm/.
 */

import type { MachineMemory } from '../hv/memory.ts';
import { InvalidArgument, RefUnderflow } from '../errors.ts';

/** Domain-kernel frame flag (bits 8-31 of mem.flags belong to mm/): the page came from the reserve. */
export const PG_pfmemalloc = 1 << 8;

export interface PageAllocator {
  readonly mem: MachineMemory;
  readonly domid: number;
  /** A frame with refcount 1, or -1 when the allocation fails under `gfp`. */
  allocPage(gfp: number): number;
  /** page reference +1 (get_page). */
  getPage(frame: number): void;
  /** page reference -1 (put_page); frees the page at 0 if this allocator owns it. */
  putPage(frame: number): void;
  /** True if the page was allocated from the emergency reserve. */
  isPfmemalloc(frame: number): boolean;
  /** Pages currently handed out (refcount > 0) by this allocator. */
  readonly inUse: number;
}

/**
 * A free list over frames the domain already owns. No watermarks, no reserve: every allocation succeeds while
 * frames remain. Used where memory pressure is not the subject (skb unit tests, driver tests).
 */
export class FlatPageAllocator implements PageAllocator {
  readonly mem: MachineMemory;
  readonly domid: number;
  private readonly free: Int32Array;
  private nrFree: number;
  private readonly managed: Uint8Array;
  private used = 0;

  /** Manage `frames` (owned by `domid`, refcount 0). */
  constructor(mem: MachineMemory, domid: number, frames: ArrayLike<number>) {
    this.mem = mem;
    this.domid = domid;
    this.free = new Int32Array(frames.length);
    this.managed = new Uint8Array(mem.nrFrames);
    for (let i = 0; i < frames.length; i++) {
      const f = frames[frames.length - 1 - i]!;
      if (mem.owner[f] !== domid) throw new InvalidArgument(`FlatPageAllocator: frame ${f} is not owned by dom${domid}`);
      this.free[i] = f;
      this.managed[f] = 1;
    }
    this.nrFree = frames.length;
  }

  get inUse(): number {
    return this.used;
  }

  get freePages(): number {
    return this.nrFree;
  }

  allocPage(_gfp: number): number {
    if (this.nrFree === 0) return -1;
    const f = this.free[--this.nrFree]!;
    this.mem.refcount[f] = 1;
    this.mem.flags[f]! &= ~PG_pfmemalloc;
    this.used++;
    return f;
  }

  getPage(frame: number): void {
    Atomics.add(this.mem.refcount, frame, 1);
  }

  putPage(frame: number): void {
    const rc = this.mem.refcount;
    if (!(rc[frame]! > 0)) throw new RefUnderflow(`put_page on frame ${frame} with refcount ${rc[frame]}`);
    if (Atomics.sub(rc, frame, 1) === 1 && this.managed[frame] === 1) {
      this.free[this.nrFree++] = frame;
      this.used--;
    }
  }

  isPfmemalloc(frame: number): boolean {
    return (this.mem.flags[frame]! & PG_pfmemalloc) !== 0;
  }
}
