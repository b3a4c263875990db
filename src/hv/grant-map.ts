/**
 * GNTTABOP_map_grant_ref and GNTTABOP_unmap_grant_ref, hypervisor side (REFERENCE.md §4.3-4.5; Xen's
 * map_grant_ref, unmap_common and unmap_common_complete in xen/common/grant_table.c).
 *
 * Each op is checked on its own and answers with its own GNTST_* status; a bad op never stops the batch.
 *
 * Map, per op, in Xen's order: no host_map/device_map flag → bad_gntref; unknown (or dying) granting domain
 * → bad_domain; no maptrack handle → no_device_space; ref ≥ table size → bad_gntref; entry already pinned by
 * another domain, or a pin counter at 0x80 → general_error; first pin (or first writable pin) through the
 * CAS of grant-pin.ts → general_error on any refusal; entry frame not owned by the granting domain →
 * bad_page. On success the pin counter for the kind of mapping goes up, the maptrack entry records
 * {domid, ref, flags, host_addr}, and `dev_bus_addr` reports the frame's machine address.
 *
 * Unmap runs in batches of GNTTAB_UNMAP_BATCH_SIZE (32). Phase 1 checks every op of the batch and removes
 * its mappings: handle ≥ maptrack limit, or a tracking entry with no flags (never mapped, already unmapped,
 * unmapped earlier in this very batch) → bad_handle; dev_bus_addr not 0 and not the mapped frame's address
 * → general_error. Phase 2 is one modelled TLB flush. Phase 3 drops the pins and clears GTF_writing /
 * GTF_reading. So the granting guest sees its flags fall only after the flush (XSA-230).
 *
 * Deviation (no page tables): the mapping is made in MachineMemory with addForeignMapping (writable unless
 * GNTMAP_readonly), one per handle, for host and device mappings alike. `host_addr` is an address token: Xen
 * checks on unmap that the page table at host_addr maps this grant; pvnet checks that it equals the value
 * given at map time (general_error otherwise). As in Xen, an unmap with host_addr 0 leaves a host mapping in
 * place and an unmap with dev_bus_addr 0 leaves a device mapping in place; the handle stays in use until
 * both are gone.
 */

import {
  GNTMAP_device_map, GNTMAP_host_map, GNTMAP_readonly, GNTST_bad_domain, GNTST_bad_gntref, GNTST_bad_handle,
  GNTST_bad_page, GNTST_general_error, GNTST_no_device_space, GNTST_okay, GNTTAB_UNMAP_BATCH_SIZE,
} from '../abi/grant_table.ts';
import { XEN_PAGE_SIZE } from '../abi/page.ts';
import type { Domain } from './domain.ts';
import type { GnttabMapGrantRef, GnttabUnmapGrantRef } from './grant-ops.ts';
import { clearFlagsAfterUnpin, frameOfDomain, pinStatusV1 } from './grant-pin.ts';
import {
  GNTPIN_SATURATION, GNTPIN_WRITABLE, GNTPIN_devr_inc, GNTPIN_devw_inc, GNTPIN_hstr_inc, GNTPIN_hstw_inc,
} from './grant-table.ts';
import type { Hypervisor } from './hypervisor.ts';

const MAP_KINDS = GNTMAP_device_map | GNTMAP_host_map;

/** Pin increment for a mapping with GNTMAP_* `flags`. */
export function pinIncrement(flags: number): number {
  const ro = (flags & GNTMAP_readonly) !== 0;
  let inc = 0;
  if ((flags & GNTMAP_device_map) !== 0) inc += ro ? GNTPIN_devr_inc : GNTPIN_devw_inc;
  if ((flags & GNTMAP_host_map) !== 0) inc += ro ? GNTPIN_hstr_inc : GNTPIN_hstw_inc;
  return inc;
}

/** Map and unmap for one hypervisor. Holds the scratch of one unmap batch, so a batch allocates nothing. */
export class GrantMapper {
  private readonly hv: Hypervisor;
  // Phase-3 work of the current unmap batch: granting domain, ref, and what phase 1 removed (GNTMAP_* bits).
  private readonly batchDomid = new Int32Array(GNTTAB_UNMAP_BATCH_SIZE);
  private readonly batchRef = new Int32Array(GNTTAB_UNMAP_BATCH_SIZE);
  private readonly batchDone = new Int32Array(GNTTAB_UNMAP_BATCH_SIZE);

  constructor(hv: Hypervisor) {
    this.hv = hv;
  }

  /** GNTTABOP_map_grant_ref over ops[0..count). The caller is validated by the Hypervisor. Returns 0. */
  map(ld: Domain, ops: readonly GnttabMapGrantRef[], count: number): number {
    const cost = this.hv.cost;
    cost.hypercall(ld.cost);
    for (let i = 0; i < count; i++) {
      cost.map(ld.cost);
      this.mapOne(ld, ops[i]!);
    }
    return 0;
  }

