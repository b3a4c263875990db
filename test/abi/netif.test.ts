import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InvalidArgument } from '../../src/errors.ts';
import { allocStandalonePage } from '../../src/abi/page.ts';
import {
  backRingInit, ringCopyRequest, ringCopyResponse, ringGetRequest, ringGetResponse, ringPushRequests,
  ringPushResponses, xenFrontRingInit, type SlotCodec,
} from '../../src/abi/ring.ts';
import {
  NETIF_EXTRA_INFO, NETIF_RSP_DROPPED, NETIF_RSP_ERROR, NETIF_RSP_NULL, NETIF_RSP_OKAY, NETIF_RX_RESPONSE,
  NETIF_TX_REQUEST, NETIF_TX_RESPONSE, NETRXF_csum_blank, NETRXF_data_validated, NETRXF_extra_info, NETRXF_more_data,
  NETTXF_csum_blank, NETTXF_data_validated, NETTXF_extra_info, NETTXF_more_data, NET_RX_RING_SIZE, NET_TX_RING_SIZE,
  NetifExtraInfoView, NetifRxRequestView, NetifRxResponseView, NetifTxRequestView, NetifTxResponseView,
  SIZEOF_NETIF_EXTRA_INFO, SIZEOF_NETIF_RX_REQUEST, SIZEOF_NETIF_RX_RESPONSE, SIZEOF_NETIF_TX_REQUEST,
  SIZEOF_NETIF_TX_RESPONSE, SIZEOF_XEN_NETIF_CTRL_REQUEST, SIZEOF_XEN_NETIF_CTRL_RESPONSE, SIZEOF_XEN_NETIF_GREF,
  XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ, XEN_NETIF_CTRL_RING_SIZE, XEN_NETIF_CTRL_STATUS_BUFFER_OVERFLOW,
  XEN_NETIF_CTRL_STATUS_SUCCESS, XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING, XEN_NETIF_CTRL_TYPE_DEL_GREF_MAPPING,
  XEN_NETIF_CTRL_TYPE_INVALID, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, XEN_NETIF_CTRLF_GREF_readonly,
  XEN_NETIF_EXTRA_FLAG_MORE, XEN_NETIF_EXTRA_TYPE_GSO, XEN_NETIF_EXTRA_TYPE_HASH, XEN_NETIF_EXTRA_TYPE_MAX,
  XEN_NETIF_EXTRA_TYPE_MCAST_ADD, XEN_NETIF_EXTRA_TYPE_NONE, XEN_NETIF_EXTRA_TYPE_XDP, XEN_NETIF_GSO_TYPE_NONE,
  XEN_NETIF_GSO_TYPE_TCPV4, XEN_NETIF_GSO_TYPE_TCPV6, XEN_NETIF_RSP_ERROR, XEN_NETIF_RSP_NULL,
  XenNetifCtrlRequestView, XenNetifCtrlResponseView, XenNetifGrefView, _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP,
  netifExtraInfoCodec, netifRxRequestCodec, netifRxResponseCodec, netifRxRingType, netifTxRequestCodec,
  netifTxResponseCodec, netifTxRingType, xenNetifCtrlRequestCodec, xenNetifCtrlResponseCodec, xenNetifCtrlRingType,
  xenNetifGrefCodec, type NetifExtraInfo,
} from '../../src/abi/netif.ts';
import {
  NetifWireError, emitCtrlRequest, emitCtrlResponse, emitExtraInfo, emitGref, emitRxRequest, emitRxResponse,
  emitTxRequest, emitTxResponse, parseCtrlRequest, parseCtrlResponse, parseExtraInfo, parseRxResponse,
  parseTxRequest, parseTxResponse,
} from '../../src/abi/netif_parse.ts';
import { throwsType } from '../support/assert.ts';

/** A 0xa5-poisoned buffer: `size` bytes of struct plus 4 guard bytes on each side. */
function poisoned(size: number): { bytes: Uint8Array; view: DataView; at: number } {
  const bytes = new Uint8Array(size + 8).fill(0xa5);
  return { bytes, view: new DataView(bytes.buffer), at: 4 };
}

