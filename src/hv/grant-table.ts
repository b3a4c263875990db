/**
 * One domain's grant table, as the hypervisor keeps it (Xen's `struct grant_table`, xen/common/grant_table.c;
 * entry layout from xen/include/public/grant_table.h, REFERENCE.md §4).
 *
 * A domain's grant table plays two roles at once, like Xen's:
 *
 * ```
 *   as the GRANTING domain (rd)                      as the MAPPING domain (ld)
 *   shared entries   frames owned by this domain,    maptrack         one tracking entry per grant this
 *                    flagged FRAME_GRANT_TABLE,                       domain has mapped from others:
 *                    512 grant_entry_v1 per frame                     {granting domid, ref, GNTMAP_* flags,
 *                    | flags u16 | domid u16 | frame u32 |             host_addr}; the index is the handle
 *   active entries   hypervisor-private, per ref:
 *                    pin (four 8-bit counters), the mapping domain, the frame pinned, the copy window
 * ```
 *
 * Who writes what:
 * - shared entry `domid`, `frame` and the guest bits of `flags` (type, GTF_readonly, GTF_sub_page, cache
 *   bits): the granting guest (`GnttabGuest`), plainly, in its own frames;
 * - GTF_reading / GTF_writing inside `flags`: the hypervisor only, and only with Atomics on the combined
 *   32-bit {flags, domid} word (set by a CAS at the first pin, cleared with an atomic AND at the last unpin),
 *   so a guest thread and a backend thread can race on the word;
 * - active entries and maptrack: the hypervisor only (grant-map.ts, grant-copy.ts). No guest can see them.
 *
 * Lifetime: created with the domain (one shared frame, Xen's INITIAL_NR_GRANT_FRAMES), grown by
 * GNTTABOP_setup_table up to `maxFrames`, never shrunk; its frames go back to the free pool when the domain
 * is finally reaped, which waits until no other domain still pins one of its entries.
 *
 * pvnet has no p2m: the `frame` a guest writes into an entry is a machine frame number (as for a PV guest).
 * u64 fields (host_addr) are JS numbers, exact up to 2^53.
 */

import { GRANT_ENTRIES_PER_FRAME_V1, SIZEOF_GRANT_ENTRY_V1, GTF_reading, GTF_writing } from '../abi/grant_table.ts';
import { XEN_PAGE_SHIFT } from '../abi/page.ts';
import { InvalidArgument } from '../errors.ts';
import { FRAME_GRANT_TABLE, type MachineMemory } from './memory.ts';

// The active entry's pin word: four 8-bit counters (Xen's GNTPIN_* in grant_table.c).
export const GNTPIN_hstw_shift = 0;
export const GNTPIN_hstw_inc = 1 << GNTPIN_hstw_shift;
export const GNTPIN_hstw_mask = 0xff << GNTPIN_hstw_shift;
export const GNTPIN_hstr_shift = 8;
export const GNTPIN_hstr_inc = 1 << GNTPIN_hstr_shift;
export const GNTPIN_hstr_mask = 0xff << GNTPIN_hstr_shift;
export const GNTPIN_devw_shift = 16;
export const GNTPIN_devw_inc = 1 << GNTPIN_devw_shift;
export const GNTPIN_devw_mask = 0xff << GNTPIN_devw_shift;
export const GNTPIN_devr_shift = 24;
export const GNTPIN_devr_inc = 1 << GNTPIN_devr_shift;
export const GNTPIN_devr_mask = (0xff << GNTPIN_devr_shift) >>> 0;
/** A map or copy is refused while any counter has its top bit set (overflow guard). */
export const GNTPIN_SATURATION = 0x80808080;
/** Any writable pin, host or device. */
export const GNTPIN_WRITABLE = GNTPIN_hstw_mask | GNTPIN_devw_mask;

/** Maptrack entries per maptrack frame (struct grant_mapping is 16 bytes). */
export const MAPTRACK_PER_FRAME = 256;
/** Xen grows the shared table from one frame. */
export const INITIAL_NR_GRANT_FRAMES = 1;

