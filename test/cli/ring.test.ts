import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.ts';
import type { CliIO } from '../../src/cli/common.ts';
import { allocStandalonePage, type PageRef } from '../../src/abi/page.ts';
import { backRingAttach, frontRingAttach, ringGetRequest, ringGetResponse, sharedRingInit } from '../../src/abi/ring.ts';
import {
  NETIF_RSP_ERROR, NETRXF_extra_info, NETRXF_more_data, NETTXF_extra_info, NETTXF_more_data,
  XEN_NETIF_EXTRA_FLAG_MORE, XEN_NETIF_EXTRA_TYPE_GSO, XEN_NETIF_EXTRA_TYPE_HASH, XEN_NETIF_EXTRA_TYPE_MCAST_ADD,
  XEN_NETIF_GSO_TYPE_TCPV4, netifExtraInfoCodec, netifRxRingType, netifTxRingType, type NetifExtraInfo,
} from '../../src/abi/netif.ts';
import { emitExtraInfo, emitRxRequest, emitRxResponse, emitTxRequest } from '../../src/abi/netif_parse.ts';

const dir = mkdtempSync(join(tmpdir(), 'pvnet-ring-cli-'));
let seq = 0;
const tmp = (name: string) => join(dir, `${seq++}-${name}`);

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIO = { out: (t) => { out += t; }, err: (t) => { err += t; }, isTTY: false };
  const code = await main(argv, io);
  return { code, out, err };
}

function savePage(page: PageRef): string {
  const file = tmp('page');
  writeFileSync(file, page.bytes);
  return file;
}

function saveJson(doc: unknown): string {
  const file = tmp('page.json');
  writeFileSync(file, typeof doc === 'string' ? doc : JSON.stringify(doc));
  return file;
}

function extra(fill: (x: NetifExtraInfo) => void): NetifExtraInfo {
  const x = netifExtraInfoCodec.create();
  fill(x);
  return x;
}

/** A TX page whose indices wrap at 2^32: one packet with a GSO and an MCAST extra and a second fragment. */
function txPage(start = 0xfffffffe): PageRef {
  const page = allocStandalonePage();
  sharedRingInit(page);
  const front = frontRingAttach(netifTxRingType, page, start);
  const put = (i: number) => ringGetRequest(front, (start + i) >>> 0);
  emitTxRequest({ gref: 8, offset: 0, flags: NETTXF_extra_info | NETTXF_more_data, id: 0, size: 5000 }, 'first', page.view, put(0));
  emitExtraInfo(extra((x) => {
    x.type = XEN_NETIF_EXTRA_TYPE_GSO;
    x.flags = XEN_NETIF_EXTRA_FLAG_MORE;
    Object.assign(x.u.gso, { size: 1448, type: XEN_NETIF_GSO_TYPE_TCPV4 });
  }), page.view, put(1));
  emitExtraInfo(extra((x) => {
    x.type = XEN_NETIF_EXTRA_TYPE_MCAST_ADD;
    x.u.mcast.addr.set([1, 0, 0x5e, 0, 0, 1]);
  }), page.view, put(2));
  emitTxRequest({ gref: 9, offset: 100, flags: 0, id: 3, size: 1000 }, 'fragment', page.view, put(3));
  emitTxRequest({ gref: 10, offset: 0, flags: 0, id: 4, size: 60 }, 'first', page.view, put(4));
  front.sring.reqProd = (start + 5) >>> 0;
  front.sring.rspProd = start;
  front.sring.reqEvent = (start + 1) >>> 0;
  front.sring.rspEvent = (start + 1) >>> 0;
  return page;
}

test('ring cli: decode shows the unanswered TX requests [rsp_prod, req_prod), extras as "extra", across the wrap', async () => {
  const r = await run('ring', 'decode', savePage(txPage()), '--ring', 'tx');
  assert.is(r.code, 0, r.err);
  const doc = JSON.parse(r.out);
  assert.equal(
    { ring: doc.ring, size: doc.size, req_prod: doc.req_prod, req_event: doc.req_event, rsp_prod: doc.rsp_prod, rsp_event: doc.rsp_event },
    { ring: 'tx', size: 256, req_prod: 3, req_event: 0xffffffff, rsp_prod: 0xfffffffe, rsp_event: 0xffffffff },
  );
  assert.equal(doc.entries, [
    { idx: 0xfffffffe, slot: 254, kind: 'request', gref: 8, offset: 0, flags: 12, id: 0, size: 5000 },
    { idx: 0xffffffff, slot: 255, kind: 'extra', type: 1, flags: 1, u: { gso: { size: 1448, type: 1, pad: 0, features: 0 } } },
    { idx: 0, slot: 0, kind: 'extra', type: 2, flags: 0, u: { mcast: { addr: [1, 0, 0x5e, 0, 0, 1] } } },
    { idx: 1, slot: 1, kind: 'request', gref: 9, offset: 100, flags: 0, id: 3, size: 1000 },
    { idx: 2, slot: 2, kind: 'request', gref: 10, offset: 0, flags: 0, id: 4, size: 60 },
  ]);
});

