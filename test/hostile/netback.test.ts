/**
 * REFERENCE.md §7.1, netback side: one test per advisory, each building the hostile ring, grant or event
 * pattern and asserting what the catalogue says must hold. The guest is the attacker; every test ends with
 * the teardown audits (no grant mapped or pinned, every ref ended, no sk_buff, page or destructor leaked).
 *
 * Related suites (not repeated here): test/drivers/netback/validation.test.ts walks REFERENCE §5.4 row by
 * row; test/hostile/double-fetch.test.ts is XSA-155 under real concurrency; test/hostile/netfront.test.ts
 * and test/drivers/netfront/hostile.test.ts are the frontend's side (XSA-391, 396, 403, 405).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  NETRXF_extra_info, NETTXF_more_data, XEN_NETIF_EXTRA_TYPE_GSO, XEN_NETIF_GSO_TYPE_TCPV4, XEN_NETIF_RSP_ERROR,
  XEN_NETIF_RSP_NULL, XEN_NETIF_RSP_OKAY,
} from '../../src/abi/netif.ts';
import { GNTST_bad_copy_arg, GNTST_okay } from '../../src/abi/grant_table.ts';
import { XenbusStateConnected, XenbusStateInitialised } from '../../src/abi/xenbus.ts';
import { NSEC_PER_MSEC, NSEC_PER_SEC } from '../../src/hv/clock.ts';
import type { GnttabCopy, GnttabMapGrantRef, GnttabUnmapGrantRef } from '../../src/hv/grant-ops.ts';
import { xenbusRead } from '../../src/hv/xenbus.ts';
import { XBT_NIL } from '../../src/hv/xenstore.ts';
import type { PageAllocator } from '../../src/mm/page-allocator.ts';
import { SKB_GSO_TCPV4, skbHeadlen } from '../../src/skb/index.ts';
import { MAX_PENDING_REQS, XENVIF_RX_QUEUE_BYTES, type XenvifQueue } from '../../src/drivers/netback/index.ts';
import { pendingIndex } from '../../src/drivers/netback/queue.ts';
import { EventStorm, FailingPageAllocator, RingSlotCorrupter, XenstoreFlapper } from '../../src/sim/faults/index.ts';
import { Prng } from '../../src/sim/prng.ts';
import {
  SOUND_STRATEGIES, TestGuest, expectDisabled, frame, hostileSetup, nbWorld, netfrontGuest, pokeTxSlot, run, stackSkb,
  statuses, teardown, timerCounter, type NbWorld,
} from './support/fixtures.ts';

const OK = XEN_NETIF_RSP_OKAY;
const ERR = XEN_NETIF_RSP_ERROR;
const NULL = XEN_NETIF_RSP_NULL;

/** Every pending slot is free again: the free list holds each of the 256 indices exactly once. */
function expectIdle(q: XenvifQueue): void {
  assert.is(q.stats.pendingInUse, 0, 'no pending slot in use');
  assert.is(q.nrMapped, 0, 'nothing mapped');
  assert.is(q.deallocProd, q.deallocCons, 'dealloc ring empty');
  assert.is(q.inflightPackets, 0);
  const seen = new Set<number>();
  for (let i = q.pendingCons; i !== q.pendingProd; i = (i + 1) >>> 0) seen.add(q.pendingRing[pendingIndex(i)]!);
  assert.is(seen.size, MAX_PENDING_REQS, 'no pending index freed twice or lost');
}

/** Record every grant op netback issues (the hypercall entry points, wrapped on this hypervisor). */
function spyGrantOps(w: NbWorld) {
  const hv = w.t.hv;
  const copies: { ref: number; offset: number; len: number; status: number; flags: number }[] = [];
  const maps: { ref: number; handle: number; status: number }[] = [];
  const unmaps: { handle: number; status: number }[] = [];
  // Handles are recycled by the hypervisor: a handle is live from its successful map to its unmap.
  const live = new Set<number>();
  const violations: string[] = [];
  const copy = hv.gnttabCopy.bind(hv);
  const map = hv.gnttabMapGrantRef.bind(hv);
  const unmap = hv.gnttabUnmapGrantRef.bind(hv);
  hv.gnttabCopy = (caller, ops: readonly GnttabCopy[], n) => {
    const rc = copy(caller, ops, n);
    for (let i = 0; i < n; i++) {
      const o = ops[i]!;
      copies.push({ ref: o.source.u.ref, offset: o.source.offset, len: o.len, status: o.status, flags: o.flags });
    }
    return rc;
  };
  hv.gnttabMapGrantRef = (caller, ops: readonly GnttabMapGrantRef[], n) => {
    const rc = map(caller, ops, n);
    for (let i = 0; i < n; i++) {
      const o = ops[i]!;
      maps.push({ ref: o.ref, handle: o.handle, status: o.status });
      if (o.status !== GNTST_okay) continue;
      if (live.has(o.handle)) violations.push(`handle ${o.handle} mapped while live`);
      live.add(o.handle);
    }
    return rc;
  };
  hv.gnttabUnmapGrantRef = (caller, ops: readonly GnttabUnmapGrantRef[], n) => {
    const rc = unmap(caller, ops, n);
    for (let i = 0; i < n; i++) {
      const o = ops[i]!;
      unmaps.push({ handle: o.handle, status: o.status });
      if (!live.delete(o.handle)) violations.push(`handle ${o.handle} unmapped while not mapped (double release)`);
    }
    return rc;
  };
  return { copies, maps, unmaps, live, violations };
}

