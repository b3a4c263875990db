/**
 * FailingPageAllocator: a domain kernel's page allocator that fails when told to, as a wrapper around the
 * real one (mm/'s PageAllocator seam). It fails the allocations whose 0-based index is in `failAt`, the next
 * `failNext` allocations, or each with probability `rate` from a Prng; otherwise it passes through. Used to
 * put an allocation failure in the middle of a netback round (XSA-367) or under the fuzzer.
 *
 * Owns nothing: frames it hands out come from `lower` and go back to it.
 */

import type { MachineMemory } from '../../hv/memory.ts';
import type { PageAllocator } from '../../mm/page-allocator.ts';
import type { Prng } from '../prng.ts';

export class FailingPageAllocator implements PageAllocator {
  readonly lower: PageAllocator;
  private readonly prng: Prng | null;
  rate: number;
  readonly failAt = new Set<number>();
  failNext = 0;
  /** Allocations asked for, and refused here. */
  calls = 0;
  failed = 0;

  constructor(lower: PageAllocator, prng: Prng | null = null, rate = 0) {
    this.lower = lower;
    this.prng = prng;
    this.rate = rate;
  }

  get mem(): MachineMemory {
    return this.lower.mem;
  }
  get domid(): number {
    return this.lower.domid;
  }
  get inUse(): number {
    return this.lower.inUse;
  }

  allocPage(gfp: number): number {
    const i = this.calls++;
    let fail = this.failAt.has(i);
    if (!fail && this.failNext > 0) {
      this.failNext--;
      fail = true;
    }
    if (!fail && this.rate > 0 && this.prng !== null) fail = this.prng.next() < this.rate;
    if (fail) {
      this.failed++;
      return -1;
    }
    return this.lower.allocPage(gfp);
  }

  getPage(frame: number): void {
    this.lower.getPage(frame);
  }

  putPage(frame: number): void {
    this.lower.putPage(frame);
  }

  isPfmemalloc(frame: number): boolean {
    return this.lower.isPfmemalloc(frame);
  }
}
