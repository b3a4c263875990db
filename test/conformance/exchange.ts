/**
 * Conformance (b) and (c): whole pages crossing between C and pvnet.
 *
 * (b) C writes a page with the real macros (indices just below 2^32, extras included) and pvnet reads it
 *     back: through `pvnet ring decode`, and through the library attached as Linux netback attaches
 *     (at the shared rsp_prod) or as a frontend, with ringCopyRequest / ringCopyResponse.
 * (c) pvnet writes a page, through the library and through `pvnet ring encode`, and the C program reads it
 *     with BACK_RING_ATTACH / FRONT_RING_ATTACH and RING_COPY_REQUEST / RING_COPY_RESPONSE.
 */

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../src/cli/main.ts';
import type { CliIO } from '../../src/cli/common.ts';
import { pageRefOf, allocStandalonePage } from '../../src/abi/page.ts';
import {
  backRingAttach, frontRingAttach, ringCopyRequest, ringCopyResponse, ringGetRequest, ringGetResponse,
  ringPushRequestsAndCheckNotify, ringPushResponsesAndCheckNotify, sharedRingInit, SharedRing,
} from '../../src/abi/ring.ts';
import {
  NETRXF_data_validated, NETRXF_extra_info, NETRXF_more_data, NETTXF_extra_info, NETTXF_more_data,
  netifExtraInfoCodec, netifRxRingType, netifTxRingType, type NetifExtraInfo,
} from '../../src/abi/netif.ts';
import { emitExtraInfo, emitRxRequest, emitRxResponse, emitTxRequest } from '../../src/abi/netif_parse.ts';
import { runC, type Reporter } from './support.ts';
import { runPvnet } from './ring_ops.ts';

type Entry = Record<string, unknown>;

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIO = { out: (t) => { out += t; }, err: (t) => { err += t; }, isTTY: false };
  const code = await main(argv, io);
  return { code, out, err };
}

/** The 6 union bytes of an extra as the C program prints them, from the JSON decode shape. */
function unionBytes(u: Record<string, unknown>): number[] {
  const page = allocStandalonePage();
  const x = netifExtraInfoCodec.create();
  const [member, value] = Object.entries(u)[0]!;
  const v = value as Record<string, unknown>;
  if (member === 'gso') Object.assign(x.u.gso, v);
  if (member === 'mcast') x.u.mcast.addr.set(v['addr'] as number[]);
  if (member === 'hash') {
    Object.assign(x.u.hash, { type: v['type'], algorithm: v['algorithm'] });
    x.u.hash.value.set(v['value'] as number[]);
  }
  if (member === 'xdp') {
    x.u.xdp.headroom = v['headroom'] as number;
    x.u.xdp.pad.set(v['pad'] as number[]);
  }
  if (member === 'pad') x.u.pad.set(value as number[]);
  x.type = { gso: 1, mcast: 2, hash: 4, xdp: 5, pad: 0x7f }[member] ?? 0x7f;
  netifExtraInfoCodec.write(x, page.view, 0);
  return [...page.bytes.subarray(2, 8)];
}

/** The C program's view of one decoded entry: {req|rsp|extra: fields}. */
function asC(e: Entry, fields: readonly string[]): Entry {
  if (e['kind'] === 'extra') return { extra: { type: e['type'], flags: e['flags'], u: unionBytes(e['u'] as Record<string, unknown>) } };
  return { [e['kind'] === 'request' ? 'req' : 'rsp']: Object.fromEntries(fields.map((f) => [f, e[f]])) };
}

const pickResult = (line: Record<string, unknown>) => {
  for (const k of ['req', 'rsp', 'extra']) if (k in line) return { [k]: line[k] };
  return {};
};

// ---- (b) C writes, pvnet reads --------------------------------------------------------------------------