test('ring cli: decode then encode reproduces a TX page byte for byte', async () => {
  const page = txPage();
  const decoded = await run('ring', 'decode', savePage(page), '--ring', 'tx');
  const json = saveJson(decoded.out);
  const out = tmp('again.page');
  const r = await run('ring', 'encode', json, '--ring', 'tx', '-o', out);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /5 entries/);
  assert.ok(Buffer.from(readFileSync(out)).equals(Buffer.from(page.bytes)), 'pages differ');
});

/** An RX page: 3 requests answered (a packet with a hash extra and a second fragment, then an error). */
function rxPage(): PageRef {
  const page = allocStandalonePage();
  sharedRingInit(page);
  const front = frontRingAttach(netifRxRingType, page, 10);
  const back = backRingAttach(netifRxRingType, page, 10);
  for (let i = 0; i < 6; i++) emitRxRequest({ id: i, pad: 0, gref: 100 + i }, page.view, ringGetRequest(front, 10 + i));
  emitRxResponse({ id: 0, offset: 0, flags: NETRXF_extra_info | NETRXF_more_data, status: 4096 }, page.view, ringGetResponse(back, 10));
  emitExtraInfo(extra((x) => {
    x.type = XEN_NETIF_EXTRA_TYPE_HASH;
    x.u.hash.type = 1;
    x.u.hash.algorithm = 1;
    x.u.hash.value.set([1, 2, 3, 4]);
  }), page.view, ringGetResponse(back, 11));
  emitRxResponse({ id: 2, offset: 0, flags: 0, status: 100 }, page.view, ringGetResponse(back, 12));
  emitRxResponse({ id: 3, offset: 0, flags: 0, status: NETIF_RSP_ERROR }, page.view, ringGetResponse(back, 13));
  front.sring.reqProd = 16;
  front.sring.rspProd = 14;
  front.sring.reqEvent = 11;
  front.sring.rspEvent = 11;
  return page;
}

test('ring cli: decode --as responses shows [rsp_event - 1, rsp_prod) with signed statuses and RX extras', async () => {
  const r = await run('ring', 'decode', savePage(rxPage()), '--ring', 'rx', '--as', 'responses');
  assert.is(r.code, 0, r.err);
  assert.equal(JSON.parse(r.out).entries, [
    { idx: 10, slot: 10, kind: 'response', id: 0, offset: 0, flags: 12, status: 4096 },
    { idx: 11, slot: 11, kind: 'extra', type: 4, flags: 0, u: { hash: { type: 1, algorithm: 1, value: [1, 2, 3, 4] } } },
    { idx: 12, slot: 12, kind: 'response', id: 2, offset: 0, flags: 0, status: 100 },
    { idx: 13, slot: 13, kind: 'response', id: 3, offset: 0, flags: 0, status: -1 },
  ]);
});

test('ring cli: decode of RX requests shows the posted, unanswered buffers [rsp_prod, req_prod)', async () => {
  const r = await run('ring', 'decode', savePage(rxPage()), '--ring', 'rx');
  assert.is(r.code, 0, r.err);
  assert.equal(JSON.parse(r.out).entries, [
    { idx: 14, slot: 14, kind: 'request', id: 4, pad: 0, gref: 104 },
    { idx: 15, slot: 15, kind: 'request', id: 5, pad: 0, gref: 105 },
  ]);
});

test('ring cli: decode then encode reproduces an RX page of responses byte for byte', async () => {
  // Only the answered slots are listed, so clear the two unanswered requests first.
  const page = rxPage();
  page.bytes.fill(0, 64 + 14 * 8, 64 + 16 * 8);
  const decoded = await run('ring', 'decode', savePage(page), '--ring', 'rx', '--as', 'responses');
  const out = tmp('rx.page');
  const r = await run('ring', 'encode', saveJson(decoded.out), '--ring', 'rx', '-o', out);
  assert.is(r.code, 0, r.err);
  assert.ok(Buffer.from(readFileSync(out)).equals(Buffer.from(page.bytes)));
});

