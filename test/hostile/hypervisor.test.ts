/**
 * REFERENCE.md §7.2: the hypervisor-side advisories and the eight tests derived from §4.5, driven where
 * possible the way a hostile guest reaches them in pvnet: through netback's grant ops on its slots. The
 * unit-level versions (one op at a time) are in test/hv/grant-map.test.ts and grant-copy.test.ts; these
 * put the same rules under a backend at work.
 *
 * Not modelled, one line each (the area does not exist in pvnet):
 * - XSA-226 / XSA-411: transitive grants are not implemented; a GTF_transitive entry is refused (tested).
 * - XSA-227: no page tables, so no GNTMAP_contains_pte / application_map path to escalate through.
 * - XSA-255 / XSA-268 / XSA-382: grant table v2 (status frames, v2→v1) is not implemented; v1 only.
 * - XSA-318 / XSA-379 / XSA-380: hypercalls run to completion, no preemption or continuation to mishandle.
 * - XSA-340 / XSA-342 / XSA-343: no vCPUs racing on allocation, no EVTCHNOP_reset; 342's detail is not recorded.
 * - XSA-358 / XSA-359: only the 2-level event-channel ABI; no FIFO queues.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  GNTST_bad_copy_arg, GNTST_bad_gntref, GNTST_bad_handle, GNTST_general_error, GNTST_okay, GTF_reading,
} from '../../src/abi/grant_table.ts';
import { XEN_NETIF_RSP_ERROR, XEN_NETIF_RSP_OKAY } from '../../src/abi/netif.ts';
import { EVTCHNSTAT_unbound } from '../../src/abi/event_channel.ts';
import { gnttabSetUnmapOp, newGnttabCopy, newUnmapGrantRef } from '../../src/hv/grant-ops.ts';
import { ENOSPC } from '../../src/hv/errno.ts';
import { xenbusPrintf } from '../../src/hv/xenbus.ts';
import { XBT_NIL } from '../../src/hv/xenstore.ts';
import { kfreeSkb } from '../../src/skb/index.ts';
import { GrantFlipper } from '../../src/sim/faults/index.ts';
import { busyFlags, mapOne, unmapOne } from '../hv/grant-helpers.ts';
import { testMachine } from '../support/machine.ts';
import { TestGuest, frame, hostileSetup, nbWorld, pokeTxSlot, run, stackSkb, statuses, teardown } from './support/fixtures.ts';

const OK = XEN_NETIF_RSP_OKAY;
const ERR = XEN_NETIF_RSP_ERROR;

// ---- the eight rules of §4.5 -----------------------------------------------------------------------------------

test('XSA-230 (§4.5 rule 1): GTF_reading shows while netback maps a slot and falls only after its unmap batch\'s flush', () => {
  const w = nbWorld({ strategy: 'map', hold: true });
  const g = new TestGuest(w);
  g.connect();
  const p = g.sendPacket(frame(3000, 1), { layout: [{ size: 1000 }, { size: 2000 }] });
  run(w);
  for (const ref of p.grefs) assert.is(busyFlags(g.dom, ref), GTF_reading, 'flagged while the stack holds it');
  const atFlush: number[][] = [];
  w.t.hv.testHooks.onTlbFlush = (domid) => {
    if (domid === 0) atFlush.push(p.grefs.map((r) => busyFlags(g.dom, r)));
  };
  kfreeSkb(w.held.pop()!);
  run(w);
  delete w.t.hv.testHooks.onTlbFlush;
  assert.equal(atFlush, [[GTF_reading, GTF_reading]], 'still flagged at the flush, though unmapped');
  for (const ref of p.grefs) assert.is(busyFlags(g.dom, ref), 0, 'clear after it');
  teardown(w, g);
});

test('XSA-396 (§4.5 rule 2): the guest\'s end-access fails while netback holds the slot, even after the guest scribbles its entry to 0', () => {
  const w = nbWorld({ strategy: 'map', hold: true });
  const g = new TestGuest(w);
  g.connect();
  const p = g.sendPacket(frame(1000, 1));
  run(w);
  const ref = p.grefs[0]!;
  assert.not.ok(g.dom.gnttab.gnttabEndForeignAccessRef(ref), 'end-access refused while pinned');
  // A hostile guest writes its flags to GTF_invalid behind the hypervisor's back: the pin is the truth.
  const flip = new GrantFlipper(g.dom);
  flip.apply(ref, 'end');
  assert.is(busyFlags(g.dom, ref), GTF_reading, 'the hypervisor\'s bit survives the scribble');
  assert.is(g.dom.grantTable.actPin[ref]! !== 0, true);
  flip.restore(ref);
  kfreeSkb(w.held.pop()!);
  run(w);
  assert.equal(statuses(g), [OK]);
  assert.ok(g.dom.gnttab.gnttabEndForeignAccessRef(ref), 'ends once the backend let go');
  g.dom.gnttab.gnttabGrantForeignAccessRef(ref, 0, g.txGrants.get(ref)!, true);
  teardown(w, g);
});

test('XSA-224 (§4.5 rule 3): a guest naming one gref in 200 held packets saturates its pin counter at 0x80: the rest get ERROR, pins return to 0', () => {
  const w = nbWorld({ strategy: 'map', hold: true });
  const g = new TestGuest(w);
  g.connect();
  const { ref } = g.grantData(frame(600, 1), 0);
  for (let i = 0; i < 200; i++) g.putTx({ gref: ref, id: i, size: 600 });
  g.pushTx();
  run(w, 5_000_000);
  const early = statuses(g);
  assert.is(w.held.length, 128, 'the host-read counter took 128 pins');
  assert.is(early.length, 72);
  assert.ok(early.every((s) => s === ERR), 'the rest refused: general_error → ERROR');
  assert.is(g.dom.grantTable.actPin[ref], 0x80 << 8);
  for (const skb of w.held.splice(0)) kfreeSkb(skb);
  run(w, 5_000_000);
  assert.is(statuses(g).length, 128);
  assert.is(g.dom.grantTable.actPin[ref], 0);
  assert.not.ok(g.vif.disabled);
  teardown(w, g);
});

test('XSA-295 (§4.5 rule 4): a guest flipping its entry at every pin attempt makes the map give up after 5 tries: ERROR, and the vif lives', () => {
  const { w, g } = hostileSetup('map');
  const p = g.sendPacket(frame(800, 1), { push: false });
  const attempts: number[] = [];
  const flip = new GrantFlipper(g.dom);
  const prev = w.t.hv.testHooks.beforePinCas;
  w.t.hv.testHooks.beforePinCas = (d, r, a) => {
    if (d === 1 && r === p.grefs[0]) attempts.push(a);
  };
  const stop = flip.flipDuringPin(w.t.hv, p.grefs);
  g.pushTx();
  run(w);
  stop();
  if (prev === undefined) delete w.t.hv.testHooks.beforePinCas;
  assert.equal(attempts, [0, 1, 2, 3, 4], 'five attempts, then general_error');
  assert.equal(statuses(g), [ERR]);
  assert.is(busyFlags(g.dom, p.grefs[0]!), 0);
  g.sendPacket(frame(800, 2));
  run(w);
  assert.equal(statuses(g), [OK], 'the same guest is served once it stops');
  teardown(w, g);
});

test('XSA-218 / XSA-234 (§4.5 rule 5): a stale, a double and a foreign handle give bad_handle; a mismatched address gives general_error and leaves the mapping', () => {
  const t = testMachine();
  const ref = t.guest.gnttab.gnttabGrantForeignAccess(0, t.guest.frames[0]!, true);
  const op = mapOne(t.hv, t.dom0, t.guest, ref);
  const wrong = newUnmapGrantRef();
  gnttabSetUnmapOp(wrong, op.host_addr + 4096, op.flags, op.handle);
  t.hv.gnttabUnmapGrantRef(t.dom0, [wrong], 1);
  assert.is(wrong.status, GNTST_general_error, 'XSA-234: the address must match the mapping');
  assert.ok(t.hv.mem.canRead(0, t.guest.frames[0]!), 'and the mapping stays');
  const u1 = newUnmapGrantRef();
  const u2 = newUnmapGrantRef();
  gnttabSetUnmapOp(u1, op.host_addr, op.flags, op.handle);
  gnttabSetUnmapOp(u2, op.host_addr, op.flags, op.handle);
  t.hv.gnttabUnmapGrantRef(t.dom0, [u1, u2], 2);
  assert.equal([u1.status, u2.status], [GNTST_okay, GNTST_bad_handle], 'XSA-218: a double unmap in one batch');
  assert.is(unmapOne(t.hv, t.dom0, op), GNTST_bad_handle, 'stale');
  // The guest cannot unmap dom0's handle: handles are per mapping domain.
  const op2 = mapOne(t.hv, t.dom0, t.guest, ref);
  const theirs = newUnmapGrantRef();
  gnttabSetUnmapOp(theirs, op2.host_addr, op2.flags, op2.handle);
  t.hv.gnttabUnmapGrantRef(t.guest, [theirs], 1);
  assert.is(theirs.status, GNTST_bad_handle);
  assert.is(busyFlags(t.guest, ref), GTF_reading);
  assert.is(unmapOne(t.hv, t.dom0, op2), GNTST_okay);
  assert.ok(t.guest.gnttab.gnttabTryEndForeignAccess(ref));
  t.audit();
});

test('§4.5 rule 6: copies crossing the page give bad_copy_arg (−10), outside a narrowed window general_error; netback never issues either from a valid slot', () => {
  const t = testMachine();
  const ref = t.guest.gnttab.gnttabGrantForeignAccess(0, t.guest.frames[0]!, true);
  const copy = (srcOff: number, dstOff: number, len: number) => {
    const op = newGnttabCopy();
    op.source.u.ref = ref;
    op.source.domid = 1;
    op.source.offset = srcOff;
    op.dest.u.gmfn = t.dom0.frames[0]!;
    op.dest.domid = 0x7ff0;
    op.dest.offset = dstOff;
    op.len = len;
    op.flags = 1;
    t.hv.gnttabCopy(t.dom0, [op], 1);
    return op.status;
  };
  assert.is(copy(4000, 0, 200), GNTST_bad_copy_arg);
  assert.is(copy(0, 4000, 200), GNTST_bad_copy_arg);
  assert.is(copy(4096, 0, 0), GNTST_okay, 'an empty copy at the end is fine');
  assert.is(busyFlags(t.guest, ref), 0, 'the failed ops left no pin');
  assert.ok(t.guest.gnttab.gnttabTryEndForeignAccess(ref));
  t.audit();
  // Under netback, every slot that passes validation gives in-page copies only (the spy would see −10).
  const { w, g } = hostileSetup('copy');
  const statusesSeen: number[] = [];
  const orig = w.t.hv.gnttabCopy.bind(w.t.hv);
  w.t.hv.gnttabCopy = (c, ops, n) => {
    const rc = orig(c, ops, n);
    for (let i = 0; i < n; i++) statusesSeen.push(ops[i]!.status);
    return rc;
  };
  for (const [size, offset] of [[4096, 0], [100, 3996], [14, 4082], [3000, 1096]] as const) {
    g.sendPacket(frame(size, size & 0xff), { layout: [{ size, offset }] });
  }
  run(w);
  assert.ok(statusesSeen.length > 0 && statusesSeen.every((s) => s === GNTST_okay));
  assert.equal(statuses(g), [OK, OK, OK, OK]);
  teardown(w, g);
});

test('XSA-232 (§4.5 rule 7): grefs at and past the table size give bad_gntref, for TX slots (ERROR) and RX buffers (raw −3 in the status)', () => {
  const { w, g } = hostileSetup('copy');
  const nr = g.dom.grantTable.nrEntries;
  for (const gref of [nr, nr + 1, 0xffffffff]) {
    const p = g.sendPacket(frame(300, 1), { push: false });
    pokeTxSlot(g, p.start, 'gref', gref);
    g.pushTx();
    run(w);
    assert.equal(statuses(g), [ERR], `TX gref ${gref}`);
  }
  // RX: a posted request naming a ref past the table.
  const rx = g.rx[0]!;
  const idx = rx.reqProdPvt;
  g.postRx(1);
  rx.page.view.setUint32(rx.entries + (idx & 255) * rx.entrySize + 4, nr + 5, true);
  g.vif.ndoStartXmit(stackSkb(w, 200));
  run(w);
  const rsp = g.rxResponses();
  assert.is(rsp.length, 1);
  assert.is(rsp[0]!.rsp.status, GNTST_bad_gntref);
  teardown(w, g);
});

test('XSA-227 area (§4.5 rule 8): a read-only RX buffer cannot be written (general_error in the status); a sub-page TX grant is never mapped but may be copied', () => {
  const { w, g } = hostileSetup('hybrid');
  // RX buffer granted read-only by a hostile guest.
  const rx = g.rx[0]!;
  const idx = rx.reqProdPvt;
  g.postRx(1);
  const posted = g.rxPosted[0]!.get(idx)!;
  g.dom.gnttab.gnttabGrantDowngradeReadonly(posted.ref);
  g.vif.ndoStartXmit(stackSkb(w, 200));
  run(w);
  assert.equal(g.rxResponses().map((r) => r.rsp.status), [GNTST_general_error]);
  assert.is(busyFlags(g.dom, posted.ref), 0);
  // TX: a sub-page grant (hybrid: 128 bytes copied, the rest mapped → the map fails).
  const flip = new GrantFlipper(g.dom);
  const p = g.sendPacket(frame(2000, 3), { push: false });
  flip.apply(p.grefs[0]!, 'sub-page');
  g.pushTx();
  run(w);
  assert.equal(statuses(g), [ERR], 'sub-page: never mappable');
  // Copy mode copies a sub-page grant whole (v1 has no window).
  const c = hostileSetup('copy');
  const p2 = c.g.sendPacket(frame(2000, 4), { push: false });
  new GrantFlipper(c.g.dom).apply(p2.grefs[0]!, 'sub-page');
  c.g.pushTx();
  run(c.w);
  assert.equal(statuses(c.g), [OK]);
  flip.restoreAll();
  teardown(w, g);
  teardown(c.w, c.g);
});

// ---- the listed advisories where pvnet models the area -----------------------------------------------------------

test('XSA-226: a transitive entry (not modelled as such) is refused for map and copy; the vif lives', () => {
  for (const strategy of ['copy', 'map'] as const) {
    const { w, g } = hostileSetup(strategy);
    const flip = new GrantFlipper(g.dom);
    const p = g.sendPacket(frame(500, 1), { push: false });
    flip.apply(p.grefs[0]!, 'transitive');
    g.pushTx();
    run(w);
    assert.equal(statuses(g), [ERR]);
    flip.restoreAll();
    teardown(w, g);
  }
});

test('XSA-228: a guest exhausting dom0\'s maptrack gets ERROR for the slots past it; handles stay unique and all come back', () => {
  const w = nbWorld({ strategy: 'map', hold: true });
  const g = new TestGuest(w);
  g.connect();
  // The toolstack gave dom0 one maptrack frame (256 handles); the rings took 2.
  (w.t.dom0.grantTable as { maxMaptrackFrames: number }).maxMaptrackFrames = 1;
  const filler = Array.from({ length: 60 }, (_, i) => g.grantData(frame(100, i), 0).ref);
  const fillerMaps = filler.map((r) => mapOne(w.t.hv, w.t.dom0, g.dom, r));
  assert.ok(fillerMaps.every((m) => m.status === GNTST_okay));
  for (let i = 0; i < 230; i++) g.sendPacket(frame(200, i), { push: i % 50 === 49 });
  g.pushTx();
  run(w, 5_000_000);
  const held = w.held.length;
  assert.is(held, 256 - 2 - 60, 'every handle in use');
  const refused = statuses(g);
  assert.is(refused.length, 230 - held);
  assert.ok(refused.every((s) => s === ERR));
  const dom0 = w.t.dom0.grantTable;
  const live = new Set<number>();
  for (let h = 0; h < dom0.maptrackLimit; h++) if (dom0.mtFlags[h] !== 0) live.add(h);
  assert.is(live.size, dom0.maptrackInUse, 'no handle handed out twice');
  for (const skb of w.held.splice(0)) kfreeSkb(skb);
  for (const m of fillerMaps) assert.is(unmapOne(w.t.hv, w.t.dom0, m), GNTST_okay);
  run(w, 5_000_000);
  assert.is(dom0.maptrackInUse, 2, 'only the rings');
  teardown(w, g);
});

test('XSA-236: a guest destroyed while netback maps its pages stays dying until the last unmap; its frames are not reused meanwhile', () => {
  const w = nbWorld({ strategy: 'map', hold: true });
  const g = new TestGuest(w);
  g.connect();
  const p = g.sendPacket(frame(5000, 1));
  run(w);
  assert.is(w.held.length, 1);
  const hv = w.t.hv;
  const guest = g.dom;
  hv.destroyDomain(guest);
  run(w, 1_000_000);
  assert.is(guest.state, 'dying', 'kept while mapped');
  for (const f of p.frames) assert.is(hv.mem.owner[f], 1, `frame ${f} still the dying guest's`);
  kfreeSkb(w.held.pop()!);
  run(w, 5_000_000);
  assert.is(guest.state, 'dead', 'reaped after netback unmapped');
  for (const be of [...w.nb.backends.values()]) assert.is(be.vif?.queues.length ?? 0, 0);
  assert.is(hv.mem.mappingsHeldBy(0), 0, 'netback let go of everything, rings included');
  w.audit.assertClean();
});

test('XSA-316: a map that fails after its pin CAS (a frame the guest does not own) leaves no flag or pin behind', () => {
  const { w, g } = hostileSetup('map');
  const flip = new GrantFlipper(g.dom);
  const p = g.sendPacket(frame(1500, 1), { layout: [{ size: 700 }, { size: 800 }], push: false });
  flip.apply(p.grefs[1]!, 'foreign-frame');
  g.pushTx();
  run(w);
  assert.equal(statuses(g).sort(), [OK, ERR].sort());
  for (const r of p.grefs) {
    assert.is(busyFlags(g.dom, r), 0);
    assert.is(g.dom.grantTable.actPin[r], 0);
  }
  flip.restoreAll();
  teardown(w, g);
});

test('XSA-317: a frontend advertising ports netback cannot bind (closed, foreign, out of range) fails the connect cleanly: nothing bound, nothing mapped', () => {
  for (const bad of [0, 4095, 70000, -1]) {
    const w = nbWorld({ hold: false });
    const g = new TestGuest(w);
    g.connect({ settle: false });
    xenbusPrintf(w.t.hv.xs, 1, XBT_NIL, g.fe, 'event-channel-tx', bad);
    run(w, 500_000);
    assert.match(g.be.fatalError?.message ?? '', bad < 0 ? /event-channel/ : /port tx/, `port ${bad}: xenbus_dev_fatal`);
    assert.is(g.vif.queues.length, 0, 'no queue left');
    assert.is(w.t.hv.mem.mappingsHeldBy(0), 0, 'no ring left mapped');
    teardown(w, g);
  }
  // Port exhaustion in the hypervisor: -ENOSPC, and the table stays consistent.
  const t = testMachine();
  let n = 0;
  while (t.hv.evtchn.evtchnAllocUnbound(t.guest, 0x7ff0, 0) > 0) n++;
  assert.is(n, 4095);
  assert.is(t.hv.evtchn.evtchnAllocUnbound(t.guest, 0x7ff0, 0), -ENOSPC);
  assert.is(t.guest.ports.bound, 4095);
  assert.is(t.hv.evtchn.evtchnClose(t.guest, 77), 0);
  assert.is(t.hv.evtchn.evtchnAllocUnbound(t.guest, 0x7ff0, 0), 77, 'the freed port is the next one');
  for (let p = 1; p < 4096; p++) t.hv.evtchn.evtchnClose(t.guest, p);
  t.audit();
});

test('XSA-338: a guest closing its end of netback\'s channels under it: sends and EOIs on the now-unbound ports fail quietly, teardown is clean', () => {
  const { w, g } = hostileSetup();
  const hv = w.t.hv;
  for (const p of new Set([g.txPort[0]!, g.rxPort[0]!])) {
    w.irq.unbindFromIrqhandler(g.dom, p);
    assert.is(hv.evtchn.evtchnClose(g.dom, p), 0);
  }
  const q = g.vif.queues[0]!;
  const st = hv.evtchn.evtchnStatus(w.t.dom0, 0x7ff0, q.txIrq);
  assert.is(typeof st === 'number' ? -1 : st.status, EVTCHNSTAT_unbound, 'netback\'s port went back to unbound');
  g.postRx(4);
  g.vif.ndoStartXmit(stackSkb(w, 200));
  g.sendPacket(frame(300, 1), { push: true });
  run(w, 5_000_000);
  assert.not.ok(g.vif.disabled);
  // The guest's later ports are new ones; TestGuest's close must not close them again.
  g.txPort[0] = hv.evtchn.evtchnAllocUnbound(g.dom, 0x7ff0, 0);
  g.rxPort[0] = g.txPort[0]!;
  w.irq.bindEvtchnToIrqhandler(g.dom, g.txPort[0]!, () => {});
  teardown(w, g);
});

test('XSA-344 / XSA-394: destroying a domain with every port bound, and unmapping 256 slots at once, are bounded (one flush per 32)', () => {
  const t = testMachine();
  for (let i = 0; i < 4095; i++) assert.ok(t.hv.evtchn.evtchnAllocUnbound(t.guest, 0x7ff0, 0) > 0);
  const extra = t.hv.createDomain({ domid: 2, frames: 8 });
  for (let i = 0; i < 4095; i++) assert.ok(t.hv.evtchn.evtchnAllocUnbound(extra, 0x7ff0, 1) > 0);
  t.hv.destroyDomain(extra);
  assert.is(extra.state, 'dead');
  for (let p = 1; p < 4096; p++) t.hv.evtchn.evtchnClose(t.guest, p);
  const refs = Array.from({ length: 256 }, (_, i) => t.guest.gnttab.gnttabGrantForeignAccess(0, t.guest.frames[i % 32]!, true));
  const maps = refs.map((r) => mapOne(t.hv, t.dom0, t.guest, r));
  const flushes = t.dom0.cost.tlbFlushes;
  const ops = maps.map((m) => {
    const u = newUnmapGrantRef();
    gnttabSetUnmapOp(u, m.host_addr, m.flags, m.handle);
    return u;
  });
  t.hv.gnttabUnmapGrantRef(t.dom0, ops, ops.length);
  assert.ok(ops.every((o) => o.status === GNTST_okay));
  assert.is(t.dom0.cost.tlbFlushes - flushes, 8);
  for (const r of refs) assert.ok(t.guest.gnttab.gnttabTryEndForeignAccess(r));
  t.audit();
});

test.run();
