/**
 * REFERENCE.md §5.4, row by row: what netback does with each kind of malformed TX request. Fatal: the vif
 * is disabled with a reason, nothing more is processed, nothing is answered, nothing throws. Drop: ERROR for
 * every slot of the packet (NULL for its extras), the ring moves on. Per-op grant failures: ERROR for that
 * slot only, the packet is dropped, the vif lives.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  NETTXF_extra_info, NETTXF_more_data, XEN_NETIF_EXTRA_TYPE_GSO, type NetifExtraInfo, XEN_NETIF_EXTRA_TYPE_MAX, XEN_NETIF_EXTRA_TYPE_MCAST_ADD,
  XEN_NETIF_EXTRA_TYPE_MCAST_DEL, XEN_NETIF_GSO_TYPE_TCPV4, XEN_NETIF_RSP_ERROR, XEN_NETIF_RSP_NULL,
  XEN_NETIF_RSP_OKAY,
} from '../../../src/abi/netif.ts';
import { GTF_reading } from '../../../src/abi/grant_table.ts';
import { nbWorld, TestGuest, run, frame, teardown, type NbWorld } from './support.ts';

const OK = XEN_NETIF_RSP_OKAY;
const ERR = XEN_NETIF_RSP_ERROR;
const NULL = XEN_NETIF_RSP_NULL;

function setup(strategy: 'copy' | 'map' | 'hybrid' | 'zerocopy' = 'hybrid'): { w: NbWorld; g: TestGuest } {
  const w = nbWorld({ strategy, hold: false });
  const g = new TestGuest(w);
  g.connect();
  return { w, g };
}

function statuses(g: TestGuest): number[] {
  return g.txResponses().map((r) => r.status);
}

/** The vif is disabled with a reason matching `re`, nothing was answered, later work is ignored. */
function assertFatal(w: NbWorld, g: TestGuest, re: RegExp): void {
  assert.ok(g.vif.disabled, 'vif disabled');
  assert.match(g.vif.fatalReason ?? '', re);
  assert.equal(g.txResponses(), [], 'no response after a fatal error');
  // A later, valid packet and a kick change nothing.
  g.sendPacket(frame(100, 9));
  w.t.hv.evtchn.evtchnSend(g.dom, g.txPort[0]!);
  run(w);
  assert.equal(g.txResponses(), []);
  assert.is(w.frames.length, 0);
  // The RX thread of queue 0 turned the carrier off in thread context.
  assert.is(g.vif.up, false);
  assert.is(g.vif.connected, false);
}

test('netback: req_prod − req_cons beyond RING_SIZE disables the vif without looping', () => {
  const { w, g } = setup();
  g.tx[0]!.sring.reqProd = 257;
  w.t.hv.evtchn.evtchnSend(g.dom, g.txPort[0]!);
  run(w);
  assertFatal(w, g, /Impossible number of requests/);
  g.tx[0]!.reqProdPvt = 0;
  g.tx[0]!.sring.reqProd = 0;
  teardown(w, g);
});

test('netback: a chain running past the published requests disables the vif', () => {
  const { w, g } = setup();
  const { ref } = g.grantData(frame(100, 1), 0);
  g.putTx({ gref: ref, offset: 0, flags: NETTXF_more_data, id: 0, size: 200 });
  g.pushTx();
  run(w);
  assertFatal(w, g, /Asked for 0 slots but exceeds this limit/);
  teardown(w, g);
});

test('netback: 21 follow-on slots (≥ fatal_skb_slots) mark the frontend malicious', () => {
  const { w, g } = setup();
  const layout = Array.from({ length: 22 }, () => ({ size: 100 }));
  g.sendPacket(frame(2200, 1), { layout });
  run(w);
  assertFatal(w, g, /Malicious frontend using 20 slots, threshold 20/);
  teardown(w, g);
});