// Atomics on Int32/Uint16 views use the host's byte order; the ABI is little-endian.
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('pvnet needs a little-endian host');

export class GrantTable {
  readonly domid: number;
  readonly mem: MachineMemory;
  readonly maxFrames: number;
  readonly maxMaptrackFrames: number;

  /** Machine frames holding the shared entries, in table order; `nrFrames` of them are valid. */
  readonly sharedFrames: Int32Array;
  nrFrames = 0;

  /** Active entries, indexed by ref (length ≥ nrEntries). */
  actPin: Uint32Array = new Uint32Array(0);
  /** Domain the entry is pinned for (meaningful while pin ≠ 0). */
  actDomid: Uint16Array = new Uint16Array(0);
  /** Frame pinned (read from the entry at the first pin; later guest writes to `frame` do not move it). */
  actFrame: Int32Array = new Int32Array(0);
  /** Copy window [start, start+length) inside the frame. Always the whole page in v1. */
  actStart: Uint16Array = new Uint16Array(0);
  actLength: Uint16Array = new Uint16Array(0);

  /** Maptrack, indexed by handle (length = maptrackLimit). `mtFlags` 0 = free or unmapped. */
  mtFlags: Uint32Array = new Uint32Array(0);
  mtDomid: Uint16Array = new Uint16Array(0);
  mtRef: Uint32Array = new Uint32Array(0);
  mtHostAddr: Float64Array = new Float64Array(0);
  maptrackLimit = 0;
  /** Handles currently in use (mapped, or unmapped but not yet completed). */
  maptrackInUse = 0;
  private mtFree: Int32Array = new Int32Array(0);
  private mtNrFree = 0;

  /** Machine memory seen as u16 and i32 words, for Atomics on the shared entries. */
  readonly u16: Uint16Array;
  readonly words: Int32Array;

  constructor(mem: MachineMemory, domid: number, maxFrames: number, maxMaptrackFrames: number) {
    if (!Number.isInteger(maxFrames) || maxFrames < INITIAL_NR_GRANT_FRAMES) {
      throw new InvalidArgument(`GrantTable: maxFrames must be an integer ≥ ${INITIAL_NR_GRANT_FRAMES}, got ${maxFrames}`);
    }
    if (!Number.isInteger(maxMaptrackFrames) || maxMaptrackFrames < 0) {
      throw new InvalidArgument(`GrantTable: maxMaptrackFrames must be an integer ≥ 0, got ${maxMaptrackFrames}`);
    }
    this.mem = mem;
    this.domid = domid;
    this.maxFrames = maxFrames;
    this.maxMaptrackFrames = maxMaptrackFrames;
    this.sharedFrames = new Int32Array(maxFrames).fill(-1);
    this.u16 = new Uint16Array(mem.buffer);
    this.words = mem.words;
  }

  get nrEntries(): number {
    return this.nrFrames * GRANT_ENTRIES_PER_FRAME_V1;
  }

  get maxEntries(): number {
    return this.maxFrames * GRANT_ENTRIES_PER_FRAME_V1;
  }

  // ---- shared entries -------------------------------------------------------------------------------------

  /** Byte offset of entry `ref` in machine memory. `ref` must be < nrEntries. */
  entryOffset(ref: number): number {
    return (this.sharedFrames[ref >>> 9]! << XEN_PAGE_SHIFT) + ((ref & (GRANT_ENTRIES_PER_FRAME_V1 - 1)) * SIZEOF_GRANT_ENTRY_V1);
  }

  /** Index of the combined {flags, domid} word of `ref` in `words` (flags in the low half). */
  comboIndex(ref: number): number {
    return this.entryOffset(ref) >> 2;
  }

  flagsOf(ref: number): number {
    return Atomics.load(this.u16, this.entryOffset(ref) >> 1);
  }

  domidOf(ref: number): number {
    return Atomics.load(this.u16, (this.entryOffset(ref) >> 1) + 1);
  }

  frameOf(ref: number): number {
    return Atomics.load(this.words, (this.entryOffset(ref) >> 2) + 1) >>> 0;
  }

