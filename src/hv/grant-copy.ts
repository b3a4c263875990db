/**
 * GNTTABOP_copy, hypervisor side (REFERENCE.md §4.3, §4.5; Xen's gnttab_copy_one and helpers in
 * xen/common/grant_table.c).
 *
 * Each side of a copy is either a grant reference of a foreign (or the caller's own) domain, or a frame of
 * the caller named with DOMID_SELF. The hypervisor keeps a *buffer* per side across consecutive ops: a
 * source or destination that names the same grant (or frame) as the previous op is not pinned again, which
 * is why a netback batch that copies several slices of one page pins it once. Per op, in Xen's order:
 *
 * 1. domains: a side named by frame with any domid but DOMID_SELF → permission_denied; unknown (or dying)
 *    domain → bad_domain;
 * 2. claim the source (read pin: GTF_reading) and the destination (write pin: GTF_reading|GTF_writing):
 *    ref ≥ table size → bad_gntref; refused pin → general_error (grant-pin.ts); a frame not owned by its
 *    domain → bad_page;
 * 3. offset + len > 4096 on either side → bad_copy_arg; outside the grant's window → general_error;
 * 4. copy the bytes as the hypervisor through MachineMemory.
 *
 * A failed op releases both buffers. All pins are released when the hypercall returns, so the granting
 * guest sees GTF_reading / GTF_writing only for the duration of the call. In v1 a grant's window is always
 * the whole page (sub-page windows exist only in grant_entry_v2), so step 3's window check cannot fail for a
 * v1 entry; it is kept because the active entry carries the window, as in Xen.
 */

import {
  GNTCOPY_dest_gref, GNTCOPY_source_gref, GNTST_bad_copy_arg, GNTST_bad_domain, GNTST_bad_page,
  GNTST_general_error, GNTST_okay, GNTST_permission_denied,
} from '../abi/grant_table.ts';
import { XEN_PAGE_SIZE } from '../abi/page.ts';
import { DOMID_SELF, DOMID_XEN } from '../abi/xen.ts';
import type { Domain } from './domain.ts';
import type { GnttabCopy, GnttabCopyPtr } from './grant-ops.ts';
import { acquireGrantForCopy, releaseGrantForCopy } from './grant-pin.ts';
import type { Hypervisor } from './hypervisor.ts';

/** One side's state across ops of a copy hypercall (Xen's struct gnttab_copy_buf). */
interface CopyBuf {
  /** Locked domain, or null. */
  domain: Domain | null;
  /** The domid as the op named it (DOMID_SELF stays DOMID_SELF). */
  ptrDomid: number;
  /** A buffer is claimed (pinned grant or checked frame). */
  claimed: boolean;
  haveGrant: boolean;
  readOnly: boolean;
  ref: number;
  gmfn: number;
  frame: number;
  start: number;
  len: number;
}

function newBuf(): CopyBuf {
  return { domain: null, ptrDomid: -1, claimed: false, haveGrant: false, readOnly: true, ref: 0, gmfn: 0, frame: 0, start: 0, len: 0 };
}

/** The copy hypercall for one hypervisor; keeps its two buffers, so a batch allocates nothing. */
export class GrantCopier {
  private readonly hv: Hypervisor;
  private readonly src = newBuf();
  private readonly dst = newBuf();

  constructor(hv: Hypervisor) {
    this.hv = hv;
  }

  /** GNTTABOP_copy over ops[0..count). Returns 0. */
  copy(ld: Domain, ops: readonly GnttabCopy[], count: number): number {
    const cost = this.hv.cost;
    cost.hypercall(ld.cost);
    const src = this.src;
    const dst = this.dst;
    try {
      for (let i = 0; i < count; i++) {
        const op = ops[i]!;
        cost.copyOp(ld.cost);
        const rc = this.copyOne(ld, op);
        if (rc !== GNTST_okay) {
          this.releaseBuf(src);
          this.releaseBuf(dst);
        }
        op.status = rc;
      }
    } finally {
      this.releaseBuf(src);
      this.releaseBuf(dst);
      src.domain = dst.domain = null;
    }
    return 0;
  }