/** The struct bytes as hex, with the guard bytes, so an unwritten field or an overrun shows. */
function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ');
}
const GUARD = 'a5 a5 a5 a5';

function golden<T>(codec: SlotCodec<T>, value: T, expected: string): void {
  const p = poisoned(codec.size);
  codec.write(value, p.view, p.at);
  assert.is(hex(p.bytes), `${GUARD} ${expected} ${GUARD}`, `${codec.name} bytes`);
  assert.equal(codec.read(p.view, p.at, codec.create()), value, `${codec.name} reads back`);
}

function extra(fill: (x: NetifExtraInfo) => void): NetifExtraInfo {
  const x = netifExtraInfoCodec.create();
  fill(x);
  return x;
}

// ---- sizes and constants --------------------------------------------------------------------------------

test('netif: struct sizes are 12/4/8/8/8/16/12/8 and the codecs say the same', () => {
  const pairs: Array<[number, { name: string; size: number }]> = [
    [SIZEOF_NETIF_TX_REQUEST, netifTxRequestCodec], [SIZEOF_NETIF_TX_RESPONSE, netifTxResponseCodec],
    [SIZEOF_NETIF_RX_REQUEST, netifRxRequestCodec], [SIZEOF_NETIF_RX_RESPONSE, netifRxResponseCodec],
    [SIZEOF_NETIF_EXTRA_INFO, netifExtraInfoCodec], [SIZEOF_XEN_NETIF_CTRL_REQUEST, xenNetifCtrlRequestCodec],
    [SIZEOF_XEN_NETIF_CTRL_RESPONSE, xenNetifCtrlResponseCodec], [SIZEOF_XEN_NETIF_GREF, xenNetifGrefCodec],
  ];
  assert.equal(pairs.map(([s]) => s), [12, 4, 8, 8, 8, 16, 12, 8]);
  for (const [size, codec] of pairs) assert.is(codec.size, size, codec.name);
});

test('netif: TX and RX rings have 256 slots of 12 and 8 bytes, the control ring 128 of 16', () => {
  assert.is(netifTxRingType.entrySize, 12);
  assert.is(netifRxRingType.entrySize, 8);
  assert.is(xenNetifCtrlRingType.entrySize, 16);
  assert.is(NET_TX_RING_SIZE, 256);
  assert.is(NET_RX_RING_SIZE, 256);
  assert.is(XEN_NETIF_CTRL_RING_SIZE, 128);
});

test('netif: bits 0 and 1 swap meaning between NETTXF_* and NETRXF_*', () => {
  assert.is(NETTXF_csum_blank, 1);
  assert.is(NETTXF_data_validated, 2);
  assert.is(NETRXF_data_validated, 1);
  assert.is(NETRXF_csum_blank, 2);
  assert.is(NETTXF_more_data, NETRXF_more_data);
  assert.is(NETTXF_extra_info, NETRXF_extra_info);
});

test('netif: status codes are signed and XEN_NETIF_RSP_* alias NETIF_RSP_*', () => {
  assert.equal([NETIF_RSP_DROPPED, NETIF_RSP_ERROR, NETIF_RSP_OKAY, NETIF_RSP_NULL], [-2, -1, 0, 1]);
  assert.is(XEN_NETIF_RSP_ERROR, NETIF_RSP_ERROR);
  assert.is(XEN_NETIF_RSP_NULL, NETIF_RSP_NULL);
  assert.is(NETIF_TX_RESPONSE.status.type, 'i16');
  assert.is(NETIF_RX_RESPONSE.status.type, 'i16');
});

test('netif: the Xen 4.17 extra type MAX is 5; Linux reuses 5 for XDP', () => {
  assert.is(XEN_NETIF_EXTRA_TYPE_MAX, 5);
  assert.is(XEN_NETIF_EXTRA_TYPE_XDP, 5);
  assert.is(NETIF_EXTRA_INFO.u.xdp.headroom.offset, 2);
});

// ---- golden bytes ---------------------------------------------------------------------------------------