for (const follow of [19, 20]) {
  test(`netback: ${follow} follow-on slots are dropped with ERROR for every slot, and the ring moves on`, () => {
    const { w, g } = setup();
    const layout = Array.from({ length: follow + 1 }, () => ({ size: 100 }));
    g.sendPacket(frame(100 * (follow + 1), 1), { layout, gso: { size: 1400, type: XEN_NETIF_GSO_TYPE_TCPV4 } });
    run(w);
    assert.equal(statuses(g), [ERR, NULL, ...Array<number>(follow).fill(ERR)]);
    assert.not.ok(g.vif.disabled);
    assert.is(g.vif.queues[0]!.stats.txDropped, 1);
    g.sendPacket(frame(300, 2));
    run(w);
    assert.equal(statuses(g), [OK]);
    assert.is(w.frames.length, 1);
    teardown(w, g);
  });
}

test('netback: 18 follow-on slots (19 in all) are a valid packet', () => {
  const { w, g } = setup('map');
  const layout = Array.from({ length: 19 }, () => ({ size: 100 }));
  const data = frame(1900, 1);
  g.sendPacket(data, { layout });
  run(w);
  assert.is(w.frames.length, 1);
  assert.equal([...w.frames[0]!], [...data]);
  assert.equal(statuses(g), Array<number>(19).fill(OK));
  assert.is(g.vif.queues[0]!.stats.txFragOverflow, 1);
  teardown(w, g);
});

test('netback: a follow-on larger than what remains of the total is dropped (-EIO), not fatal', () => {
  const { w, g } = setup();
  const a = g.grantData(frame(100, 1), 0);
  const b = g.grantData(frame(300, 2), 0);
  g.putTx({ gref: a.ref, flags: NETTXF_more_data, id: 1, size: 200 });
  g.putTx({ gref: b.ref, flags: 0, id: 2, size: 300 });
  g.pushTx();
  run(w);
  assert.equal(g.txResponses(), [{ id: 1, status: ERR }, { id: 2, status: ERR }]);
  assert.not.ok(g.vif.disabled);
  teardown(w, g);
});

test('netback: a follow-on slot crossing its page disables the vif', () => {
  const { w, g } = setup();
  const a = g.grantData(frame(100, 1), 0);
  const b = g.grantData(frame(100, 2), 0);
  g.putTx({ gref: a.ref, flags: NETTXF_more_data, id: 1, size: 300 });
  g.putTx({ gref: b.ref, offset: 4000, flags: 0, id: 2, size: 200 });
  g.pushTx();
  run(w);
  assertFatal(w, g, /Cross page boundary, txp->offset: 4000, size: 200/);
  teardown(w, g);
});

test('netback: a first slot shorter than ETH_HLEN is dropped with ERROR', () => {
  const { w, g } = setup();
  const a = g.grantData(frame(13, 1), 0);
  g.putTx({ gref: a.ref, id: 7, size: 13 });
  g.pushTx();
  run(w);
  assert.equal(g.txResponses(), [{ id: 7, status: ERR }]);
  assert.not.ok(g.vif.disabled);
  teardown(w, g);
});

test('netback: a first slot of 10 bytes followed by 90 more is dropped (its own length is what counts)', () => {
  const { w, g } = setup();
  g.sendPacket(frame(100, 1), { layout: [{ size: 10 }, { size: 90 }] });
  run(w);
  assert.equal(statuses(g), [ERR, ERR]);
  teardown(w, g);
});

test('netback: a first slot crossing its page disables the vif', () => {
  const { w, g } = setup();
  const a = g.grantData(frame(100, 1), 0);
  g.putTx({ gref: a.ref, offset: 4090, id: 3, size: 100 });
  g.pushTx();
  run(w);
  assertFatal(w, g, /Cross page boundary, txreq.offset: 4090, size: 100/);
  teardown(w, g);
});

