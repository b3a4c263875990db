/**
 * netif rules: parse and emit, the only places where the content of a netif struct is judged.
 *
 * - `parseX(snapshot)` takes a record the reader owns (filled by ringCopyRequest / ringCopyResponse or by a
 *   codec from private bytes), checks the rules one struct can be checked against on its own, and returns
 *   the same record, or a `NetifWireError` value. It never throws: the record came from the peer.
 * - `emitX(record, view, offset)` checks that the caller's own record is well-formed and then stores it.
 *   A bad record is a bug in the calling code, so it throws InvalidArgument.
 *
 * Rules that need more than one slot (the total length of a TX packet, the order of extras, the number of
 * slots, ids that are not pending) belong to netfront and netback, not here. Sources: netif.h (XH) and the
 * checks Linux netback (NB) and netfront (NF) apply to a single slot; each rule below names its source.
 */

import { InvalidArgument } from '../errors.ts';
import { XEN_PAGE_SIZE } from './page.ts';
import {
  NETIF_RSP_DROPPED, NETIF_RSP_ERROR, NETIF_RSP_NULL, NETIF_RSP_OKAY, NET_TX_RING_SIZE,
  XEN_NETIF_CTRLF_GREF_readonly, XEN_NETIF_CTRL_STATUS_BUFFER_OVERFLOW, XEN_NETIF_CTRL_TYPE_DEL_GREF_MAPPING,
  XEN_NETIF_CTRL_TYPE_INVALID, XEN_NETIF_EXTRA_TYPE_GSO, XEN_NETIF_EXTRA_TYPE_MAX, XEN_NETIF_EXTRA_TYPE_NONE,
  XEN_NETIF_EXTRA_TYPE_HASH, XEN_NETIF_GSO_TYPE_TCPV4, XEN_NETIF_GSO_TYPE_TCPV6,
  XEN_NETIF_CTRL_HASH_ALGORITHM_NONE, XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ, _XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP,
  netifExtraInfoCodec, netifRxRequestCodec, netifRxResponseCodec, netifTxRequestCodec, netifTxResponseCodec,
  xenNetifCtrlRequestCodec, xenNetifCtrlResponseCodec, xenNetifGrefCodec,
  type NetifExtraInfo, type NetifRxRequest, type NetifRxResponse, type NetifTxRequest, type NetifTxResponse,
  type XenNetifCtrlRequest, type XenNetifCtrlResponse, type XenNetifGref,
} from './netif.ts';

export type NetifWireErrorCode =
  | 'tx-request-crosses-page'
  | 'tx-response-status-unknown'
  | 'tx-response-id-out-of-range'
  | 'rx-response-crosses-page'
  | 'extra-type-invalid'
  | 'extra-gso-size-zero'
  | 'extra-gso-type-invalid'
  | 'ctrl-request-type-invalid'
  | 'ctrl-response-status-unknown';

/**
 * A rule a struct from the peer broke. A value, never thrown; one frozen instance per code, so returning
 * one allocates nothing. `reason` says which rule, in words.
 */
export class NetifWireError {
  constructor(readonly code: NetifWireErrorCode, readonly reason: string) {
    Object.freeze(this);
  }
}

const E = {
  txCrossesPage: new NetifWireError('tx-request-crosses-page',
    'a TX fragment ends beyond its page (offset + size > XEN_PAGE_SIZE)'),
  txStatus: new NetifWireError('tx-response-status-unknown',
    'a TX response status is not one of NETIF_RSP_DROPPED/ERROR/OKAY/NULL'),
  txId: new NetifWireError('tx-response-id-out-of-range', 'a TX response id is not below NET_TX_RING_SIZE'),
  rxCrossesPage: new NetifWireError('rx-response-crosses-page',
    'an RX response ends beyond its page (offset + status > XEN_PAGE_SIZE)'),
  extraType: new NetifWireError('extra-type-invalid', 'an extra_info type is NONE or not below XEN_NETIF_EXTRA_TYPE_MAX'),
  gsoSize: new NetifWireError('extra-gso-size-zero', 'a GSO extra_info has size (MSS) 0'),
  gsoType: new NetifWireError('extra-gso-type-invalid', 'a GSO extra_info type is neither TCPV4 nor TCPV6'),
  ctrlType: new NetifWireError('ctrl-request-type-invalid', 'a control request type is INVALID or unknown'),
  ctrlStatus: new NetifWireError('ctrl-response-status-unknown',
    'a control response status is not a XEN_NETIF_CTRL_STATUS_*'),
} as const;

/** Which slot of a TX packet a request is: the first (size = whole packet) or a further fragment. */
export type TxSlotRole = 'first' | 'fragment';

// ---- parse (peer data: never throws) ------------------------------------------------------------------

