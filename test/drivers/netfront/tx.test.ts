import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GNTCOPY_source_gref, GNTST_okay, GTF_permit_access } from '../../../src/abi/grant_table.ts';
import {
  NETIF_RSP_DROPPED, NETIF_RSP_ERROR, NETTXF_csum_blank, NETTXF_data_validated, NETTXF_extra_info,
  NETTXF_more_data, XEN_NETIF_EXTRA_TYPE_GSO, XEN_NETIF_GSO_TYPE_TCPV4, XEN_NETIF_GSO_TYPE_TCPV6,
  NET_TX_RING_SIZE,
} from '../../../src/abi/netif.ts';
import { XEN_PAGE_SIZE } from '../../../src/abi/page.ts';
import { ringFreeRequests } from '../../../src/abi/ring.ts';
import { DOMID_SELF } from '../../../src/abi/xen.ts';
import { NETFRONT_TX_SLOTS_LIMIT, XENNET_MAX_TX_SLOTS } from '../../../src/drivers/netfront/index.ts';
import { newGnttabCopy } from '../../../src/hv/grant-ops.ts';
import { NETDEV_TX_BUSY, NETDEV_TX_OK } from '../../../src/net/netdevice.ts';
import {
  CHECKSUM_PARTIAL, CHECKSUM_UNNECESSARY, SKB_GSO_TCPV4, SKB_GSO_TCPV6, allocSkb, kfreeSkb, skbPutData, skbReserve,
} from '../../../src/skb/index.ts';
import { GFP_ATOMIC } from '../../../src/mm/gfp.ts';
import { connected, guestSkb, teardown, udpFrame, type NfMachine, type TxPacket } from './support.ts';

/** A layout with `headlen` linear bytes and the rest in page-sized frags starting at `fragOff`. */
function layout(len: number, headlen: number, fragOff = 0) {
  const frags: { off: number; size: number }[] = [];
  for (let left = len - headlen; left > 0;) {
    const size = Math.min(left, XEN_PAGE_SIZE - fragOff);
    frags.push({ off: fragOff, size });
    left -= size;
  }
  return { headlen, frags };
}

/** The TX format rules every packet must satisfy (REFERENCE.md §2.3). */
function checkTxFormat(p: TxPacket, len: number): void {
  const [first, ...rest] = p.slots;
  assert.is(first!.req.size, len, 'first slot carries the total length');
  p.slots.forEach((s, i) => {
    const last = i === p.slots.length - 1;
    assert.is((s.req.flags & NETTXF_more_data) !== 0, !last, `more_data on slot ${i}`);
    assert.ok(s.req.offset + s.len <= XEN_PAGE_SIZE, `slot ${i} stays inside its page`);
  });
  assert.is(rest.reduce((a, s) => a + s.len, first!.len), len);
  assert.ok(p.slots.length <= XENNET_MAX_TX_SLOTS);
  assert.is(new Set(p.slots.map((s) => s.req.id)).size, p.slots.length, 'distinct ids');
  assert.ok(p.copied);
}

function noTxInFlight(m: NfMachine, nf: import('../../../src/drivers/netfront/index.ts').NetfrontInfo, grefs: number[]): void {
  const q = nf.queues[0]!;
  assert.ok(q.txSkbs.every((s) => s === null), 'no skb held');
  for (const g of grefs) assert.is(m.t.guest.grantTable.flagsOf(g) & GTF_permit_access, 0, `gref ${g} ended`);
}

test('netfront TX: sizes 60 B .. 64 KiB use page-bounded slots, first size = total, more_data chains, bytes intact', () => {
  const { m, b, nf } = connected({ guestFrames: 900 });
  const cases: [number, number, number][] = [
    [60, 60, 0], [1514, 1514, 0], [1514, 54, 0], [4096, 4096, 0], [9000, 9000, 0], [9000, 128, 100],
    [32768, 66, 0], [65535, 128, 0], [65535, 14, 0], [12000, 14, 3000],
  ];
  for (const [len, headlen, off] of cases) {
    const bytes = udpFrame(len, len & 0xff);
    const skb = guestSkb(m, bytes, layout(len, headlen, off));
    assert.is(nf.ndoStartXmit(skb), NETDEV_TX_OK);
    m.run(1_000_000);
    const p = b.packets.at(-1)!;
    assert.equal(p.bytes, bytes, `bytes of ${len}/${headlen}`);
    checkTxFormat(p, len);
  }
  noTxInFlight(m, nf, b.packets.flatMap((p) => p.slots.map((s) => s.req.gref)));
  assert.is(nf.netfrontStats().txPackets, cases.length);
  teardown(m, nf, b);
});

