/**
 * pvnet: the public API, named re-exports grouped by layer (no `export *`), lowest layer first.
 *
 * Each layer's own index.ts states its contract. A name that two layers export with the same meaning (an errno
 * value, say) is exported once, from the lowest layer. test/index.test.ts checks that every export of every layer
 * index is reachable here.
 */

export {
  PvnetError, PageFault, InvalidArgument, UseAfterDestroy, RefUnderflow, OutOfResources, AuditFailure,
} from './errors.ts';

// ---- abi: the Xen ABI
export {
  XEN_PAGE_SHIFT, XEN_PAGE_SIZE, pageRefOf, allocStandalonePage, DOMID_FIRST_RESERVED, DOMID_SELF, DOMID_IO,
  DOMID_XEN, DOMID_COW, DOMID_INVALID, DOMID_IDLE, isOrdinaryDomid, SIZEOF_GRANT_ENTRY_V1, GRANT_ENTRY_V1,
  GRANT_ENTRIES_PER_FRAME_V1, GNTTAB_NR_RESERVED_ENTRIES, GNTTAB_RESERVED_CONSOLE, GNTTAB_RESERVED_XENSTORE,
  GTF_invalid, GTF_permit_access, GTF_accept_transfer, GTF_transitive, GTF_type_mask, _GTF_readonly, GTF_readonly,
  _GTF_reading, GTF_reading, _GTF_writing, GTF_writing, _GTF_PWT, GTF_PWT, _GTF_PCD, GTF_PCD, _GTF_PAT, GTF_PAT,
  _GTF_sub_page, GTF_sub_page, _GTF_transfer_committed, GTF_transfer_committed, _GTF_transfer_completed,
  GTF_transfer_completed, GNTTABOP_map_grant_ref, GNTTABOP_unmap_grant_ref, GNTTABOP_setup_table,
  GNTTABOP_dump_table, GNTTABOP_transfer, GNTTABOP_copy, GNTTABOP_query_size, GNTTABOP_unmap_and_replace,
  GNTTABOP_set_version, GNTTABOP_get_status_frames, GNTTABOP_get_version, GNTTABOP_swap_grant_ref,
  GNTTABOP_cache_flush, _GNTMAP_device_map, GNTMAP_device_map, _GNTMAP_host_map, GNTMAP_host_map, _GNTMAP_readonly,
  GNTMAP_readonly, _GNTMAP_application_map, GNTMAP_application_map, _GNTMAP_contains_pte, GNTMAP_contains_pte,
  _GNTCOPY_source_gref, GNTCOPY_source_gref, _GNTCOPY_dest_gref, GNTCOPY_dest_gref, GNTST_okay,
  GNTST_general_error, GNTST_bad_domain, GNTST_bad_gntref, GNTST_bad_handle, GNTST_bad_virt_addr,
  GNTST_bad_dev_addr, GNTST_no_device_space, GNTST_permission_denied, GNTST_bad_page, GNTST_bad_copy_arg,
  GNTST_address_too_big, GNTST_eagain, GNTST_no_space, GNTTABOP_error_msgs, gntstName, SIZEOF_GNTTAB_MAP_GRANT_REF,
  GNTTAB_MAP_GRANT_REF, SIZEOF_GNTTAB_UNMAP_GRANT_REF, GNTTAB_UNMAP_GRANT_REF, SIZEOF_GNTTAB_COPY, GNTTAB_COPY,
  SIZEOF_GNTTAB_SETUP_TABLE, GNTTAB_SETUP_TABLE, SIZEOF_GNTTAB_QUERY_SIZE, GNTTAB_QUERY_SIZE,
  GNTTAB_UNMAP_BATCH_SIZE, DEFAULT_MAX_GRANT_FRAMES, DEFAULT_MAX_MAPTRACK_FRAMES, SIZEOF_GRANT_MAPPING,
  EVTCHNOP_bind_interdomain, EVTCHNOP_bind_virq, EVTCHNOP_bind_pirq, EVTCHNOP_close, EVTCHNOP_send,
  EVTCHNOP_status, EVTCHNOP_alloc_unbound, EVTCHNOP_bind_ipi, EVTCHNOP_bind_vcpu, EVTCHNOP_unmask, EVTCHNOP_reset,
  EVTCHNOP_init_control, EVTCHNOP_expand_array, EVTCHNOP_set_priority, EVTCHNSTAT_closed, EVTCHNSTAT_unbound,
  EVTCHNSTAT_interdomain, EVTCHNSTAT_pirq, EVTCHNSTAT_virq, EVTCHNSTAT_ipi, SIZEOF_EVTCHN_ALLOC_UNBOUND,
  EVTCHN_ALLOC_UNBOUND, SIZEOF_EVTCHN_BIND_INTERDOMAIN, EVTCHN_BIND_INTERDOMAIN, SIZEOF_EVTCHN_SEND,
  SIZEOF_EVTCHN_CLOSE, EVTCHN_2L_NR_CHANNELS, EVTCHN_FIFO_LINK_BITS, EVTCHN_FIFO_NR_CHANNELS,
  EVTCHN_FIFO_PRIORITY_MAX, EVTCHN_FIFO_PRIORITY_DEFAULT, EVTCHN_FIFO_PRIORITY_MIN, XenbusStateUnknown,
  XenbusStateInitialising, XenbusStateInitWait, XenbusStateInitialised, XenbusStateConnected, XenbusStateClosing,
  XenbusStateClosed, XenbusStateReconfiguring, XenbusStateReconfigured, xenbusStateName, parseXenbusState,
  typeSize, typeSigned, fieldSize, f, isFieldSpec, SRING_HEADER, SIZEOF_SRING_HEADER, ringSize, defineRingTypes,
  SharedRing, sharedRingInit, FrontRing, BackRing, frontRingAttach, frontRingInit, xenFrontRingInit,
  backRingAttach, backRingInit, ringFreeRequests, ringFull, ringNrUnconsumedResponses, ringNrUnconsumedRequests,
  ringHasUnconsumedResponses, ringHasUnconsumedRequests, ringRequestConsOverflow, ringRequestProdOverflow,
  ringResponseProdOverflow, ringGetRequest, ringGetResponse, ringPutRequest, ringPutResponse, ringCopyRequest,
  ringCopyResponse, ringPushRequests, ringPushResponses, ringPushRequestsAndCheckNotify,
  ringPushResponsesAndCheckNotify, ringFinalCheckForRequests, ringFinalCheckForResponses, XEN_NETIF_NR_SLOTS_MIN,
  XEN_NETIF_MAX_TX_SIZE, _NETTXF_csum_blank, NETTXF_csum_blank, _NETTXF_data_validated, NETTXF_data_validated,
  _NETTXF_more_data, NETTXF_more_data, _NETTXF_extra_info, NETTXF_extra_info, _NETRXF_data_validated,
  NETRXF_data_validated, _NETRXF_csum_blank, NETRXF_csum_blank, _NETRXF_more_data, NETRXF_more_data,
  _NETRXF_extra_info, NETRXF_extra_info, _NETRXF_gso_prefix, NETRXF_gso_prefix, XEN_NETIF_EXTRA_TYPE_NONE,
  XEN_NETIF_EXTRA_TYPE_GSO, XEN_NETIF_EXTRA_TYPE_MCAST_ADD, XEN_NETIF_EXTRA_TYPE_MCAST_DEL,
  XEN_NETIF_EXTRA_TYPE_HASH, XEN_NETIF_EXTRA_TYPE_MAX, XEN_NETIF_EXTRA_TYPE_XDP, _XEN_NETIF_EXTRA_FLAG_MORE,
  XEN_NETIF_EXTRA_FLAG_MORE, XEN_NETIF_GSO_TYPE_NONE, XEN_NETIF_GSO_TYPE_TCPV4, XEN_NETIF_GSO_TYPE_TCPV6,
  NETIF_RSP_DROPPED, NETIF_RSP_ERROR, NETIF_RSP_OKAY, NETIF_RSP_NULL, XEN_NETIF_RSP_DROPPED, XEN_NETIF_RSP_ERROR,
  XEN_NETIF_RSP_OKAY, XEN_NETIF_RSP_NULL, XEN_NETIF_CTRL_TYPE_INVALID, XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS,
  XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE,
  XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING,
  XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM, XEN_NETIF_CTRL_TYPE_GET_GREF_MAPPING_SIZE,
  XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING, XEN_NETIF_CTRL_TYPE_DEL_GREF_MAPPING, XEN_NETIF_CTRL_STATUS_SUCCESS,
  XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED, XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER,
  XEN_NETIF_CTRL_STATUS_BUFFER_OVERFLOW, _XEN_NETIF_CTRL_HASH_TYPE_IPV4, XEN_NETIF_CTRL_HASH_TYPE_IPV4,
  _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP, XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP, _XEN_NETIF_CTRL_HASH_TYPE_IPV6,
  XEN_NETIF_CTRL_HASH_TYPE_IPV6, _XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP, XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP,
  XEN_NETIF_CTRL_HASH_ALGORITHM_NONE, XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ, _XEN_NETIF_CTRLF_GREF_readonly,
  XEN_NETIF_CTRLF_GREF_readonly, NETIF_TX_REQUEST, SIZEOF_NETIF_TX_REQUEST, NETIF_TX_RESPONSE,
  SIZEOF_NETIF_TX_RESPONSE, NETIF_RX_REQUEST, SIZEOF_NETIF_RX_REQUEST, NETIF_RX_RESPONSE, SIZEOF_NETIF_RX_RESPONSE,
  NETIF_EXTRA_INFO, SIZEOF_NETIF_EXTRA_INFO, XEN_NETIF_CTRL_REQUEST, SIZEOF_XEN_NETIF_CTRL_REQUEST,
  XEN_NETIF_CTRL_RESPONSE, SIZEOF_XEN_NETIF_CTRL_RESPONSE, XEN_NETIF_GREF, SIZEOF_XEN_NETIF_GREF,
  NetifTxRequestView, NetifTxResponseView, NetifRxRequestView, NetifRxResponseView, NetifExtraInfoView,
  XenNetifCtrlRequestView, XenNetifCtrlResponseView, XenNetifGrefView, netifTxRequestCodec, netifTxResponseCodec,
  netifRxRequestCodec, netifRxResponseCodec, netifExtraInfoCodec, xenNetifCtrlRequestCodec,
  xenNetifCtrlResponseCodec, xenNetifGrefCodec, netifTxRingType, netifRxRingType, xenNetifCtrlRingType,
  NET_TX_RING_SIZE, NET_RX_RING_SIZE, XEN_NETIF_CTRL_RING_SIZE, NetifWireError, parseTxRequest, parseTxResponse,
  parseRxResponse, parseExtraInfo, parseCtrlRequest, parseCtrlResponse, emitTxRequest, emitTxResponse,
  emitRxRequest, emitRxResponse, emitExtraInfo, emitCtrlRequest, emitCtrlResponse, emitGref,
} from './abi/index.ts';
export type {
  PageRef, XenbusState, FieldType, FieldSpec, LayoutTable, RingIdx, SlotCodec, RingType, RingBarrierPoint,
  RingBarrierHook, NetifTxRequest, NetifTxResponse, NetifRxRequest, NetifRxResponse, NetifExtraGso, NetifExtraHash,
  NetifExtraXdp, NetifExtraInfo, XenNetifCtrlRequest, XenNetifCtrlResponse, XenNetifGref, NetifTxFrontRing,
  NetifTxBackRing, NetifRxFrontRing, NetifRxBackRing, XenNetifCtrlFrontRing, XenNetifCtrlBackRing,
  NetifWireErrorCode, TxSlotRole,
} from './abi/index.ts';

