/**
 * The netif wire protocol (xen/include/public/io/netif.h; REFERENCE.md §2): constants, struct layouts,
 * views, slot codecs, and the TX, RX and control rings built on the generic ring (ring.ts).
 *
 * Rules (what a well-formed slot is) live in netif_parse.ts; nothing in this file judges content.
 *
 * Direction: TX and RX are named from the frontend's point of view, on both sides. TX carries the guest's
 * packets to the backend (requests name granted pages to read); RX carries packets to the guest (requests
 * lend empty granted pages, responses say what was written into them).
 *
 * Slots a TX packet uses (frontend → backend), each one ring slot of 12 bytes:
 *
 * ```
 *   tx_request   flags = NETTXF_*, size = TOTAL packet length, first fragment in page `gref`
 *   [extra_info] only if the first request has NETTXF_extra_info; chained by XEN_NETIF_EXTRA_FLAG_MORE
 *   tx_request   one per further fragment, while the previous *request* had NETTXF_more_data; size = its own
 * ```
 *
 * The first fragment's own length is the total minus the sizes of the others. Every slot consumed, extras
 * included, is answered by one tx_response (an extra's answer has status NETIF_RSP_NULL).
 *
 * Slots an RX packet uses (backend → frontend), each 8 bytes: the frontend posts rx_requests, one page each;
 * the backend answers in the same slots with rx_responses: the first carries the NETRXF_* flags and its own
 * fragment length (status > 0), optional extra_info slots follow it, then one response per fragment while
 * NETRXF_more_data is set. The packet length is the sum of the statuses.
 *
 * Bits 0 and 1 of the flags swap meaning between the rings (NETTXF_csum_blank is bit 0, NETRXF_csum_blank is
 * bit 1): each ring has its own constants, never a shared enum.
 */

import { f, type LayoutTable } from './layout.ts';
import {
  defineRingTypes, ringSize, type BackRing, type FrontRing, type RingType, type SlotCodec,
} from './ring.ts';

// ---- limits -------------------------------------------------------------------------------------------

/** Slots a backend must accept for one packet if it negotiated no other limit (old Linux MAX_SKB_FRAGS). */
export const XEN_NETIF_NR_SLOTS_MIN = 18;
/** Largest TX packet: the first request's `size` is a u16. */
export const XEN_NETIF_MAX_TX_SIZE = 0xffff;

// ---- TX request flags (netif_tx_request.flags) --------------------------------------------------------

/** The protocol checksum field is blank (the backend or NIC completes it). */
export const _NETTXF_csum_blank = 0;
export const NETTXF_csum_blank = 1 << _NETTXF_csum_blank;
/** The packet data has been validated against the protocol checksum. */
export const _NETTXF_data_validated = 1;
export const NETTXF_data_validated = 1 << _NETTXF_data_validated;
/** Another fragment (request) of this packet follows. */
export const _NETTXF_more_data = 2;
export const NETTXF_more_data = 1 << _NETTXF_more_data;
/** extra_info slots follow this (first) request. */
export const _NETTXF_extra_info = 3;
export const NETTXF_extra_info = 1 << _NETTXF_extra_info;

// ---- RX response flags (netif_rx_response.flags): bits 0 and 1 are the TX ones swapped ----------------

export const _NETRXF_data_validated = 0;
export const NETRXF_data_validated = 1 << _NETRXF_data_validated;
export const _NETRXF_csum_blank = 1;
export const NETRXF_csum_blank = 1 << _NETRXF_csum_blank;
export const _NETRXF_more_data = 2;
export const NETRXF_more_data = 1 << _NETRXF_more_data;
export const _NETRXF_extra_info = 3;
export const NETRXF_extra_info = 1 << _NETRXF_extra_info;
/** Deprecated: a GSO prefix slot precedes the packet. */
export const _NETRXF_gso_prefix = 4;
export const NETRXF_gso_prefix = 1 << _NETRXF_gso_prefix;

// ---- extra_info ---------------------------------------------------------------------------------------

/** Never valid on the wire. */
export const XEN_NETIF_EXTRA_TYPE_NONE = 0;
/** u.gso */
export const XEN_NETIF_EXTRA_TYPE_GSO = 1;
/** u.mcast */
export const XEN_NETIF_EXTRA_TYPE_MCAST_ADD = 2;
/** u.mcast */
export const XEN_NETIF_EXTRA_TYPE_MCAST_DEL = 3;
/** u.hash */
export const XEN_NETIF_EXTRA_TYPE_HASH = 4;
/** One past the last type in the Xen 4.17 header. Linux's copy adds XDP (5) and so has MAX 6. */
export const XEN_NETIF_EXTRA_TYPE_MAX = 5;
/**
 * u.xdp: only in Linux's copy of the header (include/xen/interface/io/netif.h), where MAX is 6. Not in Xen
 * 4.17, so parse/emit treat it as an unknown type; views and codecs can still read and write u.xdp.
 */