test('netfront TX: a linear area spanning pages takes one slot per page, the first at the data offset', () => {
  const { m, b, nf } = connected();
  const bytes = udpFrame(9000);
  nf.ndoStartXmit(guestSkb(m, bytes, { headlen: 9000, headroom: 64 }));
  m.run(1_000_000);
  const p = b.packets[0]!;
  assert.equal(p.slots.map((s) => [s.req.offset, s.len]), [[64, 4032], [0, 4096], [0, 872]]);
  assert.equal(p.bytes, bytes);
  teardown(m, nf, b);
});

test('netfront TX: a GSO skb gets an extra_info slot after the first (TCPV4 / TCPV6 with its MSS)', () => {
  const { m, b, nf } = connected();
  for (const [type, want] of [[SKB_GSO_TCPV4, XEN_NETIF_GSO_TYPE_TCPV4], [SKB_GSO_TCPV6, XEN_NETIF_GSO_TYPE_TCPV6]] as const) {
    const bytes = udpFrame(20000);
    const skb = guestSkb(m, bytes, layout(20000, 128));
    skb.shinfo.gsoSize = 1448;
    skb.shinfo.gsoType = type;
    skb.ipSummed = CHECKSUM_PARTIAL;
    nf.ndoStartXmit(skb);
    m.run(1_000_000);
    const p = b.packets.at(-1)!;
    assert.ok((p.flags & NETTXF_extra_info) !== 0);
    assert.is(p.extras.length, 1);
    assert.is(p.extras[0]!.type, XEN_NETIF_EXTRA_TYPE_GSO);
    assert.is(p.extras[0]!.u.gso.size, 1448);
    assert.is(p.extras[0]!.u.gso.type, want);
    assert.equal(p.bytes, bytes);
    checkTxFormat(p, 20000);
  }
  assert.ok(b.q().tx.reqCons === b.q().tx.rspProdPvt, 'every slot answered, extras with NULL');
  teardown(m, nf, b);
});

test('netfront TX: checksum state becomes csum_blank|data_validated, data_validated, or nothing', () => {
  const { m, b, nf } = connected();
  for (const [summed, want] of [[CHECKSUM_PARTIAL, NETTXF_csum_blank | NETTXF_data_validated], [CHECKSUM_UNNECESSARY, NETTXF_data_validated], [0, 0]] as const) {
    const skb = guestSkb(m, udpFrame(100), { headlen: 100 });
    skb.ipSummed = summed;
    nf.ndoStartXmit(skb);
    m.run(1_000_000);
    assert.is(b.packets.at(-1)!.flags & (NETTXF_csum_blank | NETTXF_data_validated), want);
  }
  teardown(m, nf, b);
});

test('netfront TX: an skb needing 19+ slots is linearised first, then sent intact', () => {
  const { m, b, nf } = connected({ maxSkbFrags: 24 });
  const frags = Array.from({ length: 20 }, (_, i) => ({ off: 100 + i, size: 500 }));
  const len = 100 + 20 * 500;
  const bytes = udpFrame(len);
  const skb = guestSkb(m, bytes, { headlen: 100, frags });
  nf.ndoStartXmit(skb);
  m.run(1_000_000);
  const p = b.packets[0]!;
  assert.equal(p.bytes, bytes);
  assert.ok(p.slots.length <= 4, 'linear now');
  assert.is(nf.netfrontStats().txLinearized, 1);
  checkTxFormat(p, len);
  teardown(m, nf, b);
});

test('netfront TX: an skb longer than 65535 bytes is dropped before the ring', () => {
  const { m, b, nf } = connected();
  const bytes = udpFrame(65536);
  const skb = guestSkb(m, bytes, layout(65536, 128));
  const before = b.q().tx.sring.reqProd;
  assert.is(nf.ndoStartXmit(skb), NETDEV_TX_OK);
  m.run(1_000_000);
  assert.is(b.q().tx.sring.reqProd, before);
  assert.is(nf.netfrontStats().txDropped, 1);
  assert.is(b.packets.length, 0);
  teardown(m, nf, b);
});