  private copyOne(ld: Domain, op: GnttabCopy): number {
    const src = this.src;
    const dst = this.dst;
    const flags = op.flags & 0xffff;
    const srcGref = (flags & GNTCOPY_source_gref) !== 0;
    const dstGref = (flags & GNTCOPY_dest_gref) !== 0;
    const srcDom = op.source.domid & 0xffff;
    const dstDom = op.dest.domid & 0xffff;
    if (src.domain === null || srcDom !== src.ptrDomid || dst.domain === null || dstDom !== dst.ptrDomid) {
      this.releaseBuf(src);
      this.releaseBuf(dst);
      src.domain = dst.domain = null;
      let rc = this.lockDomain(ld, srcDom, srcGref, src);
      if (rc === GNTST_okay) rc = this.lockDomain(ld, dstDom, dstGref, dst);
      if (rc !== GNTST_okay) {
        src.domain = dst.domain = null;
        return rc;
      }
    }
    if (!bufValid(op.source, src, srcGref)) {
      this.releaseBuf(src);
      const rc = this.claimBuf(ld, op.source, src, srcGref, true);
      if (rc !== GNTST_okay) return rc;
    }
    if (!bufValid(op.dest, dst, dstGref)) {
      this.releaseBuf(dst);
      const rc = this.claimBuf(ld, op.dest, dst, dstGref, false);
      if (rc !== GNTST_okay) return rc;
    }
    return this.copyBuf(ld, op);
  }

  private lockDomain(ld: Domain, domid: number, isGref: boolean, buf: CopyBuf): number {
    if (domid !== DOMID_SELF && !isGref) return GNTST_permission_denied;
    const d = domid === DOMID_SELF ? ld : this.hv.liveDomain(domid);
    if (d === undefined) return GNTST_bad_domain;
    buf.domain = d;
    buf.ptrDomid = domid;
    return GNTST_okay;
  }

  private claimBuf(ld: Domain, ptr: GnttabCopyPtr, buf: CopyBuf, isGref: boolean, readOnly: boolean): number {
    const d = buf.domain!;
    buf.readOnly = readOnly;
    if (isGref) {
      const ref = ptr.u.ref;
      const rc = acquireGrantForCopy(d.grantTable, ref, ld.domid, readOnly, this.hv.testHooks);
      if (rc !== GNTST_okay) return rc;
      this.hv.cost.copyPin(ld.cost);
      buf.haveGrant = true;
      buf.ref = ref;
      buf.frame = d.grantTable.actFrame[ref]!;
      buf.start = d.grantTable.actStart[ref]!;
      buf.len = d.grantTable.actLength[ref]!;
    } else {
      const gmfn = ptr.u.gmfn;
      const mem = this.hv.mem;
      if (!(Number.isInteger(gmfn) && gmfn >= 0 && gmfn < mem.nrFrames && mem.owner[gmfn] === d.domid)) return GNTST_bad_page;
      buf.gmfn = gmfn;
      buf.frame = gmfn;
      buf.start = 0;
      buf.len = XEN_PAGE_SIZE;
    }
    buf.claimed = true;
    return GNTST_okay;
  }

  private releaseBuf(buf: CopyBuf): void {
    if (buf.haveGrant) {
      const d = buf.domain!;
      releaseGrantForCopy(d.grantTable, buf.ref, buf.readOnly);
      buf.haveGrant = false;
    }
    buf.claimed = false;
  }

  private copyBuf(ld: Domain, op: GnttabCopy): number {
    const src = this.src;
    const dst = this.dst;
    const len = op.len & 0xffff;
    const so = op.source.offset & 0xffff;
    const dof = op.dest.offset & 0xffff;
    if (so + len > XEN_PAGE_SIZE || dof + len > XEN_PAGE_SIZE) return GNTST_bad_copy_arg;
    if (so < src.start || so + len > src.start + src.len) return GNTST_general_error;
    if (dof < dst.start || dof + len > dst.start + dst.len) return GNTST_general_error;
    this.hv.mem.copy(DOMID_XEN, src.frame, so, dst.frame, dof, len);
    this.hv.cost.copyBytes(ld.cost, len);
    return GNTST_okay;
  }
}

/** The op names the buffer already claimed for this side (Xen's gnttab_copy_buf_valid). */
function bufValid(ptr: GnttabCopyPtr, buf: CopyBuf, isGref: boolean): boolean {
  if (!buf.claimed) return false;
  if (isGref) return buf.haveGrant && ptr.u.ref === buf.ref;
  return !buf.haveGrant && ptr.u.gmfn === buf.gmfn;
}