// ---- hv: the hypervisor
export {
  MachineMemory, FRAME_GRANT_TABLE, FRAME_RING, FRAME_HV_MASK, Hypervisor, Domain, ManualClock, NSEC_PER_USEC,
  NSEC_PER_MSEC, NSEC_PER_SEC, CostModel, DEFAULT_COST_PARAMS, newDomainCost, resetDomainCost, priceOf, EPERM,
  ENOENT, ESRCH, E2BIG, EAGAIN, ENOMEM, EACCES, EBUSY, EEXIST, EINVAL, ENOSPC, ENOSYS, ENOTEMPTY, GrantTable,
  GNTPIN_hstw_inc, GNTPIN_hstw_mask, GNTPIN_hstr_inc, GNTPIN_hstr_mask, GNTPIN_devw_inc, GNTPIN_devw_mask,
  GNTPIN_devr_inc, GNTPIN_devr_mask, GNTPIN_SATURATION, MAPTRACK_PER_FRAME, INITIAL_NR_GRANT_FRAMES, GnttabCopyPtr,
  GnttabCopyUnion, newMapGrantRef, newUnmapGrantRef, newGnttabCopy, newSetupTable, newQuerySize, gnttabSetMapOp,
  gnttabSetUnmapOp, PIN_CAS_RETRIES, GnttabGuest, GNTTAB_LIST_END, DEFERRED_WARN_DELAY, DEFAULT_FREE_PER_ITERATION,
  DEFERRED_TICK_NS, EventChannelSwitch, PortTable, XenStore, XBT_NIL, XENSTORE_PAYLOAD_MAX, XENSTORE_ABS_PATH_MAX,
  XENSTORE_REL_PATH_MAX, DEFAULT_MAX_QUEUED_WATCH_EVENTS, XS_INTRODUCE_DOMAIN, XS_RELEASE_DOMAIN, frontendPath,
  backendPath, xenbusRead, xenbusExists, xenbusScanfUint, xenbusScanfInt, xenbusReadUnsigned, xenbusGather,
  xenbusPrintf, xenbusReadState, xenbusSwitchState, xenbusCreateDevice, snapshot, auditHypervisor,
} from './hv/index.ts';
export type {
  HypervisorOptions, DomainConfig, DomainState, Clock, TimerHandle, CostParams, DomainCost, GnttabMapGrantRef,
  GnttabUnmapGrantRef, GnttabCopy, GnttabSetupTable, GnttabQuerySize, GnttabOp, GrantTestHooks, GrantRefHead,
  PageOps, EventNotifier, EvtchnStatus, XenStoreOptions, XsPerm, XsPermKind, WatchCallback, GatherType,
  DeviceConfig, AuditBaseline, AuditOptions,
} from './hv/index.ts';

