/**
 * RingSlotCorrupter: a hostile frontend rewriting the bytes of its request slots while the backend works,
 * modelled as a wrapper around one back ring's shared page (REFERENCE.md §1.7, XSA-155).
 *
 * Installed, it chains itself into the back ring's `onBarrier` hook, so it runs at every barrier of the
 * backend's pushes and final checks: the moments between one backend read and the next at which a real
 * guest on another vCPU may have written. Each time, with probability `rate`, it rewrites `bytesPerHit`
 * random bytes of random slots in its window:
 *
 * - `consumed`: slots the backend has read and not yet answered, [rsp_prod_pvt, req_cons). A backend that
 *   reads each slot exactly once (ringCopyRequest into a private snapshot) never sees these bytes, so nothing
 *   it does may change: this window is the double-fetch probe;
 * - `published`: slots published and not yet consumed, [req_cons, req_prod): the guest changing its mind
 *   after the push; the backend reads whatever is there when it gets to it;
 * - `ring`: any slot of the ring.
 *
 * Only request bytes are touched, never the four shared indices. Owns nothing; `uninstall()` restores the
 * previous hook. Off by default (`rate` 0).
 */

import type { BackRing, RingBarrierHook } from '../../abi/ring.ts';
import { SIZEOF_SRING_HEADER } from '../../abi/ring.ts';
import type { Prng } from '../prng.ts';

export type CorruptWindow = 'consumed' | 'published' | 'ring';

export interface RingSlotCorrupterOptions {
  readonly prng: Prng;
  /** Probability of a hit at each barrier (default 0: off). */
  readonly rate?: number;
  readonly window?: CorruptWindow;
  /** Bytes rewritten per hit (default 4). */
  readonly bytesPerHit?: number;
  /** Only these byte offsets within a slot (default: every byte of the slot). */
  readonly slotBytes?: readonly number[];
}

type AnyBack = BackRing<unknown, unknown>;

export class RingSlotCorrupter {
  readonly ring: AnyBack;
  readonly prng: Prng;
  rate: number;
  window: CorruptWindow;
  readonly bytesPerHit: number;
  private readonly slotBytes: readonly number[] | null;
  private previous: RingBarrierHook | undefined = undefined;
  private installed = false;
  /** Barriers seen while installed, hits made, bytes rewritten. */
  barriers = 0;
  hits = 0;
  bytesWritten = 0;

  constructor(ring: AnyBack, opts: RingSlotCorrupterOptions) {
    this.ring = ring;
    this.prng = opts.prng;
    this.rate = opts.rate ?? 0;
    this.window = opts.window ?? 'consumed';
    this.bytesPerHit = opts.bytesPerHit ?? 4;
    this.slotBytes = opts.slotBytes ?? null;
  }

  /** Chain into the ring's barrier hook. */
  install(): this {
    if (this.installed) return this;
    this.installed = true;
    this.previous = this.ring.onBarrier;
    const prev = this.previous;
    this.ring.onBarrier = (point) => {
      prev?.(point);
      this.barriers++;
      if (this.rate > 0 && this.prng.next() < this.rate) this.corruptNow();
    };
    return this;
  }

  uninstall(): void {
    if (!this.installed) return;
    this.installed = false;
    this.ring.onBarrier = this.previous;
    this.previous = undefined;
  }

  /** The window as [first index, count) of ring indices. */
  windowRange(): [number, number] {
    const r = this.ring;
    switch (this.window) {
      case 'consumed':
        return [r.rspProdPvt, (r.reqCons - r.rspProdPvt) >>> 0];
      case 'published':
        return [r.reqCons, Math.min((r.sring.reqProd - r.reqCons) >>> 0, r.nrEnts)];
      default:
        return [0, r.nrEnts];
    }
  }

  /** One hit now: `bytesPerHit` random bytes of slots in the window. Returns the bytes written (0: empty window). */
  corruptNow(): number {
    const [first, count] = this.windowRange();
    if (count === 0 || count > this.ring.nrEnts) return 0;
    const r = this.ring;
    const bytes = r.page.bytes;
    const base = r.page.base + SIZEOF_SRING_HEADER;
    for (let i = 0; i < this.bytesPerHit; i++) {
      const idx = (first + this.prng.int(0, count - 1)) >>> 0;
      const sb = this.slotBytes;
      const off = sb === null ? this.prng.int(0, r.entrySize - 1) : sb[this.prng.int(0, sb.length - 1)]!;
      bytes[base + (idx & (r.nrEnts - 1)) * r.entrySize + off] = this.prng.int(0, 255);
    }
    this.hits++;
    this.bytesWritten += this.bytesPerHit;
    return this.bytesPerHit;
  }
}