test('ring cli: --range takes decimal or hex indices and may wrap at 2^32', async () => {
  const file = savePage(txPage());
  const r = await run('ring', 'decode', file, '--ring', 'tx', '--range', '0xffffffff:1');
  assert.is(r.code, 0, r.err);
  assert.equal(JSON.parse(r.out).entries.map((e: { idx: number; kind: string }) => [e.idx, e.kind]),
    [[0xffffffff, 'request'], [0, 'request']], 'without the first request, a slot is not known to be an extra');
  const empty = await run('ring', 'decode', file, '--ring', 'tx', '--range', '7:7');
  assert.equal(JSON.parse(empty.out).entries, []);
});

test('ring cli: encode writes responses a C backend would write, and the header as given', async () => {
  const doc = {
    ring: 'tx', size: 256, req_prod: 2, req_event: 3, rsp_prod: 2, rsp_event: 3,
    entries: [
      { idx: 0, slot: 0, kind: 'response', id: 7, status: -1 },
      { idx: 1, kind: 'response', id: 8, status: 1 },
    ],
  };
  const out = tmp('rsp.page');
  const r = await run('ring', 'encode', saveJson(doc), '--ring', 'tx', '-o', out);
  assert.is(r.code, 0, r.err);
  const bytes = readFileSync(out);
  assert.is(bytes.length, 4096);
  assert.equal([...bytes.subarray(0, 16)], [2, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0]);
  assert.equal([...bytes.subarray(64, 64 + 16)], [7, 0, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 1, 0]);
});

// ---- bad input: exit 2, one clear line -------------------------------------------------------------------

async function usageError(argv: string[], message: RegExp): Promise<void> {
  const r = await run(...argv);
  assert.is(r.code, 2, `exit code for ${argv.join(' ')}: ${r.err}`);
  assert.match(r.err, message);
  assert.is(r.err.trim().split('\n').length, 1, 'one line');
  assert.is(r.out, '');
}

test('ring cli: bad decode arguments and bad page files are usage errors (exit 2)', async () => {
  const good = savePage(txPage());
  const short = tmp('short');
  writeFileSync(short, new Uint8Array(100));
  await usageError(['ring', 'decode', join(dir, 'missing'), '--ring', 'tx'], /cannot read .*missing.*ENOENT/);
  await usageError(['ring', 'decode', dir, '--ring', 'tx'], /cannot read/);
  await usageError(['ring', 'decode', short, '--ring', 'tx'], /is 100 bytes; a ring page is exactly 4096/);
  await usageError(['ring', 'decode', good], /--ring tx\|rx is required/);
  await usageError(['ring', 'decode', good, '--ring', 'ctrl'], /--ring takes tx or rx/);
  await usageError(['ring', 'decode', '--ring', 'tx'], /FILE is required/);
  await usageError(['ring', 'decode', good, '--ring', 'tx', '--as', 'both'], /--as takes requests or responses/);
  await usageError(['ring', 'decode', good, '--ring', 'tx', '--range', '5'], /--range takes A:B/);
  await usageError(['ring', 'decode', good, '--ring', 'tx', '--range', 'a:b'], /not a ring index/);
  await usageError(['ring', 'decode', good, '--ring', 'tx', '--range', '0:4294967296'], /not a ring index/);
  await usageError(['ring', 'decode', good, '--ring', 'tx', '--range', '0:257'], /spans 257 indices; the tx ring holds 256/);
  await usageError(['ring', 'decode', good, '--ring', 'tx', '--bogus'], /Unknown option '--bogus'/);
  await usageError(['ring', 'frob'], /unknown subcommand 'frob'/);
});

test('ring cli: a page whose producer claims more than the ring holds is a usage error, not a crash', async () => {
  const page = txPage(0);
  new DataView(page.bytes.buffer).setUint32(0, 300, true); // req_prod 300, rsp_prod 0
  await usageError(['ring', 'decode', savePage(page), '--ring', 'tx'], /req_prod - rsp_prod = 300 claims more .* 256 slots/);
  new DataView(page.bytes.buffer).setUint32(8, 0x80000000, true); // rsp_prod far ahead of rsp_event
  await usageError(['ring', 'decode', savePage(page), '--ring', 'tx', '--as', 'responses'], /rsp_prod - \(rsp_event - 1\)/);
  const r = await run('ring', 'decode', savePage(page), '--ring', 'tx', '--range', '0:3');
  assert.is(r.code, 0, '--range still shows a hostile page');
});