// ---- mm: a domain kernel's memory
export {
  __GFP_DIRECT_RECLAIM, __GFP_FS, __GFP_HARDWALL, __GFP_HIGH, __GFP_HIGHMEM, __GFP_IO, __GFP_KSWAPD_RECLAIM,
  __GFP_MEMALLOC, __GFP_NOFAIL, __GFP_NOMEMALLOC, __GFP_NOWARN, __GFP_RECLAIM, GFP_ATOMIC, GFP_HIGHUSER,
  GFP_KERNEL, GFP_NOFS, GFP_NOIO, GFP_NOWAIT, GFP_USER, gfpflagsAllowBlocking, FlatPageAllocator, PG_pfmemalloc,
  getPageRef, putPageRef, BadPageState, KmemCacheBusy, ExecContext, kswapdTask, kthreadCreate,
  memallocNoreclaimRestore, memallocNoreclaimSave, PF_KSWAPD, PF_KTHREAD, PF_MEMALLOC, softirqEnter, softirqExit,
  TaskStruct, tskRestoreFlags, ALLOC_CPUSET, ALLOC_HARDER, ALLOC_HIGH, ALLOC_NO_WATERMARKS, ALLOC_WMARK_HIGH,
  ALLOC_WMARK_LOW, ALLOC_WMARK_MASK, ALLOC_WMARK_MIN, gfpPfmemallocAllowed, gfpToAllocFlags, effectiveFloor,
  initPerZoneWmarkMin, intSqrt, MAX_ORDER, MIN_FREE_KBYTES_DEFAULT, MIN_FREE_KBYTES_MAX, MIN_FREE_KBYTES_MIN,
  setupPerZoneWmarks, WMARK_HIGH, WMARK_LOW, WMARK_MIN, Zone, zoneWatermarkOk, directReclaimThrottled,
  pfmemallocWatermarkOk, THROTTLE_KILLABLE, THROTTLE_NONE, THROTTLE_TIMEOUT, throttleDirectReclaim, AllocOutcome,
  ZonePageAllocator, ZoneStats, KMEM_MAX_SIZE, KMEM_MIN_SIZE, kmemAllocEstimate, KmemAllocator, KmemCache,
  kmemCacheAlloc, kmemCacheCreate, kmemCacheDestroy, kmemCacheFree, kmemCacheShrink, KmemCacheStats, objFrame,
  objOffset, pfmemallocMatch, SLAB_FREE_END, slabIsPfmemalloc, kfree, kmalloc, KMALLOC_MAX_SIZE, KMALLOC_SIZES,
  kmallocEstimateBytes, kmallocEstimateObjs, kmallocIndex, kmallocSlab, ksize, allocPagesReserve, kfreeReserve,
  kmallocReserve, kmemCacheAllocReserve, kmemCacheFreeReserve, MemReserve, memReserveCharge, memReserveConnect,
  memReserveDisconnect, memReserveInfo, memReserveInit, memReserveKmallocCharge, memReserveKmallocSet,
  memReserveKmemCacheCharge, memReserveKmemCacheSet, memReservePagesAdd, memReservePagesCharge, memReservePagesSet,
  memReserveRootInit, memReserveTop, NtaAllocator, NtaStats,
} from './mm/index.ts';
export type {
  PageAllocator, Watermarks, DirectReclaimHook, ZonePageAllocatorOptions,
} from './mm/index.ts';