export const XEN_NETIF_EXTRA_TYPE_XDP = 5;

/** Another extra_info slot follows this one. */
export const _XEN_NETIF_EXTRA_FLAG_MORE = 0;
export const XEN_NETIF_EXTRA_FLAG_MORE = 1 << _XEN_NETIF_EXTRA_FLAG_MORE;

export const XEN_NETIF_GSO_TYPE_NONE = 0;
export const XEN_NETIF_GSO_TYPE_TCPV4 = 1;
export const XEN_NETIF_GSO_TYPE_TCPV6 = 2;

// ---- response status (int16 in tx and rx responses) ---------------------------------------------------

export const NETIF_RSP_DROPPED = -2;
export const NETIF_RSP_ERROR = -1;
export const NETIF_RSP_OKAY = 0;
/** The answer to an auxiliary slot (an extra_info): no response to act on. */
export const NETIF_RSP_NULL = 1;
/** Linux's names for the same codes. */
export const XEN_NETIF_RSP_DROPPED = NETIF_RSP_DROPPED;
export const XEN_NETIF_RSP_ERROR = NETIF_RSP_ERROR;
export const XEN_NETIF_RSP_OKAY = NETIF_RSP_OKAY;
export const XEN_NETIF_RSP_NULL = NETIF_RSP_NULL;

// ---- control ring -------------------------------------------------------------------------------------

export const XEN_NETIF_CTRL_TYPE_INVALID = 0;
export const XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS = 1;
export const XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS = 2;
export const XEN_NETIF_CTRL_TYPE_SET_HASH_KEY = 3;
export const XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE = 4;
export const XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE = 5;
export const XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING = 6;
export const XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM = 7;
export const XEN_NETIF_CTRL_TYPE_GET_GREF_MAPPING_SIZE = 8;
export const XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING = 9;
export const XEN_NETIF_CTRL_TYPE_DEL_GREF_MAPPING = 10;

export const XEN_NETIF_CTRL_STATUS_SUCCESS = 0;
export const XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED = 1;
export const XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER = 2;
export const XEN_NETIF_CTRL_STATUS_BUFFER_OVERFLOW = 3;

/** Hash types: a bit index (used in extra_info u.hash.type) and its mask (used in hash flags). */
export const _XEN_NETIF_CTRL_HASH_TYPE_IPV4 = 0;
export const XEN_NETIF_CTRL_HASH_TYPE_IPV4 = 1 << _XEN_NETIF_CTRL_HASH_TYPE_IPV4;
export const _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP = 1;
export const XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP = 1 << _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP;
export const _XEN_NETIF_CTRL_HASH_TYPE_IPV6 = 2;
export const XEN_NETIF_CTRL_HASH_TYPE_IPV6 = 1 << _XEN_NETIF_CTRL_HASH_TYPE_IPV6;
export const _XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP = 3;
export const XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP = 1 << _XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP;

export const XEN_NETIF_CTRL_HASH_ALGORITHM_NONE = 0;
export const XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ = 1;

/** xen_netif_gref.flags: the backend maps the page read-only. */
export const _XEN_NETIF_CTRLF_GREF_readonly = 0;
export const XEN_NETIF_CTRLF_GREF_readonly = 1 << _XEN_NETIF_CTRLF_GREF_readonly;

// ---- struct layouts (x86-64 gcc; offsets from the start of the struct) -------------------------------

/**
 * struct netif_tx_request (12 bytes), written by the frontend:
 *
 * ```
 *   0        4        6        8        10       12
 *   | gref   | offset | flags  | id     | size   |
 *     u32      u16      u16      u16      u16
 * ```
 * gref: the granted page; offset: where the fragment starts in it; flags: NETTXF_*; id: echoed in the
 * response; size: the whole packet's length in the first request, the fragment's length in the others.
 */
export const NETIF_TX_REQUEST = {
  gref: f(0, 'u32'),
  offset: f(4, 'u16'),
  flags: f(6, 'u16'),
  id: f(8, 'u16'),
  size: f(10, 'u16'),
} as const satisfies LayoutTable;
export const SIZEOF_NETIF_TX_REQUEST = 12;

/**
 * struct netif_tx_response (4 bytes), written by the backend into the first 4 bytes of a 12-byte slot; the
 * other 8 bytes keep whatever they held:
 *
 * ```
 *   0        2        4
 *   | id     | status |
 *     u16      i16      status: NETIF_RSP_* (signed)
 * ```
 */
