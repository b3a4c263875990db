/**
 * skb/: Linux's sk_buff model, generic (nothing here knows about Xen; a frag destructor is just a callback).
 *
 * Contract: operations keep Linux's three counters apart (skb.users, shinfo.dataref, one page reference per
 * frag slot) and take, drop or move references exactly as net/core/skbuff.c does; both completion designs are
 * available side by side (Campbell's per-frag destructor, mainline's per-shinfo ubuf_info). Outcomes Linux
 * reports as values stay values (null, false, a negative errno); BUG()-class misuse throws a typed error.
 * Bytes are real: heads live in frames of the domain, frags are read through MachineMemory as the skb's domain.
 * Where Linux returns a pointer, pvnet returns the object or null, or true / false when it would be a data
 * pointer. See docs/skb-lifecycle.md for the lifecycle and the reference table.
 */

export { SkbEnv, FifoRing } from './env.ts';
export type { SkbEnvOptions } from './env.ts';
export {
  SkBuff,
  SkbSharedInfo,
  skbShinfo,
  skbHeadlen,
  skbPagelen,
  skbHeadroom,
  skbTailroom,
  skbEndOffset,
  skbIsNonlinear,
  skbHasFragList,
  skbIsGso,
  skbShared,
  skbCloned,
  skbHeaderCloned,
  skbHeadIsLocked,
  skbHasSharedFrag,
  skbResetMacHeader,
  skbResetNetworkHeader,
  skbResetTransportHeader,
  skbSetNetworkHeader,
  skbSetTransportHeader,
  skbMacHeaderWasSet,
  skbResetMacLen,
  skbNetworkOffset,
  skbHeadersOffsetUpdate,
} from './skbuff.ts';
export type { SkbDestructorFn } from './skbuff.ts';
export {
  MAX_SKB_FRAGS,
  SKB_DATAREF_SHIFT,
  SKB_DATAREF_MASK,
  SMP_CACHE_BYTES,
  NET_SKB_PAD,
  NET_IP_ALIGN,
  GSO_BY_FRAGS,
  GRO_LEGACY_MAX_SIZE,
  GRO_MAX_HEAD,
  SKB_STRUCT_SIZE,
  MAX_HEAD_FRAMES,
  SKB_HEADER_UNSET,
  CHECKSUM_NONE,
  CHECKSUM_UNNECESSARY,
  CHECKSUM_COMPLETE,
  CHECKSUM_PARTIAL,
  SKB_ALLOC_FCLONE,
  SKB_ALLOC_RX,
  SKBFL_ZEROCOPY_ENABLE,
  SKBFL_SHARED_FRAG,
  SKBFL_PURE_ZEROCOPY,
  SKBFL_DONT_ORPHAN,
  SKBFL_MANAGED_FRAG_REFS,
  SKBFL_ZEROCOPY_FRAG,
  SKBFL_ALL_ZEROCOPY,
  NAPI_GRO_FREE,
  NAPI_GRO_FREE_STOLEN_HEAD,
  ETH_P_IP,
  ETH_P_IPV6,
  skbDataAlign,
  skbShinfoSize,
  skbTruesize,
} from './constants.ts';
export { EIO, E2BIG, ENOMEM, EFAULT, EEXIST, EINVAL, EMSGSIZE, EPROTONOSUPPORT } from './errno.ts';
export { SkbBug, SkbSharedError, TooManyFrags, FragRefUnderflow } from './errors.ts';
export {
  SKB_GSO_TCPV4,
  SKB_GSO_DODGY,
  SKB_GSO_TCP_ECN,
  SKB_GSO_TCP_FIXEDID,
  SKB_GSO_TCPV6,
  SKB_GSO_FCOE,
  SKB_GSO_GRE,
  SKB_GSO_GRE_CSUM,
  SKB_GSO_IPXIP4,
  SKB_GSO_IPXIP6,
  SKB_GSO_UDP_TUNNEL,
  SKB_GSO_UDP_TUNNEL_CSUM,
  SKB_GSO_PARTIAL,
  SKB_GSO_TUNNEL_REMCSUM,
  SKB_GSO_SCTP,
  SKB_GSO_ESP,
  SKB_GSO_UDP,
  SKB_GSO_UDP_L4,
  SKB_GSO_FRAGLIST,
  NETIF_F_SG,
  NETIF_F_IP_CSUM,
  NETIF_F_HW_CSUM,
  NETIF_F_IPV6_CSUM,
  NETIF_F_FRAGLIST,
  NETIF_F_GSO_PARTIAL,
  NETIF_F_GSO_SHIFT,
  NETIF_F_TSO,
  NETIF_F_TSO6,
  NETIF_F_GSO_ROBUST,
  netGsoOk,
  canChecksumProtocol,
} from './features.ts';
export { kmallocSize, headEnd, headRead, headWrite } from './head.ts';
export {
  FragDestructor,
  fragDestructorAlloc,
  skbFragDestructorRef,
  skbFragDestructorUnref,
} from './destructor.ts';
export type { FragDestroyFn } from './destructor.ts';
export {
  skbFragPage,
  skbFragOff,
  skbFragSize,
  skbFragDestructor,
  skbFragSizeSet,
  skbFragSizeAdd,
  skbFragSizeSub,
  skbFragOffAdd,
  skbFragRef,
  skbFragUnref,
  skbFillPageDesc,
  skbAddRxFrag,
  skbCoalesceRxFrag,
  skbCanCoalesce,
  skbFragSetDestructor,
  skbAppendPagefrags,
} from './frag.ts';
export { skbCopyBits, skbStoreBits, skbToBytes } from './bytes.ts';
export {
  UbufInfo,
  allocUbufInfo,
  ubufInfoComplete,
  netZcopyGet,
  netZcopyPut,
  skbZcopy,
  skbZcopyManaged,
  skbZcopyInit,
  skbZcopySet,
  skbZcopyClear,
  skbZcopyDowngradeManaged,
  skbOrphanFrags,
  skbOrphanFragsRx,
  skbCopyUbufs,
  skbZerocopyClone,
  skbTxError,
} from './ubuf.ts';
export type { UbufCallback } from './ubuf.ts';
export {
  allocSkb,
  buildSkb,
  netdevAllocSkb,
  skbReserve,
  skbPut,
  skbPutData,
  skbPush,
  skbPull,
  skbTrim,
  skbHeaderRelease,
} from './alloc.ts';
export {
  skbGet,
  skbUnref,
  kfreeSkb,
  consumeSkb,
  kfreeSkbList,
  kfreeSkbPartial,
  skbReleaseHeadState,
} from './free.ts';
export { skbClone, skbMorph, skbCloneFraglist, skbCopyHeader } from './clone.ts';
export { pskbExpandHead, skbUnclone, skbUncloneKeeptruesize, skbCow, skbCowHead } from './expand.ts';
export { skbCopy, skbCopyExpand, pskbCopy, skbAllocRxFlag } from './copy.ts';
export { pskbPullTail, pskbMayPull, pskbPull, skbLinearize, skbCondense } from './pull.ts';
export { pskbTrim, pskbTrimInternal } from './trim.ts';
export { skbSplit } from './split.ts';
export { skbShift } from './shift.ts';
export { skbTryCoalesce } from './coalesce.ts';
export type { SkbCoalesceResult } from './coalesce.ts';
export { skbSegment } from './segment.ts';
export { napiGroCbInit, skbGroLen, skbGroReceive, napiGroFreeMerged, groPullFromFrag0 } from './gro.ts';
export { skbZerocopy, skbZerocopyHeadlen } from './zerocopy.ts';
export {
  SkBuffHead,
  skbQueueHeadInit,
  skbQueueLen,
  skbQueueEmpty,
  skbPeek,
  skbPeekTail,
  skbQueueTail,
  skbQueueHead,
  skbUnlink,
  skbDequeue,
  skbDequeueTail,
  skbQueuePurge,
} from './queue.ts';
export { SkbAudit, frameRefsFromSlots, destructorSlotRefs, liveShinfos } from './audit.ts';