for (const strategy of ['copy', 'map', 'hybrid', 'zerocopy'] as const) {
  test(`netback (${strategy}): a bad gref fails only its op: that slot ERROR, the others OKAY, the vif lives`, () => {
    const { w, g } = setup(strategy);
    const data = frame(3000, 1);
    const p = g.sendPacket(data, { layout: [{ size: 1000 }, { size: 1000 }, { size: 1000 }], push: false });
    // Slot 2 names a ref the guest never granted (its entry is GTF_invalid) and slot 3 one past the table.
    const tx = g.tx[0]!;
    const view = tx.page.view;
    const slot = (i: number) => tx.entries + ((p.start + i) & 255) * tx.entrySize;
    view.setUint32(slot(1), 5000, true);
    view.setUint32(slot(2), 0x7fffffff, true);
    g.pushTx();
    run(w);
    const rsp = g.txResponses();
    const byId = new Map(rsp.map((r) => [r.id, r.status]));
    assert.is(byId.get(p.ids[0]!), OK);
    assert.is(byId.get(p.ids[1]!), ERR);
    assert.is(byId.get(p.ids[2]!), ERR);
    assert.is(rsp.length, 3);
    assert.is(w.frames.length, 0);
    assert.not.ok(g.vif.disabled);
    for (const ref of p.grefs) assert.is(g.grantBusy(ref) & GTF_reading, 0, 'nothing left mapped');
    g.sendPacket(frame(200, 5));
    run(w);
    assert.equal(statuses(g), [OK]);
    teardown(w, g);
  });
}

test('netback: a header copy that fails answers ERROR for the shared slot and unmaps its mapped rest', () => {
  const { w, g } = setup('hybrid');
  const p = g.sendPacket(frame(1000, 1), { push: false });
  const tx = g.tx[0]!;
  tx.page.view.setUint32(tx.entries + (p.start & 255) * tx.entrySize, 4000, true);
  g.pushTx();
  run(w);
  // One response for the one slot: the copy and the map both failed on the bad ref.
  assert.equal(g.txResponses(), [{ id: p.ids[0]!, status: ERR }]);
  assert.is(w.frames.length, 0);
  teardown(w, g);
});

for (const strategy of ['copy', 'map', 'hybrid', 'zerocopy'] as const) {
  test(`netback (${strategy}): a zero-size follow-on slot is answered OKAY at once and its gref never checked`, () => {
    const { w, g } = setup(strategy);
    const a = g.grantData(frame(500, 1), 0);
    g.putTx({ gref: a.ref, flags: NETTXF_more_data, id: 1, size: 500 });
    g.putTx({ gref: 0xdeadbeef, offset: 4095, flags: 0, id: 2, size: 0 });
    g.pushTx();
    run(w);
    const rsp = g.txResponses();
    assert.equal(rsp.find((r) => r.id === 2), { id: 2, status: OK });
    assert.is(w.frames.length, 1);
    assert.not.ok(g.vif.disabled);
    teardown(w, g);
  });
}

test('netback: extras each get a NULL response after their request\'s response', () => {
  const { w, g } = setup();
  const data = frame(2000, 1, { tcp: true });
  g.sendPacket(data, {
    gso: { size: 1000, type: XEN_NETIF_GSO_TYPE_TCPV4 },
    extras: [(x) => { x.type = 4; x.u.hash.type = 1; }],
    layout: [{ size: 1000 }, { size: 1000 }],
  });
  run(w);
  const st = statuses(g);
  assert.is(st.filter((s) => s === NULL).length, 2);
  assert.is(w.frames.length, 1);
  teardown(w, g);
});

const badExtras: [string, (x: NetifExtraInfo) => void, RegExp][] = [
  ['an extra of type 0', (x) => { x.type = 0; }, /Invalid extra type: 0/],
  ['an extra of type ≥ XEN_NETIF_EXTRA_TYPE_MAX', (x) => { x.type = XEN_NETIF_EXTRA_TYPE_MAX; }, /Invalid extra type: 5/],
  ['a GSO extra with size 0', (x) => { x.type = XEN_NETIF_EXTRA_TYPE_GSO; x.u.gso.size = 0; x.u.gso.type = 1; }, /GSO size must not be zero/],
  ['a GSO extra of type 3', (x) => { x.type = XEN_NETIF_EXTRA_TYPE_GSO; x.u.gso.size = 1000; x.u.gso.type = 3; }, /Bad GSO type 3/],
];
for (const [what, fill, re] of badExtras) {
  test(`netback: ${what} disables the vif`, () => {
    const { w, g } = setup();
    g.sendPacket(frame(200, 1, { tcp: true }), { extras: [fill] });
    run(w);
    assertFatal(w, g, re);
    teardown(w, g);
  });
}

