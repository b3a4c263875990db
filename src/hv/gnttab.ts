/**
 * The guest side of grant tables: what a domain kernel does to lend its pages (REFERENCE.md §4.1, §4.2, §4.6;
 * Linux drivers/xen/grant-table.c, v1 interface). It sits in hv/ because it is the other half of the grant
 * protocol; it knows nothing else of Linux.
 *
 * `GnttabGuest` owns, for one domain:
 * - the free list of grant references (refs 0..7 are reserved for the toolstack and never handed out),
 *   chained through `next[]` like Linux's gnttab_list, plus private reservations (`GrantRefHead`, Linux's
 *   gnttab_alloc_grant_references / claim / release);
 * - the table's frames as setup_table reported them; it writes its entries there directly, in its own
 *   memory: domid and frame first, then `flags` with the type, each with an Atomics store (so the flags store
 *   is ordered after the others, the write barrier of §4.1);
 * - the deferred end-access list: refs whose access could not be ended because the grantee still had them
 *   pinned, retried by a timer (1 s tick, at most `freePerIteration` per tick, a warning count after 60
 *   failed ticks), with the counters Linux keeps.
 *
 * Who writes what: the guest writes domid, frame and flags of its entries; the hypervisor writes only
 * GTF_reading / GTF_writing. Ending access is a CAS of the flags to 0 that refuses while either is set, so it
 * can never succeed while a grantee still maps or copies the page, and after a failure the caller must not
 * reuse the page (XSA-396): either keep trying, or hand the ref and page to the deferred form.
 *
 * Failure to find a free ref is a normal outcome (-ENOSPC). Misuse by the calling code (ending a ref that is
 * free, granting through a ref not claimed) throws InvalidArgument.
 *
 * Dies with its domain: `shutdown()` cancels the timer and drops the deferred list.
 */

import {
  GNTTAB_NR_RESERVED_ENTRIES, GRANT_ENTRIES_PER_FRAME_V1, GTF_permit_access, GTF_readonly, GTF_reading, GTF_writing,
  GNTST_okay, SIZEOF_GRANT_ENTRY_V1,
} from '../abi/grant_table.ts';
import { XEN_PAGE_SHIFT } from '../abi/page.ts';
import { DOMID_SELF } from '../abi/xen.ts';
import { InvalidArgument } from '../errors.ts';
import { NSEC_PER_SEC, type Clock, type TimerHandle } from './clock.ts';
import type { Domain } from './domain.ts';
import { ENOSPC } from './errno.ts';
import { newQuerySize, newSetupTable, type GnttabSetupTable } from './grant-ops.ts';
import type { Hypervisor } from './hypervisor.ts';

/** End of a ref chain (Linux GNTTAB_LIST_END). */
export const GNTTAB_LIST_END = -1;
/** Ticks a deferred entry may fail before it is reported as still pending. */
export const DEFERRED_WARN_DELAY = 60;
/** Default retries per deferred tick (Linux's free_per_iteration module parameter; 0 = no limit). */
export const DEFAULT_FREE_PER_ITERATION = 10;
/** The deferred timer's period: one second (HZ jiffies). */
export const DEFERRED_TICK_NS = NSEC_PER_SEC;

/** A private reservation of refs (Linux's `grant_ref_t *head`): a chain through the free-list links. */
export interface GrantRefHead {
  head: number;
}

/** How the guest's page references are taken and dropped; mm/ supplies its allocator. Default: none kept. */
export interface PageOps {
  getPage(frame: number): void;
  putPage(frame: number): void;
}

// Per-ref state, for catching misuse by the calling code.
const REF_FREE = 0;
const REF_RESERVED = 1;
const REF_INUSE = 2;
const REF_DEFERRED = 3;
const REF_LEAKED = 4;

export class GnttabGuest {
  readonly dom: Domain;
  private readonly hv: Hypervisor;
  private readonly clock: Clock;
  private readonly u16: Uint16Array;
  private readonly words: Int32Array;

  /** Frames of the table as setup_table returned them; `nrFrames` valid. 0 until first use. */
  private frames: Int32Array = new Int32Array(0);
  private nrFrames = 0;
  private maxFrames = 0;
  private setupOp: GnttabSetupTable | null = null;

  private next: Int32Array = new Int32Array(0);
  private state: Uint8Array = new Uint8Array(0);
  private freeHead = GNTTAB_LIST_END;
  private freeTail = GNTTAB_LIST_END;
  /** Refs on the free list (Linux gnttab_free_count). */
  freeCount = 0;

  // Deferred end-access: a ring of (ref, page, warn_delay).
  private dRef: Int32Array = new Int32Array(0);
  private dPage: Int32Array = new Int32Array(0);
  private dWarn: Int32Array = new Int32Array(0);
  private dHead = 0;
  private dLen = 0;
  private timer: TimerHandle = 0;

