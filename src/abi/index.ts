/**
 * The Xen ABI layer: byte layouts and constants of the Xen public headers, and the ring.h operations.
 *
 * Contract (for every file in src/abi/):
 * - Layout tables name each C member with its offset, type (size and signedness) and array count; SIZEOF_*
 *   give struct sizes; constants keep their C names. The conformance suite checks all of them against gcc
 *   and the real headers (test/conformance).
 * - Views and codecs never judge: they read and write fields, little-endian, whatever the bytes hold.
 * - parse* and emit* are the only places where rules are checked. parse* takes data that came from the
 *   peer and returns the record or an error value; it never throws. emit* takes the caller's own record and
 *   throws InvalidArgument if it is malformed, as does any other misuse of the API (a bad entry size, an
 *   index outside [0, 2^32)).
 * - The shared ring is generic (ring.ts); netif.ts supplies its entry codecs. A backend reads a request
 *   only through ringCopyRequest, a frontend a response only through ringCopyResponse: one copy into
 *   private memory, never a second look at the shared slot.
 * - Nothing here allocates per request or response, and nothing here knows of domains or behaviour.
 */

// pages
export {
  XEN_PAGE_SHIFT, XEN_PAGE_SIZE, pageRefOf, allocStandalonePage,
} from './page.ts';
export type {
  PageRef,
} from './page.ts';

// xen.h: domain ids
export {
  DOMID_FIRST_RESERVED, DOMID_SELF, DOMID_IO, DOMID_XEN, DOMID_COW, DOMID_INVALID, DOMID_IDLE, isOrdinaryDomid,
} from './xen.ts';

// grant_table.h
export {
  SIZEOF_GRANT_ENTRY_V1, GRANT_ENTRY_V1, GRANT_ENTRIES_PER_FRAME_V1, GNTTAB_NR_RESERVED_ENTRIES,
  GNTTAB_RESERVED_CONSOLE, GNTTAB_RESERVED_XENSTORE, GTF_invalid, GTF_permit_access, GTF_accept_transfer,
  GTF_transitive, GTF_type_mask, _GTF_readonly, GTF_readonly, _GTF_reading, GTF_reading, _GTF_writing, GTF_writing,
  _GTF_PWT, GTF_PWT, _GTF_PCD, GTF_PCD, _GTF_PAT, GTF_PAT, _GTF_sub_page, GTF_sub_page, _GTF_transfer_committed,
  GTF_transfer_committed, _GTF_transfer_completed, GTF_transfer_completed, GNTTABOP_map_grant_ref,
  GNTTABOP_unmap_grant_ref, GNTTABOP_setup_table, GNTTABOP_dump_table, GNTTABOP_transfer, GNTTABOP_copy,
  GNTTABOP_query_size, GNTTABOP_unmap_and_replace, GNTTABOP_set_version, GNTTABOP_get_status_frames,
  GNTTABOP_get_version, GNTTABOP_swap_grant_ref, GNTTABOP_cache_flush, _GNTMAP_device_map, GNTMAP_device_map,
  _GNTMAP_host_map, GNTMAP_host_map, _GNTMAP_readonly, GNTMAP_readonly, _GNTMAP_application_map,
  GNTMAP_application_map, _GNTMAP_contains_pte, GNTMAP_contains_pte, _GNTCOPY_source_gref, GNTCOPY_source_gref,
  _GNTCOPY_dest_gref, GNTCOPY_dest_gref, GNTST_okay, GNTST_general_error, GNTST_bad_domain, GNTST_bad_gntref,
  GNTST_bad_handle, GNTST_bad_virt_addr, GNTST_bad_dev_addr, GNTST_no_device_space, GNTST_permission_denied,
  GNTST_bad_page, GNTST_bad_copy_arg, GNTST_address_too_big, GNTST_eagain, GNTST_no_space, GNTTABOP_error_msgs,
  gntstName, SIZEOF_GNTTAB_MAP_GRANT_REF, GNTTAB_MAP_GRANT_REF, SIZEOF_GNTTAB_UNMAP_GRANT_REF,
  GNTTAB_UNMAP_GRANT_REF, SIZEOF_GNTTAB_COPY, GNTTAB_COPY, SIZEOF_GNTTAB_SETUP_TABLE, GNTTAB_SETUP_TABLE,
  SIZEOF_GNTTAB_QUERY_SIZE, GNTTAB_QUERY_SIZE, GNTTAB_UNMAP_BATCH_SIZE, DEFAULT_MAX_GRANT_FRAMES,
  DEFAULT_MAX_MAPTRACK_FRAMES, SIZEOF_GRANT_MAPPING,
} from './grant_table.ts';