// ---- skb: sk_buff and frag destructors
export {
  SkbEnv, FifoRing, SkBuff, SkbSharedInfo, skbShinfo, skbHeadlen, skbPagelen, skbHeadroom, skbTailroom,
  skbEndOffset, skbIsNonlinear, skbHasFragList, skbIsGso, skbShared, skbCloned, skbHeaderCloned, skbHeadIsLocked,
  skbHasSharedFrag, skbResetMacHeader, skbResetNetworkHeader, skbResetTransportHeader, skbSetNetworkHeader,
  skbSetTransportHeader, skbMacHeaderWasSet, skbResetMacLen, skbNetworkOffset, skbHeadersOffsetUpdate,
  MAX_SKB_FRAGS, SKB_DATAREF_SHIFT, SKB_DATAREF_MASK, SMP_CACHE_BYTES, NET_SKB_PAD, NET_IP_ALIGN, GSO_BY_FRAGS,
  GRO_LEGACY_MAX_SIZE, GRO_MAX_HEAD, SKB_STRUCT_SIZE, MAX_HEAD_FRAMES, SKB_HEADER_UNSET, CHECKSUM_NONE,
  CHECKSUM_UNNECESSARY, CHECKSUM_COMPLETE, CHECKSUM_PARTIAL, SKB_ALLOC_FCLONE, SKB_ALLOC_RX, SKBFL_ZEROCOPY_ENABLE,
  SKBFL_SHARED_FRAG, SKBFL_PURE_ZEROCOPY, SKBFL_DONT_ORPHAN, SKBFL_MANAGED_FRAG_REFS, SKBFL_ZEROCOPY_FRAG,
  SKBFL_ALL_ZEROCOPY, NAPI_GRO_FREE, NAPI_GRO_FREE_STOLEN_HEAD, ETH_P_IP, ETH_P_IPV6, skbDataAlign, skbShinfoSize,
  skbTruesize, EIO, EFAULT, EMSGSIZE, EPROTONOSUPPORT, SkbBug, SkbSharedError, TooManyFrags, FragRefUnderflow,
  SKB_GSO_TCPV4, SKB_GSO_DODGY, SKB_GSO_TCP_ECN, SKB_GSO_TCP_FIXEDID, SKB_GSO_TCPV6, SKB_GSO_FCOE, SKB_GSO_GRE,
  SKB_GSO_GRE_CSUM, SKB_GSO_IPXIP4, SKB_GSO_IPXIP6, SKB_GSO_UDP_TUNNEL, SKB_GSO_UDP_TUNNEL_CSUM, SKB_GSO_PARTIAL,
  SKB_GSO_TUNNEL_REMCSUM, SKB_GSO_SCTP, SKB_GSO_ESP, SKB_GSO_UDP, SKB_GSO_UDP_L4, SKB_GSO_FRAGLIST, NETIF_F_SG,
  NETIF_F_IP_CSUM, NETIF_F_HW_CSUM, NETIF_F_IPV6_CSUM, NETIF_F_FRAGLIST, NETIF_F_GSO_PARTIAL, NETIF_F_GSO_SHIFT,
  NETIF_F_TSO, NETIF_F_TSO6, NETIF_F_GSO_ROBUST, netGsoOk, canChecksumProtocol, kmallocSize, headEnd, headRead,
  headWrite, FragDestructor, fragDestructorAlloc, skbFragDestructorRef, skbFragDestructorUnref, skbFragPage,
  skbFragOff, skbFragSize, skbFragDestructor, skbFragSizeSet, skbFragSizeAdd, skbFragSizeSub, skbFragOffAdd,
  skbFragRef, skbFragUnref, skbFillPageDesc, skbAddRxFrag, skbCoalesceRxFrag, skbCanCoalesce, skbFragSetDestructor,
  skbAppendPagefrags, skbCopyBits, skbStoreBits, skbToBytes, UbufInfo, allocUbufInfo, ubufInfoComplete,
  netZcopyGet, netZcopyPut, skbZcopy, skbZcopyManaged, skbZcopyInit, skbZcopySet, skbZcopyClear,
  skbZcopyDowngradeManaged, skbOrphanFrags, skbOrphanFragsRx, skbCopyUbufs, skbZerocopyClone, skbTxError, allocSkb,
  buildSkb, netdevAllocSkb, skbReserve, skbPut, skbPutData, skbPush, skbPull, skbTrim, skbHeaderRelease, skbGet,
  skbUnref, kfreeSkb, consumeSkb, kfreeSkbList, kfreeSkbPartial, skbReleaseHeadState, skbClone, skbMorph,
  skbCloneFraglist, skbCopyHeader, pskbExpandHead, skbUnclone, skbUncloneKeeptruesize, skbCow, skbCowHead, skbCopy,
  skbCopyExpand, pskbCopy, skbAllocRxFlag, pskbPullTail, pskbMayPull, pskbPull, skbLinearize, skbCondense,
  pskbTrim, pskbTrimInternal, skbSplit, skbShift, skbTryCoalesce, skbSegment, napiGroCbInit, skbGroLen,
  skbGroReceive, napiGroFreeMerged, groPullFromFrag0, skbZerocopy, skbZerocopyHeadlen, SkBuffHead,
  skbQueueHeadInit, skbQueueLen, skbQueueEmpty, skbPeek, skbPeekTail, skbQueueTail, skbQueueHead, skbUnlink,
  skbDequeue, skbDequeueTail, skbQueuePurge, SkbAudit, frameRefsFromSlots, destructorSlotRefs, liveShinfos,
} from './skb/index.ts';
export type {
  SkbEnvOptions, SkbDestructorFn, FragDestroyFn, UbufCallback, SkbCoalesceResult,
} from './skb/index.ts';