export const NETIF_TX_RESPONSE = {
  id: f(0, 'u16'),
  status: f(2, 'i16'),
} as const satisfies LayoutTable;
export const SIZEOF_NETIF_TX_RESPONSE = 4;

/**
 * struct netif_rx_request (8 bytes), written by the frontend:
 *
 * ```
 *   0        2        4                 8
 *   | id     | pad    | gref            |
 *     u16      u16      u32              gref: an empty page granted writable to the backend
 * ```
 */
export const NETIF_RX_REQUEST = {
  id: f(0, 'u16'),
  pad: f(2, 'u16'),
  gref: f(4, 'u32'),
} as const satisfies LayoutTable;
export const SIZEOF_NETIF_RX_REQUEST = 8;

/**
 * struct netif_rx_response (8 bytes), written by the backend in the slot of the request it consumed:
 *
 * ```
 *   0        2        4        6        8
 *   | id     | offset | flags  | status |
 *     u16      u16      u16      i16     status < 0: NETIF_RSP_*; status >= 0: bytes written at offset
 * ```
 * `status` is signed. Reading it unsigned turns NETIF_RSP_ERROR into a 65535-byte fragment.
 */
export const NETIF_RX_RESPONSE = {
  id: f(0, 'u16'),
  offset: f(2, 'u16'),
  flags: f(4, 'u16'),
  status: f(6, 'i16'),
} as const satisfies LayoutTable;
export const SIZEOF_NETIF_RX_RESPONSE = 8;

/**
 * struct netif_extra_info (8 bytes): overlays a tx_request slot (bytes 8..11 of that slot are unused) or an
 * rx_response slot (it then carries no id). Written by whichever side produces the slot.
 *
 * ```
 *   0      1       2                                         8
 *   | type | flags | u: 6 bytes, by type                     |
 *     u8     u8      GSO:   size u16 @2 | type u8 @4 | pad u8 @5 | features u16 @6
 *                    MCAST: addr u8[6] @2
 *                    HASH:  type u8 @2 | algorithm u8 @3 | value u8[4] @4 (least significant byte first)
 *                    XDP:   headroom u16 @2 | pad u16[2] @4          (Linux's copy of the header only)
 *                    pad:   u16[3] @2
 * ```
 */
export const NETIF_EXTRA_INFO = {
  type: f(0, 'u8'),
  flags: f(1, 'u8'),
  u: {
    gso: { size: f(2, 'u16'), type: f(4, 'u8'), pad: f(5, 'u8'), features: f(6, 'u16') },
    mcast: { addr: f(2, 'u8', 6) },
    hash: { type: f(2, 'u8'), algorithm: f(3, 'u8'), value: f(4, 'u8', 4) },
    xdp: { headroom: f(2, 'u16'), pad: f(4, 'u16', 2) },
    pad: f(2, 'u16', 3),
  },
} as const satisfies LayoutTable;
export const SIZEOF_NETIF_EXTRA_INFO = 8;

/**
 * struct xen_netif_ctrl_request (16 bytes), written by the frontend:
 *
 * ```
 *   0        2        4                                   16
 *   | id     | type   | data[0]   | data[1]   | data[2]   |
 *     u16      u16      u32 each, meaning set by type
 * ```
 */
export const XEN_NETIF_CTRL_REQUEST = {
  id: f(0, 'u16'),
  type: f(2, 'u16'),
  data: f(4, 'u32', 3),
} as const satisfies LayoutTable;
export const SIZEOF_XEN_NETIF_CTRL_REQUEST = 16;

/**
 * struct xen_netif_ctrl_response (12 bytes), written by the backend:
 *
 * ```
 *   0        2        4                 8                 12
 *   | id     | type   | status          | data            |
 *     u16      u16      u32 CTRL_STATUS_* u32
 * ```
 */
export const XEN_NETIF_CTRL_RESPONSE = {
  id: f(0, 'u16'),
  type: f(2, 'u16'),
  status: f(4, 'u32'),
  data: f(8, 'u32'),
} as const satisfies LayoutTable;
export const SIZEOF_XEN_NETIF_CTRL_RESPONSE = 12;

/**
 * struct xen_netif_gref (8 bytes): one entry of the table an ADD/DEL_GREF_MAPPING control request points at.
 * The frontend writes ref and flags; the backend writes status.
 *
 * ```
 *   0                 4        6        8
 *   | ref             | flags  | status |
 *     u32              u16      u16 (XEN_NETIF_CTRL_STATUS_*)
 * ```
 */