  private mapOne(ld: Domain, op: GnttabMapGrantRef): void {
    const flags = op.flags >>> 0;
    if ((flags & MAP_KINDS) === 0) return void (op.status = GNTST_bad_gntref);
    const rd = this.hv.liveDomain(op.dom & 0xffff);
    if (rd === undefined) return void (op.status = GNTST_bad_domain);
    const lgt = ld.grantTable;
    const handle = lgt.getMaptrackHandle();
    if (handle < 0) return void (op.status = GNTST_no_device_space);

    const rgt = rd.grantTable;
    const ref = op.ref >>> 0;
    const readonly = (flags & GNTMAP_readonly) !== 0;
    let rc = GNTST_okay;
    if (ref >= rgt.nrEntries) {
      rc = GNTST_bad_gntref;
    } else {
      const pin = rgt.actPin[ref]!;
      if (pin !== 0 && (rgt.actDomid[ref] !== ld.domid || (pin & GNTPIN_SATURATION) !== 0)) {
        rc = GNTST_general_error;
      } else if (pin === 0 || (!readonly && (pin & GNTPIN_WRITABLE) === 0)) {
        rc = pinStatusV1(rgt, ref, readonly, true, ld.domid, pin !== 0, this.hv.testHooks);
        if (rc === GNTST_okay && pin === 0) {
          const frame = rgt.frameOf(ref);
          if (frameOfDomain(rgt, frame)) {
            rgt.actDomid[ref] = ld.domid;
            rgt.actFrame[ref] = frame;
            rgt.actStart[ref] = 0;
            rgt.actLength[ref] = XEN_PAGE_SIZE;
          } else {
            clearFlagsAfterUnpin(rgt, ref, !readonly);
            rc = GNTST_bad_page;
          }
        }
      }
    }
    if (rc !== GNTST_okay) {
      lgt.putMaptrackHandle(handle);
      op.status = rc;
      return;
    }

    rgt.actPin[ref] = rgt.actPin[ref]! + pinIncrement(flags);
    const frame = rgt.actFrame[ref]!;
    this.hv.mem.addForeignMapping(ld.domid, frame, !readonly);
    lgt.mtDomid[handle] = rd.domid;
    lgt.mtRef[handle] = ref;
    lgt.mtHostAddr[handle] = (flags & GNTMAP_host_map) !== 0 ? op.host_addr : 0;
    lgt.mtFlags[handle] = flags;
    op.dev_bus_addr = frame * XEN_PAGE_SIZE;
    op.handle = handle;
    op.status = GNTST_okay;
  }

  /** GNTTABOP_unmap_grant_ref over ops[0..count), 32 per flush. Returns 0. */
  unmap(ld: Domain, ops: readonly GnttabUnmapGrantRef[], count: number): number {
    const cost = this.hv.cost;
    cost.hypercall(ld.cost);
    for (let start = 0; start < count; start += GNTTAB_UNMAP_BATCH_SIZE) {
      const c = Math.min(GNTTAB_UNMAP_BATCH_SIZE, count - start);
      let n = 0;
      for (let i = 0; i < c; i++) {
        cost.unmap(ld.cost);
        if (this.unmapOne(ld, ops[start + i]!, n)) n++;
      }
      cost.tlbFlush(ld.cost);
      this.hv.testHooks.onTlbFlush?.(ld.domid, c);
      for (let j = 0; j < n; j++) this.complete(j);
    }
    return 0;
  }

  /** Phase 1 of one unmap. Records phase-3 work in slot `slot` and returns true if it removed anything. */
  private unmapOne(ld: Domain, op: GnttabUnmapGrantRef, slot: number): boolean {
    const lgt = ld.grantTable;
    const handle = op.handle >>> 0;
    if (handle >= lgt.maptrackLimit || lgt.mtFlags[handle] === 0) {
      op.status = GNTST_bad_handle;
      return false;
    }
    const flags = lgt.mtFlags[handle]!;
    const rd = this.hv.anyDomain(lgt.mtDomid[handle]!);
    const ref = lgt.mtRef[handle]!;
    if (rd === undefined || ref >= rd.grantTable.nrEntries) {
      op.status = GNTST_bad_handle;
      return false;
    }
    const frame = rd.grantTable.actFrame[ref]!;
    if (op.dev_bus_addr !== 0 && op.dev_bus_addr !== frame * XEN_PAGE_SIZE) {
      op.status = GNTST_general_error;
      return false;
    }
    let left = flags;
    let done = 0;
    if (op.host_addr !== 0 && (flags & GNTMAP_host_map) !== 0) {
      if (op.host_addr !== lgt.mtHostAddr[handle]) {
        op.status = GNTST_general_error;
        return false;
      }
      left &= ~GNTMAP_host_map;
      done |= GNTMAP_host_map | (flags & GNTMAP_readonly);
    }
    if (op.dev_bus_addr !== 0 && (flags & GNTMAP_device_map) !== 0) {
      left &= ~GNTMAP_device_map;
      done |= GNTMAP_device_map | (flags & GNTMAP_readonly);
    }
    op.status = GNTST_okay;
    if (done === 0) return false;
    if ((left & MAP_KINDS) === 0) {
      this.hv.mem.removeForeignMapping(ld.domid, frame, (flags & GNTMAP_readonly) === 0);
      lgt.putMaptrackHandle(handle);
    } else {
      lgt.mtFlags[handle] = left;
    }
    this.batchDomid[slot] = rd.domid;
    this.batchRef[slot] = ref;
    this.batchDone[slot] = done;
    return true;
  }

  /** Phase 3 of one unmap: drop the pins it held and clear the guest-visible flags they justified. */
  private complete(slot: number): void {
    const rd = this.hv.anyDomain(this.batchDomid[slot]!)!;
    const gt = rd.grantTable;
    const ref = this.batchRef[slot]!;
    const done = this.batchDone[slot]!;
    gt.actPin[ref] = gt.actPin[ref]! - pinIncrement(done);
    clearFlagsAfterUnpin(gt, ref, (done & GNTMAP_readonly) === 0);
    if (rd.state !== 'alive' && gt.actPin[ref] === 0) this.hv.reap(rd);
  }
}
