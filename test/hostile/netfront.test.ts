/**
 * REFERENCE.md §7.1, netfront side: the backend is the attacker. A hostile backend (bogus response ids,
 * responses beyond the producer, a grant kept mapped after its response, an event storm) must leave netfront
 * broken or dropping, never crashing, and never reusing a page the backend can still read.
 *
 * test/drivers/netfront/hostile.test.ts already covers: TX ids past RING_SIZE and not pending, TX and RX
 * producers past the ring or moving backwards, a TX grant and an RX buffer kept mapped (XSA-396), the
 * deferred-entry leak, a storm with no traffic. This suite adds the advisories' own tests and what was
 * missing: the worst-moment map, the storm under traffic, the trusted = 0 bounce, the RX error paths, a
 * duplicated answer, NULL answers for data slots.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GNTMAP_host_map, GNTMAP_readonly, GNTST_okay } from '../../src/abi/grant_table.ts';
import { NETIF_RSP_NULL, NETIF_RSP_OKAY, XEN_NETIF_GSO_TYPE_TCPV4 } from '../../src/abi/netif.ts';
import { XEN_PAGE_SIZE } from '../../src/abi/page.ts';
import { GFP_ATOMIC } from '../../src/mm/gfp.ts';
import { gnttabSetMapOp, newMapGrantRef } from '../../src/hv/grant-ops.ts';
import { NETDEV_TX_OK } from '../../src/net/netdevice.ts';
import { kfreeSkb, skbToBytes } from '../../src/skb/index.ts';
import { EventStorm } from '../../src/sim/faults/index.ts';
import { connected, guestSkb, teardown, udpFrame } from '../drivers/netfront/support.ts';

type Conn = ReturnType<typeof connected>;

/** Post one skb (head + one frag page) through netfront and let the backend read (not answer) it. */
function sendHeld(c: Conn, len = 3000) {
  const skb = guestSkb(c.m, udpFrame(len), { headlen: 100, frags: [{ off: 0, size: len - 100 }] });
  assert.is(c.nf.ndoStartXmit(skb), NETDEV_TX_OK);
  c.m.run(1_000_000);
  const [p] = c.b.processTx(c.b.q(), false);
  return { skb, p: p! };
}

test('XSA-391: a hostile backend storming both channels while traffic flows: late EOI bounds netfront\'s work, nothing breaks, every packet arrives', () => {
  for (const split of [true, false]) {
    const c = connected({}, { split });
    const { m, b, nf, received } = c;
    const q = b.q();
    const storm = new EventStorm(m.t.hv.evtchn, m.t.dom0, split ? [q.txPort, q.rxPort] : [q.txPort]);
    const inv = m.irq.invocations;
    const ticks = 500;
    storm.start(m.t.clock, 2_000, 200, ticks);
    const sent: Uint8Array[] = [];
    for (let i = 0; i < 50; i++) {
      const bytes = udpFrame(200 + i, i);
      sent.push(bytes);
      b.sendRx(q, bytes);
      assert.is(nf.ndoStartXmit(guestSkb(m, udpFrame(300, i), { headlen: 300 })), NETDEV_TX_OK);
      m.run(20_000);
    }
    m.run(2_000_000);
    assert.not.ok(storm.running);
    assert.is(storm.sent, ticks * 200);
    const s = nf.netfrontStats();
    assert.not.ok(nf.broken);
    assert.ok(m.irq.invocations - inv <= 2 * ticks + 4 * 50 + 10, `handler runs bounded: ${m.irq.invocations - inv}`);
    assert.ok(s.spuriousEvents > 0);
    assert.equal(received.map(skbToBytes), sent, 'every RX packet arrived whole');
    assert.is(b.packets.length, 50, 'every TX packet reached the backend');
    received.forEach(kfreeSkb);
    teardown(m, nf, b);
  }
});

test('XSA-396: a backend that maps a TX grant at the worst moment (after writing OKAY, before netfront reads it) makes netfront broken, and the frame is never reused while mapped', () => {
  const c = connected({}, { autoTx: false });
  const { m, b, nf } = c;
  const { skb, p } = sendHeld(c);
  const frame = skb.shinfo.fragPage[0]!;
  b.answerTx(b.q(), p.slots.map((s) => s.req), 0, NETIF_RSP_OKAY);
  const late = newMapGrantRef();
  gnttabSetMapOp(late, 0x70000000, GNTMAP_host_map | GNTMAP_readonly, p.slots[1]!.req.gref, 1);
  m.t.hv.gnttabMapGrantRef(m.t.dom0, [late], 1);
  assert.is(late.status, GNTST_okay);
  b.pushTx(b.q());
  m.run(1_000_000);
  assert.ok(nf.broken);
  assert.match(nf.brokenReason!, 'still in use');
  // The guest's allocator never hands the frame out while the backend maps it.
  const grabbed: number[] = [];
  for (let f = m.pages.allocPage(GFP_ATOMIC); f >= 0; f = m.pages.allocPage(GFP_ATOMIC)) grabbed.push(f);
  assert.not.ok(grabbed.includes(frame), 'the mapped frame is not free');
  grabbed.forEach((f) => m.pages.putPage(f));
  // Broken: later packets are dropped, not posted.
  const next = guestSkb(m, udpFrame(100), { headlen: 100 });
  assert.is(nf.ndoStartXmit(next), NETDEV_TX_OK);
  assert.not.ok(next.live);
  b.unmap(late);
  teardown(m, nf, b);
});