// ---- XSA-39 ---------------------------------------------------------------------------------------------------

test('XSA-39: a producer claiming more than RING_SIZE requests (ahead, or behind the consumer) disables the vif at once, without looping', () => {
  for (const delta of [257, 0x80000000, 0xffffffff]) {
    const { w, g } = hostileSetup();
    const timers = timerCounter(w.t.clock);
    const tx = g.tx[0]!;
    tx.sring.reqProd = (tx.sring.reqProd + delta) >>> 0;
    w.t.hv.evtchn.evtchnSend(g.dom, g.txPort[0]!);
    run(w);
    assert.ok(timers.fired < 20, `bounded work: ${timers.fired} callbacks`);
    assert.is(g.vif.queueStats.txResponses, 0);
    expectDisabled(w, g, /Impossible number of requests/);
    teardown(w, g);
  }
});

test('XSA-39: every drop and error path frees what it allocated (heads, frag_list skbs, pending slots, mappings)', () => {
  for (const strategy of SOUND_STRATEGIES) {
    const { w, g } = hostileSetup(strategy, { maxSkbFrags: 4 });
    const failing = new FailingPageAllocator(w.env.pages);
    (w.env as unknown as { pages: PageAllocator }).pages = failing;
    g.sendPacket(frame(13, 1));                                                       // runt: drop
    g.sendPacket(frame(2000, 2), { layout: Array.from({ length: 20 }, () => ({ size: 100 })) }); // 19 follow-on: drop
    const p = g.sendPacket(frame(3000, 3), { layout: Array.from({ length: 6 }, () => ({ size: 500 })), push: false });
    pokeTxSlot(g, p.start + 5, 'gref', 0x7fffffff);                                     // bad gref in the frag_list part
    g.pushTx();
    run(w);
    failing.failNext = 1;                                                              // no memory for the next head
    g.sendPacket(frame(300, 4));
    run(w);
    g.sendPacket(frame(300, 5));                                                       // and the vif still serves
    run(w);
    const st = statuses(g);
    assert.is(st.length, 1 + 20 + 6 + 1 + 1);
    assert.is(st.at(-1), OK, `${strategy}: the last packet went through`);
    assert.ok(st.filter((s) => s === ERR).length >= 1 + 20 + 1 + 1, `${strategy}: errors answered`);
    assert.is(w.frames.length, 1);
    assert.not.ok(g.vif.disabled);
    expectIdle(g.vif.queues[0]!);
    (w.env as unknown as { pages: PageAllocator }).pages = failing.lower;
    teardown(w, g);
  }
});

// ---- XSA-90 ---------------------------------------------------------------------------------------------------

test('XSA-90: a fatal error only sets disabled; the carrier goes off later from queue 0\'s guest-RX thread; later kicks and requests are ignored and nothing re-enters', () => {
  const atFatal: { connected: boolean; up: boolean; queues: number }[] = [];
  let g: TestGuest | null = null;
  const { w, g: guest } = hostileSetup('hybrid', {
    onTrace: (e) => {
      if (e.kind === 'fatal') atFatal.push({ connected: g!.vif.connected, up: g!.vif.up, queues: g!.vif.queues.length });
    },
  });
  g = guest;
  const a = g.grantData(frame(100, 1), 0);
  g.putTx({ gref: a.ref, offset: 4090, id: 3, size: 100 });
  g.pushTx();
  run(w);
  assert.equal(atFatal, [{ connected: true, up: true, queues: 1 }], 'nothing torn down in the TX path');
  // More hostile input and kicks: no second fatal, no response, nothing delivered.
  for (let i = 0; i < 10; i++) {
    g.putTx({ gref: a.ref, offset: 4000, id: 4 + i, size: 200 });
    g.pushTx();
    w.t.hv.evtchn.evtchnSend(g.dom, g.txPort[0]!);
    w.t.hv.evtchn.evtchnSend(g.dom, g.rxPort[0]!);
    run(w, 50_000);
  }
  assert.is(atFatal.length, 1, 'disabled once');
  expectDisabled(w, g, /Cross page boundary/);
  teardown(w, g);
});