  /** Retries per deferred tick; 0 means no limit. */
  freePerIteration = DEFAULT_FREE_PER_ITERATION;
  /** Page reference operations; null keeps no references (hv alone has no page allocator). */
  pageOps: PageOps | null = null;
  /** Fault injection: the next deferred-entry allocations fail (the grant and page are leaked, and counted). */
  readonly faults = { deferredAllocFails: false };
  /** Entries on the deferred list (Linux deferred_count). */
  get deferredCount(): number {
    return this.dLen;
  }
  /** Grants leaked on purpose because a deferred entry could not be allocated (Linux leaked_count). */
  leakedCount = 0;
  /** Deferred entries freed by the timer. */
  deferredFreed = 0;
  /** "g.e. still pending" reports: an entry failed DEFERRED_WARN_DELAY ticks. */
  stillPendingWarnings = 0;

  constructor(hv: Hypervisor, dom: Domain) {
    this.hv = hv;
    this.dom = dom;
    this.clock = hv.clock;
    this.u16 = dom.grantTable.u16;
    this.words = dom.grantTable.words;
  }

  // ---- granting --------------------------------------------------------------------------------------------

  /** Grant `domid` access to `frame`; returns the ref, or -ENOSPC when no ref is free and the table is full. */
  gnttabGrantForeignAccess(domid: number, frame: number, readonly: boolean): number {
    const ref = this.getFreeEntries(1);
    if (ref < 0) return ref;
    this.state[ref] = REF_INUSE;
    this.gnttabGrantForeignAccessRef(ref, domid, frame, readonly);
    return ref;
  }

  /** Fill entry `ref` (claimed by the caller): domid and frame first, flags with the type last. */
  gnttabGrantForeignAccessRef(ref: number, domid: number, frame: number, readonly: boolean): void {
    this.checkInUse(ref, 'gnttabGrantForeignAccessRef');
    const off = this.entryOffset(ref);
    Atomics.store(this.u16, (off >> 1) + 1, domid);
    Atomics.store(this.words, (off >> 2) + 1, frame | 0);
    Atomics.store(this.u16, off >> 1, GTF_permit_access | (readonly ? GTF_readonly : 0));
  }

  /** GTF_reading | GTF_writing as the hypervisor currently shows them (Linux gnttab_query_foreign_access). */
  gnttabQueryForeignAccess(ref: number): number {
    this.checkRef(ref);
    return Atomics.load(this.u16, this.entryOffset(ref) >> 1) & (GTF_reading | GTF_writing);
  }

  /**
   * Downgrade a grant to read-only (grant_table.h's protocol): CAS GTF_readonly in while GTF_writing is clear.
   * False while the grantee holds a writable pin. pvnet name; Linux has no such call.
   */
  gnttabGrantDowngradeReadonly(ref: number): boolean {
    this.checkInUse(ref, 'gnttabGrantDowngradeReadonly');
    const idx = this.entryOffset(ref) >> 2;
    let w = Atomics.load(this.words, idx);
    for (;;) {
      if ((w & GTF_writing) !== 0) return false;
      const prev = Atomics.compareExchange(this.words, idx, w, w | GTF_readonly);
      if (prev === w) return true;
      w = prev;
    }
  }

  // ---- ending access ---------------------------------------------------------------------------------------

  /**
   * End foreign access to `ref` (v1): true once the flags are 0; false while the grantee has the entry pinned
   * (GTF_reading or GTF_writing). The ref stays the caller's either way; after false the page must not be
   * reused.
   */
  gnttabEndForeignAccessRef(ref: number): boolean {
    this.checkInUse(ref, 'gnttabEndForeignAccessRef');
    return this.endRef(ref);
  }

  /** End access and, on success, free the ref (Linux gnttab_try_end_foreign_access). */
  gnttabTryEndForeignAccess(ref: number): boolean {
    this.checkInUse(ref, 'gnttabTryEndForeignAccess');
    if (!this.endRef(ref)) return false;
    this.putFreeEntry(ref);
    return true;
  }

  /**
   * End access, or defer it (Linux gnttab_end_foreign_access): on success the ref is freed and the page
   * reference dropped at once; otherwise ref and page go on the deferred list and a timer retries them.
   * `page` is the frame whose reference the caller hands over, or -1 to let the entry's frame be looked up
   * and referenced here.
   */
  gnttabEndForeignAccess(ref: number, page: number): void {
    this.checkInUse(ref, 'gnttabEndForeignAccess');
    if (this.endRef(ref)) {
      this.putFreeEntry(ref);
      if (page >= 0) this.pageOps?.putPage(page);
      return;
    }
    this.addDeferred(ref, page);
  }