test('netfront TX: the queue stops when a worst-case packet might not fit, and wakes when responses free slots', () => {
  const woken: number[] = [];
  const { m, b, nf } = connected({ guestFrames: 1200 }, { autoTx: false }, { onTxWake: (q) => woken.push(q) });
  const q = nf.queues[0]!;
  let sent = 0;
  while (!q.txStopped) {
    assert.is(nf.ndoStartXmit(guestSkb(m, udpFrame(60, sent), { headlen: 60 })), NETDEV_TX_OK);
    sent++;
  }
  assert.is(sent, NETFRONT_TX_SLOTS_LIMIT);
  assert.is(ringFreeRequests(q.tx), NET_TX_RING_SIZE - NETFRONT_TX_SLOTS_LIMIT, 'a worst-case packet still fits');
  const extra = guestSkb(m, udpFrame(60), { headlen: 60 });
  assert.is(nf.ndoStartXmit(extra), NETDEV_TX_BUSY, 'a stopped queue refuses; the caller keeps the skb');
  m.run(1_000_000);
  b.processTx(b.q());
  m.run(1_000_000);
  assert.not.ok(q.txStopped);
  assert.equal(woken, [0]);
  assert.is(nf.ndoStartXmit(extra), NETDEV_TX_OK);
  m.run(1_000_000);
  b.processTx(b.q());
  m.run(1_000_000);
  assert.is(b.packets.length, sent + 1);
  const s = nf.netfrontStats();
  assert.is(s.txStops, 1);
  assert.is(s.txWakes, 1);
  assert.is(s.txBusy, 1);
  teardown(m, nf, b);
});

test('netfront TX: the frame is released only after its grant is ended, when the answer comes', () => {
  const { m, b, nf } = connected({}, { autoTx: false });
  const skb = guestSkb(m, udpFrame(2000), { headlen: 100, frags: [{ off: 0, size: 1900 }] });
  const frame = skb.shinfo.fragPage[0]!;
  const free = m.pages.freePages;
  nf.ndoStartXmit(skb);
  m.run(1_000_000);
  const [p] = b.processTx(b.q(), false);
  const grefs = p!.slots.map((s) => s.req.gref);
  for (const g of grefs) assert.ok((m.t.guest.grantTable.flagsOf(g) & GTF_permit_access) !== 0, 'granted while in flight');
  assert.ok(m.t.hv.mem.refcount[frame]! > 0, 'the frame is held while the backend may read it');
  assert.is(skb.users, 2, 'one skb reference per slot');
  b.answerTx(b.q(), p!.slots.map((s) => s.req), 0, 0);
  b.pushTx(b.q());
  m.run(1_000_000);
  for (const g of grefs) assert.is(m.t.guest.grantTable.flagsOf(g) & GTF_permit_access, 0, 'grant ended');
  assert.is(m.t.hv.mem.refcount[frame], 0, 'frame released');
  assert.is(m.pages.freePages, free + 2, 'head and frag pages back with the allocator');
  teardown(m, nf, b);
});

test('netfront TX: ERROR and DROPPED answers are counted as tx errors and still release the skb', () => {
  for (const st of [NETIF_RSP_ERROR, NETIF_RSP_DROPPED]) {
    const { m, b, nf } = connected({}, { txStatus: st });
    nf.ndoStartXmit(guestSkb(m, udpFrame(6000), { headlen: 6000 }));
    m.run(1_000_000);
    const s = nf.netfrontStats();
    assert.is(s.txErrors, 1, 'one packet, counted once');
    assert.not.ok(nf.broken);
    noTxInFlight(m, nf, b.packets[0]!.slots.map((x) => x.req.gref));
    teardown(m, nf, b);
  }
});

test('netfront TX: packets spread over queues by flow hash; a chosen queue can be forced', () => {
  const { m, b, nf } = connected({ guestFrames: 2400 }, { maxQueues: 8 }, { maxQueues: 8 });
  assert.is(nf.queues.length, 8);
  for (let i = 0; i < 64; i++) nf.ndoStartXmit(guestSkb(m, udpFrame(100, i), { headlen: 100 }));
  nf.xmitOnQueue(guestSkb(m, udpFrame(100, 99), { headlen: 100 }), 5);
  m.run(2_000_000);
  const perQueue = nf.queues.map((q) => q.stats.txPackets);
  assert.is(perQueue.reduce((a, x) => a + x, 0), 65);
  assert.ok(perQueue.filter((x) => x > 0).length >= 5, `spread: ${perQueue}`);
  assert.is(b.packets.filter((p) => p.queue === 5).length, nf.queues[5]!.stats.txPackets);
  for (const p of b.packets) assert.ok(p.copied);
  teardown(m, nf, b);
});