test('netif: netif_tx_request golden bytes (gref u32 @0, offset @4, flags @6, id @8, size @10)', () => {
  golden(netifTxRequestCodec, { gref: 0x11223344, offset: 0x0102, flags: NETTXF_more_data | NETTXF_csum_blank, id: 0x0a0b, size: 0xfffe },
    '44 33 22 11 02 01 05 00 0b 0a fe ff');
});

test('netif: netif_tx_response golden bytes, status -1 stored as ff ff', () => {
  golden(netifTxResponseCodec, { id: 0x1234, status: NETIF_RSP_ERROR }, '34 12 ff ff');
  golden(netifTxResponseCodec, { id: 7, status: NETIF_RSP_NULL }, '07 00 01 00');
});

test('netif: a tx_response written into a 12-byte slot leaves bytes 4..11 untouched', () => {
  const p = poisoned(12);
  emitTxResponse({ id: 3, status: NETIF_RSP_OKAY }, p.view, p.at);
  assert.is(hex(p.bytes), `${GUARD} 03 00 00 00 a5 a5 a5 a5 a5 a5 a5 a5 ${GUARD}`);
});

test('netif: netif_rx_request golden bytes (id @0, pad @2, gref @4)', () => {
  golden(netifRxRequestCodec, { id: 0x00ff, pad: 0, gref: 0xcafef00d }, 'ff 00 00 00 0d f0 fe ca');
});

test('netif: netif_rx_response golden bytes; a negative status reads back negative', () => {
  golden(netifRxResponseCodec, { id: 2, offset: 0x10, flags: NETRXF_more_data | NETRXF_data_validated, status: 1500 },
    '02 00 10 00 05 00 dc 05');
  golden(netifRxResponseCodec, { id: 2, offset: 0, flags: 0, status: NETIF_RSP_ERROR }, '02 00 00 00 00 00 ff ff');
  golden(netifRxResponseCodec, { id: 0, offset: 0, flags: 0, status: NETIF_RSP_DROPPED }, '00 00 00 00 00 00 fe ff');
});

test('netif: the rx_response status is read signed, so NETIF_RSP_ERROR is never a 65535-byte fragment', () => {
  const bytes = Uint8Array.of(1, 0, 0, 0, 0, 0, 0xff, 0xff);
  const view = new DataView(bytes.buffer);
  assert.is(new NetifRxResponseView(view).status, -1);
  assert.is(netifRxResponseCodec.read(view, 0, netifRxResponseCodec.create()).status, -1);
  assert.is(new NetifTxResponseView(view, 4).status, -1);
});

test('netif: netif_extra_info GSO golden bytes (size @2, type @4, pad @5, features @6)', () => {
  const p = poisoned(8);
  emitExtraInfo(extra((x) => {
    x.type = XEN_NETIF_EXTRA_TYPE_GSO;
    x.flags = XEN_NETIF_EXTRA_FLAG_MORE;
    Object.assign(x.u.gso, { size: 1448, type: XEN_NETIF_GSO_TYPE_TCPV6, pad: 0, features: 0x0102 });
  }), p.view, p.at);
  assert.is(hex(p.bytes), `${GUARD} 01 01 a8 05 02 00 02 01 ${GUARD}`);
  const got = netifExtraInfoCodec.read(p.view, p.at, netifExtraInfoCodec.create());
  assert.equal([got.type, got.flags], [XEN_NETIF_EXTRA_TYPE_GSO, XEN_NETIF_EXTRA_FLAG_MORE]);
  assert.equal(got.u.gso, { size: 1448, type: XEN_NETIF_GSO_TYPE_TCPV6, pad: 0, features: 0x0102 });
});