// ---- XSA-155 --------------------------------------------------------------------------------------------------

/** A mixed workload whose build phase pushes responses (zero-size slots, drops) between slot reads. */
function workload155(g: TestGuest): void {
  for (let i = 0; i < 12; i++) {
    g.sendPacket(frame(600 + 97 * i, i + 1), { layout: [{ size: 300 + 97 * i, offset: 7 * i }, { size: 0 }, { size: 300 }], push: false });
    if (i % 3 === 0) g.sendPacket(frame(13, 50 + i), { push: false });
    if (i % 4 === 1) g.sendPacket(frame(2000, 70 + i, { tcp: true }), { gso: { size: 500, type: XEN_NETIF_GSO_TYPE_TCPV4 }, layout: [{ size: 1000 }, { size: 1000 }], push: false });
    if (i % 2 === 0) g.pushTx();
  }
  g.pushTx();
}

test('XSA-155: slot bytes rewritten at every barrier after the backend read them change nothing it does (each slot is read once)', () => {
  for (const strategy of SOUND_STRATEGIES) {
    const outcome = (corrupt: boolean) => {
      const { w, g } = hostileSetup(strategy);
      const corrupter = new RingSlotCorrupter(g.vif.queues[0]!.tx!, { prng: new Prng(155), rate: corrupt ? 1 : 0, window: 'consumed', bytesPerHit: 24 });
      corrupter.install();
      workload155(g);
      run(w, 5_000_000);
      // NULL slots carry only a status: their id bytes are whatever the guest (or the corrupter) left there.
      const rsp = g.txResponses().map((r) => (r.status === NULL ? `null` : `${r.id}:${r.status}`));
      const frames = w.frames.map((f) => [...f].join(','));
      const hits = corrupter.hits;
      corrupter.uninstall();
      assert.not.ok(g.vif.disabled);
      teardown(w, g);
      return { rsp, frames, hits };
    };
    const clean = outcome(false);
    const hostile = outcome(true);
    assert.ok(hostile.hits > 10, `${strategy}: the corrupter struck (${hostile.hits} times)`);
    assert.equal(hostile.rsp, clean.rsp, `${strategy}: the same answers`);
    assert.equal(hostile.frames, clean.frames, `${strategy}: the same bytes to the stack`);
  }
});

// ---- XSA-216 --------------------------------------------------------------------------------------------------

test('XSA-216: every byte netback writes into a response slot is defined: TX writes only id and status (NULL slots only status), RX writes whole slots', () => {
  const { w, g } = hostileSetup('hybrid');
  const tx = g.tx[0]!;
  const start = tx.reqProdPvt;
  g.sendPacket(frame(1500, 1, { tcp: true }), { gso: { size: 700, type: XEN_NETIF_GSO_TYPE_TCPV4 }, layout: [{ size: 1000 }, { size: 500 }], push: false });
  g.sendPacket(frame(10, 2), { push: false });
  const n = (tx.reqProdPvt - start) >>> 0;
  const before: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const at = tx.entries + ((start + i) & 255) * tx.entrySize;
    before.push(tx.page.bytes.slice(at, at + tx.entrySize));
  }
  g.pushTx();
  run(w);
  const rsp = g.txResponses();
  assert.equal(rsp.map((r) => r.status).sort(), [OK, NULL, OK, ERR].sort());
  for (let i = 0; i < n; i++) {
    const at = tx.entries + ((start + i) & 255) * tx.entrySize;
    const now = tx.page.bytes.slice(at, at + tx.entrySize);
    const keep = rsp[i]!.status === NULL ? [0, 1, 4, 5, 6, 7, 8, 9, 10, 11] : [4, 5, 6, 7, 8, 9, 10, 11];
    for (const b of keep) assert.is(now[b], before[i]![b], `TX slot ${i} byte ${b}: left as the guest wrote it`);
  }
  // RX: the requests' pad bytes are poison; every byte of each response slot must be netback's.
  const rx = g.rx[0]!;
  const rxStart = rx.reqProdPvt;
  g.postRx(4);
  for (let i = 0; i < 4; i++) rx.page.view.setUint16(rx.entries + ((rxStart + i) & 255) * rx.entrySize + 2, 0xa5a5, true);
  const skb = stackSkb(w, 3000, 3);
  skb.shinfo.gsoSize = 1000;
  skb.shinfo.gsoType = SKB_GSO_TCPV4;
  g.vif.ndoStartXmit(skb);
  run(w);
  const got = g.rxResponses();
  assert.is(got.length, 2, 'one data slot and the GSO extra');
  const first = got[0]!.rsp;
  assert.equal([first.offset, first.status], [0, 3000]);
  assert.is(first.flags & NETRXF_extra_info, NETRXF_extra_info);
  const x = got[1]!.extra;
  assert.equal([x.type, x.flags, x.u.gso.size, x.u.gso.type, x.u.gso.pad, x.u.gso.features], [XEN_NETIF_EXTRA_TYPE_GSO, 0, 1000, XEN_NETIF_GSO_TYPE_TCPV4, 0, 0]);
  for (const { idx } of got) {
    const at = rx.entries + (idx & 255) * rx.entrySize;
    assert.not.equal(rx.page.view.getUint16(at + 2, true), 0xa5a5, `RX slot ${idx}: the pad poison was overwritten`);
  }
  teardown(w, g);
});