test('ring cli: bad encode input is a usage error naming the field (exit 2)', async () => {
  const base = { ring: 'tx', req_prod: 1, req_event: 1, rsp_prod: 0, rsp_event: 1 };
  const req = { idx: 0, kind: 'request', gref: 1, offset: 0, flags: 0, id: 0, size: 60 };
  const enc = (doc: unknown, ring = 'tx') => ['ring', 'encode', saveJson(doc), '--ring', ring, '-o', tmp('x.page')];
  await usageError(['ring', 'encode', join(dir, 'nope.json'), '--ring', 'tx', '-o', tmp('p')], /cannot read .*nope\.json/);
  await usageError(enc('{ not json'), /is not JSON/);
  await usageError(enc([1, 2]), /expected a JSON object/);
  await usageError(['ring', 'encode', saveJson({ ...base, entries: [] }), '--ring', 'tx'], /-o PAGE is required/);
  await usageError(enc({ ...base, entries: [], extra: 1 }), /unknown field 'extra'/);
  await usageError(enc({ ring: 'tx', req_prod: 1, req_event: 1, rsp_prod: 0, entries: [] }), /missing field 'rsp_event'/);
  await usageError(enc({ ...base, entries: [] }, 'rx'), /"ring" is "tx" but --ring is rx/);
  await usageError(enc({ ...base, size: 128, entries: [] }), /"size" is 128; the tx ring has 256 slots/);
  await usageError(enc({ ...base, req_prod: 2 ** 32, entries: [] }), /req_prod: 4294967296 is out of range for u32/);
  await usageError(enc({ ...base, entries: {} }), /"entries" must be an array/);
  await usageError(enc({ ...base, entries: [{ ...req, colour: 'red' }] }), /entries\[0\]: unknown field 'colour'/);
  await usageError(enc({ ...base, entries: [{ ...req, size: undefined }] }), /entries\[0\]: missing field 'size'/);
  await usageError(enc({ ...base, entries: [{ ...req, size: 65536 }] }), /entries\[0\]\.size: 65536 is out of range for u16/);
  await usageError(enc({ ...base, entries: [{ ...req, gref: -1 }] }), /entries\[0\]\.gref: -1 is out of range for u32/);
  await usageError(enc({ ...base, entries: [{ ...req, id: 1.5 }] }), /entries\[0\]\.id: 1\.5 is out of range for u16/);
  await usageError(enc({ ...base, entries: [{ idx: 0, kind: 'response', id: 0, status: 40000 }] }), /status: 40000 is out of range for i16/);
  await usageError(enc({ ...base, entries: [{ ...req, kind: 'packet' }] }), /entries\[0\]\.kind: expected "request", "response" or "extra"/);
  await usageError(enc({ ...base, entries: [{ ...req, slot: 3 }] }), /entries\[0\]\.slot: 3 but idx 0 maps to slot 0/);
  await usageError(enc({ ...base, entries: [req, { ...req, idx: 256 }] }), /entries\[1\]: idx 256 maps to slot 0, as entries\[0\] does/);
  await usageError(enc({ ...base, entries: [{ idx: 0, kind: 'extra', type: 1, flags: 0, u: { gso: { size: 1, type: 1, pad: 0, features: 0 }, pad: [0, 0, 0] } }] }),
    /entries\[0\]\.u: expected exactly one of gso, mcast, hash, xdp, pad/);
  await usageError(enc({ ...base, entries: [{ idx: 0, kind: 'extra', type: 2, flags: 0, u: { mcast: { addr: [1, 2, 3] } } }] }),
    /entries\[0\]\.u\.mcast\.addr: expected an array of 6 u8/);
  await usageError(enc({ ...base, entries: [{ idx: 0, kind: 'extra', type: 2, flags: 0, u: { mcast: { addr: [1, 2, 3, 4, 5, 256] } } }] }),
    /entries\[0\]\.u\.mcast\.addr\[5\]: 256 is out of range for u8/);
});

test('ring cli: --help on ring, decode and encode prints the usage and exits 0', async () => {
  for (const argv of [['ring', '--help'], ['ring', 'decode', '--help'], ['ring', 'encode', '-h']]) {
    const r = await run(...argv);
    assert.is(r.code, 0, argv.join(' '));
    assert.match(r.out, /^usage: pvnet ring/);
  }
  assert.match((await run('ring', 'decode', '--help')).out, /--range A:B/);
  assert.match((await run('ring', 'encode', '--help')).out, /-o, --output/);
  assert.is((await run('ring')).code, 2, 'no subcommand is bad usage');
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