test('netif: netif_extra_info MCAST and HASH golden bytes (hash value least significant byte first)', () => {
  const p = poisoned(8);
  emitExtraInfo(extra((x) => {
    x.type = XEN_NETIF_EXTRA_TYPE_MCAST_ADD;
    x.u.mcast.addr.set([0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb]);
  }), p.view, p.at);
  assert.is(hex(p.bytes), `${GUARD} 02 00 01 00 5e 00 00 fb ${GUARD}`);
  const q = poisoned(8);
  emitExtraInfo(extra((x) => {
    x.type = XEN_NETIF_EXTRA_TYPE_HASH;
    x.u.hash.type = _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP;
    x.u.hash.algorithm = XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ;
    x.u.hash.value.set([0x78, 0x56, 0x34, 0x12]);
  }), q.view, q.at);
  assert.is(hex(q.bytes), `${GUARD} 04 00 01 01 78 56 34 12 ${GUARD}`);
  assert.is(new NetifExtraInfoView(q.view, q.at).hashValue, 0x12345678);
});

test('netif: an extra_info of another type writes u.pad, and a read fills every union member', () => {
  const p = poisoned(8);
  netifExtraInfoCodec.write(extra((x) => {
    x.type = XEN_NETIF_EXTRA_TYPE_XDP;
    x.u.xdp.headroom = 0x100;
    x.u.xdp.pad.set([0, 0]);
  }), p.view, p.at);
  assert.is(hex(p.bytes), `${GUARD} 05 00 00 01 00 00 00 00 ${GUARD}`);
  const r = poisoned(8);
  netifExtraInfoCodec.write(extra((x) => {
    x.type = 0x77;
    x.u.pad.set([0x0201, 0x0403, 0x0605]);
  }), r.view, r.at);
  assert.is(hex(r.bytes), `${GUARD} 77 00 01 02 03 04 05 06 ${GUARD}`);
  const got = netifExtraInfoCodec.read(r.view, r.at, netifExtraInfoCodec.create());
  assert.is(got.u.gso.size, 0x0201);
  assert.is(got.u.gso.type, 3);
  assert.equal([...got.u.mcast.addr], [1, 2, 3, 4, 5, 6]);
  assert.is(got.u.hash.algorithm, 2);
  assert.equal([...got.u.xdp.pad], [0x0403, 0x0605]);
});

test('netif: control request, control response and gref golden bytes', () => {
  golden(xenNetifCtrlRequestCodec, { id: 1, type: XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, data: Uint32Array.of(0x10, 40, 0xffffffff) },
    '01 00 03 00 10 00 00 00 28 00 00 00 ff ff ff ff');
  golden(xenNetifCtrlResponseCodec, { id: 1, type: 3, status: XEN_NETIF_CTRL_STATUS_BUFFER_OVERFLOW, data: 0x01020304 },
    '01 00 03 00 03 00 00 00 04 03 02 01');
  golden(xenNetifGrefCodec, { ref: 0x1000, flags: XEN_NETIF_CTRLF_GREF_readonly, status: 2 }, '00 10 00 00 01 00 02 00');
});

// ---- views ----------------------------------------------------------------------------------------------

