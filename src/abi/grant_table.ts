/**
 * Grant tables (xen/include/public/grant_table.h), version 1, and the hypercall argument structs pvnet uses.
 *
 * A v1 grant entry is 8 bytes; a 4096-byte frame holds 512 of them. Byte diagram of one entry:
 *
 * ```
 *   0        2        4                 8
 *   | flags  | domid  | frame           |
 *     u16      u16      u32
 *     guest    guest    guest           (GTF_reading / GTF_writing inside `flags` are written by Xen)
 * ```
 *
 * Granting order (the guest protocol): write `domid` and `frame`, a write barrier, then `flags` with the type.
 * The hypervisor pins an entry with a compare-and-swap over the combined {flags, domid} 32-bit word at offset 0.
 *
 * Hypercall argument structs are given as offset tables (x86-64 gcc layout). pvnet's hypercalls take plain
 * TypeScript records; the tables exist so the conformance suite can check the layout against the C headers
 * and so tools can encode real argument buffers.
 */

// ---- entry layout -----------------------------------------------------------------------------------------

/** struct grant_entry_v1: size and field offsets. */
export const SIZEOF_GRANT_ENTRY_V1 = 8;
export const GRANT_ENTRY_V1 = {
  /** u16: GTF_* (type and guest flags; GTF_reading/GTF_writing written by Xen). */
  flags: 0,
  /** u16 (domid_t): the domain allowed to use this grant. */
  domid: 2,
  /** u32: the frame (gfn) being granted. */
  frame: 4,
} as const;
/** Grant entries per 4096-byte frame in v1. */
export const GRANT_ENTRIES_PER_FRAME_V1 = 4096 / SIZEOF_GRANT_ENTRY_V1;

/** GNTTAB_NR_RESERVED_ENTRIES: refs 0..7 are reserved for the toolstack (0 console, 1 xenstore). */
export const GNTTAB_NR_RESERVED_ENTRIES = 8;
export const GNTTAB_RESERVED_CONSOLE = 0;
export const GNTTAB_RESERVED_XENSTORE = 1;

// ---- GTF_* flags ------------------------------------------------------------------------------------------

export const GTF_invalid = 0;
export const GTF_permit_access = 1;
export const GTF_accept_transfer = 2;
export const GTF_transitive = 3;
export const GTF_type_mask = 3;
export const _GTF_readonly = 2;
export const GTF_readonly = 1 << _GTF_readonly;
export const _GTF_reading = 3;
export const GTF_reading = 1 << _GTF_reading;
export const _GTF_writing = 4;
export const GTF_writing = 1 << _GTF_writing;
export const _GTF_PWT = 5;
export const GTF_PWT = 1 << _GTF_PWT;
export const _GTF_PCD = 6;
export const GTF_PCD = 1 << _GTF_PCD;
export const _GTF_PAT = 7;
export const GTF_PAT = 1 << _GTF_PAT;
export const _GTF_sub_page = 8;
export const GTF_sub_page = 1 << _GTF_sub_page;
/** Transfer entries reuse bits 2 and 3. */
export const _GTF_transfer_committed = 2;
export const GTF_transfer_committed = 1 << _GTF_transfer_committed;
export const _GTF_transfer_completed = 3;
export const GTF_transfer_completed = 1 << _GTF_transfer_completed;

// ---- commands ---------------------------------------------------------------------------------------------

export const GNTTABOP_map_grant_ref = 0;
export const GNTTABOP_unmap_grant_ref = 1;
export const GNTTABOP_setup_table = 2;
export const GNTTABOP_dump_table = 3;
export const GNTTABOP_transfer = 4;
export const GNTTABOP_copy = 5;
export const GNTTABOP_query_size = 6;
export const GNTTABOP_unmap_and_replace = 7;
export const GNTTABOP_set_version = 8;
export const GNTTABOP_get_status_frames = 9;
export const GNTTABOP_get_version = 10;
export const GNTTABOP_swap_grant_ref = 11;
export const GNTTABOP_cache_flush = 12;

// ---- GNTMAP_* and GNTCOPY_* -------------------------------------------------------------------------------

export const _GNTMAP_device_map = 0;
export const GNTMAP_device_map = 1 << _GNTMAP_device_map;
export const _GNTMAP_host_map = 1;
export const GNTMAP_host_map = 1 << _GNTMAP_host_map;
export const _GNTMAP_readonly = 2;
export const GNTMAP_readonly = 1 << _GNTMAP_readonly;
export const _GNTMAP_application_map = 3;
export const GNTMAP_application_map = 1 << _GNTMAP_application_map;
export const _GNTMAP_contains_pte = 4;
export const GNTMAP_contains_pte = 1 << _GNTMAP_contains_pte;

