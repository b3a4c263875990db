/**
 * NtaNetPages: the page allocator the network stack sees in `nta` mode (Polyakov's network tree allocator,
 * REFERENCE §11.12). Network allocations (skb heads, RX fragments) come from the NtaAllocator pool of the CPU
 * that asks, and never from the system allocator; a page reference is given back to whichever allocator owns
 * the frame, as put_page frees to the page's own allocator in Linux. That matters because skbs carry frags of
 * system pages too: a swap request holds the anonymous page it writes, and a tap's clone may hold it last.
 *
 * Owns nothing: the pool and the zone own their frames. Referenced by: the client stack's SkbEnv and the NIC's
 * fragment caches. Dies with the run.
 */

import type { MachineMemory } from '../../hv/memory.ts';
import type { NtaAllocator } from '../../mm/nta.ts';
import type { PageAllocator } from '../../mm/page-allocator.ts';

/** A PageAllocator that can say whether it hands out a frame. */
export interface ManagingPageAllocator extends PageAllocator {
  manages(frame: number): boolean;
}

export class NtaNetPages implements PageAllocator {
  readonly nta: NtaAllocator;
  readonly system: ManagingPageAllocator;
  readonly mem: MachineMemory;
  readonly domid: number;

  constructor(nta: NtaAllocator, system: ManagingPageAllocator) {
    this.nta = nta;
    this.system = system;
    this.mem = nta.mem;
    this.domid = nta.domid;
  }

  /** Pages the network pool has handed out (the skb audit's baseline is taken on this). */
  get inUse(): number {
    return this.nta.inUse;
  }

  /** From the current CPU's share of the pool; gfp is ignored and nothing falls back to the system. */
  allocPage(gfp: number): number {
    return this.nta.allocPage(gfp);
  }

  getPage(frame: number): void {
    if (this.nta.manages(frame)) this.nta.getPage(frame);
    else this.system.getPage(frame);
  }

  putPage(frame: number): void {
    if (this.nta.manages(frame)) this.nta.putPage(frame);
    else this.system.putPage(frame);
  }

  isPfmemalloc(frame: number): boolean {
    return this.nta.manages(frame) ? this.nta.isPfmemalloc(frame) : this.system.isPfmemalloc(frame);
  }
}