test('netif: views read what codecs wrote, write what codecs read, and re-point without allocating', () => {
  const bytes = new Uint8Array(24);
  const view = new DataView(bytes.buffer);
  netifTxRequestCodec.write({ gref: 9, offset: 100, flags: NETTXF_extra_info, id: 4, size: 60 }, view, 12);
  const v = new NetifTxRequestView(view).at(12);
  assert.equal([v.gref, v.offset, v.flags, v.id, v.size], [9, 100, NETTXF_extra_info, 4, 60]);
  v.size = 61;
  assert.is(view.getUint16(12 + NETIF_TX_REQUEST.size.offset, true), 61);

  const rx = new NetifRxRequestView(view, 0);
  rx.id = 5; rx.pad = 0; rx.gref = 0xabcdef;
  assert.equal(netifRxRequestCodec.read(view, 0, netifRxRequestCodec.create()), { id: 5, pad: 0, gref: 0xabcdef });

  const rsp = new NetifRxResponseView(view, 0);
  rsp.offset = 14; rsp.status = -2; rsp.flags = NETRXF_csum_blank; rsp.id = 1;
  assert.equal(netifRxResponseCodec.read(view, 0, netifRxResponseCodec.create()), { id: 1, offset: 14, flags: 2, status: -2 });

  const x = new NetifExtraInfoView(view, 0);
  x.type = XEN_NETIF_EXTRA_TYPE_GSO; x.flags = 0; x.gsoSize = 9000; x.gsoType = XEN_NETIF_GSO_TYPE_TCPV4; x.gsoFeatures = 0;
  assert.is(netifExtraInfoCodec.read(view, 0, netifExtraInfoCodec.create()).u.gso.size, 9000);
  x.setMcastAddr(5, 0xee);
  assert.is(x.mcastAddr(5), 0xee);
  x.xdpHeadroom = 256;
  x.hashType = 1; x.hashAlgorithm = 1;
  assert.is(x.hashType, 1);

  const c = new XenNetifCtrlRequestView(view, 0);
  c.id = 3; c.type = XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING; c.setData(2, 77);
  assert.is(c.data(2), 77);
  const cr = new XenNetifCtrlResponseView(view, 0);
  cr.status = 1; cr.data = 5;
  assert.equal([cr.id, cr.type, cr.status, cr.data], [3, XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING, 1, 5]);
  const g = new XenNetifGrefView(view, 16);
  g.ref = 8; g.flags = 1; g.status = 0;
  assert.equal(xenNetifGrefCodec.read(view, 16, xenNetifGrefCodec.create()), { ref: 8, flags: 1, status: 0 });
});

test('netif: views never judge: they store and return any bit pattern', () => {
  const view = new DataView(new ArrayBuffer(12));
  const v = new NetifTxResponseView(view, 0);
  v.status = 0x7fff;
  v.id = 0xffff;
  assert.is(v.status, 0x7fff);
  const x = new NetifExtraInfoView(view, 4);
  x.type = XEN_NETIF_EXTRA_TYPE_NONE;
  assert.is(x.type, 0);
});

// ---- on the ring ----------------------------------------------------------------------------------------

test('netif: a TX packet with a GSO extra crosses the ring: requests and extras copied once, NULL for the extra', () => {
  const page = allocStandalonePage();
  const front = xenFrontRingInit(netifTxRingType, page);
  const back = backRingInit(netifTxRingType, page);
  emitTxRequest({ gref: 10, offset: 0, flags: NETTXF_extra_info | NETTXF_more_data, id: 0, size: 5000 }, 'first', page.view, ringGetRequest(front, 0));
  emitExtraInfo(extra((x) => {
    x.type = XEN_NETIF_EXTRA_TYPE_GSO;
    Object.assign(x.u.gso, { size: 1448, type: XEN_NETIF_GSO_TYPE_TCPV4 });
  }), page.view, ringGetRequest(front, 1));
  emitTxRequest({ gref: 11, offset: 0, flags: 0, id: 2, size: 4000 }, 'fragment', page.view, ringGetRequest(front, 2));
  front.reqProdPvt = 3;
  ringPushRequests(front);

  const req = netifTxRequestCodec.create();
  const ext = netifExtraInfoCodec.create();
  const first = parseTxRequest(ringCopyRequest(back, 0, req), 'first');
  assert.not.instance(first, NetifWireError);
  assert.is(req.size, 5000);
  assert.not.instance(parseExtraInfo(ringCopyRequest(back, 1, ext, netifExtraInfoCodec)), NetifWireError);
  assert.is(ext.u.gso.size, 1448);
  assert.is(parseTxRequest(ringCopyRequest(back, 2, req), 'fragment'), req);
  assert.is(req.gref, 11);

  emitTxResponse({ id: 0, status: NETIF_RSP_OKAY }, page.view, ringGetResponse(back, 0));
  emitTxResponse({ id: 0, status: NETIF_RSP_NULL }, page.view, ringGetResponse(back, 1));
  emitTxResponse({ id: 2, status: NETIF_RSP_OKAY }, page.view, ringGetResponse(back, 2));
  back.rspProdPvt = 3;
  ringPushResponses(back);
  const rsp = netifTxResponseCodec.create();
  assert.equal(ringCopyResponse(front, 1, rsp), { id: 0, status: NETIF_RSP_NULL });
  assert.is(parseTxResponse(rsp), rsp);
});

