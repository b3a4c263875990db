/**
 * How pvnet's names map to C where the mapping is not the default one. The defaults:
 * - a numeric constant NAME is the C expression `NAME` (a macro or an enum constant);
 * - SIZEOF_X is `sizeof(struct x)`;
 * - a layout table X describes `struct x`, its keys (nested for unions and inner structs) the C members;
 * - a codec object checks `sizeof` and `_Alignof` of `struct <codec.name>`;
 * - a ring type object checks `sizeof(union <name>_sring_entry)` and `__CONST_RING_SIZE(<name>, 4096)`.
 * Anything pvnet exports in UPPER_CASE that fits none of these, and is not listed here, fails the suite:
 * nothing is skipped silently.
 */

/** Constants whose C counterpart is an expression rather than a macro of the same name. */
export const C_EXPRESSION: Readonly<Record<string, string>> = {
  XEN_PAGE_SIZE: '(1 << XEN_PAGE_SHIFT)',
  GRANT_ENTRIES_PER_FRAME_V1: '(4096 / sizeof(grant_entry_v1_t))',
  SIZEOF_SRING_HEADER: 'offsetof(struct netif_tx_sring, ring)',
  NET_TX_RING_SIZE: '__CONST_RING_SIZE(netif_tx, 4096)',
  NET_RX_RING_SIZE: '__CONST_RING_SIZE(netif_rx, 4096)',
  XEN_NETIF_CTRL_RING_SIZE: '__CONST_RING_SIZE(xen_netif_ctrl, 4096)',
  // Linux's names for the response codes; the Xen header spells them NETIF_RSP_*.
  XEN_NETIF_RSP_DROPPED: 'NETIF_RSP_DROPPED',
  XEN_NETIF_RSP_ERROR: 'NETIF_RSP_ERROR',
  XEN_NETIF_RSP_OKAY: 'NETIF_RSP_OKAY',
  XEN_NETIF_RSP_NULL: 'NETIF_RSP_NULL',
};

/** Constants with no counterpart in the Xen public headers, and why. Reported as not compared, with the reason. */
export const NOT_IN_HEADERS: Readonly<Record<string, string>> = {
  GNTTAB_UNMAP_BATCH_SIZE: 'hypervisor internal (xen/common/grant_table.c)',
  DEFAULT_MAX_GRANT_FRAMES: 'hypervisor command-line default, not ABI',
  DEFAULT_MAX_MAPTRACK_FRAMES: 'hypervisor command-line default, not ABI',
  SIZEOF_GRANT_MAPPING: 'hypervisor internal struct grant_mapping',
  XEN_NETIF_EXTRA_TYPE_XDP: "only in Linux's copy of netif.h (Xen 4.17 ends at HASH, MAX 5)",
};

/** Members of layout tables that the Xen headers lack, and why. Reported as not compared, with the reason. */
export const MEMBERS_NOT_IN_HEADERS: Readonly<Record<string, string>> = {
  'NETIF_EXTRA_INFO.u.xdp': "only in Linux's copy of netif.h",
};

/** Tables that describe a struct whose C name is not the lower-cased table name (checked against each). */
export const STRUCTS_OF_TABLE: Readonly<Record<string, readonly string[]>> = {
  SRING_HEADER: ['netif_tx_sring', 'netif_rx_sring', 'xen_netif_ctrl_sring'],
};

/** Table keys that flatten a C member path. */
export const MEMBER_PATHS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  GNTTAB_COPY: {
    source_u_ref: 'source.u.ref', source_domid: 'source.domid', source_offset: 'source.offset',
    dest_u_ref: 'dest.u.ref', dest_domid: 'dest.domid', dest_offset: 'dest.offset',
  },
};

/**
 * ring.h macros and the pvnet name that stands for each, where camelCase of the macro name (with or without
 * its XEN_ prefix) is not it. `null` marks a macro with no counterpart on purpose, with the reason.
 */
export const RING_H_NAMES: Readonly<Record<string, string | { none: string }>> = {
  __CONST_RING_SIZE: 'ringSize',
  __RING_SIZE: 'ringSize',
  RING_SIZE: 'FrontRing', // RING_SIZE(r) is the nrEnts field of a ring end
  RING_COPY_: 'ringCopyRequest',
  XEN_PAGE_SHIFT: 'XEN_PAGE_SHIFT',
  __RD2: { none: 'part of the round-down inside __CONST_RING_SIZE (ringSize)' },
  __RD4: { none: 'part of the round-down inside __CONST_RING_SIZE (ringSize)' },
  __RD8: { none: 'part of the round-down inside __CONST_RING_SIZE (ringSize)' },
  __RD16: { none: 'part of the round-down inside __CONST_RING_SIZE (ringSize)' },
  __RD32: { none: 'part of the round-down inside __CONST_RING_SIZE (ringSize)' },
  xen_mb: { none: 'barriers are Atomics plus the onBarrier hook' },
  xen_rmb: { none: 'barriers are Atomics plus the onBarrier hook' },
  xen_wmb: { none: 'barriers are Atomics plus the onBarrier hook' },
  XEN_FLEX_RING_SIZE: { none: 'flex rings are not used by netif (REFERENCE.md 1.8)' },
  DEFINE_XEN_FLEX_RING: { none: 'flex rings are not used by netif (REFERENCE.md 1.8)' },
  DEFINE_XEN_FLEX_RING_AND_INTF: { none: 'flex rings are not used by netif (REFERENCE.md 1.8)' },
};

/** Macros of netif.h that are not protocol values. */
export const NETIF_H_IGNORED: readonly string[] = ['__XEN_PUBLIC_IO_NETIF_H__'];
