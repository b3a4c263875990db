/**
 * Pinning a grant entry: the step map and copy share (REFERENCE.md §4.5; Xen's _set_status_v1,
 * acquire_grant_for_copy and release_grant_for_copy in xen/common/grant_table.c).
 *
 * The first pin of an entry, and the first writable pin of an entry pinned read-only so far, set
 * GTF_reading (and GTF_writing for a writable pin) with a compare-and-swap on the combined {flags, domid}
 * word. The CAS is what makes the check and the update one step against a guest that may rewrite its entry
 * at any time: the entry must be `permit_access` for the pinning domain (and not sub-page, for a map), and a
 * writable pin of a read-only grant is refused. A guest that keeps changing the word makes the CAS fail; it
 * is retried up to five times in all, then the op fails, so a guest cannot livelock the hypervisor
 * (compare XSA-295). Every one of these failures is GNTST_general_error.
 *
 * Flags fall only when the pins do: GTF_writing when no writable pin remains, GTF_reading when the pin word
 * reaches 0 (`clearFlagsAfterUnpin`).
 */

import {
  GNTST_bad_gntref, GNTST_bad_page, GNTST_general_error, GNTST_okay, GTF_permit_access, GTF_readonly, GTF_reading,
  GTF_sub_page, GTF_type_mask, GTF_writing,
} from '../abi/grant_table.ts';
import { XEN_PAGE_SIZE } from '../abi/page.ts';
import {
  GNTPIN_SATURATION, GNTPIN_WRITABLE, GNTPIN_hstr_inc, GNTPIN_hstw_inc, type GrantTable,
} from './grant-table.ts';

/** Test hooks into the hypervisor's grant code. Off (empty) by default. */
export interface GrantTestHooks {
  /**
   * Called just before each compare-and-swap of a pin, with the attempt number (0..4). A test that writes
   * the entry's flags here plays a guest flipping its flags as fast as the hypervisor can retry.
   */
  beforePinCas?: (grantingDomid: number, ref: number, attempt: number) => void;
  /** Called at the modelled TLB flush closing each unmap batch, before any pin of that batch is dropped. */
  onTlbFlush?: (callerDomid: number, opsInBatch: number) => void;
}

/** Retries of the pin CAS after the first attempt (five attempts in all). */
export const PIN_CAS_RETRIES = 4;

/**
 * Set GTF_reading (and GTF_writing unless `readonly`) on entry `ref` of `gt` for domain `ldomid`.
 * `pinned` says whether the active entry is already pinned (then type and domid are not checked again).
 * `mapflag` adds the sub-page check. Returns GNTST_okay or GNTST_general_error; never throws.
 */
export function pinStatusV1(
  gt: GrantTable, ref: number, readonly: boolean, mapflag: boolean, ldomid: number, pinned: boolean,
  hooks: GrantTestHooks,
): number {
  const words = gt.words;
  const idx = gt.comboIndex(ref);
  const mask = mapflag ? GTF_type_mask | GTF_sub_page : GTF_type_mask;
  let scombo = Atomics.load(words, idx);
  for (let attempt = 0; ; attempt++) {
    const sflags = scombo & 0xffff;
    if (!pinned && ((sflags & mask) !== GTF_permit_access || scombo >>> 16 !== ldomid)) return GNTST_general_error;
    let nflags = sflags | GTF_reading;
    if (!readonly) {
      if ((sflags & GTF_readonly) !== 0) return GNTST_general_error;
      nflags |= GTF_writing;
    }
    const next = (scombo & ~0xffff) | nflags;
    hooks.beforePinCas?.(gt.domid, ref, attempt);
    const prev = Atomics.compareExchange(words, idx, scombo, next);
    if (prev === scombo) return GNTST_okay;
    if (attempt === PIN_CAS_RETRIES) return GNTST_general_error;
    scombo = prev;
  }
}

/**
 * After pins of `ref` were dropped (or a first pin was abandoned): clear GTF_writing if the dropped pin was
 * writable and no writable pin remains, and GTF_reading once nothing pins the entry.
 */
export function clearFlagsAfterUnpin(gt: GrantTable, ref: number, droppedWritable: boolean): void {
  const pin = gt.actPin[ref]!;
  let clear = 0;
  if (droppedWritable && (pin & GNTPIN_WRITABLE) === 0) clear |= GTF_writing;
  if (pin === 0) clear |= GTF_reading;
  if (clear !== 0) gt.clearFlags(ref, clear);
}

/** Xen's get_paged_frame: the frame must exist and belong to the granting domain. */
export function frameOfDomain(gt: GrantTable, frame: number): boolean {
  return frame >= 0 && frame < gt.mem.nrFrames && gt.mem.owner[frame] === gt.domid;
}

/**
 * Pin `ref` of `rd`'s table for a copy by `ldomid` (host-read pin for the source, host-write pin for the
 * destination). On success the active entry holds the frame and window. Returns GNTST_*.
 */
export function acquireGrantForCopy(gt: GrantTable, ref: number, ldomid: number, readonly: boolean, hooks: GrantTestHooks): number {
  if (ref >= gt.nrEntries) return GNTST_bad_gntref;
  const pin = gt.actPin[ref]!;
  if (pin !== 0 && (gt.actDomid[ref] !== ldomid || (pin & GNTPIN_SATURATION) !== 0)) return GNTST_general_error;
  if (pin === 0 || (!readonly && (pin & GNTPIN_WRITABLE) === 0)) {
    const rc = pinStatusV1(gt, ref, readonly, false, ldomid, pin !== 0, hooks);
    if (rc !== GNTST_okay) return rc;
    if (pin === 0) {
      const frame = gt.frameOf(ref);
      if (!frameOfDomain(gt, frame)) {
        clearFlagsAfterUnpin(gt, ref, !readonly);
        return GNTST_bad_page;
      }
      gt.actDomid[ref] = ldomid;
      gt.actFrame[ref] = frame;
      gt.actStart[ref] = 0;
      gt.actLength[ref] = XEN_PAGE_SIZE;
    }
  }
  gt.actPin[ref] = pin + (readonly ? GNTPIN_hstr_inc : GNTPIN_hstw_inc);
  return GNTST_okay;
}

/** Drop a copy pin taken by acquireGrantForCopy. */
export function releaseGrantForCopy(gt: GrantTable, ref: number, readonly: boolean): void {
  gt.actPin[ref] = gt.actPin[ref]! - (readonly ? GNTPIN_hstr_inc : GNTPIN_hstw_inc);
  clearFlagsAfterUnpin(gt, ref, !readonly);
}