export const XEN_NETIF_GREF = {
  ref: f(0, 'u32'),
  flags: f(4, 'u16'),
  status: f(6, 'u16'),
} as const satisfies LayoutTable;
export const SIZEOF_XEN_NETIF_GREF = 8;

// ---- plain records (snapshots and the values parse/emit work on), fields named as in C ---------------

export interface NetifTxRequest { gref: number; offset: number; flags: number; id: number; size: number }
export interface NetifTxResponse { id: number; status: number }
export interface NetifRxRequest { id: number; pad: number; gref: number }
export interface NetifRxResponse { id: number; offset: number; flags: number; status: number }
export interface NetifExtraGso { size: number; type: number; pad: number; features: number }
export interface NetifExtraHash { type: number; algorithm: number; readonly value: Uint8Array }
export interface NetifExtraXdp { headroom: number; readonly pad: Uint16Array }
/**
 * netif_extra_info. `u` is a union: a snapshot fills every member from the same 6 bytes; writing stores the
 * member that `type` names (GSO, MCAST_ADD/DEL, HASH, XDP) and `u.pad` for any other type.
 */
export interface NetifExtraInfo {
  type: number;
  flags: number;
  readonly u: {
    readonly gso: NetifExtraGso;
    readonly mcast: { readonly addr: Uint8Array };
    readonly hash: NetifExtraHash;
    readonly xdp: NetifExtraXdp;
    readonly pad: Uint16Array;
  };
}
export interface XenNetifCtrlRequest { id: number; type: number; readonly data: Uint32Array }
export interface XenNetifCtrlResponse { id: number; type: number; status: number; data: number }
export interface XenNetifGref { ref: number; flags: number; status: number }

// Short names for the tables, used by the views and codecs below.
const TXQ = NETIF_TX_REQUEST;
const TXP = NETIF_TX_RESPONSE;
const RXQ = NETIF_RX_REQUEST;
const RXP = NETIF_RX_RESPONSE;
const CQ = XEN_NETIF_CTRL_REQUEST;
const CP = XEN_NETIF_CTRL_RESPONSE;
const G = XEN_NETIF_GREF;
const X = NETIF_EXTRA_INFO;
const XU = NETIF_EXTRA_INFO.u;

// ---- views: field accessors over bytes, no judgement ---------------------------------------------------

/**
 * A view is re-pointable (`at(offset)`), so one view object serves every slot of a page: no allocation per
 * slot. Getters read the shared bytes each time they are called; a backend reads requests through
 * ringCopyRequest instead, and uses views only to write its own responses or in tools and tests.
 */
abstract class StructView {
  constructor(readonly view: DataView, public byteOffset = 0) {}

  /** Point the view at the struct at byte `byteOffset` of its DataView; returns the view. */
  at(byteOffset: number): this {
    this.byteOffset = byteOffset;
    return this;
  }
}

export class NetifTxRequestView extends StructView {
  get gref(): number { return this.view.getUint32(this.byteOffset + TXQ.gref.offset, true); }
  set gref(v: number) { this.view.setUint32(this.byteOffset + TXQ.gref.offset, v, true); }
  get offset(): number { return this.view.getUint16(this.byteOffset + TXQ.offset.offset, true); }
  set offset(v: number) { this.view.setUint16(this.byteOffset + TXQ.offset.offset, v, true); }
  get flags(): number { return this.view.getUint16(this.byteOffset + TXQ.flags.offset, true); }
  set flags(v: number) { this.view.setUint16(this.byteOffset + TXQ.flags.offset, v, true); }
  get id(): number { return this.view.getUint16(this.byteOffset + TXQ.id.offset, true); }
  set id(v: number) { this.view.setUint16(this.byteOffset + TXQ.id.offset, v, true); }
  get size(): number { return this.view.getUint16(this.byteOffset + TXQ.size.offset, true); }
  set size(v: number) { this.view.setUint16(this.byteOffset + TXQ.size.offset, v, true); }
}

export class NetifTxResponseView extends StructView {
  get id(): number { return this.view.getUint16(this.byteOffset + TXP.id.offset, true); }
  set id(v: number) { this.view.setUint16(this.byteOffset + TXP.id.offset, v, true); }
  get status(): number { return this.view.getInt16(this.byteOffset + TXP.status.offset, true); }
  set status(v: number) { this.view.setInt16(this.byteOffset + TXP.status.offset, v, true); }
}