// ---- net: the backend stack
export {
  NETDEV_TX_OK, NETDEV_TX_BUSY, NET_RX_SUCCESS, NET_RX_DROP, NET_XMIT_SUCCESS, NET_XMIT_DROP, RX_HANDLER_CONSUMED,
  RX_HANDLER_ANOTHER, RX_HANDLER_EXACT, RX_HANDLER_PASS, PacketType, NetDeviceBase, newNetDeviceStats, ETH_HLEN,
  ETH_ALEN, ETH_P_ARP, ETH_P_8021Q, ETH_P_ALL, ETH_P_802_3, ETH_P_802_2, ETH_P_802_3_MIN, ETH_BROADCAST, VLAN_HLEN,
  IPV4_HLEN, UDP_HLEN, TCP_HLEN, IPPROTO_TCP, IPPROTO_UDP, IP_CE, IP_DF, IP_MF, IP_OFFSET, TCP_FIN, TCP_SYN,
  TCP_RST, TCP_PSH, TCP_ACK, WIRE_OK, WIRE_TRUNCATED, WIRE_MALFORMED, newEthHdr, newIpv4Hdr, newL4Hdr,
  isMulticastEtherAddr, isValidEtherAddr, emitEth, parseEth, csumPartial, emitIpv4, parseIpv4, emitUdp, emitTcp,
  emitUdpPartial, emitTcpPartial, csumFinishPartial, parseL4, parseL4Header, l4ChecksumOk, ipv4FragOffField,
  ipv4SetLenFrag, readU32Be, writeU32Be, ENOBUFS, RX_RESERVE_AWARE, RX_RESERVE_NAIVE, RX_RESERVE_OFF,
  NETDEV_MAX_BACKLOG, DEV_WEIGHT, IPFRAG_HIGH_THRESH, IPFRAG_LOW_THRESH, IPFRAG_TIME_NS, NET_SCRATCH_BYTES,
  NetStack, NetStackStats, ProtoMem, Backlog, netStackCreate, netifReceiveSkb, deliverSkb, skbShareCheck,
  skbPfmemallocProtocol, enqueueToBacklog, netifRx, processBacklog, doSoftirq, netdevAllocSkbRx, devAddPack,
  devRemovePack, ethTypeTrans, skbMacOffset, skbEthHdr, inetInit, arpRcv, ipv6Rcv, ipIsLocal, ipRcv,
  ipLocalDeliverFinish, udpRcv, tcpRcv, ipNfqueueAttach, ipDefrag, IpFragState, FragQueue, IPFRAG_MAX_FRAGS,
  NfQueue, NF_ACCEPT, NF_DROP, NFQNL_QMAX_DEFAULT, nfqueueAttach, nfqueueDetach, nfqueueEnqueue, nfqueueVerdict,
  Sock, SockStats, SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_DEAD, SOCK_MEMALLOC, SK_RMEM_DEFAULT, sockFlag,
  sockCreate, sockClose, skSetMemalloc, skClearMemalloc, skGfpAtomic, skFilter, skRmemSchedule, skbOrphan,
  sockRfree, skbSetOwnerR, sockQueueRcvSkb, sockQueueRcvSkbNoFilter, tcpQueueRcvSkb, sockRecv, sockDrain,
  sockLookup, PacketSocket, PacketSocketStats, packetSocketOpen, packetRcv, tapRecv, packetSocketClose, NetBridge,
  BridgeDevice, BridgePort, BridgePortStats, BridgeStats, FdbEntry, BR_STATE_DISABLED, BR_STATE_FORWARDING,
  BR_AGEING_TIME_NS, brCreate, brAddIf, brDelIf, brFdbUpdate, brFdbFind, brHandleFrame, brForward, brFlood,
  brPassFrameUp, brDevXmit, bridgeCapturePcap, DevQueue, NullDevice, LoopbackDevice, DEFAULT_TX_QUEUE_LEN,
  devQueueXmit, devQueueXmitNit, devQueueDepart, devQueuePurge, wireDeliver, wireLink, DropInjector, TimeFifo,
  RtEndpoint, RtStats, RT_FRAMING_UDP, RT_FRAMING_TCP, RT_HLEN, RT_F_DATA, RT_F_ACK, RT_MAX_HEADER, RT_HEADROOM,
  RT_MAX_PAYLOAD, rtEndpointOpen, rtAllocSkb, rtSendSkb, rtSendAck, rtClose,
} from './net/index.ts';
export type {
  NetDevice, NetDeviceStats, PacketHandler, EthHdr, Ipv4Hdr, L4Hdr, RxReserveMode, NetStackOptions,
  NetStackCreateOptions, SockOptions, PacketSocketOptions, BridgeCaptureHook, DevQueueOptions, WireObserver,
  WirePeer, FaultRng, RtEndpointOptions,
} from './net/index.ts';