// event_channel.h
export {
  EVTCHNOP_bind_interdomain, EVTCHNOP_bind_virq, EVTCHNOP_bind_pirq, EVTCHNOP_close, EVTCHNOP_send, EVTCHNOP_status,
  EVTCHNOP_alloc_unbound, EVTCHNOP_bind_ipi, EVTCHNOP_bind_vcpu, EVTCHNOP_unmask, EVTCHNOP_reset,
  EVTCHNOP_init_control, EVTCHNOP_expand_array, EVTCHNOP_set_priority, EVTCHNSTAT_closed, EVTCHNSTAT_unbound,
  EVTCHNSTAT_interdomain, EVTCHNSTAT_pirq, EVTCHNSTAT_virq, EVTCHNSTAT_ipi, SIZEOF_EVTCHN_ALLOC_UNBOUND,
  EVTCHN_ALLOC_UNBOUND, SIZEOF_EVTCHN_BIND_INTERDOMAIN, EVTCHN_BIND_INTERDOMAIN, SIZEOF_EVTCHN_SEND,
  SIZEOF_EVTCHN_CLOSE, EVTCHN_2L_NR_CHANNELS, EVTCHN_FIFO_LINK_BITS, EVTCHN_FIFO_NR_CHANNELS,
  EVTCHN_FIFO_PRIORITY_MAX, EVTCHN_FIFO_PRIORITY_DEFAULT, EVTCHN_FIFO_PRIORITY_MIN,
} from './event_channel.ts';

// io/xenbus.h
export {
  XenbusStateUnknown, XenbusStateInitialising, XenbusStateInitWait, XenbusStateInitialised, XenbusStateConnected,
  XenbusStateClosing, XenbusStateClosed, XenbusStateReconfiguring, XenbusStateReconfigured, xenbusStateName,
  parseXenbusState,
} from './xenbus.ts';
export type {
  XenbusState,
} from './xenbus.ts';

// struct layout tables
export {
  typeSize, typeSigned, fieldSize, f, isFieldSpec,
} from './layout.ts';
export type {
  FieldType, FieldSpec, LayoutTable,
} from './layout.ts';

// io/ring.h: the generic shared ring
export {
  SRING_HEADER, SIZEOF_SRING_HEADER, ringSize, defineRingTypes, SharedRing, sharedRingInit, FrontRing, BackRing,
  frontRingAttach, frontRingInit, xenFrontRingInit, backRingAttach, backRingInit, ringFreeRequests, ringFull,
  ringNrUnconsumedResponses, ringNrUnconsumedRequests, ringHasUnconsumedResponses, ringHasUnconsumedRequests,
  ringRequestConsOverflow, ringRequestProdOverflow, ringResponseProdOverflow, ringGetRequest, ringGetResponse,
  ringPutRequest, ringPutResponse, ringCopyRequest, ringCopyResponse, ringPushRequests, ringPushResponses,
  ringPushRequestsAndCheckNotify, ringPushResponsesAndCheckNotify, ringFinalCheckForRequests,
  ringFinalCheckForResponses,
} from './ring.ts';
export type {
  RingIdx, SlotCodec, RingType, RingBarrierPoint, RingBarrierHook,
} from './ring.ts';