export class NetifRxRequestView extends StructView {
  get id(): number { return this.view.getUint16(this.byteOffset + RXQ.id.offset, true); }
  set id(v: number) { this.view.setUint16(this.byteOffset + RXQ.id.offset, v, true); }
  get pad(): number { return this.view.getUint16(this.byteOffset + RXQ.pad.offset, true); }
  set pad(v: number) { this.view.setUint16(this.byteOffset + RXQ.pad.offset, v, true); }
  get gref(): number { return this.view.getUint32(this.byteOffset + RXQ.gref.offset, true); }
  set gref(v: number) { this.view.setUint32(this.byteOffset + RXQ.gref.offset, v, true); }
}

export class NetifRxResponseView extends StructView {
  get id(): number { return this.view.getUint16(this.byteOffset + RXP.id.offset, true); }
  set id(v: number) { this.view.setUint16(this.byteOffset + RXP.id.offset, v, true); }
  get offset(): number { return this.view.getUint16(this.byteOffset + RXP.offset.offset, true); }
  set offset(v: number) { this.view.setUint16(this.byteOffset + RXP.offset.offset, v, true); }
  get flags(): number { return this.view.getUint16(this.byteOffset + RXP.flags.offset, true); }
  set flags(v: number) { this.view.setUint16(this.byteOffset + RXP.flags.offset, v, true); }
  /** Signed: negative is a NETIF_RSP_* code, zero or positive a byte count. */
  get status(): number { return this.view.getInt16(this.byteOffset + RXP.status.offset, true); }
  set status(v: number) { this.view.setInt16(this.byteOffset + RXP.status.offset, v, true); }
}

export class NetifExtraInfoView extends StructView {
  get type(): number { return this.view.getUint8(this.byteOffset + X.type.offset); }
  set type(v: number) { this.view.setUint8(this.byteOffset + X.type.offset, v); }
  get flags(): number { return this.view.getUint8(this.byteOffset + X.flags.offset); }
  set flags(v: number) { this.view.setUint8(this.byteOffset + X.flags.offset, v); }
  /** u.gso.size: the MSS. */
  get gsoSize(): number { return this.view.getUint16(this.byteOffset + XU.gso.size.offset, true); }
  set gsoSize(v: number) { this.view.setUint16(this.byteOffset + XU.gso.size.offset, v, true); }
  /** u.gso.type: XEN_NETIF_GSO_TYPE_*. */
  get gsoType(): number { return this.view.getUint8(this.byteOffset + XU.gso.type.offset); }
  set gsoType(v: number) { this.view.setUint8(this.byteOffset + XU.gso.type.offset, v); }
  get gsoFeatures(): number { return this.view.getUint16(this.byteOffset + XU.gso.features.offset, true); }
  set gsoFeatures(v: number) { this.view.setUint16(this.byteOffset + XU.gso.features.offset, v, true); }
  /** u.mcast.addr[i]. */
  mcastAddr(i: number): number { return this.view.getUint8(this.byteOffset + XU.mcast.addr.offset + i); }
  setMcastAddr(i: number, v: number): void { this.view.setUint8(this.byteOffset + XU.mcast.addr.offset + i, v); }
  /** u.hash.type: a _XEN_NETIF_CTRL_HASH_TYPE_* bit index. */
  get hashType(): number { return this.view.getUint8(this.byteOffset + XU.hash.type.offset); }
  set hashType(v: number) { this.view.setUint8(this.byteOffset + XU.hash.type.offset, v); }
  get hashAlgorithm(): number { return this.view.getUint8(this.byteOffset + XU.hash.algorithm.offset); }
  set hashAlgorithm(v: number) { this.view.setUint8(this.byteOffset + XU.hash.algorithm.offset, v); }
  /** u.hash.value[0..3] taken as one number, least significant byte first. */
  get hashValue(): number { return this.view.getUint32(this.byteOffset + XU.hash.value.offset, true); }
  set hashValue(v: number) { this.view.setUint32(this.byteOffset + XU.hash.value.offset, v, true); }
  /** u.xdp.headroom (Linux's copy of the header only). */
  get xdpHeadroom(): number { return this.view.getUint16(this.byteOffset + XU.xdp.headroom.offset, true); }
  set xdpHeadroom(v: number) { this.view.setUint16(this.byteOffset + XU.xdp.headroom.offset, v, true); }
}

export class XenNetifCtrlRequestView extends StructView {
  get id(): number { return this.view.getUint16(this.byteOffset + CQ.id.offset, true); }
  set id(v: number) { this.view.setUint16(this.byteOffset + CQ.id.offset, v, true); }
  get type(): number { return this.view.getUint16(this.byteOffset + CQ.type.offset, true); }
  set type(v: number) { this.view.setUint16(this.byteOffset + CQ.type.offset, v, true); }
  /** data[i], i in 0..2. */
  data(i: number): number { return this.view.getUint32(this.byteOffset + CQ.data.offset + 4 * i, true); }
  setData(i: number, v: number): void { this.view.setUint32(this.byteOffset + CQ.data.offset + 4 * i, v, true); }
}