/**
 * A TX request. A further fragment must stay inside its page (NB xenvif_count_requests: "Cross page
 * boundary" is fatal). The first request's size is the packet's total, so its own fragment can only be
 * checked once the packet's other sizes are known: netback's job.
 */
export function parseTxRequest(req: NetifTxRequest, role: TxSlotRole): NetifTxRequest | NetifWireError {
  if (role === 'fragment' && req.offset + req.size > XEN_PAGE_SIZE) return E.txCrossesPage;
  return req;
}

/**
 * A TX response, as netfront reads it (NF xennet_tx_buf_gc): NETIF_RSP_NULL answers an extra and carries
 * no id; any other status must be a known code and its id a ring slot.
 */
export function parseTxResponse(rsp: NetifTxResponse): NetifTxResponse | NetifWireError {
  if (rsp.status === NETIF_RSP_NULL) return rsp;
  if (rsp.status !== NETIF_RSP_OKAY && rsp.status !== NETIF_RSP_ERROR && rsp.status !== NETIF_RSP_DROPPED) return E.txStatus;
  if (rsp.id >= NET_TX_RING_SIZE) return E.txId;
  return rsp;
}

/**
 * An RX response (NF xennet_get_responses). A negative status is an error report, not a broken slot: it is
 * returned as it is, for the caller to count. A byte count must fit the page after the offset.
 */
export function parseRxResponse(rsp: NetifRxResponse): NetifRxResponse | NetifWireError {
  if (rsp.status >= 0 && rsp.offset + rsp.status > XEN_PAGE_SIZE) return E.rxCrossesPage;
  return rsp;
}

/**
 * An extra_info slot (NB xenvif_get_extras, xenvif_set_skb_gso). The type must be one the Xen 4.17 header
 * defines; a GSO extra needs a non-zero MSS and a TCP type. MCAST and HASH contents are not judged here.
 */
export function parseExtraInfo(extra: NetifExtraInfo): NetifExtraInfo | NetifWireError {
  if (extra.type === XEN_NETIF_EXTRA_TYPE_NONE || extra.type >= XEN_NETIF_EXTRA_TYPE_MAX) return E.extraType;
  if (extra.type === XEN_NETIF_EXTRA_TYPE_GSO) {
    if (extra.u.gso.size === 0) return E.gsoSize;
    if (extra.u.gso.type !== XEN_NETIF_GSO_TYPE_TCPV4 && extra.u.gso.type !== XEN_NETIF_GSO_TYPE_TCPV6) return E.gsoType;
  }
  return extra;
}

/** A control request: its type must be one netif.h defines (a backend answers others NOT_SUPPORTED). */
export function parseCtrlRequest(req: XenNetifCtrlRequest): XenNetifCtrlRequest | NetifWireError {
  if (req.type === XEN_NETIF_CTRL_TYPE_INVALID || req.type > XEN_NETIF_CTRL_TYPE_DEL_GREF_MAPPING) return E.ctrlType;
  return req;
}

/** A control response: its status must be a XEN_NETIF_CTRL_STATUS_*. */
export function parseCtrlResponse(rsp: XenNetifCtrlResponse): XenNetifCtrlResponse | NetifWireError {
  if (rsp.status > XEN_NETIF_CTRL_STATUS_BUFFER_OVERFLOW) return E.ctrlStatus;
  return rsp;
}

// ---- emit (the caller's own records: misuse throws) ---------------------------------------------------

function need(ok: boolean, what: string, value: number): void {
  if (!ok) throw new InvalidArgument(`${what}: ${value} is out of range`);
}
const u8 = (x: number) => Number.isInteger(x) && x >= 0 && x <= 0xff;
const u16 = (x: number) => Number.isInteger(x) && x >= 0 && x <= 0xffff;
const i16 = (x: number) => Number.isInteger(x) && x >= -0x8000 && x <= 0x7fff;
const u32 = (x: number) => Number.isInteger(x) && x >= 0 && x <= 0xffffffff;

export function emitTxRequest(req: NetifTxRequest, role: TxSlotRole, view: DataView, offset: number): void {
  need(u32(req.gref), 'netif_tx_request.gref', req.gref);
  need(u16(req.offset) && req.offset < XEN_PAGE_SIZE, 'netif_tx_request.offset', req.offset);
  need(u16(req.flags), 'netif_tx_request.flags', req.flags);
  need(u16(req.id), 'netif_tx_request.id', req.id);
  need(u16(req.size), 'netif_tx_request.size', req.size);
  if (role === 'fragment') {
    need(req.offset + req.size <= XEN_PAGE_SIZE, 'netif_tx_request offset + size', req.offset + req.size);
  }
  netifTxRequestCodec.write(req, view, offset);
}

