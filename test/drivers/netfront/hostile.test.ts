import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GNTMAP_host_map, GNTST_okay } from '../../../src/abi/grant_table.ts';
import { NETIF_RSP_OKAY, NET_TX_RING_SIZE, netifRxRingType } from '../../../src/abi/netif.ts';
import { ringCopyRequest } from '../../../src/abi/ring.ts';
import { xennetHandleRx } from '../../../src/drivers/netfront/index.ts';
import { AuditFailure } from '../../../src/errors.ts';
import { gnttabSetMapOp, newMapGrantRef } from '../../../src/hv/grant-ops.ts';
import { NETDEV_TX_OK } from '../../../src/net/netdevice.ts';
import { kfreeSkb, skbToBytes } from '../../../src/skb/index.ts';
import { throwsType } from '../../support/assert.ts';
import { connected, guestSkb, teardown, udpFrame } from './support.ts';

function sendOne(c: ReturnType<typeof connected>, len = 300) {
  const skb = guestSkb(c.m, udpFrame(len), { headlen: 100, frags: len > 100 ? [{ off: 0, size: len - 100 }] : [] });
  assert.is(c.nf.ndoStartXmit(skb), NETDEV_TX_OK);
  c.m.run(1_000_000);
  const [p] = c.b.processTx(c.b.q(), false);
  return { skb, p: p! };
}

test('netfront (hostile): a TX response id at or past RING_SIZE marks the device broken; later packets are dropped', () => {
  const c = connected({}, { autoTx: false });
  const { skb, p } = sendOne(c);
  c.b.rawTxResponse(c.b.q(), NET_TX_RING_SIZE + 3, NETIF_RSP_OKAY);
  c.b.pushTx(c.b.q());
  c.m.run(1_000_000);
  assert.ok(c.nf.broken);
  assert.match(c.nf.brokenReason!, 'incorrect id');
  assert.ok(skb.live, 'the in-flight skb is not released on a bogus answer');
  const next = guestSkb(c.m, udpFrame(100), { headlen: 100 });
  c.nf.ndoStartXmit(next);
  assert.not.ok(next.live);
  assert.is(c.nf.netfrontStats().txDropped, 1);
  void p;
  teardown(c.m, c.nf, c.b);
});

test('netfront (hostile): a TX response for an id that is not pending (a replay, or beyond the requests) marks broken', () => {
  const c = connected({}, { autoTx: false });
  const { p } = sendOne(c);
  c.b.answerTx(c.b.q(), p.slots.map((s) => s.req), 0, NETIF_RSP_OKAY);
  c.b.pushTx(c.b.q());
  c.m.run(1_000_000);
  assert.not.ok(c.nf.broken);
  // The same id again, in a slot no request was ever written to.
  c.b.rawTxResponse(c.b.q(), p.slots[0]!.req.id, NETIF_RSP_OKAY);
  c.b.pushTx(c.b.q());
  c.m.run(1_000_000);
  assert.ok(c.nf.broken);
  assert.match(c.nf.brokenReason!, 'inactive request');
  teardown(c.m, c.nf, c.b);
});

test('netfront (hostile): a TX response producer claiming more than the ring holds marks broken without looping', () => {
  const c = connected({}, { autoTx: false });
  sendOne(c);
  const q = c.b.q();
  q.tx.sring.rspProd = (q.tx.sring.rspProd + NET_TX_RING_SIZE + 5) >>> 0;
  c.b.kickTx(q);
  c.m.run(1_000_000);
  assert.ok(c.nf.broken);
  assert.match(c.nf.brokenReason!, 'illegal number of TX responses');
  q.tx.sring.rspProd = 0;
  teardown(c.m, c.nf, c.b);
});