export const _GNTCOPY_source_gref = 0;
export const GNTCOPY_source_gref = 1 << _GNTCOPY_source_gref;
export const _GNTCOPY_dest_gref = 1;
export const GNTCOPY_dest_gref = 1 << _GNTCOPY_dest_gref;

// ---- GNTST_* status codes (int16 in every OUT status field) ----------------------------------------------

export const GNTST_okay = 0;
export const GNTST_general_error = -1;
export const GNTST_bad_domain = -2;
export const GNTST_bad_gntref = -3;
export const GNTST_bad_handle = -4;
export const GNTST_bad_virt_addr = -5;
export const GNTST_bad_dev_addr = -6;
export const GNTST_no_device_space = -7;
export const GNTST_permission_denied = -8;
export const GNTST_bad_page = -9;
export const GNTST_bad_copy_arg = -10;
export const GNTST_address_too_big = -11;
export const GNTST_eagain = -12;
export const GNTST_no_space = -13;

/** Human-readable names, as GNTTABOP_error_msgs gives them, indexed by -status. */
export const GNTTABOP_error_msgs: readonly string[] = [
  'okay',
  'undefined error',
  'unrecognised domain id',
  'invalid grant reference',
  'invalid mapping handle',
  'invalid virtual address',
  'invalid device address',
  'no spare translation slot in the I/O MMU',
  'permission denied',
  'bad page',
  'copy arguments cross page boundary',
  'page address size too large',
  'operation not done; try again',
  'out of space',
];

/** The name of a GNTST_* status ("GNTST_bad_gntref"), or "GNTST_<n>" for a value outside the table. */
export function gntstName(status: number): string {
  const names = ['okay', 'general_error', 'bad_domain', 'bad_gntref', 'bad_handle', 'bad_virt_addr', 'bad_dev_addr',
    'no_device_space', 'permission_denied', 'bad_page', 'bad_copy_arg', 'address_too_big', 'eagain', 'no_space'];
  const n = names[-status];
  return n === undefined ? `GNTST_${status}` : `GNTST_${n}`;
}

// ---- hypercall argument structs (x86-64 layout) -----------------------------------------------------------

/** struct gnttab_map_grant_ref (32 bytes). OUT fields are written by the hypervisor. */
export const SIZEOF_GNTTAB_MAP_GRANT_REF = 32;
export const GNTTAB_MAP_GRANT_REF = {
  host_addr: 0, // u64 IN
  flags: 8, // u32 IN, GNTMAP_*
  ref: 12, // u32 IN, grant_ref_t
  dom: 16, // u16 IN, domid_t
  status: 18, // i16 OUT
  handle: 20, // u32 OUT, grant_handle_t
  dev_bus_addr: 24, // u64 OUT
} as const;

/** struct gnttab_unmap_grant_ref (24 bytes). */
export const SIZEOF_GNTTAB_UNMAP_GRANT_REF = 24;
export const GNTTAB_UNMAP_GRANT_REF = {
  host_addr: 0, // u64 IN
  dev_bus_addr: 8, // u64 IN
  handle: 16, // u32 IN
  status: 20, // i16 OUT
} as const;

/** struct gnttab_copy (40 bytes): two 16-byte gnttab_copy_ptr, then len, flags, status. */
export const SIZEOF_GNTTAB_COPY = 40;
export const GNTTAB_COPY = {
  source_u_ref: 0, // u32 (or source_u_gmfn u64 at the same offset)
  source_domid: 8, // u16
  source_offset: 10, // u16
  dest_u_ref: 16,
  dest_domid: 24,
  dest_offset: 26,
  len: 32, // u16
  flags: 34, // u16, GNTCOPY_*
  status: 36, // i16 OUT
} as const;

/** struct gnttab_setup_table (24 bytes). */
export const SIZEOF_GNTTAB_SETUP_TABLE = 24;
export const GNTTAB_SETUP_TABLE = {
  dom: 0, // u16 IN
  nr_frames: 4, // u32 IN
  status: 8, // i16 OUT
  frame_list: 16, // guest handle OUT
} as const;

/** struct gnttab_query_size (16 bytes). */
export const SIZEOF_GNTTAB_QUERY_SIZE = 16;
export const GNTTAB_QUERY_SIZE = {
  dom: 0, // u16 IN
  nr_frames: 4, // u32 OUT
  max_nr_frames: 8, // u32 OUT
  status: 12, // i16 OUT
} as const;

/** Unmaps are processed in batches of this many per TLB flush (xen/common/grant_table.c). */
export const GNTTAB_UNMAP_BATCH_SIZE = 32;
/** Hypervisor defaults (Xen command line max_grant_frames / max_maptrack_frames). */
export const DEFAULT_MAX_GRANT_FRAMES = 64;
export const DEFAULT_MAX_MAPTRACK_FRAMES = 1024;
/** Size of one maptrack entry (struct grant_mapping) in bytes: 256 per frame. */
export const SIZEOF_GRANT_MAPPING = 16;