export async function cWritesPvnetReads(rep: Reporter, bin: { tx: string; rx: string }, tmp: string): Promise<void> {
  // TX: a frontend in C writes one packet with two extras and a fragment, and a second packet, across 2^32.
  const txFile = join(tmp, 'c-tx.page');
  const txScript = ['start 4294967293', 'req 100 0 12 0 5000', 'xreq 1 1 168 5 1 0 0 0', 'xreq 2 0 1 0 94 0 0 251',
    'req 101 100 0 3 1000', 'req 102 0 0 4 60', 'push_req', `save ${txFile}`,
    'attach_back_rsp_prod', 'counts', 'copy_req', 'copy_xreq', 'copy_xreq', 'copy_req', 'copy_req'];
  const c = runC(bin.tx, txScript);
  const ts = runPvnet('tx', txScript.slice(0, 7));
  rep.same('TX: the notify decision of the C push equals pvnet\'s on the same script', c[6]!['notify'], ts[6]!['notify']);
  rep.same('TX: the C page equals the page pvnet builds from the same script (FNV-1a)', c[6]!['h'], ts[6]!['h']);
  const expected: Entry[] = [
    { idx: 4294967293, slot: 253, kind: 'request', gref: 100, offset: 0, flags: NETTXF_extra_info | NETTXF_more_data, id: 0, size: 5000 },
    { idx: 4294967294, slot: 254, kind: 'extra', type: 1, flags: 1, u: { gso: { size: 1448, type: 1, pad: 0, features: 0 } } },
    { idx: 4294967295, slot: 255, kind: 'extra', type: 2, flags: 0, u: { mcast: { addr: [1, 0, 94, 0, 0, 251] } } },
    { idx: 0, slot: 0, kind: 'request', gref: 101, offset: 100, flags: 0, id: 3, size: 1000 },
    { idx: 1, slot: 1, kind: 'request', gref: 102, offset: 0, flags: 0, id: 4, size: 60 },
  ];
  const dec = await cli(['ring', 'decode', txFile, '--ring', 'tx']);
  rep.check('TX: pvnet ring decode reads the C page', dec.code === 0, () => dec.err);
  if (dec.code === 0) {
    const doc = JSON.parse(dec.out) as { entries: Entry[]; req_prod: number; rsp_prod: number };
    rep.same('TX: decoded indices', [doc.req_prod, doc.rsp_prod], [2, 4294967293]);
    expected.forEach((e, i) => rep.same(`TX: decoded entry ${i} (${e['kind']})`, doc.entries[i], e));
    rep.same('TX: decoded entry count', doc.entries.length, expected.length);
  }
  rep.same('TX: C BACK_RING_ATTACH at rsp_prod sees 5 unconsumed requests', c[9]!['unc_req'], 5);
  const fields = ['gref', 'offset', 'flags', 'id', 'size'];
  expected.forEach((e, i) => rep.same(`TX: C RING_COPY_REQUEST of entry ${i} equals the decoded entry`, pickResult(c[10 + i]!), asC(e, fields)));

  // The library, attached as netback attaches, copies the same values.
  const page = pageRefOf(new Uint8Array(readFileSync(txFile)).buffer, 0);
  const back = backRingAttach(netifTxRingType, page, new SharedRing(page).rspProd);
  const req = netifTxRingType.request.create();
  const ext = netifExtraInfoCodec.create();
  expected.forEach((e, i) => {
    const idx = (back.reqCons + i) >>> 0;
    const got = e['kind'] === 'extra'
      ? { extra: { type: ringCopyRequest(back, idx, ext, netifExtraInfoCodec).type, flags: ext.flags, u: [...ext.u.mcast.addr] } }
      : { req: { ...ringCopyRequest(back, idx, req) } };
    rep.same(`TX: pvnet ringCopyRequest of entry ${i} equals C's`, got, pickResult(c[10 + i]!));
  });

  // RX: a backend in C answers four posted buffers: a packet with a hash extra and a fragment, then an error.
  const rxFile = join(tmp, 'c-rx.page');
  const rxScript = ['start 4294967294', 'req 0 0 200', 'req 1 0 201', 'req 2 0 202', 'req 3 0 203', 'push_req',
    'copy_req', 'copy_req', 'copy_req', 'copy_req',
    `rsp 0 0 ${NETRXF_extra_info | NETRXF_more_data | NETRXF_data_validated} 4096`, 'xrsp 4 0 1 1 120 86 52 18',
    'rsp 2 0 0 100', 'rsp 3 0 0 -1', 'push_rsp', `save ${rxFile}`, 'copy_rsp', 'copy_xrsp', 'copy_rsp', 'copy_rsp'];
  const crx = runC(bin.rx, rxScript);
  const tsrx = runPvnet('rx', rxScript.slice(0, 15));
  rep.same('RX: the notify decision of the C response push equals pvnet\'s', crx[14]!['notify'], tsrx[14]!['notify']);
  const rxExpected: Entry[] = [
    { idx: 4294967294, slot: 254, kind: 'response', id: 0, offset: 0, flags: 13, status: 4096 },
    { idx: 4294967295, slot: 255, kind: 'extra', type: 4, flags: 0, u: { hash: { type: 1, algorithm: 1, value: [120, 86, 52, 18] } } },
    { idx: 0, slot: 0, kind: 'response', id: 2, offset: 0, flags: 0, status: 100 },
    { idx: 1, slot: 1, kind: 'response', id: 3, offset: 0, flags: 0, status: -1 },
  ];
  const rdec = await cli(['ring', 'decode', rxFile, '--ring', 'rx', '--as', 'responses']);
  rep.check('RX: pvnet ring decode --as responses reads the C page', rdec.code === 0, () => rdec.err);
  if (rdec.code === 0) {
    const doc = JSON.parse(rdec.out) as { entries: Entry[] };
    rxExpected.forEach((e, i) => rep.same(`RX: decoded entry ${i} (${e['kind']}), status signed`, doc.entries[i], e));
    rep.same('RX: decoded entry count', doc.entries.length, rxExpected.length);
  }
  const rxFields = ['id', 'offset', 'flags', 'status'];
  rxExpected.forEach((e, i) => rep.same(`RX: C RING_COPY_RESPONSE of entry ${i} equals the decoded entry`, pickResult(crx[16 + i]!), asC(e, rxFields)));
  const rpage = pageRefOf(new Uint8Array(readFileSync(rxFile)).buffer, 0);
  const front = frontRingAttach(netifRxRingType, rpage, 4294967294);
  const rsp = netifRxRingType.response.create();
  rxExpected.forEach((e, i) => {
    const idx = (front.rspCons + i) >>> 0;
    const got = e['kind'] === 'extra'
      ? { extra: { type: ringCopyResponse(front, idx, ext, netifExtraInfoCodec).type, flags: ext.flags, u: [...ext.u.mcast.addr] } }
      : { rsp: { ...ringCopyResponse(front, idx, rsp) } };
    rep.same(`RX: pvnet ringCopyResponse of entry ${i} equals C's`, got, pickResult(crx[16 + i]!));
  });
}