test('netfront (hostile, XSA-396): a TX grant still mapped after the answer: broken, and the frame is never reused until the backend lets go', () => {
  const c = connected({}, { holdTxMaps: true });
  const { m, b, nf } = c;
  const skb = guestSkb(m, udpFrame(3000), { headlen: 100, frags: [{ off: 0, size: 2900 }] });
  const frame = skb.shinfo.fragPage[0]!;
  nf.ndoStartXmit(skb);
  m.run(1_000_000);
  assert.is(b.packets.length, 1);
  assert.ok(nf.broken);
  assert.match(nf.brokenReason!, 'still in use');
  assert.ok(skb.live, 'skb kept');
  assert.ok(m.t.hv.mem.refcount[frame]! > 0, 'frame held');
  let done = false;
  nf.remove(() => {
    done = true;
  });
  m.run(20_000_000);
  assert.ok(done);
  assert.not.ok(skb.live, 'the skb is released at disconnect...');
  assert.ok(m.t.guest.gnttab.deferredCount >= 1, '...but the grant waits on the deferred list');
  assert.ok(m.t.hv.mem.refcount[frame]! > 0, '...holding a page reference, so the frame is not reused');
  m.run(3_000_000_000);
  assert.ok(m.t.hv.mem.refcount[frame]! > 0, 'still held while the backend maps it');
  b.unmapHeld();
  b.stop();
  m.run(2_000_000_000);
  assert.is(m.t.guest.gnttab.deferredCount, 0);
  assert.is(m.t.hv.mem.refcount[frame], 0, 'released once the backend unmapped');
  m.audit();
});

test('netfront (hostile, XSA-396): when even the deferred entry cannot be allocated, the grant and page are leaked on purpose', () => {
  const c = connected({}, { holdTxMaps: true });
  const { m, b, nf } = c;
  const skb = guestSkb(m, udpFrame(200), { headlen: 200 });
  const frame = skb.shinfo.headFrames[0]!;
  nf.ndoStartXmit(skb);
  m.run(1_000_000);
  assert.ok(nf.broken);
  m.t.guest.gnttab.faults.deferredAllocFails = true;
  nf.remove();
  m.run(20_000_000);
  assert.ok(m.t.guest.gnttab.leakedCount >= 1);
  b.unmapHeld();
  b.stop();
  m.run(3_000_000_000);
  assert.ok(m.t.hv.mem.refcount[frame]! > 0, 'a leaked page is never reused');
  const err = throwsType(() => m.t.audit(), AuditFailure);
  assert.ok(err.findings.some((f) => f.includes('leak')), err.message);
});

test('netfront (hostile, XSA-396): an RX buffer the backend keeps mapped: broken, the page stays out of use until unmapped', () => {
  const { m, b, nf, received } = connected();
  const bq = b.q();
  const req = ringCopyRequest(bq.rx, bq.rx.reqCons, netifRxRingType.request.create());
  const map = newMapGrantRef();
  gnttabSetMapOp(map, 0x60000000, GNTMAP_host_map, req.gref, 1);
  m.t.hv.gnttabMapGrantRef(m.t.dom0, [map], 1);
  assert.is(map.status, GNTST_okay);
  const page = map.dev_bus_addr / 4096;
  b.sendRx(bq, udpFrame(500));
  m.run(1_000_000);
  assert.ok(nf.broken);
  assert.match(nf.brokenReason!, 'RX grant');
  assert.is(received.length, 0);
  nf.remove();
  m.run(20_000_000);
  assert.ok(m.t.hv.mem.refcount[page]! > 0, 'page held by the deferred entry');
  b.unmap(map);
  b.stop();
  m.run(3_000_000_000);
  assert.is(m.t.hv.mem.refcount[page], 0);
  m.audit();
});

test('netfront (hostile): an RX response producer past the ring marks broken without looping', () => {
  const { m, b, nf } = connected();
  const bq = b.q();
  bq.rx.sring.rspProd = (bq.rx.sring.reqProd + 1) >>> 0;
  b.kickRx(bq);
  m.run(1_000_000);
  assert.ok(nf.broken);
  assert.match(nf.brokenReason!, 'illegal number of RX responses');
  bq.rx.sring.rspProd = 0;
  teardown(m, nf, b);
});