  /** Return a claimed ref to the free list (Linux gnttab_free_grant_reference). */
  gnttabFreeGrantReference(ref: number): void {
    this.checkInUse(ref, 'gnttabFreeGrantReference');
    this.putFreeEntry(ref);
  }

  // ---- reservations ----------------------------------------------------------------------------------------

  /** Reserve `count` refs into `head` (Linux gnttab_alloc_grant_references). 0, or -ENOSPC. */
  gnttabAllocGrantReferences(count: number, head: GrantRefHead): number {
    if (!Number.isInteger(count) || count < 0) throw new InvalidArgument(`gnttabAllocGrantReferences: bad count ${count}`);
    if (count === 0) {
      head.head = GNTTAB_LIST_END;
      return 0;
    }
    const first = this.getFreeEntries(count);
    if (first < 0) return first;
    for (let r = first, n = 0; n < count; n++, r = this.next[r]!) this.state[r] = REF_RESERVED;
    head.head = first;
    return 0;
  }

  /** Take one ref from a reservation; -ENOSPC if it is empty. */
  gnttabClaimGrantReference(head: GrantRefHead): number {
    const g = head.head;
    if (g === GNTTAB_LIST_END) return -ENOSPC;
    head.head = this.next[g]!;
    this.state[g] = REF_INUSE;
    return g;
  }

  /** Put a claimed (and ended) ref back into a reservation. */
  gnttabReleaseGrantReference(head: GrantRefHead, ref: number): void {
    this.checkInUse(ref, 'gnttabReleaseGrantReference');
    this.next[ref] = head.head;
    this.state[ref] = REF_RESERVED;
    head.head = ref;
  }

  /** Return every ref of a reservation to the free list. */
  gnttabFreeGrantReferences(head: GrantRefHead): void {
    let r = head.head;
    while (r !== GNTTAB_LIST_END) {
      const n = this.next[r]!;
      if (this.state[r] !== REF_RESERVED) throw new InvalidArgument(`gnttabFreeGrantReferences: ref ${r} is not reserved`);
      this.putFreeEntry(r);
      r = n;
    }
    head.head = GNTTAB_LIST_END;
  }

  gnttabEmptyGrantReferences(head: GrantRefHead): boolean {
    return head.head === GNTTAB_LIST_END;
  }

  // ---- inspection (audits, tests) --------------------------------------------------------------------------

  /** Refs handed out and not yet freed (in use, deferred or leaked), excluding reservations. */
  refsInUse(): number[] {
    const out: number[] = [];
    for (let r = 0; r < this.state.length; r++) if (this.state[r]! >= REF_INUSE) out.push(r);
    return out;
  }