// ---- drivers/netfront: netfront
export {
  NetfrontInfo, NetfrontQueue, MAX_PKT_SLOTS, napiSchedule, setupNetfront, xennetDestroyQueue, xennetStartXmit,
  xennetTxBufGc, xennetHandleTx, xennetReleaseTxBufs, xennetCountSkbSlots, xennetSelectQueue,
  netfrontTxSlotAvailable, xennetMaybeWakeTx, bounceSkb, xennetAllocRxBuffers, xennetPoll, xennetHandleRx,
  xennetReleaseRxBufs, ENODEV, netbackChanged, xennetConnect, xennetDisconnectBackend, xennetBusClose,
  xennetSwitchState, otherendState, newNetfrontQueueStats, addNetfrontQueueStats, RX_COPY_THRESHOLD,
  NET_RX_SLOTS_MIN, MAX_XEN_SKB_FRAGS, XENNET_MAX_TX_SLOTS, NETFRONT_TX_SLOTS_LIMIT, XENNET_TIMEOUT,
  RX_REFILL_DELAY, NAPI_POLL_WEIGHT, MAX_QUEUES_DEFAULT, TX_LINK_NONE, TX_PENDING, INVALID_GRANT_REF, NO_PAGE,
} from './drivers/netfront/index.ts';
export type {
  NetfrontOptions, NetfrontTestHooks, NetfrontQueueStats,
} from './drivers/netfront/index.ts';