// io/netif.h: constants, layouts, views, codecs, rings
export {
  XEN_NETIF_NR_SLOTS_MIN, XEN_NETIF_MAX_TX_SIZE, _NETTXF_csum_blank, NETTXF_csum_blank, _NETTXF_data_validated,
  NETTXF_data_validated, _NETTXF_more_data, NETTXF_more_data, _NETTXF_extra_info, NETTXF_extra_info,
  _NETRXF_data_validated, NETRXF_data_validated, _NETRXF_csum_blank, NETRXF_csum_blank, _NETRXF_more_data,
  NETRXF_more_data, _NETRXF_extra_info, NETRXF_extra_info, _NETRXF_gso_prefix, NETRXF_gso_prefix,
  XEN_NETIF_EXTRA_TYPE_NONE, XEN_NETIF_EXTRA_TYPE_GSO, XEN_NETIF_EXTRA_TYPE_MCAST_ADD,
  XEN_NETIF_EXTRA_TYPE_MCAST_DEL, XEN_NETIF_EXTRA_TYPE_HASH, XEN_NETIF_EXTRA_TYPE_MAX, XEN_NETIF_EXTRA_TYPE_XDP,
  _XEN_NETIF_EXTRA_FLAG_MORE, XEN_NETIF_EXTRA_FLAG_MORE, XEN_NETIF_GSO_TYPE_NONE, XEN_NETIF_GSO_TYPE_TCPV4,
  XEN_NETIF_GSO_TYPE_TCPV6, NETIF_RSP_DROPPED, NETIF_RSP_ERROR, NETIF_RSP_OKAY, NETIF_RSP_NULL,
  XEN_NETIF_RSP_DROPPED, XEN_NETIF_RSP_ERROR, XEN_NETIF_RSP_OKAY, XEN_NETIF_RSP_NULL, XEN_NETIF_CTRL_TYPE_INVALID,
  XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS, XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY,
  XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE,
  XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM,
  XEN_NETIF_CTRL_TYPE_GET_GREF_MAPPING_SIZE, XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING,
  XEN_NETIF_CTRL_TYPE_DEL_GREF_MAPPING, XEN_NETIF_CTRL_STATUS_SUCCESS, XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED,
  XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER, XEN_NETIF_CTRL_STATUS_BUFFER_OVERFLOW, _XEN_NETIF_CTRL_HASH_TYPE_IPV4,
  XEN_NETIF_CTRL_HASH_TYPE_IPV4, _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP, XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP,
  _XEN_NETIF_CTRL_HASH_TYPE_IPV6, XEN_NETIF_CTRL_HASH_TYPE_IPV6, _XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP,
  XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP, XEN_NETIF_CTRL_HASH_ALGORITHM_NONE, XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ,
  _XEN_NETIF_CTRLF_GREF_readonly, XEN_NETIF_CTRLF_GREF_readonly, NETIF_TX_REQUEST, SIZEOF_NETIF_TX_REQUEST,
  NETIF_TX_RESPONSE, SIZEOF_NETIF_TX_RESPONSE, NETIF_RX_REQUEST, SIZEOF_NETIF_RX_REQUEST, NETIF_RX_RESPONSE,
  SIZEOF_NETIF_RX_RESPONSE, NETIF_EXTRA_INFO, SIZEOF_NETIF_EXTRA_INFO, XEN_NETIF_CTRL_REQUEST,
  SIZEOF_XEN_NETIF_CTRL_REQUEST, XEN_NETIF_CTRL_RESPONSE, SIZEOF_XEN_NETIF_CTRL_RESPONSE, XEN_NETIF_GREF,
  SIZEOF_XEN_NETIF_GREF, NetifTxRequestView, NetifTxResponseView, NetifRxRequestView, NetifRxResponseView,
  NetifExtraInfoView, XenNetifCtrlRequestView, XenNetifCtrlResponseView, XenNetifGrefView, netifTxRequestCodec,
  netifTxResponseCodec, netifRxRequestCodec, netifRxResponseCodec, netifExtraInfoCodec, xenNetifCtrlRequestCodec,
  xenNetifCtrlResponseCodec, xenNetifGrefCodec, netifTxRingType, netifRxRingType, xenNetifCtrlRingType,
  NET_TX_RING_SIZE, NET_RX_RING_SIZE, XEN_NETIF_CTRL_RING_SIZE,
} from './netif.ts';
export type {
  NetifTxRequest, NetifTxResponse, NetifRxRequest, NetifRxResponse, NetifExtraGso, NetifExtraHash, NetifExtraXdp,
  NetifExtraInfo, XenNetifCtrlRequest, XenNetifCtrlResponse, XenNetifGref, NetifTxFrontRing, NetifTxBackRing,
  NetifRxFrontRing, NetifRxBackRing, XenNetifCtrlFrontRing, XenNetifCtrlBackRing,
} from './netif.ts';

// io/netif.h: parse and emit
export {
  NetifWireError, parseTxRequest, parseTxResponse, parseRxResponse, parseExtraInfo, parseCtrlRequest,
  parseCtrlResponse, emitTxRequest, emitTxResponse, emitRxRequest, emitRxResponse, emitExtraInfo, emitCtrlRequest,
  emitCtrlResponse, emitGref,
} from './netif_parse.ts';
export type {
  NetifWireErrorCode, TxSlotRole,
} from './netif_parse.ts';