test('netback: a missing extra (NETTXF_extra_info and nothing after it) disables the vif', () => {
  const { w, g } = setup();
  const a = g.grantData(frame(100, 1), 0);
  g.putTx({ gref: a.ref, flags: NETTXF_extra_info, id: 1, size: 100 });
  g.pushTx();
  run(w);
  assertFatal(w, g, /Missing extra info/);
  teardown(w, g);
});

test('netback: multicast control requests are answered at once and build no packet', () => {
  const { w, g } = setup();
  const mcast = (t: number) => (x: NetifExtraInfo) => {
    x.type = t;
    x.u.mcast.addr.set([0x01, 0x00, 0x5e, 0, 0, 1]);
  };
  g.putTx({ gref: 0, flags: NETTXF_extra_info, id: 1, size: 0 });
  g.putExtra(mcast(XEN_NETIF_EXTRA_TYPE_MCAST_ADD));
  g.pushTx();
  run(w);
  assert.equal(g.vif.mcastAddrs, [0x01005e000001]);
  g.putTx({ gref: 0, flags: NETTXF_extra_info, id: 2, size: 0 });
  g.putExtra(mcast(XEN_NETIF_EXTRA_TYPE_MCAST_DEL));
  g.pushTx();
  run(w);
  const rsp = g.txResponses();
  assert.equal(rsp.map((r) => r.status), [OK, NULL, OK, NULL]);
  assert.equal([rsp[0]!.id, rsp[2]!.id], [1, 2]);
  assert.equal(g.vif.mcastAddrs, []);
  assert.is(w.frames.length, 0);
  teardown(w, g);
});

test('netback: a 65th multicast address is refused with ERROR', () => {
  const { w, g } = setup();
  for (let i = 0; i < 65; i++) {
    g.putTx({ gref: 0, flags: NETTXF_extra_info, id: i, size: 0 });
    g.putExtra((x) => {
      x.type = XEN_NETIF_EXTRA_TYPE_MCAST_ADD;
      x.u.mcast.addr.set([0x01, 0x00, 0x5e, 0, 1, i]);
    });
  }
  g.pushTx();
  run(w);
  const st = statuses(g).filter((s) => s !== NULL);
  assert.equal(st, [...Array<number>(64).fill(OK), ERR]);
  assert.is(g.vif.mcastAddrs.length, 64);
  teardown(w, g);
});

test('netback: each slot is read once (XSA-155): rewriting the ring after the snapshot changes nothing', () => {
  const { w, g } = setup('hybrid');
  const data = frame(3000, 1);
  const p = g.sendPacket(data, { layout: [{ size: 1000 }, { size: 2000 }], push: false });
  const hv = w.t.hv;
  const copy = hv.gnttabCopy.bind(hv);
  hv.gnttabCopy = (caller, ops, count) => {
    // Between netback's reads and its hypercalls the guest rewrites every field of both slots.
    const tx = g.tx[0]!;
    for (let i = 0; i < 2; i++) {
      const at = tx.entries + ((p.start + i) & 255) * tx.entrySize;
      tx.page.view.setUint32(at, 0xdead, true);
      tx.page.view.setUint16(at + 4, 4000, true);
      tx.page.view.setUint16(at + 6, 0xffff, true);
      tx.page.view.setUint16(at + 8, 99, true);
      tx.page.view.setUint16(at + 10, 7, true);
    }
    return copy(caller, ops, count);
  };
  g.pushTx();
  run(w);
  hv.gnttabCopy = copy;
  assert.equal([...w.frames[0]!], [...data]);
  assert.equal(g.txResponses().map((r) => r.id).sort((a, b) => a - b), [...p.ids].sort((a, b) => a - b));
  assert.not.ok(g.vif.disabled);
  teardown(w, g);
});

test.run();