// ---- drivers/netback: netback
export {
  MAX_PENDING_REQS, XEN_NETBACK_TX_COPY_LEN, XEN_NETBK_LEGACY_SLOTS_MAX, FATAL_SKB_SLOTS_DEFAULT,
  INVALID_PENDING_IDX, NETBACK_INVALID_HANDLE, XENVIF_NAPI_WEIGHT, XENVIF_QUEUE_LENGTH, XENVIF_RX_QUEUE_BYTES,
  RX_BATCH_SIZE, COPY_BATCH_SIZE, RX_DRAIN_TIMEOUT_NS, RX_STALL_TIMEOUT_NS, RX_DRAIN_TIMEOUT_NO_NOTIFY_NS,
  XEN_NETBK_MCAST_MAX, XEN_NETIF_MAX_XDP_HEADROOM, CREDIT_MIN_BURST, NETBK_RX_EOI, NETBK_TX_EOI, NETBK_COMMON_EOI,
  XEN_NETIF_TX_RING_SIZE, XEN_NETIF_RX_RING_SIZE, Netback, TX_STRATEGIES, BackendInfo, netbackRemove,
  frontendChanged, setBackendState, xenbusDevFatal, EOPNOTSUPP, XenVif, XENVIF_DUMMY_MAC, xenvifSchedulable,
  XenvifQueue, nrPendingReqs, newQueueStats, sumQueueStats, xenNetParseRate, NetbackBug, EPROTO,
} from './drivers/netback/index.ts';
export type {
  NetbackOptions, TxStrategy, DeliverFn, XenbusError, NetbackQueueStats, NetbackTraceEvent, NetbackTraceHook,
  NetbackTraceKind, Rate,
} from './drivers/netback/index.ts';