/** Read every byte of the page behind `gref` through a grant copy of the whole page. */
function readWholePage(m: NfMachine, gref: number): Uint8Array {
  const op = newGnttabCopy();
  op.source.u.ref = gref;
  op.source.domid = 1;
  op.source.offset = 0;
  op.dest.u.gmfn = m.t.dom0.frames[1]!;
  op.dest.domid = DOMID_SELF;
  op.dest.offset = 0;
  op.len = XEN_PAGE_SIZE;
  op.flags = GNTCOPY_source_gref;
  m.t.hv.gnttabCopy(m.t.dom0, [op], 1);
  assert.is(op.status, GNTST_okay);
  const out = new Uint8Array(XEN_PAGE_SIZE);
  m.t.hv.mem.read(0, m.t.dom0.frames[1]!, 0, out, 0, XEN_PAGE_SIZE);
  return out;
}

/** A linear skb whose head page is full of 0xaa around the packet (stale data a backend must not see). */
function dirtySkb(m: NfMachine, bytes: Uint8Array) {
  const skb = allocSkb(m.env, 64 + bytes.length, GFP_ATOMIC)!;
  for (let i = 0; i < skb.shinfo.nrHeadFrames; i++) m.t.hv.mem.fill(1, skb.shinfo.headFrames[i]!, 0, XEN_PAGE_SIZE, 0xaa);
  skbReserve(skb, 64);
  skbPutData(skb, bytes);
  return skb;
}

/** Bytes of granted pages that are neither packet data nor zero. */
function strayBytes(m: NfMachine, p: TxPacket): number {
  let stray = 0;
  for (const s of p.slots) {
    const page = readWholePage(m, s.req.gref);
    page.forEach((v, i) => {
      if ((i < s.req.offset || i >= s.req.offset + s.len) && v !== 0) stray++;
    });
  }
  return stray;
}

test('netfront TX (XSA-403): with trusted = 0 every byte the backend can read through a grant is packet data or zero', () => {
  const bytes = udpFrame(5000);
  const t1 = connected({}, { autoTx: false });
  t1.nf.ndoStartXmit(dirtySkb(t1.m, bytes));
  t1.m.run(1_000_000);
  const [p1] = t1.b.processTx(t1.b.q(), false);
  assert.ok(strayBytes(t1.m, p1!) > 0, 'a trusted backend sees the stale bytes around the packet');
  t1.b.answerTx(t1.b.q(), p1!.slots.map((s) => s.req), 0, 0);
  t1.b.pushTx(t1.b.q());
  teardown(t1.m, t1.nf, t1.b);

  const t0 = connected({ frontendKeys: { trusted: '0' } }, { autoTx: false });
  assert.ok(t0.nf.bounce);
  t0.nf.ndoStartXmit(dirtySkb(t0.m, bytes));
  t0.m.run(1_000_000);
  const [p0] = t0.b.processTx(t0.b.q(), false);
  assert.equal(p0!.bytes, bytes);
  assert.is(strayBytes(t0.m, p0!), 0);
  assert.is(t0.nf.netfrontStats().txBounced, 1);
  t0.b.answerTx(t0.b.q(), p0!.slots.map((s) => s.req), 0, 0);
  t0.b.pushTx(t0.b.q());
  teardown(t0.m, t0.nf, t0.b);
});

test('netfront TX: the trusted=false module parameter bounces too; a head with < 14 bytes left in its page is bounced', () => {
  const a = connected({}, {}, { trusted: false });
  assert.ok(a.nf.bounce);
  teardown(a.m, a.nf, a.b);
  const { m, b, nf } = connected();
  const bytes = udpFrame(200);
  const skb = allocSkb(m.env, 4090 + 200, GFP_ATOMIC)!;
  skbReserve(skb, 4090);
  skbPutData(skb, bytes);
  nf.ndoStartXmit(skb);
  m.run(1_000_000);
  const p = b.packets[0]!;
  assert.equal(p.bytes, bytes);
  assert.ok(p.slots[0]!.len >= 14, 'the first slot holds the Ethernet header');
  assert.is(nf.netfrontStats().txBounced, 1);
  teardown(m, nf, b);
});

test('netfront TX: a disconnected or never-connected device drops (and frees) what it is given', () => {
  const { m, b, nf } = connected();
  nf.close();
  m.run(5_000_000);
  const skb = guestSkb(m, udpFrame(100), { headlen: 100 });
  assert.is(nf.ndoStartXmit(skb), NETDEV_TX_OK);
  assert.not.ok(skb.live);
  assert.is(nf.netfrontStats().txDropped, 1);
  kfreeSkb(null);
  teardown(m, nf, b);
});

test.run();