// ---- parse: peer data yields error values -----------------------------------------------------------------

test('netif: parse of a TX fragment crossing its page is an error value; the first request is judged later', () => {
  const req = { gref: 1, offset: 4000, flags: 0, id: 1, size: 97 };
  const e = parseTxRequest(req, 'fragment');
  assert.instance(e, NetifWireError);
  assert.is((e as NetifWireError).code, 'tx-request-crosses-page');
  assert.is(parseTxRequest({ ...req, size: 96 }, 'fragment') instanceof NetifWireError, false);
  assert.is(parseTxRequest(req, 'first') instanceof NetifWireError, false);
});

test('netif: parse of a TX response: unknown status and out-of-ring ids are errors; NULL carries no id', () => {
  const code = (x: unknown) => (x instanceof NetifWireError ? x.code : 'ok');
  assert.is(code(parseTxResponse({ id: 5, status: NETIF_RSP_OKAY })), 'ok');
  assert.is(code(parseTxResponse({ id: 5, status: 2 })), 'tx-response-status-unknown');
  assert.is(code(parseTxResponse({ id: 5, status: -3 })), 'tx-response-status-unknown');
  assert.is(code(parseTxResponse({ id: 256, status: NETIF_RSP_ERROR })), 'tx-response-id-out-of-range');
  assert.is(code(parseTxResponse({ id: 0xffff, status: NETIF_RSP_NULL })), 'ok');
});

test('netif: parse of an RX response: a negative status is an error report, a byte count must fit its page', () => {
  const code = (x: unknown) => (x instanceof NetifWireError ? x.code : 'ok');
  assert.is(code(parseRxResponse({ id: 0, offset: 0, flags: 0, status: NETIF_RSP_ERROR })), 'ok');
  assert.is(code(parseRxResponse({ id: 0, offset: 96, flags: 0, status: 4000 })), 'ok');
  assert.is(code(parseRxResponse({ id: 0, offset: 97, flags: 0, status: 4000 })), 'rx-response-crosses-page');
});

test('netif: parse of an extra_info: type NONE or >= MAX, GSO size 0 or GSO type NONE are errors', () => {
  const code = (x: unknown) => (x instanceof NetifWireError ? x.code : 'ok');
  const gso = (size: number, type: number) => extra((x) => {
    x.type = XEN_NETIF_EXTRA_TYPE_GSO;
    x.u.gso.size = size;
    x.u.gso.type = type;
  });
  assert.is(code(parseExtraInfo(gso(1448, XEN_NETIF_GSO_TYPE_TCPV4))), 'ok');
  assert.is(code(parseExtraInfo(gso(0, XEN_NETIF_GSO_TYPE_TCPV4))), 'extra-gso-size-zero');
  assert.is(code(parseExtraInfo(gso(1448, XEN_NETIF_GSO_TYPE_NONE))), 'extra-gso-type-invalid');
  assert.is(code(parseExtraInfo(extra((x) => { x.type = XEN_NETIF_EXTRA_TYPE_NONE; }))), 'extra-type-invalid');
  assert.is(code(parseExtraInfo(extra((x) => { x.type = XEN_NETIF_EXTRA_TYPE_XDP; }))), 'extra-type-invalid');
  assert.is(code(parseExtraInfo(extra((x) => { x.type = XEN_NETIF_EXTRA_TYPE_MCAST_ADD; }))), 'ok');
});

test('netif: parse of control messages: INVALID or unknown types and unknown statuses are errors', () => {
  const code = (x: unknown) => (x instanceof NetifWireError ? x.code : 'ok');
  const req = (type: number) => ({ id: 0, type, data: new Uint32Array(3) });
  assert.is(code(parseCtrlRequest(req(XEN_NETIF_CTRL_TYPE_DEL_GREF_MAPPING))), 'ok');
  assert.is(code(parseCtrlRequest(req(XEN_NETIF_CTRL_TYPE_INVALID))), 'ctrl-request-type-invalid');
  assert.is(code(parseCtrlRequest(req(11))), 'ctrl-request-type-invalid');
  assert.is(code(parseCtrlResponse({ id: 0, type: 1, status: XEN_NETIF_CTRL_STATUS_SUCCESS, data: 0 })), 'ok');
  assert.is(code(parseCtrlResponse({ id: 0, type: 1, status: 4, data: 0 })), 'ctrl-response-status-unknown');
});