test('netfront (hostile): RX responses beyond the requests posted (the ring not full) mark broken', () => {
  const { m, b, nf, received } = connected();
  const bq = b.q();
  // Starve the guest so that neither the received packets nor the refill get memory.
  const hog: number[] = [];
  for (let f = m.pages.allocPage(0); f >= 0; f = m.pages.allocPage(0)) hog.push(f);
  for (let i = 0; i < 200; i++) b.sendRx(bq, udpFrame(100, i), { noPush: true });
  b.pushRx(bq);
  m.run(1_000_000);
  const q = nf.queues[0]!;
  const posted = (q.rx.reqProdPvt - q.rx.rspCons) >>> 0;
  assert.ok(posted < 200, `the ring is not full (${posted} posted)`);
  assert.not.ok(nf.broken);
  bq.rx.sring.rspProd = (q.rx.rspCons + posted + 1) >>> 0;
  b.kickRx(bq);
  m.run(1_000_000);
  assert.ok(nf.broken);
  assert.match(nf.brokenReason!, 'illegal number of RX responses');
  bq.rx.sring.rspProd = bq.rx.rspProdPvt;
  hog.forEach((f) => m.pages.putPage(f));
  received.forEach(kfreeSkb);
  teardown(m, nf, b);
});

test('netfront (hostile, XSA-391): an RX producer that goes backwards between interrupts marks broken', () => {
  const { m, b, nf } = connected({}, {}, { maxQueues: 1 });
  const q = nf.queues[0]!;
  const bq = b.q();
  bq.rx.sring.rspProd = (q.rx.rspCons + 2) >>> 0;
  assert.ok(xennetHandleRx(q), 'two new responses seen');
  bq.rx.sring.rspProd = (q.rx.rspCons + 1) >>> 0;
  if (q.napiScheduled !== 0) m.t.clock.cancel(q.napiScheduled);
  q.napiScheduled = 0;
  assert.not.ok(xennetHandleRx(q));
  assert.ok(nf.broken);
  assert.match(nf.brokenReason!, 'backwards');
  bq.rx.sring.rspProd = q.rx.rspCons;
  teardown(m, nf, b);
});

test('netfront (hostile, XSA-391): an event storm with no work is acknowledged as spurious, does bounded work, and traffic still flows', () => {
  for (const split of [true, false]) {
    const { m, b, nf, received } = connected({}, { split });
    const polls = nf.netfrontStats().napiPolls;
    const inv = m.irq.invocations;
    for (let i = 0; i < 2000; i++) {
      b.kickTx(b.q());
      b.kickRx(b.q());
      if (i % 2 === 0) m.run(2_000);
    }
    m.run(1_000_000);
    const s = nf.netfrontStats();
    assert.not.ok(nf.broken);
    assert.is(s.napiPolls, polls, 'no poll without responses');
    assert.ok(s.spuriousEvents >= 900, `spurious ${s.spuriousEvents}`);
    assert.ok(m.irq.invocations - inv <= 2 * 1000 + 2, 'events coalesce: at most one upcall per channel per step');
    const bytes = udpFrame(400);
    b.sendRx(b.q(), bytes);
    nf.ndoStartXmit(guestSkb(m, bytes, { headlen: 400 }));
    m.run(1_000_000);
    assert.equal(received.map(skbToBytes), [bytes]);
    assert.equal(b.packets.at(-1)!.bytes, bytes);
    received.forEach(kfreeSkb);
    teardown(m, nf, b);
  }
});

test('netfront (hostile): a broken device ignores later events and keeps dropping until it reconnects', () => {
  const c = connected({}, { autoTx: false });
  sendOne(c);
  c.b.rawTxResponse(c.b.q(), 999, NETIF_RSP_OKAY);
  c.b.pushTx(c.b.q());
  c.m.run(1_000_000);
  assert.ok(c.nf.broken);
  const polls = c.nf.netfrontStats().napiPolls;
  c.b.sendRx(c.b.q(), udpFrame(100));
  c.m.run(1_000_000);
  assert.is(c.nf.netfrontStats().napiPolls, polls);
  assert.is(c.received.length, 0);
  c.nf.close();
  c.m.run(5_000_000);
  c.nf.reconnect();
  c.m.run(2_000_000);
  assert.not.ok(c.nf.broken, 'a reconnect starts sane');
  assert.is(c.nf.brokenCount, 1);
  teardown(c.m, c.nf, c.b);
});

test.run();