export class XenNetifCtrlResponseView extends StructView {
  get id(): number { return this.view.getUint16(this.byteOffset + CP.id.offset, true); }
  set id(v: number) { this.view.setUint16(this.byteOffset + CP.id.offset, v, true); }
  get type(): number { return this.view.getUint16(this.byteOffset + CP.type.offset, true); }
  set type(v: number) { this.view.setUint16(this.byteOffset + CP.type.offset, v, true); }
  get status(): number { return this.view.getUint32(this.byteOffset + CP.status.offset, true); }
  set status(v: number) { this.view.setUint32(this.byteOffset + CP.status.offset, v, true); }
  get data(): number { return this.view.getUint32(this.byteOffset + CP.data.offset, true); }
  set data(v: number) { this.view.setUint32(this.byteOffset + CP.data.offset, v, true); }
}

export class XenNetifGrefView extends StructView {
  get ref(): number { return this.view.getUint32(this.byteOffset + G.ref.offset, true); }
  set ref(v: number) { this.view.setUint32(this.byteOffset + G.ref.offset, v, true); }
  get flags(): number { return this.view.getUint16(this.byteOffset + G.flags.offset, true); }
  set flags(v: number) { this.view.setUint16(this.byteOffset + G.flags.offset, v, true); }
  get status(): number { return this.view.getUint16(this.byteOffset + G.status.offset, true); }
  set status(v: number) { this.view.setUint16(this.byteOffset + G.status.offset, v, true); }
}

// ---- slot codecs: a raw copy of every field between bytes and a record --------------------------------

export const netifTxRequestCodec: SlotCodec<NetifTxRequest> = {
  name: 'netif_tx_request',
  size: SIZEOF_NETIF_TX_REQUEST,
  align: 4,
  create: () => ({ gref: 0, offset: 0, flags: 0, id: 0, size: 0 }),
  read(v, o, out) {
    out.gref = v.getUint32(o + TXQ.gref.offset, true);
    out.offset = v.getUint16(o + TXQ.offset.offset, true);
    out.flags = v.getUint16(o + TXQ.flags.offset, true);
    out.id = v.getUint16(o + TXQ.id.offset, true);
    out.size = v.getUint16(o + TXQ.size.offset, true);
    return out;
  },
  write(x, v, o) {
    v.setUint32(o + TXQ.gref.offset, x.gref, true);
    v.setUint16(o + TXQ.offset.offset, x.offset, true);
    v.setUint16(o + TXQ.flags.offset, x.flags, true);
    v.setUint16(o + TXQ.id.offset, x.id, true);
    v.setUint16(o + TXQ.size.offset, x.size, true);
  },
};

export const netifTxResponseCodec: SlotCodec<NetifTxResponse> = {
  name: 'netif_tx_response',
  size: SIZEOF_NETIF_TX_RESPONSE,
  align: 2,
  create: () => ({ id: 0, status: 0 }),
  read(v, o, out) {
    out.id = v.getUint16(o + TXP.id.offset, true);
    out.status = v.getInt16(o + TXP.status.offset, true);
    return out;
  },
  write(x, v, o) {
    v.setUint16(o + TXP.id.offset, x.id, true);
    v.setInt16(o + TXP.status.offset, x.status, true);
  },
};

export const netifRxRequestCodec: SlotCodec<NetifRxRequest> = {
  name: 'netif_rx_request',
  size: SIZEOF_NETIF_RX_REQUEST,
  align: 4,
  create: () => ({ id: 0, pad: 0, gref: 0 }),
  read(v, o, out) {
    out.id = v.getUint16(o + RXQ.id.offset, true);
    out.pad = v.getUint16(o + RXQ.pad.offset, true);
    out.gref = v.getUint32(o + RXQ.gref.offset, true);
    return out;
  },
  write(x, v, o) {
    v.setUint16(o + RXQ.id.offset, x.id, true);
    v.setUint16(o + RXQ.pad.offset, x.pad, true);
    v.setUint32(o + RXQ.gref.offset, x.gref, true);
  },
};