test('XSA-403: with trusted = 0 (parameter or xenstore key) every byte a TX grant exposes is packet data or zero; trusted = 1 exposes the neighbours', () => {
  const cases = [
    { fo: { trusted: false }, mo: {}, bounced: true },
    { fo: {}, mo: { frontendKeys: { trusted: '0' } }, bounced: true },
    { fo: {}, mo: {}, bounced: false },
  ];
  for (const { fo, mo, bounced } of cases) {
    const c = connected(mo, { autoTx: false }, fo);
    const { m, b, nf } = c;
    const bytes = udpFrame(3000, 7);
    const skb = guestSkb(m, bytes, { headlen: 100, frags: [{ off: 500, size: 2900 }] });
    // Secrets around the packet in the same pages: a neighbour's data the backend must not see.
    const head = skb.shinfo.headFrames[0]!;
    const headStart = skb.shinfo.headOff + skb.data;
    const secret = (f: number, from: number, to: number) => {
      for (let o = from; o < to; o++) m.t.hv.mem.bytes[f * XEN_PAGE_SIZE + o] = 0x5a;
    };
    secret(head, 0, headStart);
    secret(head, headStart + 100, XEN_PAGE_SIZE);
    secret(skb.shinfo.fragPage[0]!, 0, 500);
    secret(skb.shinfo.fragPage[0]!, 3400, XEN_PAGE_SIZE);
    nf.ndoStartXmit(skb);
    m.run(1_000_000);
    const [p] = b.processTx(b.q(), false);
    assert.equal(p!.bytes, bytes);
    let exposed = 0;
    for (const { req, len } of p!.slots) {
      const f = m.t.guest.grantTable.frameOf(req.gref);
      const page = m.t.hv.mem.bytes.subarray(f * XEN_PAGE_SIZE, (f + 1) * XEN_PAGE_SIZE);
      for (let o = 0; o < XEN_PAGE_SIZE; o++) if ((o < req.offset || o >= req.offset + len) && page[o] !== 0) exposed++;
    }
    if (bounced) assert.is(exposed, 0, 'nothing but the packet and zeroes');
    else assert.ok(exposed > 0, 'without the bounce the test does see the neighbours');
    assert.is(nf.netfrontStats().txBounced, bounced ? 1 : 0);
    b.answerTx(b.q(), p!.slots.map((s) => s.req), 0, NETIF_RSP_OKAY);
    b.pushTx(b.q());
    m.run(1_000_000);
    teardown(m, nf, b);
  }
});

// Not modelled: XSA-405's XDP error path (netfront has no XDP program support); its RX error paths are tested.
test('XSA-405: netfront\'s RX error paths (bad status, page crossing, too many slots, bad GSO extra, made-up ids) drop the packet and never touch a freed buffer', () => {
  const c = connected();
  const { m, b, nf, received } = c;
  const q = b.q();
  const good = (i: number) => udpFrame(300 + i, i);
  const expect: Uint8Array[] = [];
  const send = (bytes: Uint8Array, o: Parameters<typeof b.sendRx>[2] = {}) => assert.ok(b.sendRx(q, bytes, o));
  send(good(0));
  expect.push(good(0));
  send(udpFrame(200), { mutate: (_, r) => { r.status = -1; } });                          // error status
  send(udpFrame(200), { mutate: (_, r) => { r.offset = 4000; } });                        // crosses the page
  send(udpFrame(2000), { slotSizes: Array.from({ length: 20 }, () => 100) });             // 20 slots > 19
  send(udpFrame(2000), { gso: { size: 0, type: XEN_NETIF_GSO_TYPE_TCPV4 } });             // GSO size 0
  send(good(1), { mutate: (_, r) => { r.id = 999; } });                                    // ids are not trusted
  expect.push(good(1));
  send(good(2));
  expect.push(good(2));
  m.run(2_000_000);
  assert.not.ok(nf.broken);
  assert.is(nf.netfrontStats().rxErrors, 4);
  assert.equal(received.map(skbToBytes), expect, 'the good packets arrived whole');
  // The reposted buffers work: a burst of full-page packets afterwards.
  const after = Array.from({ length: 40 }, (_, i) => udpFrame(4000, 50 + i));
  for (const bytes of after) {
    send(bytes);
    m.run(100_000);
  }
  m.run(1_000_000);
  assert.equal(received.slice(3).map(skbToBytes), after);
  received.forEach(kfreeSkb);
  teardown(m, nf, b);
});

test('hostile backend: the same TX id answered twice in one batch: broken at the second, the skb released once', () => {
  const c = connected({}, { autoTx: false });
  const { m, b, nf } = c;
  const { skb, p } = sendHeld(c, 120 + 100);
  b.answerTx(b.q(), p.slots.map((s) => s.req), 0, NETIF_RSP_OKAY);
  b.rawTxResponse(b.q(), p.slots[0]!.req.id, NETIF_RSP_OKAY);
  b.pushTx(b.q());
  m.run(1_000_000);
  assert.ok(nf.broken);
  assert.match(nf.brokenReason!, 'inactive request');
  assert.not.ok(skb.live, 'released by the first answer, not twice');
  teardown(m, nf, b);
});

test('hostile backend: NULL answers for data slots are skipped; the slots stay lent until disconnect, which releases them cleanly', () => {
  const c = connected({}, { autoTx: false });
  const { m, b, nf } = c;
  const { skb, p } = sendHeld(c);
  for (let i = 0; i < p.slots.length; i++) b.rawTxResponse(b.q(), p.slots[i]!.req.id, NETIF_RSP_NULL);
  b.pushTx(b.q());
  m.run(1_000_000);
  assert.not.ok(nf.broken);
  assert.ok(skb.live, 'still lent: a NULL is no answer');
  teardown(m, nf, b);
  assert.not.ok(skb.live);
});

test.run();