export function emitTxResponse(rsp: NetifTxResponse, view: DataView, offset: number): void {
  need(u16(rsp.id), 'netif_tx_response.id', rsp.id);
  need(rsp.status === NETIF_RSP_OKAY || rsp.status === NETIF_RSP_ERROR || rsp.status === NETIF_RSP_DROPPED
    || rsp.status === NETIF_RSP_NULL, 'netif_tx_response.status', rsp.status);
  netifTxResponseCodec.write(rsp, view, offset);
}

export function emitRxRequest(req: NetifRxRequest, view: DataView, offset: number): void {
  need(u16(req.id), 'netif_rx_request.id', req.id);
  need(u16(req.pad), 'netif_rx_request.pad', req.pad);
  need(u32(req.gref), 'netif_rx_request.gref', req.gref);
  netifRxRequestCodec.write(req, view, offset);
}

export function emitRxResponse(rsp: NetifRxResponse, view: DataView, offset: number): void {
  need(u16(rsp.id), 'netif_rx_response.id', rsp.id);
  need(u16(rsp.offset), 'netif_rx_response.offset', rsp.offset);
  need(u16(rsp.flags), 'netif_rx_response.flags', rsp.flags);
  need(i16(rsp.status), 'netif_rx_response.status', rsp.status);
  if (rsp.status < 0) {
    need(rsp.status === NETIF_RSP_ERROR || rsp.status === NETIF_RSP_DROPPED, 'netif_rx_response.status', rsp.status);
  } else need(rsp.offset + rsp.status <= XEN_PAGE_SIZE, 'netif_rx_response offset + status', rsp.offset + rsp.status);
  netifRxResponseCodec.write(rsp, view, offset);
}

export function emitExtraInfo(extra: NetifExtraInfo, view: DataView, offset: number): void {
  need(u8(extra.type) && extra.type !== XEN_NETIF_EXTRA_TYPE_NONE && extra.type < XEN_NETIF_EXTRA_TYPE_MAX,
    'netif_extra_info.type', extra.type);
  need(u8(extra.flags), 'netif_extra_info.flags', extra.flags);
  if (extra.type === XEN_NETIF_EXTRA_TYPE_GSO) {
    const g = extra.u.gso;
    need(u16(g.size) && g.size !== 0, 'netif_extra_info.u.gso.size', g.size);
    need(g.type === XEN_NETIF_GSO_TYPE_TCPV4 || g.type === XEN_NETIF_GSO_TYPE_TCPV6, 'netif_extra_info.u.gso.type', g.type);
    need(u8(g.pad), 'netif_extra_info.u.gso.pad', g.pad);
    need(u16(g.features), 'netif_extra_info.u.gso.features', g.features);
  } else if (extra.type === XEN_NETIF_EXTRA_TYPE_HASH) {
    const h = extra.u.hash;
    need(u8(h.type) && h.type <= _XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP, 'netif_extra_info.u.hash.type', h.type);
    need(h.algorithm === XEN_NETIF_CTRL_HASH_ALGORITHM_NONE || h.algorithm === XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ,
      'netif_extra_info.u.hash.algorithm', h.algorithm);
  }
  netifExtraInfoCodec.write(extra, view, offset);
}

export function emitCtrlRequest(req: XenNetifCtrlRequest, view: DataView, offset: number): void {
  need(u16(req.id), 'xen_netif_ctrl_request.id', req.id);
  need(req.type !== XEN_NETIF_CTRL_TYPE_INVALID && req.type <= XEN_NETIF_CTRL_TYPE_DEL_GREF_MAPPING && u16(req.type),
    'xen_netif_ctrl_request.type', req.type);
  xenNetifCtrlRequestCodec.write(req, view, offset);
}

export function emitCtrlResponse(rsp: XenNetifCtrlResponse, view: DataView, offset: number): void {
  need(u16(rsp.id), 'xen_netif_ctrl_response.id', rsp.id);
  need(u16(rsp.type), 'xen_netif_ctrl_response.type', rsp.type);
  need(u32(rsp.status) && rsp.status <= XEN_NETIF_CTRL_STATUS_BUFFER_OVERFLOW, 'xen_netif_ctrl_response.status', rsp.status);
  need(u32(rsp.data), 'xen_netif_ctrl_response.data', rsp.data);
  xenNetifCtrlResponseCodec.write(rsp, view, offset);
}

export function emitGref(gref: XenNetifGref, view: DataView, offset: number): void {
  need(u32(gref.ref), 'xen_netif_gref.ref', gref.ref);
  need(u16(gref.flags) && (gref.flags & ~XEN_NETIF_CTRLF_GREF_readonly) === 0, 'xen_netif_gref.flags', gref.flags);
  need(u16(gref.status), 'xen_netif_gref.status', gref.status);
  xenNetifGrefCodec.write(gref, view, offset);
}
