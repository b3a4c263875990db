import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { XenbusStateClosed, XenbusStateClosing, XenbusStateConnected, XenbusStateInitialised, XenbusStateInitialising } from '../../../src/abi/xenbus.ts';
import { NET_RX_RING_SIZE } from '../../../src/abi/netif.ts';
import { SharedRing } from '../../../src/abi/ring.ts';
import { ENODEV, NetfrontInfo, XENNET_TIMEOUT } from '../../../src/drivers/netfront/index.ts';
import { InvalidArgument, UseAfterDestroy } from '../../../src/errors.ts';
import { xenbusPrintf, xenbusRead } from '../../../src/hv/xenbus.ts';
import { XBT_NIL } from '../../../src/hv/xenstore.ts';
import { kfreeSkb } from '../../../src/skb/index.ts';
import { throwsType } from '../../support/assert.ts';
import { TestBackend, connected, guestSkb, netfront, nfMachine, teardown, udpFrame } from './support.ts';

const key = (m: { t: { hv: { xs: import('../../../src/hv/xenstore.ts').XenStore } } }, dir: string, k: string) =>
  xenbusRead(m.t.hv.xs, 0, XBT_NIL, dir, k);

test('netfront: the handshake writes rings, channels and features, and goes Initialising → Connected (never Initialised)', () => {
  const { m, b, nf } = connected();
  const q = nf.queues[0]!;
  assert.is(key(m, m.fe, 'tx-ring-ref'), String(q.txRingRef));
  assert.is(key(m, m.fe, 'rx-ring-ref'), String(q.rxRingRef));
  assert.is(key(m, m.fe, 'event-channel-tx'), String(q.txEvtchn));
  assert.is(key(m, m.fe, 'event-channel-rx'), String(q.rxEvtchn));
  assert.is(key(m, m.fe, 'event-channel'), undefined);
  for (const k of ['request-rx-copy', 'feature-rx-notify', 'feature-sg', 'feature-gso-tcpv4', 'feature-gso-tcpv6', 'feature-ipv6-csum-offload']) {
    assert.is(key(m, m.fe, k), '1', k);
  }
  assert.is(key(m, m.fe, 'multi-queue-num-queues'), undefined, 'no multi-queue key without multi-queue-max-queues');
  assert.ok(b.feStates.includes(XenbusStateInitialising));
  assert.is(b.feStates.at(-1), XenbusStateConnected);
  assert.not.ok(b.feStates.includes(XenbusStateInitialised));
  assert.equal(b.beStates, [2, XenbusStateConnected]);
  assert.is(nf.mac, 0x00163e000001);
  assert.ok(nf.up && nf.canSg && nf.canTso4 && nf.canTso6);
  teardown(m, nf, b);
});

test('netfront: the frontend initialises both shared ring pages (producers 0, events 1) before granting them', () => {
  const { m, b, nf } = connected({}, { autoTx: false });
  const bq = b.q();
  const tx = new SharedRing(bq.tx.page);
  assert.is(tx.reqProd, 0);
  assert.is(tx.rspProd, 0);
  assert.is(tx.rspEvent, 1);
  assert.is(tx.reqEvent, 1);
  const rx = new SharedRing(bq.rx.page);
  assert.is(rx.reqProd, NET_RX_RING_SIZE, 'the RX ring is stocked');
  assert.is(rx.rspProd, 0);
  for (let i = 16; i < 64; i++) assert.is(bq.tx.page.bytes[bq.tx.page.base + i], 0, `tx header byte ${i}`);
  teardown(m, nf, b);
});

test('netfront: one event channel when the backend does not offer split channels', () => {
  const { m, b, nf } = connected({}, { split: false });
  const q = nf.queues[0]!;
  assert.is(q.txEvtchn, q.rxEvtchn);
  assert.is(key(m, m.fe, 'event-channel'), String(q.txEvtchn));
  assert.is(key(m, m.fe, 'event-channel-tx'), undefined);
  assert.is(key(m, m.fe, 'event-channel-rx'), undefined);
  teardown(m, nf, b);
});

test('netfront: a backend without feature-rx-copy is refused with -ENODEV and nothing is granted', () => {
  const m = nfMachine();
  const b = new TestBackend(m, { rxCopy: false });
  b.probe();
  const refsBefore = m.t.guest.gnttab.refsInUse().length;
  const nf = netfront(m);
  m.run(2_000_000);
  assert.equal(nf.connectError?.errno, -ENODEV);
  assert.is(nf.state, XenbusStateInitialising);
  assert.is(nf.queues.length, 0);
  assert.is(m.t.guest.gnttab.refsInUse().length, refsBefore);
  assert.is(key(m, m.fe, 'tx-ring-ref'), undefined);
  teardown(m, nf, b);
});

test('netfront: with several queues every ring and channel key goes under queue-N/ and none is written flat', () => {
  const { m, b, nf } = connected({ guestFrames: 1400 }, { maxQueues: 4 }, { maxQueues: 4 });
  assert.is(nf.queues.length, 4);
  assert.is(key(m, m.fe, 'multi-queue-num-queues'), '4');
  for (const k of ['tx-ring-ref', 'rx-ring-ref', 'event-channel', 'event-channel-tx', 'event-channel-rx']) {
    assert.is(key(m, m.fe, k), undefined, `flat ${k}`);
  }
  nf.queues.forEach((q, i) => {
    const dir = `${m.fe}/queue-${i}`;
    assert.is(key(m, dir, 'tx-ring-ref'), String(q.txRingRef));
    assert.is(key(m, dir, 'rx-ring-ref'), String(q.rxRingRef));
    assert.is(key(m, dir, 'event-channel-tx'), String(q.txEvtchn));
    assert.is(key(m, dir, 'event-channel-rx'), String(q.rxEvtchn));
  });
  assert.is(b.queues.length, 4, 'the backend connected four queues');
  teardown(m, nf, b);
});

