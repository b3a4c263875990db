/**
 * Argument records of the grant-table hypercall (HYPERVISOR_grant_table_op), named after the C fields of
 * xen/include/public/grant_table.h (byte layouts in src/abi/grant_table.ts, REFERENCE.md §4.3).
 *
 * A caller allocates these once and reuses them: netback keeps an array of map ops and one of copy ops per
 * queue, refills the IN fields for each batch, and reads the OUT fields after the call, so a batch allocates
 * nothing. IN fields are written by the caller; OUT fields (`status`, `handle`, `dev_bus_addr`,
 * `nr_frames` of query_size...) only by the hypervisor. Every field is a plain number; u64 fields are exact
 * up to 2^53. The hypervisor reads IN fields once per op and coerces them to their C width (u16, u32), so a
 * garbage value ends as a GNTST_* status, never as an exception.
 */

/** struct gnttab_map_grant_ref. */
export interface GnttabMapGrantRef {
  /** IN: where the caller wants the page (pvnet: an address token kept for unmap; see grant-map.ts). */
  host_addr: number;
  /** IN: GNTMAP_* (host_map and/or device_map, readonly, ...). */
  flags: number;
  /** IN: grant reference in the granting domain's table. */
  ref: number;
  /** IN: the granting domain. */
  dom: number;
  /** OUT: GNTST_*. */
  status: number;
  /** OUT: maptrack handle to present to unmap. */
  handle: number;
  /** OUT: machine address of the mapped frame (frame << 12). */
  dev_bus_addr: number;
}

/** struct gnttab_unmap_grant_ref. */
export interface GnttabUnmapGrantRef {
  /** IN: the host_addr given at map time; 0 leaves the host mapping in place (as Xen). */
  host_addr: number;
  /** IN: 0, or the dev_bus_addr returned by map (removes a device mapping; must match). */
  dev_bus_addr: number;
  /** IN: the handle returned by map. */
  handle: number;
  /** OUT: GNTST_*. */
  status: number;
}

/**
 * The `u` union of struct gnttab_copy_ptr: `ref` (grant_ref_t, u32) and `gmfn` (xen_pfn_t) share one storage,
 * as in C; which one the hypervisor reads depends on GNTCOPY_source_gref / GNTCOPY_dest_gref.
 */
export class GnttabCopyUnion {
  private raw = 0;
  get ref(): number {
    return this.raw >>> 0;
  }
  set ref(v: number) {
    this.raw = v >>> 0;
  }
  get gmfn(): number {
    return this.raw;
  }
  set gmfn(v: number) {
    this.raw = v;
  }
}

/** struct gnttab_copy_ptr: one side of a copy. */
export class GnttabCopyPtr {
  readonly u = new GnttabCopyUnion();
  /** domid_t: the granting domain (gref side) or DOMID_SELF (frame side). */
  domid = 0;
  /** u16: byte offset in the page. */
  offset = 0;
}

/** struct gnttab_copy. */
export interface GnttabCopy {
  readonly source: GnttabCopyPtr;
  readonly dest: GnttabCopyPtr;
  /** u16 IN: bytes to copy. */
  len: number;
  /** u16 IN: GNTCOPY_source_gref | GNTCOPY_dest_gref. */
  flags: number;
  /** i16 OUT: GNTST_*. */
  status: number;
}

/** struct gnttab_setup_table. */
export interface GnttabSetupTable {
  /** IN: DOMID_SELF, or another domain (privileged callers only). */
  dom: number;
  /** IN: frames wanted; the table grows to this size if it is smaller. */
  nr_frames: number;
  /** OUT: GNTST_*. */
  status: number;
  /** OUT: the table's frames (machine frame numbers); too short a list gives GNTST_bad_virt_addr. */
  frame_list: Int32Array | number[];
}

/** struct gnttab_query_size. */
export interface GnttabQuerySize {
  /** IN: DOMID_SELF or a domain id. */
  dom: number;
  /** OUT: current table size in frames. */
  nr_frames: number;
  /** OUT: the table's limit in frames. */
  max_nr_frames: number;
  /** OUT: GNTST_*. */
  status: number;
}

/** Any grant-table op record, for the `grantTableOp` dispatcher. */
export type GnttabOp = GnttabMapGrantRef | GnttabUnmapGrantRef | GnttabCopy | GnttabSetupTable | GnttabQuerySize;

/** A zeroed map op. Allocate once, reuse. */
export function newMapGrantRef(): GnttabMapGrantRef {
  return { host_addr: 0, flags: 0, ref: 0, dom: 0, status: 0, handle: 0, dev_bus_addr: 0 };
}

/** A zeroed unmap op. */
export function newUnmapGrantRef(): GnttabUnmapGrantRef {
  return { host_addr: 0, dev_bus_addr: 0, handle: 0, status: 0 };
}

/** A zeroed copy op. */
export function newGnttabCopy(): GnttabCopy {
  return { source: new GnttabCopyPtr(), dest: new GnttabCopyPtr(), len: 0, flags: 0, status: 0 };
}

/** A setup_table op with room for `nrFrames` frames. */
export function newSetupTable(dom: number, nrFrames: number): GnttabSetupTable {
  return { dom, nr_frames: nrFrames, status: 0, frame_list: new Int32Array(nrFrames) };
}

/** A query_size op. */
export function newQuerySize(dom: number): GnttabQuerySize {
  return { dom, nr_frames: 0, max_nr_frames: 0, status: 0 };
}

/**
 * Fill a map op (Linux's gnttab_set_map_op): status is set to 1, a positive value no hypercall returns, so a
 * caller can tell an op the hypervisor never reached.
 */
export function gnttabSetMapOp(op: GnttabMapGrantRef, addr: number, flags: number, ref: number, domid: number): void {
  op.host_addr = addr;
  op.flags = flags;
  op.ref = ref;
  op.dom = domid;
  op.status = 1;
  op.handle = 0;
  op.dev_bus_addr = 0;
}

/**
 * Fill an unmap op (Linux's gnttab_set_unmap_op): dev_bus_addr 0, so only the host mapping is removed.
 * `flags` is taken for Linux's signature; with no page tables pvnet uses `addr` as given in every case.
 */
export function gnttabSetUnmapOp(op: GnttabUnmapGrantRef, addr: number, _flags: number, handle: number): void {
  op.host_addr = addr;
  op.dev_bus_addr = 0;
  op.handle = handle;
  op.status = 1;
}