// ---- sim: simulation
export {
  Scheduler, Prng, runRingWalkthrough, World, WorldGuest, WorldHost, LifecycleTracer, TxPacket, TxSlot, checkTrace,
  skbTag, frameBytes, liveRefs, DOM0_MAC, DOM0_ADDR, guestMac, guestAddr, hostMac, hostAddr, allScenarios,
  scenarioByName, registerScenario, scenarioResult, check,
} from './sim/index.ts';
export type {
  Callback, WalkthroughResult, WorldOptions, HostOptions, SendOptions, WorldCounters, TeardownReport, PcapSink,
  TraceCheck, Scenario, ScenarioOptions, ScenarioResult, InvariantCheck, TraceEvent,
} from './sim/index.ts';

// ---- report: reports
export {
  PcapWriter, readPcap, PCAP_MAGIC_NSEC, LINKTYPE_ETHERNET, PCAP_DEFAULT_SNAPLEN, specToSvg, timelineRows,
  timelineSpec, TIMELINE_STATES, runShowcase, STRATEGIES, TIMELINE_STRATEGIES, WORKLOAD_DESCRIPTION, runWorkload,
  WORKLOAD_SIZES, terminalReport, REPORT_FILES, resultsJson,
} from './report/index.ts';
export type {
  TimelineRow, TimelineState, TimelineOptions, ShowcaseOptions, ShowcaseResults, StrategyRow, WorkloadOptions,
  WorkloadResult, SizeRow,
} from './report/index.ts';