  /** Atomically clear GTF_reading and/or GTF_writing (`mask`) in entry `ref`; the rest of the word is kept. */
  clearFlags(ref: number, mask: number): void {
    Atomics.and(this.words, this.comboIndex(ref), ~(mask & (GTF_reading | GTF_writing)));
  }

  /**
   * Grow the shared table to `nr` frames (gnttab_grow_table): new frames come from the free pool, owned by
   * this domain and flagged FRAME_GRANT_TABLE. False if `nr` exceeds the maximum or the pool is empty; on
   * failure nothing changes.
   */
  grow(nr: number): boolean {
    if (nr <= this.nrFrames) return true;
    if (nr > this.maxFrames || nr - this.nrFrames > this.mem.freeFrames) return false;
    for (let i = this.nrFrames; i < nr; i++) {
      const f = this.mem.allocFrame(this.domid);
      this.mem.flags[f] = this.mem.flags[f]! | FRAME_GRANT_TABLE;
      this.sharedFrames[i] = f;
    }
    this.nrFrames = nr;
    const n = this.nrEntries;
    this.actPin = grownU32(this.actPin, n);
    this.actDomid = grownU16(this.actDomid, n);
    this.actFrame = grownI32(this.actFrame, n);
    this.actStart = grownU16(this.actStart, n);
    this.actLength = grownU16(this.actLength, n);
    return true;
  }

  /** Give the shared frames back to the pool (domain reaping). Every pin must be gone. */
  releaseFrames(): void {
    for (let i = 0; i < this.nrFrames; i++) {
      const f = this.sharedFrames[i]!;
      this.mem.flags[f] = this.mem.flags[f]! & ~FRAME_GRANT_TABLE;
      this.mem.refcount[f] = 0;
      this.mem.releaseFrame(f);
      this.sharedFrames[i] = -1;
    }
    this.nrFrames = 0;
  }

  /** Refs whose active entry is pinned. */
  pinnedRefs(): number[] {
    const out: number[] = [];
    for (let r = 0; r < this.nrEntries; r++) if (this.actPin[r] !== 0) out.push(r);
    return out;
  }

  // ---- maptrack -------------------------------------------------------------------------------------------

  /** A free handle, growing maptrack by one frame if needed; -1 when maptrack is full (no_device_space). */
  getMaptrackHandle(): number {
    if (this.mtNrFree === 0 && !this.growMaptrack()) return -1;
    this.maptrackInUse++;
    return this.mtFree[--this.mtNrFree]!;
  }

  putMaptrackHandle(handle: number): void {
    this.mtFlags[handle] = 0;
    this.mtFree[this.mtNrFree++] = handle;
    this.maptrackInUse--;
  }

  private growMaptrack(): boolean {
    const frames = this.maptrackLimit / MAPTRACK_PER_FRAME;
    if (frames >= this.maxMaptrackFrames) return false;
    const old = this.maptrackLimit;
    const limit = old + MAPTRACK_PER_FRAME;
    this.mtFlags = grownU32(this.mtFlags, limit);
    this.mtDomid = grownU16(this.mtDomid, limit);
    this.mtRef = grownU32(this.mtRef, limit);
    const host = new Float64Array(limit);
    host.set(this.mtHostAddr);
    this.mtHostAddr = host;
    const free = new Int32Array(limit);
    free.set(this.mtFree.subarray(0, this.mtNrFree));
    this.mtFree = free;
    // Push the new handles so that the lowest comes out first.
    for (let h = limit - 1; h >= old; h--) this.mtFree[this.mtNrFree++] = h;
    this.maptrackLimit = limit;
    return true;
  }
}

function grownU32(a: Uint32Array, n: number): Uint32Array {
  const b = new Uint32Array(n);
  b.set(a);
  return b;
}

function grownU16(a: Uint16Array, n: number): Uint16Array {
  const b = new Uint16Array(n);
  b.set(a);
  return b;
}

function grownI32(a: Int32Array, n: number): Int32Array {
  const b = new Int32Array(n);
  b.set(a);
  return b;
}