// ---- XSA-270 --------------------------------------------------------------------------------------------------

test('XSA-270: netback has no control ring: it never advertises feature-ctrl-ring and never maps a ring a frontend offers as ctrl-ring-ref', () => {
  // Not modelled: SET_HASH_MAPPING's bounds checks (there is no control ring to send it on); this test holds
  // the line that makes the advisory unreachable.
  const w = nbWorld({ hold: false });
  const g = new TestGuest(w);
  assert.is(xenbusRead(w.t.hv.xs, 0, XBT_NIL, g.bePath, 'feature-ctrl-ring'), undefined);
  const frameNo = g.allocFrame();
  const ref = g.dom.gnttab.gnttabGrantForeignAccess(0, frameNo, false);
  g.write('ctrl-ring-ref', ref);
  g.write('event-channel-ctrl', 77);
  const spy = spyGrantOps(w);
  g.connect();
  assert.not.ok(spy.maps.some((m) => m.ref === ref), 'the offered control ring is never mapped');
  assert.is(g.grantBusy(ref), 0);
  g.sendPacket(frame(100, 1));
  run(w);
  assert.equal(statuses(g), [OK]);
  assert.ok(g.dom.gnttab.gnttabTryEndForeignAccess(ref));
  g.freeFrame(frameNo);
  teardown(w, g);
});

// ---- XSA-331 / XSA-441 ----------------------------------------------------------------------------------------

test('XSA-331: once the vif\'s channels are unbound, an event already on its way runs no handler', () => {
  const { w, g } = hostileSetup();
  const q = g.vif.queues[0]!;
  // Events on both channels: delivered, the upcalls scheduled 1 µs ahead, not yet run.
  g.sendPacket(frame(200, 1));
  w.t.hv.evtchn.evtchnSend(g.dom, g.txPort[0]!);
  w.t.hv.evtchn.evtchnSend(g.dom, g.rxPort[0]!);
  const eois = q.stats.eois;
  const txResponses = q.stats.txResponses;
  // The guest closes; netback's watch runs at once (no virtual time passes): channels unbound, queues freed.
  g.switchState(5);
  w.t.hv.xs.processWatches();
  assert.is(g.vif.queues.length, 0, 'the queue is gone');
  run(w);
  assert.is(q.stats.eois, eois, 'no handler ran on the freed queue');
  assert.is(q.stats.txResponses, txResponses);
  teardown(w, g);
});

test('XSA-441: channel teardown while a storm is being delivered, over and over: no deadlock, no handler after close, clean audits', () => {
  const w = nbWorld({ hold: false });
  const g = new TestGuest(w);
  for (let cycle = 0; cycle < 5; cycle++) {
    g.connect();
    const storm = new EventStorm(w.t.hv.evtchn, g.dom, [g.txPort[0]!, g.rxPort[0]!]);
    storm.start(w.t.clock, 500, 20, 400);
    g.sendPacket(frame(300, cycle));
    run(w, 20_000);
    const q = g.vif.queues[0]!;
    g.switchState(5);
    w.t.hv.xs.processWatches();
    const eois = q.stats.eois;
    run(w, 100_000);
    assert.is(q.stats.eois, eois, `cycle ${cycle}: no handler after close`);
    storm.stop();
    g.close();
    assert.ok(storm.sent > 0);
  }
  for (const be of [...w.nb.backends.values()]) assert.is(be.vif?.queues.length ?? 0, 0);
  teardown(w);
});

// ---- XSA-332 --------------------------------------------------------------------------------------------------