// ---- (c) pvnet writes, C reads --------------------------------------------------------------------------

function extra(fill: (x: NetifExtraInfo) => void): NetifExtraInfo {
  const x = netifExtraInfoCodec.create();
  fill(x);
  return x;
}

export async function pvnetWritesCReads(rep: Reporter, bin: { tx: string; rx: string }, tmp: string): Promise<void> {
  // Library, TX: a frontend attached just below 2^32 emits a packet with a GSO extra, and pushes.
  const start = 4294967294;
  const page = allocStandalonePage();
  sharedRingInit(page);
  const front = frontRingAttach(netifTxRingType, page, start);
  front.sring.reqProd = start;
  front.sring.rspProd = start;
  front.sring.reqEvent = (start + 1) >>> 0;
  const put = () => { const at = ringGetRequest(front, front.reqProdPvt); front.reqProdPvt++; return at; };
  emitTxRequest({ gref: 7, offset: 10, flags: NETTXF_extra_info | NETTXF_more_data, id: 9, size: 3000 }, 'first', page.view, put());
  emitExtraInfo(extra((x) => { x.type = 1; Object.assign(x.u.gso, { size: 1448, type: 2, pad: 0, features: 0 }); }), page.view, put());
  emitTxRequest({ gref: 8, offset: 0, flags: 0, id: 10, size: 1000 }, 'fragment', page.view, put());
  const notify = ringPushRequestsAndCheckNotify(front);
  rep.same('TX library: the push notifies (req_event = start + 1)', notify, true);
  const txFile = join(tmp, 'pvnet-tx.page');
  writeFileSync(txFile, page.bytes);
  const c = runC(bin.tx, [`load ${txFile}`, 'attach_back_rsp_prod', 'counts', 'copy_req', 'copy_xreq', 'copy_req']);
  rep.same('TX library: C sees 3 unconsumed requests and no overflow', [c[2]!['unc_req'], c[2]!['req_prod_overflow']], [3, 0]);
  rep.same('TX library: C copies request 0', c[3]!['req'], { gref: 7, offset: 10, flags: 12, id: 9, size: 3000 });
  rep.same('TX library: C copies the GSO extra', c[4]!['extra'], { type: 1, flags: 0, u: [0xa8, 0x05, 2, 0, 0, 0] });
  rep.same('TX library: C copies request 2', c[5]!['req'], { gref: 8, offset: 0, flags: 0, id: 10, size: 1000 });

  // Library, RX: a backend answers posted buffers across the wrap, one with an MCAST extra and an error.
  const rpage = allocStandalonePage();
  sharedRingInit(rpage);
  const rfront = frontRingAttach(netifRxRingType, rpage, start);
  const rback = backRingAttach(netifRxRingType, rpage, start);
  rfront.sring.reqProd = start;
  rfront.sring.rspProd = start;
  rfront.sring.rspEvent = (start + 1) >>> 0;
  for (let i = 0; i < 3; i++) emitRxRequest({ id: i, pad: 0, gref: 300 + i }, rpage.view, ringGetRequest(rfront, (start + i) >>> 0));
  rfront.reqProdPvt = (start + 3) >>> 0;
  ringPushRequestsAndCheckNotify(rfront);
  const answer = () => { const at = ringGetResponse(rback, rback.rspProdPvt); rback.rspProdPvt++; return at; };
  emitRxResponse({ id: 0, offset: 0, flags: NETRXF_extra_info, status: 1514 }, rpage.view, answer());
  emitExtraInfo(extra((x) => { x.type = 2; x.u.mcast.addr.set([0x33, 0x33, 0, 0, 0, 1]); }), rpage.view, answer());
  emitRxResponse({ id: 2, offset: 0, flags: 0, status: -2 }, rpage.view, answer());
  rep.same('RX library: the response push notifies (rsp_event = start + 1)', ringPushResponsesAndCheckNotify(rback), true);
  const rxFile = join(tmp, 'pvnet-rx.page');
  writeFileSync(rxFile, rpage.bytes);
  const crx = runC(bin.rx, [`load ${rxFile}`, `attach_front ${start}`, 'counts', 'copy_rsp', 'copy_xrsp', 'copy_rsp']);
  rep.same('RX library: C sees 3 unconsumed responses', crx[2]!['unc_rsp'], 3);
  rep.same('RX library: C copies response 0', crx[3]!['rsp'], { id: 0, offset: 0, flags: NETRXF_extra_info, status: 1514 });
  rep.same('RX library: C copies the MCAST extra', crx[4]!['extra'], { type: 2, flags: 0, u: [0x33, 0x33, 0, 0, 0, 1] });
  rep.same('RX library: C copies the error response signed', crx[5]!['rsp'], { id: 2, offset: 0, flags: 0, status: -2 });

  // CLI: pvnet ring encode writes pages from JSON; C reads the same values.
  const txDoc = {
    ring: 'tx', req_prod: 2, req_event: 4294967295, rsp_prod: 4294967295, rsp_event: 4294967295,
    entries: [
      { idx: 4294967295, kind: 'request', gref: 0xfffffffe, offset: 4095, flags: NETTXF_extra_info, id: 65535, size: 65535 },
      { idx: 0, kind: 'extra', type: 4, flags: 0, u: { hash: { type: 3, algorithm: 1, value: [1, 2, 3, 4] } } },
      { idx: 1, kind: 'request', gref: 1, offset: 0, flags: 0, id: 0, size: 0 },
    ],
  };
  const txJson = join(tmp, 'enc-tx.json');
  const txOut = join(tmp, 'enc-tx.page');
  writeFileSync(txJson, JSON.stringify(txDoc));
  const enc = await cli(['ring', 'encode', txJson, '--ring', 'tx', '-o', txOut]);
  rep.check('TX encode: pvnet ring encode succeeds', enc.code === 0, () => enc.err);
  const ce = runC(bin.tx, [`load ${txOut}`, 'attach_back_rsp_prod', 'counts', 'copy_req', 'copy_xreq', 'copy_req']);
  rep.same('TX encode: C attaches at rsp_prod and sees 3 requests', [ce[1]!['pvt'], ce[2]!['unc_req']], [[0, 0, 4294967295, 4294967295], 3]);
  rep.same('TX encode: C reads the header as written', ce[0]!['s'], [2, 4294967295, 4294967295, 4294967295]);
  const txFields = ['gref', 'offset', 'flags', 'id', 'size'];
  txDoc.entries.forEach((e, i) => rep.same(`TX encode: C RING_COPY_REQUEST of entry ${i} equals the JSON`, pickResult(ce[3 + i]!), asC(e, txFields)));

  const rxDoc = {
    ring: 'rx', req_prod: 5, req_event: 6, rsp_prod: 5, rsp_event: 3,
    entries: [
      { idx: 2, kind: 'response', id: 2, offset: 0, flags: 0, status: -32768 },
      { idx: 3, kind: 'response', id: 3, offset: 10, flags: 4, status: 32767 },
      { idx: 4, kind: 'response', id: 4, offset: 0, flags: 0, status: 0 },
    ],
  };
  const rxJson = join(tmp, 'enc-rx.json');
  const rxOut = join(tmp, 'enc-rx.page');
  writeFileSync(rxJson, JSON.stringify(rxDoc));
  const renc = await cli(['ring', 'encode', rxJson, '--ring', 'rx', '-o', rxOut]);
  rep.check('RX encode: pvnet ring encode succeeds', renc.code === 0, () => renc.err);
  const cr = runC(bin.rx, [`load ${rxOut}`, 'attach_front 2', 'counts', 'copy_rsp', 'copy_rsp', 'copy_rsp', 'final_rsp']);
  rep.same('RX encode: C sees 3 unconsumed responses', cr[2]!['unc_rsp'], 3);
  const rxFields = ['id', 'offset', 'flags', 'status'];
  rxDoc.entries.forEach((e, i) => rep.same(`RX encode: C RING_COPY_RESPONSE of entry ${i} equals the JSON`, pickResult(cr[3 + i]!), asC(e, rxFields)));
  rep.same('RX encode: C final check re-arms rsp_event at rsp_cons + 1', [cr[6]!['work'], (cr[6]!['s'] as number[])[3]], [0, 6]);

  // And decode of the encoded pages gives back the JSON (the round trip the CLI promises).
  for (const [file, ring, doc, as] of [[txOut, 'tx', txDoc, 'requests'], [rxOut, 'rx', rxDoc, 'responses']] as const) {
    const args = ['ring', 'decode', file, '--ring', ring, '--as', as, ...(ring === 'rx' ? ['--range', '2:5'] : [])];
    const d = await cli(args);
    const back = JSON.parse(d.out) as { entries: Entry[] };
    rep.same(`${ring.toUpperCase()} encode: decode gives back the entries`, back.entries.map(({ slot: _s, ...rest }) => rest), doc.entries);
  }
}