export const netifRxResponseCodec: SlotCodec<NetifRxResponse> = {
  name: 'netif_rx_response',
  size: SIZEOF_NETIF_RX_RESPONSE,
  align: 2,
  create: () => ({ id: 0, offset: 0, flags: 0, status: 0 }),
  read(v, o, out) {
    out.id = v.getUint16(o + RXP.id.offset, true);
    out.offset = v.getUint16(o + RXP.offset.offset, true);
    out.flags = v.getUint16(o + RXP.flags.offset, true);
    out.status = v.getInt16(o + RXP.status.offset, true);
    return out;
  },
  write(x, v, o) {
    v.setUint16(o + RXP.id.offset, x.id, true);
    v.setUint16(o + RXP.offset.offset, x.offset, true);
    v.setUint16(o + RXP.flags.offset, x.flags, true);
    v.setInt16(o + RXP.status.offset, x.status, true);
  },
};

export const netifExtraInfoCodec: SlotCodec<NetifExtraInfo> = {
  name: 'netif_extra_info',
  size: SIZEOF_NETIF_EXTRA_INFO,
  align: 2,
  create: () => ({
    type: 0,
    flags: 0,
    u: {
      gso: { size: 0, type: 0, pad: 0, features: 0 },
      mcast: { addr: new Uint8Array(6) },
      hash: { type: 0, algorithm: 0, value: new Uint8Array(4) },
      xdp: { headroom: 0, pad: new Uint16Array(2) },
      pad: new Uint16Array(3),
    },
  }),
  read(v, o, out) {
    out.type = v.getUint8(o + X.type.offset);
    out.flags = v.getUint8(o + X.flags.offset);
    const u = out.u;
    u.gso.size = v.getUint16(o + XU.gso.size.offset, true);
    u.gso.type = v.getUint8(o + XU.gso.type.offset);
    u.gso.pad = v.getUint8(o + XU.gso.pad.offset);
    u.gso.features = v.getUint16(o + XU.gso.features.offset, true);
    for (let i = 0; i < 6; i++) u.mcast.addr[i] = v.getUint8(o + XU.mcast.addr.offset + i);
    u.hash.type = v.getUint8(o + XU.hash.type.offset);
    u.hash.algorithm = v.getUint8(o + XU.hash.algorithm.offset);
    for (let i = 0; i < 4; i++) u.hash.value[i] = v.getUint8(o + XU.hash.value.offset + i);
    u.xdp.headroom = v.getUint16(o + XU.xdp.headroom.offset, true);
    for (let i = 0; i < 2; i++) u.xdp.pad[i] = v.getUint16(o + XU.xdp.pad.offset + 2 * i, true);
    for (let i = 0; i < 3; i++) u.pad[i] = v.getUint16(o + XU.pad.offset + 2 * i, true);
    return out;
  },
  write(x, v, o) {
    v.setUint8(o + X.type.offset, x.type);
    v.setUint8(o + X.flags.offset, x.flags);
    const u = x.u;
    switch (x.type) {
      case XEN_NETIF_EXTRA_TYPE_GSO:
        v.setUint16(o + XU.gso.size.offset, u.gso.size, true);
        v.setUint8(o + XU.gso.type.offset, u.gso.type);
        v.setUint8(o + XU.gso.pad.offset, u.gso.pad);
        v.setUint16(o + XU.gso.features.offset, u.gso.features, true);
        break;
      case XEN_NETIF_EXTRA_TYPE_MCAST_ADD:
      case XEN_NETIF_EXTRA_TYPE_MCAST_DEL:
        for (let i = 0; i < 6; i++) v.setUint8(o + XU.mcast.addr.offset + i, u.mcast.addr[i]!);
        break;
      case XEN_NETIF_EXTRA_TYPE_HASH:
        v.setUint8(o + XU.hash.type.offset, u.hash.type);
        v.setUint8(o + XU.hash.algorithm.offset, u.hash.algorithm);
        for (let i = 0; i < 4; i++) v.setUint8(o + XU.hash.value.offset + i, u.hash.value[i]!);
        break;
      case XEN_NETIF_EXTRA_TYPE_XDP:
        v.setUint16(o + XU.xdp.headroom.offset, u.xdp.headroom, true);
        for (let i = 0; i < 2; i++) v.setUint16(o + XU.xdp.pad.offset + 2 * i, u.xdp.pad[i]!, true);
        break;
      default:
        for (let i = 0; i < 3; i++) v.setUint16(o + XU.pad.offset + 2 * i, u.pad[i]!, true);
    }
  },
};