test('netif: parse errors are shared frozen values (no allocation per bad slot)', () => {
  const a = parseTxResponse({ id: 0, status: 9 });
  const b = parseTxResponse({ id: 1, status: 10 });
  assert.is(a, b);
  assert.ok(Object.isFrozen(a));
});

// ---- emit: the caller's own records; misuse throws ----------------------------------------------------------

test('netif: emit rejects out-of-range or rule-breaking records with InvalidArgument and writes nothing', () => {
  const p = poisoned(16);
  const untouched = hex(p.bytes);
  throwsType(() => emitTxRequest({ gref: -1, offset: 0, flags: 0, id: 0, size: 0 }, 'first', p.view, p.at), InvalidArgument);
  throwsType(() => emitTxRequest({ gref: 1, offset: 4000, flags: 0, id: 0, size: 200 }, 'fragment', p.view, p.at), InvalidArgument);
  throwsType(() => emitTxRequest({ gref: 1, offset: 0, flags: 0, id: 0x10000, size: 0 }, 'first', p.view, p.at), InvalidArgument);
  throwsType(() => emitTxResponse({ id: 0, status: 5 }, p.view, p.at), InvalidArgument);
  throwsType(() => emitRxRequest({ id: 0, pad: 0, gref: 2 ** 32 }, p.view, p.at), InvalidArgument);
  throwsType(() => emitRxResponse({ id: 0, offset: 100, flags: 0, status: 4000 }, p.view, p.at), InvalidArgument);
  throwsType(() => emitRxResponse({ id: 0, offset: 0, flags: 0, status: -7 }, p.view, p.at), InvalidArgument);
  throwsType(() => emitExtraInfo(extra((x) => { x.type = XEN_NETIF_EXTRA_TYPE_GSO; }), p.view, p.at), InvalidArgument);
  throwsType(() => emitExtraInfo(extra((x) => { x.type = XEN_NETIF_EXTRA_TYPE_MAX; }), p.view, p.at), InvalidArgument);
  throwsType(() => emitExtraInfo(extra((x) => { x.type = XEN_NETIF_EXTRA_TYPE_HASH; x.u.hash.algorithm = 9; }), p.view, p.at), InvalidArgument);
  throwsType(() => emitCtrlRequest({ id: 0, type: XEN_NETIF_CTRL_TYPE_INVALID, data: new Uint32Array(3) }, p.view, p.at), InvalidArgument);
  throwsType(() => emitCtrlResponse({ id: 0, type: 1, status: 4, data: 0 }, p.view, p.at), InvalidArgument);
  throwsType(() => emitGref({ ref: 1, flags: 2, status: 0 }, p.view, p.at), InvalidArgument);
  assert.is(hex(p.bytes), untouched);
});

test('netif: emit writes well-formed records', () => {
  const p = poisoned(16);
  emitRxResponse({ id: 1, offset: 0, flags: 0, status: NETIF_RSP_DROPPED }, p.view, p.at);
  assert.is(hex(p.bytes.subarray(4, 12)), '01 00 00 00 00 00 fe ff');
  emitRxRequest({ id: 1, pad: 0, gref: 3 }, p.view, p.at);
  emitCtrlRequest({ id: 9, type: XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, data: Uint32Array.of(1, 2, 3) }, p.view, p.at);
  emitCtrlResponse({ id: 9, type: XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, status: 0, data: 0 }, p.view, p.at);
  emitGref({ ref: 1, flags: XEN_NETIF_CTRLF_GREF_readonly, status: 0 }, p.view, p.at);
  assert.is(hex(p.bytes.subarray(4, 12)), '01 00 00 00 01 00 00 00');
});

test.run();