test('netfront: asks no more queues than the backend offers, and writes the count when it offers multi-queue', () => {
  const { m, b, nf } = connected({ guestFrames: 1000 }, { maxQueues: 2 }, { maxQueues: 8 });
  assert.is(nf.queues.length, 2);
  assert.is(key(m, m.fe, 'multi-queue-num-queues'), '2');
  teardown(m, nf, b);
  const c = connected({}, { maxQueues: 8 }, { maxQueues: 1 });
  assert.is(key(c.m, c.m.fe, 'multi-queue-num-queues'), '1');
  assert.ok(key(c.m, c.m.fe, 'tx-ring-ref') !== undefined, 'one queue: flat keys');
  teardown(c.m, c.nf, c.b);
});

test('netfront: the keys transaction is retried when xenstore answers EAGAIN', () => {
  const m = nfMachine();
  const b = new TestBackend(m);
  b.probe();
  const nf = netfront(m);
  let conflicts = 0;
  nf.testHooks.beforeKeysCommit = () => {
    if (conflicts++ === 0) xenbusPrintf(m.t.hv.xs, 0, XBT_NIL, m.fe, 'request-rx-copy', 0);
  };
  m.run(2_000_000);
  assert.is(nf.xsRetries, 1);
  assert.is(key(m, m.fe, 'request-rx-copy'), '1');
  assert.is(nf.state, XenbusStateConnected);
  teardown(m, nf, b);
});

test('netfront: close goes Closing, waits for the backend, then Closed, and ends every grant', () => {
  const { m, b, nf } = connected();
  let done = false;
  nf.close(() => {
    done = true;
  });
  assert.is(nf.state, XenbusStateClosing);
  m.run(5_000_000);
  assert.ok(done);
  assert.ok(nf.closed);
  assert.not.ok(nf.closeTimedOut);
  assert.is(b.feStates.at(-1), XenbusStateClosed);
  assert.ok(b.feStates.includes(XenbusStateClosing));
  assert.is(b.state, XenbusStateClosed);
  assert.is(nf.queues.length, 0);
  b.stop();
  m.run(1_000_000);
  m.audit();
});

test('netfront: close stops waiting after XENNET_TIMEOUT when the backend never answers', () => {
  const { m, b, nf } = connected({}, { ignoreClose: true });
  let done = false;
  nf.close(() => {
    done = true;
  });
  m.run(XENNET_TIMEOUT - 1_000_000);
  assert.is(nf.state, XenbusStateClosing, 'still waiting for the backend');
  m.run(2_000_000);
  assert.is(nf.state, XenbusStateClosed, 'gave up waiting: Closed');
  assert.not.ok(done);
  m.run(XENNET_TIMEOUT);
  assert.ok(done);
  assert.ok(nf.closeTimedOut);
  // The backend still maps both rings: their grants could not be ended, so they wait on the deferred list.
  assert.ok(m.t.guest.gnttab.deferredCount >= 2);
  b.stop();
  m.run(2_000_000_000);
  assert.is(m.t.guest.gnttab.deferredCount, 0);
  m.audit();
});

test('netfront: the backend going Closing runs the frontend-closed path (Closed, data path released)', () => {
  const { m, b, nf } = connected();
  b.disconnect();
  b.switchState(XenbusStateClosing);
  m.run(2_000_000);
  assert.is(nf.state, XenbusStateClosed);
  assert.is(nf.queues.length, 0);
  assert.not.ok(nf.up);
  teardown(m, nf, b);
});

test('netfront: reconnect after a close uses new rings and grants, carries traffic, and leaks nothing', () => {
  const { m, b, nf, received } = connected();
  const first = nf.queues[0]!;
  nf.close();
  m.run(5_000_000);
  assert.ok(nf.closed);
  nf.reconnect();
  m.run(2_000_000);
  assert.is(nf.state, XenbusStateConnected);
  assert.is(b.state, XenbusStateConnected);
  const q = nf.queues[0]!;
  assert.ok(q !== first, 'a new queue');
  assert.is(key(m, m.fe, 'tx-ring-ref'), String(q.txRingRef));
  const bytes = udpFrame(300);
  nf.ndoStartXmit(guestSkb(m, bytes, { headlen: 300 }));
  m.run(1_000_000);
  assert.equal(b.packets.at(-1)!.bytes, bytes);
  assert.ok(b.sendRx(b.q(), bytes));
  m.run(1_000_000);
  assert.is(received.length, 1);
  received.forEach(kfreeSkb);
  assert.is(nf.netfrontStats().txPackets, 1);
  teardown(m, nf, b);
});

test('netfront: API misuse throws typed errors (no device, close twice, use after remove)', () => {
  const m = nfMachine();
  throwsType(() => new NetfrontInfo({ hv: m.t.hv, irq: m.irq, dom: m.t.guest, env: m.env, devid: 7 }), InvalidArgument);
  const b = new TestBackend(m);
  b.probe();
  const nf = netfront(m);
  m.run(2_000_000);
  nf.close();
  throwsType(() => nf.close(), InvalidArgument);
  m.run(5_000_000);
  nf.remove();
  m.run(1_000_000);
  throwsType(() => nf.reconnect(), UseAfterDestroy);
  b.stop();
  m.run(1_000_000);
  m.audit();
});

test.run();