export const xenNetifCtrlRequestCodec: SlotCodec<XenNetifCtrlRequest> = {
  name: 'xen_netif_ctrl_request',
  size: SIZEOF_XEN_NETIF_CTRL_REQUEST,
  align: 4,
  create: () => ({ id: 0, type: 0, data: new Uint32Array(3) }),
  read(v, o, out) {
    out.id = v.getUint16(o + CQ.id.offset, true);
    out.type = v.getUint16(o + CQ.type.offset, true);
    for (let i = 0; i < 3; i++) out.data[i] = v.getUint32(o + CQ.data.offset + 4 * i, true);
    return out;
  },
  write(x, v, o) {
    v.setUint16(o + CQ.id.offset, x.id, true);
    v.setUint16(o + CQ.type.offset, x.type, true);
    for (let i = 0; i < 3; i++) v.setUint32(o + CQ.data.offset + 4 * i, x.data[i]!, true);
  },
};

export const xenNetifCtrlResponseCodec: SlotCodec<XenNetifCtrlResponse> = {
  name: 'xen_netif_ctrl_response',
  size: SIZEOF_XEN_NETIF_CTRL_RESPONSE,
  align: 4,
  create: () => ({ id: 0, type: 0, status: 0, data: 0 }),
  read(v, o, out) {
    out.id = v.getUint16(o + CP.id.offset, true);
    out.type = v.getUint16(o + CP.type.offset, true);
    out.status = v.getUint32(o + CP.status.offset, true);
    out.data = v.getUint32(o + CP.data.offset, true);
    return out;
  },
  write(x, v, o) {
    v.setUint16(o + CP.id.offset, x.id, true);
    v.setUint16(o + CP.type.offset, x.type, true);
    v.setUint32(o + CP.status.offset, x.status, true);
    v.setUint32(o + CP.data.offset, x.data, true);
  },
};

export const xenNetifGrefCodec: SlotCodec<XenNetifGref> = {
  name: 'xen_netif_gref',
  size: SIZEOF_XEN_NETIF_GREF,
  align: 4,
  create: () => ({ ref: 0, flags: 0, status: 0 }),
  read(v, o, out) {
    out.ref = v.getUint32(o + G.ref.offset, true);
    out.flags = v.getUint16(o + G.flags.offset, true);
    out.status = v.getUint16(o + G.status.offset, true);
    return out;
  },
  write(x, v, o) {
    v.setUint32(o + G.ref.offset, x.ref, true);
    v.setUint16(o + G.flags.offset, x.flags, true);
    v.setUint16(o + G.status.offset, x.status, true);
  },
};

// ---- the rings ----------------------------------------------------------------------------------------

/** DEFINE_RING_TYPES(netif_tx, ...): 12-byte entries. Extras are read with netifExtraInfoCodec. */
export const netifTxRingType: RingType<NetifTxRequest, NetifTxResponse> =
  defineRingTypes('netif_tx', netifTxRequestCodec, netifTxResponseCodec);
/** DEFINE_RING_TYPES(netif_rx, ...): 8-byte entries. */
export const netifRxRingType: RingType<NetifRxRequest, NetifRxResponse> =
  defineRingTypes('netif_rx', netifRxRequestCodec, netifRxResponseCodec);
/** DEFINE_RING_TYPES(xen_netif_ctrl, ...): 16-byte entries. */
export const xenNetifCtrlRingType: RingType<XenNetifCtrlRequest, XenNetifCtrlResponse> =
  defineRingTypes('xen_netif_ctrl', xenNetifCtrlRequestCodec, xenNetifCtrlResponseCodec);

/** __CONST_RING_SIZE(netif_tx, XEN_PAGE_SIZE): 256 (Linux netback calls it XEN_NETIF_TX_RING_SIZE). */
export const NET_TX_RING_SIZE = ringSize(netifTxRingType.entrySize);
/** __CONST_RING_SIZE(netif_rx, XEN_PAGE_SIZE): 256 (Linux netback: XEN_NETIF_RX_RING_SIZE). */
export const NET_RX_RING_SIZE = ringSize(netifRxRingType.entrySize);
/** __CONST_RING_SIZE(xen_netif_ctrl, XEN_PAGE_SIZE): 128. */
export const XEN_NETIF_CTRL_RING_SIZE = ringSize(xenNetifCtrlRingType.entrySize);

export type NetifTxFrontRing = FrontRing<NetifTxRequest, NetifTxResponse>;
export type NetifTxBackRing = BackRing<NetifTxRequest, NetifTxResponse>;
export type NetifRxFrontRing = FrontRing<NetifRxRequest, NetifRxResponse>;
export type NetifRxBackRing = BackRing<NetifRxRequest, NetifRxResponse>;
export type XenNetifCtrlFrontRing = FrontRing<XenNetifCtrlRequest, XenNetifCtrlResponse>;
export type XenNetifCtrlBackRing = BackRing<XenNetifCtrlRequest, XenNetifCtrlResponse>;