  /** Refs on the deferred list, oldest first. */
  deferredRefs(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.dLen; i++) out.push(this.dRef[(this.dHead + i) % this.dRef.length]!);
    return out;
  }

  /** Domain teardown: cancel the timer, drop the deferred list. */
  shutdown(): void {
    if (this.timer !== 0) this.clock.cancel(this.timer);
    this.timer = 0;
    this.dLen = 0;
  }

  // ---- internals -------------------------------------------------------------------------------------------

  private endRef(ref: number): boolean {
    const idx = this.entryOffset(ref) >> 2;
    let w = Atomics.load(this.words, idx);
    for (;;) {
      if ((w & (GTF_reading | GTF_writing)) !== 0) return false;
      const prev = Atomics.compareExchange(this.words, idx, w, w & ~0xffff);
      if (prev === w) return true;
      w = prev;
    }
  }

  private entryOffset(ref: number): number {
    return (this.frames[ref >>> 9]! << XEN_PAGE_SHIFT) + ((ref & (GRANT_ENTRIES_PER_FRAME_V1 - 1)) * SIZEOF_GRANT_ENTRY_V1);
  }

  private checkRef(ref: number): void {
    if (!(Number.isInteger(ref) && ref >= 0 && ref < this.nrFrames * GRANT_ENTRIES_PER_FRAME_V1)) {
      throw new InvalidArgument(`gnttab dom${this.dom.domid}: no grant ref ${ref}`);
    }
  }

  private checkInUse(ref: number, what: string): void {
    this.checkRef(ref);
    if (this.state[ref] !== REF_INUSE) throw new InvalidArgument(`${what}: dom${this.dom.domid} ref ${ref} is not in use`);
  }

  /** Take `count` refs off the free list as one chain; the first ref, or -ENOSPC. */
  private getFreeEntries(count: number): number {
    if (this.nrFrames === 0) this.init();
    if (this.freeCount < count && !this.expand(count - this.freeCount)) return -ENOSPC;
    const first = this.freeHead;
    let last = first;
    for (let i = 1; i < count; i++) last = this.next[last]!;
    this.freeHead = this.next[last]!;
    if (this.freeHead === GNTTAB_LIST_END) this.freeTail = GNTTAB_LIST_END;
    this.next[last] = GNTTAB_LIST_END;
    this.freeCount -= count;
    return first;
  }

  private putFreeEntry(ref: number): void {
    this.state[ref] = REF_FREE;
    this.next[ref] = this.freeHead;
    this.freeHead = ref;
    if (this.freeTail === GNTTAB_LIST_END) this.freeTail = ref;
    this.freeCount++;
  }

  /** Boot-time setup (Linux gnttab_init): learn the limit and the current frames. */
  private init(): void {
    const q = newQuerySize(DOMID_SELF);
    this.hv.gnttabQuerySize(this.dom, q);
    this.maxFrames = q.max_nr_frames;
    const maxEntries = this.maxFrames * GRANT_ENTRIES_PER_FRAME_V1;
    this.frames = new Int32Array(this.maxFrames);
    this.next = new Int32Array(maxEntries).fill(GNTTAB_LIST_END);
    this.state = new Uint8Array(maxEntries).fill(REF_RESERVED);
    this.dRef = new Int32Array(maxEntries);
    this.dPage = new Int32Array(maxEntries);
    this.dWarn = new Int32Array(maxEntries);
    this.setupOp = newSetupTable(DOMID_SELF, this.maxFrames);
    if (!this.mapFrames(q.nr_frames)) throw new InvalidArgument(`gnttab dom${this.dom.domid}: setup_table failed at init`);
  }

  /** Grow the table for `more` refs (Linux gnttab_expand). */
  private expand(more: number): boolean {
    const extra = Math.ceil(more / GRANT_ENTRIES_PER_FRAME_V1);
    if (this.nrFrames + extra > this.maxFrames) return false;
    return this.mapFrames(this.nrFrames + extra);
  }

  /** setup_table for `nr` frames; new refs join the tail of the free list (lowest first). */
  private mapFrames(nr: number): boolean {
    const op = this.setupOp!;
    op.dom = DOMID_SELF;
    op.nr_frames = nr;
    this.hv.gnttabSetupTable(this.dom, op);
    if (op.status !== GNTST_okay) return false;
    const oldEntries = this.nrFrames * GRANT_ENTRIES_PER_FRAME_V1;
    for (let i = 0; i < nr; i++) this.frames[i] = op.frame_list[i]!;
    this.nrFrames = nr;
    const first = Math.max(oldEntries, GNTTAB_NR_RESERVED_ENTRIES);
    for (let r = first; r < nr * GRANT_ENTRIES_PER_FRAME_V1; r++) {
      this.state[r] = REF_FREE;
      this.next[r] = GNTTAB_LIST_END;
      if (this.freeTail === GNTTAB_LIST_END) this.freeHead = r;
      else this.next[this.freeTail] = r;
      this.freeTail = r;
      this.freeCount++;
    }
    return true;
  }

  private addDeferred(ref: number, page: number): void {
    if (page < 0) {
      page = this.frameOfEntry(ref);
      this.pageOps?.getPage(page);
    }
    if (this.faults.deferredAllocFails) {
      this.state[ref] = REF_LEAKED;
      this.leakedCount++;
      return;
    }
    this.state[ref] = REF_DEFERRED;
    this.pushDeferred(ref, page, DEFERRED_WARN_DELAY);
    if (this.timer === 0) this.timer = this.clock.setTimer(DEFERRED_TICK_NS, this.onTimer);
  }

  private frameOfEntry(ref: number): number {
    return Atomics.load(this.words, (this.entryOffset(ref) >> 2) + 1) >>> 0;
  }

  private pushDeferred(ref: number, page: number, warn: number): void {
    const i = (this.dHead + this.dLen) % this.dRef.length;
    this.dRef[i] = ref;
    this.dPage[i] = page;
    this.dWarn[i] = warn;
    this.dLen++;
  }

  /** One deferred tick (Linux gnttab_handle_deferred): each entry present at the start is tried at most once. */
  private readonly onTimer = (): void => {
    this.timer = 0;
    const limit = this.freePerIteration;
    let budget = limit === 0 ? this.dLen : Math.min(limit, this.dLen);
    while (budget-- > 0) {
      const ref = this.dRef[this.dHead]!;
      const page = this.dPage[this.dHead]!;
      const warn = this.dWarn[this.dHead]!;
      this.dHead = (this.dHead + 1) % this.dRef.length;
      this.dLen--;
      if (this.endRef(ref)) {
        this.putFreeEntry(ref);
        this.pageOps?.putPage(page);
        this.deferredFreed++;
      } else {
        if (warn - 1 === 0) this.stillPendingWarnings++;
        this.pushDeferred(ref, page, warn - 1);
      }
    }
    if (this.dLen > 0) this.timer = this.clock.setTimer(DEFERRED_TICK_NS, this.onTimer);
  };
}