test('XSA-332: an event storm on the TX and RX ports stays bounded by late EOI; the backend keeps serving, and another vif is unaffected', () => {
  const { w, g } = hostileSetup('hybrid', { hold: false });
  const good = netfrontGuest(w, 2);
  const q = g.vif.queues[0]!;
  const storm = new EventStorm(w.t.hv.evtchn, g.dom, [g.txPort[0]!, g.rxPort[0]!]);
  const eois0 = q.stats.eois;
  const rounds = 200;
  for (let i = 0; i < rounds; i++) {
    storm.burst(500);
    if (i % 10 === 0) g.sendPacket(frame(200, i));
    assert.ok(good.send(frame(300, i)));
    g.vif.ndoStartXmit(stackSkb(w, 200, i));                      // the stormer's own RX keeps flowing too
    good.be.vif!.ndoStartXmit(stackSkb(w, 400, i));
    if (i % 50 === 0) g.postRx(64);
    run(w, 20_000);
  }
  const handlerRuns = q.stats.eois - eois0;
  assert.is(storm.sent, rounds * 500);
  assert.ok(handlerRuns <= 3 * rounds, `late EOI bounds the handler runs: ${handlerRuns} for ${storm.sent} events`);
  assert.ok(q.stats.spuriousEois > rounds / 2, 'events without work are acknowledged spurious');
  assert.ok(w.t.dom0.ports.coalesced > storm.sent / 2, 'the storm merged in the pending bit');
  assert.is(statuses(g).filter((s) => s === OK).length, rounds / 10, 'the stormer\'s own packets still went through');
  assert.is(w.frames.length, rounds / 10 + rounds, 'every packet of both guests reached the stack');
  assert.is(good.received.length, rounds, 'the other guest received everything');
  assert.ok(g.rxResponses().length > 0, 'the stormer\'s RX still served');
  assert.not.ok(g.vif.disabled);
  good.remove();
  teardown(w, g);
});

// ---- XSA-349 --------------------------------------------------------------------------------------------------

test('XSA-349: a frontend flapping its state keeps one watch event queued in dom0; another vif still connects; nothing is dropped', () => {
  const { w, g } = hostileSetup('hybrid');
  const xs = w.t.hv.xs;
  const flap = new XenstoreFlapper(xs, 1, g.fe, 'state', [`${XenbusStateInitialised}`, `${XenbusStateConnected}`]);
  const mcast = new XenstoreFlapper(xs, 1, g.fe, 'request-multicast-control', ['0', '1']);
  flap.flap(20_000);
  mcast.flap(20_000);
  assert.ok(xs.pendingWatchEvents <= 4, `dom0's queue holds ${xs.pendingWatchEvents} events after 40 000 writes`);
  // Another guest comes up while the flood goes on, without anyone draining the queue in between.
  flap.start(w.t.clock, 1_000, 200, 2_000);
  const good = netfrontGuest(w, 2);
  flap.stop();
  assert.is(good.nf.state, XenbusStateConnected, 'the other guest connected');
  assert.is(xs.droppedEvents, 0, 'no event was dropped for want of room');
  assert.ok(xs.mergedEvents > 20_000);
  g.sendPacket(frame(100, 1));
  assert.ok(good.send(frame(100, 2)));
  run(w);
  assert.equal(statuses(g), [OK]);
  assert.is(w.frames.length, 2);
  good.remove();
  teardown(w, g);
});

test('XSA-349: while a disconnect waits for packets in the stack, a flapping frontend grows no queue in dom0', () => {
  const w = nbWorld({ strategy: 'map', hold: true });
  const g = new TestGuest(w);
  g.connect();
  g.sendPacket(frame(3000, 1));
  run(w);
  assert.is(w.held.length, 1, 'the stack holds a mapped packet');
  g.switchState(5);
  run(w);
  assert.not.equal(g.be.resumeTo, null, 'the disconnect waits');
  const flap = new XenstoreFlapper(w.t.hv.xs, 1, g.fe, 'state', ['1', '4', '3', '5']);
  for (let i = 0; i < 200; i++) {
    flap.flap(100);
    w.t.hv.xs.processWatches();
  }
  assert.ok(g.be.deferred.length <= 1, `deferred states: ${g.be.deferred.length}`);
  assert.ok(w.t.hv.xs.pendingWatchEvents <= 2);
  teardown(w, g);
});

// ---- XSA-361 / 362 / 367 --------------------------------------------------------------------------------------

