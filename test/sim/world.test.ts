/**
 * The standard machine (src/sim/world.ts): building and connecting guests, sending real frames, the lifecycle
 * tracer and its checks (including that they do fire), the lent-page guard, capture, hosts, and the teardown
 * audit (clean when it should be, and not when something is left behind).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GTF_reading } from '../../src/abi/grant_table.ts';
import { XenbusStateConnected } from '../../src/abi/xenbus.ts';
import { PageFault } from '../../src/errors.ts';
import { packetSocketClose, packetSocketOpen, devQueueXmit } from '../../src/net/index.ts';
import { allocSkb, kfreeSkb, skbPutData, skbReserve } from '../../src/skb/index.ts';
import type { TraceEvent } from '../../src/sim/scenarios/index.ts';
import {
  checkTrace, guestAddr, guestMac, liveRefs, LifecycleTracer, World, DOM0_MAC,
} from '../../src/sim/world.ts';
import { buildFrame, headerLen, parseFrameSpec, payloadByte, payloadMismatches } from '../../src/sim/world/frames.ts';
import type { NetbackTraceEvent } from '../../src/drivers/netback/index.ts';

test('world: guests connect with their own strategies, vifs bridged, a clean teardown', () => {
  const w = new World({ guests: 3, strategy: ['copy', 'map', 'zerocopy'] });
  assert.equal(w.guests.map((g) => g.strategy), ['copy', 'map', 'zerocopy']);
  for (const g of w.guests) {
    assert.is(g.nf.state, XenbusStateConnected);
    assert.ok(g.vif.up);
    assert.is(g.vif.strategy, g.strategy);
    assert.is(g.mac, guestMac(g.domid));
    assert.is(g.addr, guestAddr(g.domid));
    assert.is(g.vif.rxHandler !== null, true, 'a bridge port');
  }
  assert.equal(w.counters().packets, 0);
  const r = w.teardown();
  assert.equal(r.findings, []);
  assert.is(r.closed, 3);
  assert.throws(() => w.teardown(), /twice/);
});

test('world: a paged frame crosses guest → netback → br0 → netback → guest byte for byte; the slot timeline is in order', () => {
  const events: TraceEvent[] = [];
  const w = new World({ strategy: 'map', trace: (e) => events.push(e) });
  const [a, b] = [w.guests[0]!, w.guests[1]!];
  const f = w.frame(a, b, 9000, { tag: 77 });
  const p = w.sendFrame(a, f, { tag: 77, headLen: headerLen('udp') })!;
  assert.is(p.tag, 77);
  assert.is(p.slots.length, 4, 'head + 3 page frags');
  assert.ok(p.slots.every((s) => s.page === `1:${s.frame}`));
  assert.ok(w.runUntilIdle());
  assert.is(b.received.length, 1);
  assert.equal([...b.received[0]!], [...f]);
  assert.ok(p.answeredAt > 0 && p.endedAt >= p.answeredAt);
  for (const s of p.slots) {
    const order = ['granted', 'requested', 'mapped', 'released', 'unmapped', 'answered', 'ended'];
    const at = order.map((k) => events.findIndex((e) => e.kind === k && e.page === s.page));
    assert.ok(at.every((i) => i >= 0), `${s.page}: every step traced`);
    assert.equal([...at].sort((x, y) => x - y), at, `${s.page}: ${order.join(' < ')}`);
    assert.ok(s.mapped && s.unmappedAt <= s.answeredAt && s.refsAtUnmap === 0);
  }
  const c = w.counters();
  assert.is(c.grantMaps, 4);
  assert.is(c.grantUnmaps, 4);
  assert.is(c.responses, 4);
  assert.is(c.maxGrantsMapped, 4);
  assert.ok(c.modelledNs > 0 && c.virtualNs > 0);
  assert.equal(w.teardown().findings, []);
  const t = checkTrace(events);
  assert.equal(t, { requests: 4, responses: 4, earlyUnmaps: 0, responsesBeforeUnmap: 0, doubleAnswers: 0, unanswered: 0, endFailures: 0 });
});

test('world: a 64 KiB GSO frame arrives as one GSO packet', () => {
  const w = new World({ strategy: 'hybrid' });
  const [a, b] = [w.guests[0]!, w.guests[1]!];
  const f = w.frame(a, b, 65535, { proto: 'tcp', partial: true });
  assert.ok(w.sendFrame(a, f, { gso: { size: 1448 } }));
  w.runUntilIdle();
  assert.equal([...b.received[0]!], [...f]);
  assert.equal(w.teardown().findings, []);
});

test('world: the lent-page guard faults a store into a page still granted or mapped, and allows it after', () => {
  const w = new World({ strategy: 'map' });
  const [a, b] = [w.guests[0]!, w.guests[1]!];
  const tap = packetSocketOpen(w.dom0.stack, { holdNs: Infinity });
  const page = w.guestAllocPage(a);
  const p = w.sendFrame(a, w.frame(a, b, 1000), { headLen: headerLen('udp'), pages: [page] })!;
  const x = new Uint8Array([1, 2, 3]);
  // Posted, netback has not run yet: the grant is live.
  assert.not.ok(w.guestWrite(a, page, 0, x));
  assert.match(w.faults[0]!.message, /not ended/);
  assert.instance(w.faults[0], PageFault);
  w.runUntilIdle();
  // The tap holds a clone: netback still maps the page, the guest's entry shows GTF_reading.
  const slot = p.slots.find((s) => s.frame === page)!;
  assert.ok((a.dom.grantTable.flagsOf(slot.ref) & GTF_reading) !== 0);
  assert.is(slot.answeredAt, -1);
  assert.not.ok(w.guestWrite(a, page, 0, x));
  assert.match(w.faults[1]!.message, /maps it/);
  // Forced, the store happens (a guest without the check) and is still recorded.
  assert.not.ok(w.guestWrite(a, page, 0, x, 0, 3, true));
  assert.is(w.faults.length, 3);
  packetSocketClose(tap);
  w.runUntilIdle();
  assert.ok(slot.answeredAt > 0 && slot.endOk);
  assert.ok(w.guestWrite(a, page, 0, x));
  assert.is(w.faults.length, 3);
  w.guestPutPage(a, page);
  assert.equal(w.teardown().findings, []);
});

test('world: the tracer counts an unmap with references left, a response before its unmap, a double answer', () => {
  const events: TraceEvent[] = [];
  let refs = 0;
  const life = new LifecycleTracer({ now: () => 5, mappedFrame: () => 42, liveRefs: () => refs, grantFrame: () => 42 }, (e) => events.push(e));
  const ev = (kind: NetbackTraceEvent['kind'], id: number): NetbackTraceEvent =>
    ({ kind, time: 5, domid: 1, devid: 0, queue: 0, pendingIdx: id, id, gref: 8 + id, status: 0, bytes: 0 });
  life.requested(1, 0, 0, 8, 100, null);
  life.requested(1, 0, 1, 9, 100, null);
  life.netback(ev('mapped', 0));
  life.netback(ev('mapped', 1));
  life.netback(ev('answered', 0)); // before its unmap
  refs = 1;
  life.netback(ev('unmapped', 0)); // a reference left
  refs = 0;
  life.netback(ev('unmapped', 1));
  life.netback(ev('answered', 1));
  life.netback(ev('answered', 1)); // twice
  assert.is(life.responsesBeforeUnmap, 1);
  assert.is(life.earlyUnmaps, 1);
  assert.is(life.doubleAnswers, 1);
  assert.ok(life.findings().some((f) => /still referenced/.test(f)));
  const t = checkTrace(events);
  assert.is(t.responsesBeforeUnmap, 1);
  assert.is(t.earlyUnmaps, 1);
  assert.is(t.doubleAnswers, 1);
  assert.is(t.unanswered, 0);
});

test('world: liveRefs counts head frames and frag slots of live sk_buffs', () => {
  const w = new World({ guests: 1 });
  const env = w.dom0.env;
  const skb = allocSkb(env, 100)!;
  const head = skb.shinfo.headFrames[0]!;
  assert.is(liveRefs(env, head), 1);
  kfreeSkb(skb);
  assert.is(liveRefs(env, head), 0);
  assert.equal(w.teardown().findings, []);
});

test('world: teardown reports what was left behind (a tap holding mapped pages, an skb)', () => {
  const w = new World({ strategy: 'map' });
  const [a, b] = [w.guests[0]!, w.guests[1]!];
  packetSocketOpen(w.dom0.stack, { holdNs: Infinity }); // never closed
  const stray = allocSkb(w.dom0.env, 64)!;
  w.sendFrame(a, w.frame(a, b, 5000));
  w.runUntilIdle();
  const f = w.teardown().findings;
  assert.ok(f.some((x) => /dom0 skb: sk_buff/.test(x)), f.join('\n'));
  assert.ok(f.some((x) => /still mapped|foreign mapping/.test(x)), f.join('\n'));
  assert.ok(f.some((x) => /never answered/.test(x)), f.join('\n'));
  kfreeSkb(stray);
});

test('world: capture sees every frame crossing a vif and a host link; the host gets what dom0 sends', () => {
  const seen: { t: number; len: number }[] = [];
  const wire: number[] = [];
  const w = new World({
    guests: 2, pcap: (t, _f, _o, len) => seen.push({ t, len }),
    hosts: [{ name: 'srv', delayNs: 1_000_000, observer: (_f, len) => wire.push(len) }],
  });
  const [a, b] = [w.guests[0]!, w.guests[1]!];
  w.sendFrame(a, w.frame(a, b, 1514));
  w.runUntilIdle();
  assert.is(seen.length, 2, 'vif1 ingress, guest 2 receive');
  assert.ok(seen.every((s) => s.len === 1514));
  const h = w.hosts[0]!;
  const frame = buildFrame({ srcMac: DOM0_MAC, dstMac: h.mac, saddr: 0x0a0000fe, daddr: h.addr, proto: 'udp', sport: 1, dport: 9, tag: 5, len: 200 });
  const skb = allocSkb(w.dom0.env, 256)!;
  skbReserve(skb, 32);
  skbPutData(skb, frame);
  const t0 = w.sched.now();
  devQueueXmit(w.dom0.stack, h.dom0Nic, skb);
  w.runUntilIdle();
  assert.equal(wire, [200]);
  assert.is(seen.length, 3);
  assert.ok(seen[2]!.t >= t0 + 1_000_000, 'the link delay');
  assert.is(h.nic.stats.rxPackets, 1);
  assert.equal(w.teardown().findings, []);
});

test('world: the same options and sends give the same trace', () => {
  const once = () => {
    const ev: TraceEvent[] = [];
    const w = new World({ strategy: 'hybrid', trace: (e) => ev.push(e), seed: 3 });
    const [a, b] = [w.guests[0]!, w.guests[1]!];
    for (const len of [60, 3000, 20000]) w.sendFrame(a, w.frame(a, b, len), { fragOff: w.prng.int(0, 4000) });
    w.runUntilIdle();
    w.teardown();
    return ev;
  };
  assert.equal(once(), once());
});

test('frames: built frames parse back, payload bytes carry tag and offset', () => {
  for (const proto of ['udp', 'tcp'] as const) {
    const spec = { srcMac: 1, dstMac: 2, saddr: 3, daddr: 4, proto, sport: 5, dport: 6, tag: 0x1234 };
    const f = buildFrame({ ...spec, len: 300 });
    assert.equal(parseFrameSpec(f, f.length), spec);
    assert.equal(parseFrameSpec(f, headerLen(proto) + 4), spec, 'a header prefix will do');
    const h = headerLen(proto);
    assert.is(payloadMismatches(f, h, f.length - h, 0x1234, 0), 0);
    assert.is(f[h + 10], payloadByte(0x1234, 10));
    f[h + 10]! ^= 1;
    assert.is(payloadMismatches(f, h, f.length - h, 0x1234, 0), 1);
  }
  assert.throws(() => buildFrame({ srcMac: 1, dstMac: 2, saddr: 3, daddr: 4, proto: 'udp', sport: 5, dport: 6, tag: 1, len: 59 }), /outside/);
});

test.run();
