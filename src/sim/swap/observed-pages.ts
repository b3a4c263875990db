/**
 * ObservedZone: the client domain's ZonePageAllocator seen through the scenario's eyes. Every allocation goes
 * to the real allocator unchanged; on success the observer is told what the caller was entitled to (its alloc
 * flags, derived from the gfp mask and `current` at the call, as gfp_to_alloc_flags does), what the allocator did
 * (`lastOutcome`) and how much was left, which is how invariant 1 (allocation floors) and the
 * `__GFP_NOMEMALLOC`-wins half of invariant 5 are checked at each allocation rather than once a step.
 *
 * Owns nothing: the zone owns the frames. Referenced by: the SkbEnv of the client stack (skb heads, RX
 * fragments), the slab layer (RPC buffers, the workload's objects) and the workload. Dies with the run.
 */

import type { MachineMemory } from '../../hv/memory.ts';
import { ALLOC_NO_WATERMARKS, gfpToAllocFlags } from '../../mm/alloc-flags.ts';
import type { PageAllocator } from '../../mm/page-allocator.ts';
import type { ExecContext } from '../../mm/task.ts';
import { effectiveFloor } from '../../mm/watermark.ts';
import type { ZonePageAllocator } from '../../mm/zone-allocator.ts';

/** Told about every successful allocation of an ObservedZone. */
export interface AllocObserver {
  /**
   * `allocFlags` were the caller's at entry; `floor` the effective floor of those flags without
   * NO_WATERMARKS; `freeAfter` the zone's free pages after the page was taken.
   */
  onPageAlloc(gfp: number, allocFlags: number, outcome: number, freeAfter: number, floor: number): void;
}

export class ObservedZone implements PageAllocator {
  readonly zone: ZonePageAllocator;
  readonly ctx: ExecContext;
  readonly mem: MachineMemory;
  readonly domid: number;
  observer: AllocObserver | null = null;

  constructor(zone: ZonePageAllocator) {
    this.zone = zone;
    this.ctx = zone.ctx;
    this.mem = zone.mem;
    this.domid = zone.domid;
  }

  get inUse(): number {
    return this.zone.inUse;
  }

  get freePages(): number {
    return this.zone.freePages;
  }

  allocPage(gfp: number): number {
    const z = this.zone;
    const obs = this.observer;
    if (obs === null) return z.allocPage(gfp);
    const flags = gfpToAllocFlags(gfp, this.ctx);
    const floor = effectiveFloor(z.zone, flags & ~ALLOC_NO_WATERMARKS);
    const f = z.allocPage(gfp);
    if (f >= 0) obs.onPageAlloc(gfp, flags, z.lastOutcome, z.freePages, floor);
    return f;
  }

  getPage(frame: number): void {
    this.zone.getPage(frame);
  }

  putPage(frame: number): void {
    this.zone.putPage(frame);
  }

  isPfmemalloc(frame: number): boolean {
    return this.zone.isPfmemalloc(frame);
  }

  manages(frame: number): boolean {
    return this.zone.manages(frame);
  }
}