test('XSA-361: a partly failed map batch holds handles only for the ops that succeeded, and unmaps exactly those, once', () => {
  const { w, g } = hostileSetup('map');
  const spy = spyGrantOps(w);
  const p1 = g.sendPacket(frame(3000, 1), { layout: [{ size: 1000 }, { size: 1000 }, { size: 1000 }], push: false });
  const p2 = g.sendPacket(frame(500, 2), { push: false });
  const p3 = g.sendPacket(frame(500, 3), { push: false });
  pokeTxSlot(g, p1.start + 1, 'gref', 0x7ffffff0);
  pokeTxSlot(g, p3.start, 'gref', 5000);
  g.pushTx();
  run(w);
  const ok = spy.maps.filter((m) => m.status === GNTST_okay);
  const dataMaps = ok.filter((m) => [...p1.grefs, ...p2.grefs, ...p3.grefs].includes(m.ref));
  assert.is(dataMaps.length, 3, 'p1 slots 1 and 3, p2');
  assert.equal(spy.violations, [], 'no handle unmapped that was not mapped, none twice');
  assert.is(spy.unmaps.length, 3, 'exactly the three good maps were unmapped');
  assert.is(spy.live.size, 0);
  assert.ok(spy.unmaps.every((u) => u.status === GNTST_okay));
  const byId = new Map(g.txResponses().map((r) => [r.id, r.status]));
  assert.equal(p1.ids.map((id) => byId.get(id)), [OK, ERR, OK]);
  assert.equal([byId.get(p2.ids[0]!), byId.get(p3.ids[0]!)], [OK, ERR]);
  expectIdle(g.vif.queues[0]!);
  teardown(w, g);
});

test('XSA-362: every kind of failing grant fails only its op: ERROR for that slot, the packet dropped, the backend serves the next one', () => {
  for (const strategy of SOUND_STRATEGIES) {
    const { w, g } = hostileSetup(strategy);
    const other = g.dom.gnttab.gnttabGrantForeignAccess(5, g.allocFrame(), true);        // made out to dom5
    const ended = g.dom.gnttab.gnttabGrantForeignAccess(0, g.allocFrame(), true);
    assert.ok(g.dom.gnttab.gnttabEndForeignAccessRef(ended));                              // granted, then ended
    const foreign = g.dom.gnttab.gnttabGrantForeignAccess(0, w.t.dom0.frames[0]!, true);  // a frame not the guest's
    const bad = [0x7fffffff, 6000, other, ended, foreign];
    for (const gref of bad) {
      const p = g.sendPacket(frame(2000, gref & 0xff), { layout: [{ size: 1000 }, { size: 1000 }], push: false });
      pokeTxSlot(g, p.start + 1, 'gref', gref);
      g.pushTx();
      run(w);
      const st = g.txResponses().map((r) => r.status);
      assert.equal(st.sort(), [ERR, OK].sort(), `${strategy}: gref ${gref}`);
    }
    assert.is(w.frames.length, 0);
    g.sendPacket(frame(400, 1));
    run(w);
    assert.equal(statuses(g), [OK]);
    assert.not.ok(g.vif.disabled);
    expectIdle(g.vif.queues[0]!);
    for (const r of [other, ended, foreign]) assert.ok(g.dom.gnttab.gnttabTryEndForeignAccess(r) || r === ended);
    teardown(w, g);
  }
});

test('XSA-367: map failures mixed with an allocation failure in the middle of a round leave a consistent pending ring and no double release', () => {
  for (const strategy of SOUND_STRATEGIES) {
    const { w, g } = hostileSetup(strategy);
    const failing = new FailingPageAllocator(w.env.pages);
    (w.env as unknown as { pages: PageAllocator }).pages = failing;
    const spy = spyGrantOps(w);
    const p1 = g.sendPacket(frame(3000, 1), { layout: [{ size: 1000 }, { size: 1000 }, { size: 1000 }], push: false });
    pokeTxSlot(g, p1.start + 1, 'gref', 0x7ffffff0);
    const p2 = g.sendPacket(frame(700, 2), { push: false });
    const p3 = g.sendPacket(frame(5000, 3), { push: false });
    failing.failAt.add(failing.calls + 1);            // the second head of the round: p2's
    g.pushTx();
    run(w);
    const rsp = g.txResponses();
    const count = new Map<number, number>();
    for (const r of rsp) count.set(r.id, (count.get(r.id) ?? 0) + 1);
    for (const id of [...p1.ids, ...p2.ids, ...p3.ids]) assert.is(count.get(id), 1, `${strategy}: id ${id} answered once`);
    assert.is(rsp.length, 3 + 1 + p3.ids.length);
    assert.is(new Map(rsp.map((r) => [r.id, r.status])).get(p2.ids[0]!), ERR);
    assert.is(failing.failed, 1);
    assert.is(w.frames.length, 1, `${strategy}: p3 delivered after the failed allocation`);
    assert.equal(spy.violations, [], 'no handle unmapped twice or unmapped unmapped');
    assert.is(spy.live.size, 0);
    expectIdle(g.vif.queues[0]!);
    (w.env as unknown as { pages: PageAllocator }).pages = failing.lower;
    teardown(w, g);
  }
});

// ---- XSA-392 --------------------------------------------------------------------------------------------------

test('XSA-392: a guest that posts no RX buffers gets at most 512 KiB queued per queue; the excess is dropped and counted', () => {
  const { w, g } = hostileSetup();
  const q = g.vif.queues[0]!;
  let sent = 0;
  for (let i = 0; i < 300; i++, sent++) g.vif.ndoStartXmit(stackSkb(w, 4000, i));
  run(w);
  assert.ok(q.rxQueueLen <= XENVIF_RX_QUEUE_BYTES + 4000, `queued ${q.rxQueueLen} bytes`);
  assert.is(q.rxQueue.count + q.stats.rxDropped, sent);
  assert.ok(q.stats.rxDropped >= sent - Math.ceil(XENVIF_RX_QUEUE_BYTES / 4000) - 1);
  assert.ok(q.rxQueueStopped);
  teardown(w, g);
});

test('XSA-392: with one free slot and a packet needing two (GSO extra), the stall is detected after 60 s and lifted when slots come', () => {
  const { w, g } = hostileSetup();
  const q = g.vif.queues[0]!;
  g.postRx(1);
  run(w);
  assert.ok(g.vif.up);
  // A GSO packet (data slot + extra) every 5 s: each is dropped at its 10 s drain deadline, never sent.
  for (let t = 0; t < 13; t++) {
    const skb = stackSkb(w, 3000, t);
    skb.shinfo.gsoSize = 1000;
    skb.shinfo.gsoType = SKB_GSO_TCPV4;
    g.vif.ndoStartXmit(skb);
    run(w);
    assert.is(q.rxSlotsNeeded, 2, 'needed counts the extra');
    if (t < 11) assert.ok(g.vif.up, `${t * 5} s: not yet stalled`);
    w.t.clock.advance(5 * NSEC_PER_SEC);
  }
  w.t.hv.evtchn.evtchnSend(g.dom, g.rxPort[0]!);
  run(w);
  assert.not.ok(g.vif.up, 'stalled after 60 s: carrier off');
  g.postRx(1);
  run(w);
  assert.ok(g.vif.up, 'carrier back once the needed slots are there');
  assert.is(g.rxResponses().length, 2);
  teardown(w, g);
});

test('XSA-392: a queued packet is dropped after the drain timeout: 10 s, or 30 ms without feature-rx-notify', () => {
  for (const [rxNotify, drainNs] of [[true, 10 * NSEC_PER_SEC], [false, 30 * NSEC_PER_MSEC]] as const) {
    const { w, g } = hostileSetup('hybrid', {}, { rxNotify });
    const q = g.vif.queues[0]!;
    g.vif.ndoStartXmit(stackSkb(w, 1000, 1));
    run(w);
    assert.is(q.rxQueue.count, 1);
    w.t.clock.advance(drainNs - 2 * NSEC_PER_MSEC);
    assert.is(q.rxQueue.count, 1, 'still queued just before the deadline');
    w.t.clock.advance(4 * NSEC_PER_MSEC);
    run(w);
    assert.is(q.rxQueue.count, 0, 'dropped at the deadline');
    assert.is(q.stats.rxDropped, 1);
    teardown(w, g);
  }
});

// ---- XSA-423 / 432 / 448 --------------------------------------------------------------------------------------

test('XSA-423: a 14-byte first slot with the headers in later slots: the linear area holds min(128, total) bytes, copied across slots', () => {
  for (const strategy of ['copy', 'hybrid', 'zerocopy'] as const) {
    for (const total of [100, 214, 1514]) {
      const w = nbWorld({ strategy, hold: true });
      const g = new TestGuest(w);
      g.connect();
      const data = frame(total, 3, { tcp: true });
      const rest = total - 14;
      const layout = [{ size: 14 }, { size: Math.min(rest, 20) }, ...(rest > 20 ? [{ size: rest - 20 }] : [])];
      g.sendPacket(data, { layout });
      run(w);
      assert.is(w.held.length, 1);
      const skb = w.held[0]!;
      const linear = skbHeadlen(skb) + (skb.data - skb.macHeader);
      const want = strategy === 'copy' ? total : Math.min(128, total);
      assert.ok(linear >= want, `${strategy} ${total}: ${linear} linear bytes, want ≥ ${want}`);
      assert.equal([...w.frames[0]!], [...data]);
      teardown(w, g);
    }
  }
});

test('XSA-432: 17 follow-on slots with a total under 128 bytes, and 16..20: no overflow, whole slots copied, every slot answered once', () => {
  for (const strategy of SOUND_STRATEGIES) {
    for (const follow of [16, 17, 18, 19, 20]) {
      const { w, g } = hostileSetup(strategy);
      const spy = spyGrantOps(w);
      const total = 14 + 6 * follow;
      const data = frame(total, follow);
      g.sendPacket(data, { layout: [{ size: 14 }, ...Array.from({ length: follow }, () => ({ size: 6 }))] });
      run(w);
      const st = statuses(g);
      assert.is(st.length, follow + 1, `${strategy} ${follow}: every slot answered once`);
      if (follow <= 18) {
        assert.is(w.frames.length, 1);
        assert.equal([...w.frames[0]!], [...data]);
        assert.ok(st.every((s) => s === OK));
      } else {
        assert.ok(st.every((s) => s === ERR), `${follow} follow-on slots: dropped`);
        assert.not.ok(g.vif.disabled);
      }
      assert.ok(spy.copies.every((c) => c.status === GNTST_okay && c.offset + c.len <= 4096));
      teardown(w, g);
    }
  }
});

test('XSA-448: a zero-size follow-on slot is answered OKAY at once without touching its gref, wherever it sits in the packet', () => {
  for (const strategy of SOUND_STRATEGIES) {
    const w = nbWorld({ strategy, hold: true });
    const g = new TestGuest(w);
    g.connect();
    const spy = spyGrantOps(w);
    const a = g.grantData(frame(600, 1), 0);
    const b = g.grantData(frame(900, 2), 0);
    g.putTx({ gref: a.ref, flags: NETTXF_more_data, id: 1, size: 1500 });   // first slot: 600 of its own
    g.putTx({ gref: 0xdeadbeef, offset: 4095, flags: NETTXF_more_data, id: 2, size: 0 });
    g.putTx({ gref: b.ref, flags: NETTXF_more_data, id: 3, size: 900 });
    g.putTx({ gref: 0xfeedface, offset: 4096, flags: 0, id: 4, size: 0 });
    g.pushTx();
    run(w);
    assert.is(w.held.length, 1, 'the packet is in the stack');
    const early = new Map(g.txResponses().map((r) => [r.id, r.status]));
    assert.is(early.get(2), OK, `${strategy}: the zero-size slot is answered while the packet is held`);
    assert.is(early.get(4), OK);
    const touched = [...spy.copies.map((c) => c.ref), ...spy.maps.map((m) => m.ref)];
    assert.not.ok(touched.includes(0xdeadbeef) || touched.includes(0xfeedface), 'its gref never reached the hypervisor');
    assert.not.ok(g.vif.disabled);
    teardown(w, g);
  }
});

// ---- XSA-424 --------------------------------------------------------------------------------------------------

test('XSA-424: a drop on the full RX queue frees outside the queue: a destructor that transmits again finds it consistent', () => {
  const { w, g } = hostileSetup();
  const q = g.vif.queues[0]!;
  while (!q.rxQueueStopped) g.vif.ndoStartXmit(stackSkb(w, 4000, q.rxQueue.count));
  const queued = q.rxQueue.count;
  const dropped = q.stats.rxDropped;
  let reentered = 0;
  const victim = stackSkb(w, 1000, 7);
  victim.destructor = () => {
    reentered++;
    g.vif.ndoStartXmit(stackSkb(w, 1000, 8));          // re-enters xmit while the first drop is being freed
  };
  g.vif.ndoStartXmit(victim);
  assert.is(reentered, 1);
  assert.is(q.stats.rxDropped, dropped + 2, 'both dropped and counted');
  assert.is(q.rxQueue.count, queued, 'the queue is as it was');
  let len = 0;
  for (let i = 0; i < q.rxQueue.count; i++) len += q.rxQueue.skbs[(q.rxQueue.head + i) % q.rxQueue.skbs.length]!.len;
  assert.is(q.rxQueueLen, len, 'byte count consistent');
  g.postRx(256);
  run(w, 5_000_000);
  assert.ok(q.rxQueue.count < queued, 'the queue drains once buffers come');
  teardown(w, g);
});

// ---- RX headroom (found by the hostile suite) -----------------------------------------------------------------

test('XSA-392 (pvnet finding): an xdp-headroom past the page does not spin the guest-RX thread; the copy is refused and reported', () => {
  const w = nbWorld({ hold: false });
  const g = new TestGuest(w);
  g.write('xdp-headroom', 5000);
  g.connect();
  assert.is(g.vif.xdpHeadroom, 5000);
  g.postRx(8);
  const timers = timerCounter(w.t.clock);
  g.vif.ndoStartXmit(stackSkb(w, 500, 1));
  run(w);
  assert.ok(timers.fired < 100, `bounded: ${timers.fired} callbacks`);
  const rsp = g.rxResponses();
  assert.ok(rsp.length >= 1);
  assert.ok(g.vif.queues[0]!.stats.rxCopyErrors >= 1, 'the hypervisor refused the copy');
  assert.ok(rsp.some((r) => r.rsp.status === GNTST_bad_copy_arg), 'the guest sees the raw GNTST status');
  teardown(w, g);
});

test.run();
