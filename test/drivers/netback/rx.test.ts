/**
 * Guest RX (REFERENCE.md §2.4, §5.9): the stack transmits through the vif; netback grant-copies into the
 * buffers the guest posted, answers each in the slot of the request it consumed, caps its queue, reports a
 * failed copy with the raw GNTST status, drains and detects stalls in virtual time.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  NETRXF_csum_blank, NETRXF_data_validated, NETRXF_extra_info, NETRXF_more_data, XEN_NETIF_EXTRA_TYPE_GSO,
  XEN_NETIF_GSO_TYPE_TCPV4,
} from '../../../src/abi/netif.ts';
import { GNTCOPY_dest_gref, GNTCOPY_source_gref, GNTST_bad_gntref } from '../../../src/abi/grant_table.ts';
import { ringPushRequestsAndCheckNotify, ringPutRequest } from '../../../src/abi/ring.ts';
import { NSEC_PER_MSEC, NSEC_PER_SEC } from '../../../src/hv/clock.ts';
import { GFP_KERNEL } from '../../../src/mm/gfp.ts';
import {
  CHECKSUM_PARTIAL, SKB_GSO_TCPV4, allocSkb, skbAddRxFrag, skbPush, skbPutData, skbReserve, type SkBuff,
} from '../../../src/skb/index.ts';
import { XENVIF_RX_QUEUE_BYTES } from '../../../src/drivers/netback/index.ts';
import { nbWorld, TestGuest, run, frame, teardown, type NbWorld } from './support.ts';

/** A dom0 skb carrying `bytes`: `linear` bytes in the head, the rest in page frags of `fragSize`. */
function stackSkb(w: NbWorld, bytes: Uint8Array, linear = Math.min(bytes.length, 1000), fragSize = 3000): SkBuff {
  const skb = allocSkb(w.env, linear + 64)!;
  skbReserve(skb, 64);
  skbPutData(skb, bytes.subarray(0, linear));
  let i = 0;
  for (let at = linear; at < bytes.length; at += fragSize, i++) {
    const len = Math.min(fragSize, bytes.length - at);
    const page = w.pa.allocPage(GFP_KERNEL);
    w.t.hv.mem.write(0, page, 100, bytes.subarray(at, at + len), 0, Math.min(len, 3996));
    if (len > 3996) throw new Error('test frag too big');
    skbAddRxFrag(skb, i, page, 100, len, 4096);
  }
  return skb;
}

function received(g: TestGuest, qi = 0): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const { idx, rsp } of g.rxResponses(qi)) if (rsp.status > 0) parts.push(g.rxBytes(idx, rsp.offset, rsp.status, qi));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

test('netback: RX copies into the posted buffers and answers each in its own request slot', () => {
  const w = nbWorld();
  const g = new TestGuest(w);
  g.connect();
  g.postRx(3);
  const data = frame(6000, 1);
  g.vif.ndoStartXmit(stackSkb(w, data, 1000, 2500));
  run(w);
  const rsp = g.rxResponses();
  assert.is(rsp.length, 2);
  const posted = g.rxPosted[0]!;
  for (const { idx, rsp: r } of rsp) {
    assert.is(r.id, posted.get(idx)!.id, 'same-slot rule: the response sits in its request\'s slot');
    assert.is(r.offset, 0);
  }
  assert.is(rsp[0]!.rsp.status, 4096, 'the first status is that fragment\'s length only');
  assert.is(rsp[0]!.rsp.flags & NETRXF_more_data, NETRXF_more_data);
  assert.is(rsp[1]!.rsp.status, 6000 - 4096);
  assert.is(rsp[1]!.rsp.flags, 0);
  const bytes = new Uint8Array([...g.rxBytes(rsp[0]!.idx, 0, 4096), ...g.rxBytes(rsp[1]!.idx, 0, 1904)]);
  assert.equal([...bytes], [...data]);
  assert.ok((g.notified.get(g.rxPort[0]!) ?? 0) >= 1, 'the guest was notified');
  const s = g.vif.queueStats;
  assert.is(s.rxPackets, 1);
  assert.is(s.rxBytes, 6000);
  teardown(w, g);
});

test('netback: a GSO packet gets csum flags and its GSO extra in the slot after the first', () => {
  const w = nbWorld();
  const g = new TestGuest(w);
  g.connect();
  g.postRx(4);
  const data = frame(6000, 2, { tcp: true });
  const skb = stackSkb(w, data);
  skb.ipSummed = CHECKSUM_PARTIAL;
  skb.shinfo.gsoSize = 1448;
  skb.shinfo.gsoType = SKB_GSO_TCPV4;
  g.vif.ndoStartXmit(skb);
  run(w);
  const rsp = g.rxResponses();
  assert.is(rsp.length, 3);
  const f = rsp[0]!.rsp.flags;
  assert.is(f, NETRXF_csum_blank | NETRXF_data_validated | NETRXF_extra_info | NETRXF_more_data);
  assert.is(rsp[1]!.extra.type, XEN_NETIF_EXTRA_TYPE_GSO);
  assert.is(rsp[1]!.extra.u.gso.size, 1448);
  assert.is(rsp[1]!.extra.u.gso.type, XEN_NETIF_GSO_TYPE_TCPV4);
  assert.is(rsp[0]!.rsp.status + rsp[2]!.rsp.status, 6000);
  teardown(w, g);
});

test('netback: a packet waits for enough posted buffers, then goes when the guest posts more', () => {
  const w = nbWorld();
  const g = new TestGuest(w);
  g.connect();
  g.postRx(1);
  g.vif.ndoStartXmit(stackSkb(w, frame(6000, 3)));
  run(w);
  assert.equal(g.rxResponses(), []);
  g.postRx(1);
  run(w);
  assert.equal([...received(g)], [...frame(6000, 3)]);
  teardown(w, g);
});

test('netback: the guest-RX queue holds at most 512 KiB; beyond it packets are dropped and counted (XSA-392)', () => {
  const w = nbWorld();
  const g = new TestGuest(w);
  g.connect();
  for (let i = 0; i < 200; i++) g.vif.ndoStartXmit(stackSkb(w, frame(4000, i), 1000, 3000));
  const accepted = Math.ceil(XENVIF_RX_QUEUE_BYTES / 4000);
  const q = g.vif.queues[0]!;
  assert.is(q.stats.rxDropped, 200 - accepted);
  assert.is(g.vif.stats.txDropped, 200 - accepted);
  assert.ok(q.rxQueueLen >= XENVIF_RX_QUEUE_BYTES);
  // The drain timeout (10 s) drops what the guest never takes.
  w.t.clock.advance(11 * NSEC_PER_SEC);
  run(w);
  assert.is(q.stats.rxDropped, 200);
  assert.is(q.rxQueueLen, 0);
  teardown(w, g);
});

test('netback: a failed copy overwrites the response status with the raw GNTST code', () => {
  const w = nbWorld();
  const g = new TestGuest(w);
  g.connect();
  const r = g.rx[0]!;
  ringPutRequest(r, r.reqProdPvt, { id: 7, pad: 0, gref: 0x7fffffff });
  r.reqProdPvt = (r.reqProdPvt + 1) >>> 0;
  if (ringPushRequestsAndCheckNotify(r)) w.t.hv.evtchn.evtchnSend(g.dom, g.rxPort[0]!);
  g.vif.ndoStartXmit(stackSkb(w, frame(500, 4)));
  run(w);
  const rsp = g.rxResponses();
  assert.is(rsp.length, 1);
  assert.is(rsp[0]!.rsp.id, 7);
  assert.is(rsp[0]!.rsp.status, GNTST_bad_gntref);
  assert.is(g.vif.queueStats.rxCopyErrors, 1);
  teardown(w, g);
});

test('netback: without feature-rx-notify a packet the guest does not take is dropped after 30 ms', () => {
  const w = nbWorld();
  const g = new TestGuest(w, { rxNotify: false });
  g.connect();
  g.vif.ndoStartXmit(stackSkb(w, frame(500, 5)));
  run(w, 20 * NSEC_PER_MSEC);
  assert.is(g.vif.queueStats.rxDropped, 0);
  run(w, 15 * NSEC_PER_MSEC);
  assert.is(g.vif.queueStats.rxDropped, 1);
  teardown(w, g);
});

test('netback: a queue without posted slots for 60 s stalls (carrier off) and recovers when slots come', () => {
  const w = nbWorld({ rxDrainTimeoutMs: 120_000 });
  const g = new TestGuest(w);
  g.connect();
  assert.is(g.vif.up, true);
  g.vif.ndoStartXmit(stackSkb(w, frame(500, 6)));
  run(w);
  w.t.clock.advance(61 * NSEC_PER_SEC);
  g.vif.ndoStartXmit(stackSkb(w, frame(500, 7)));
  run(w);
  assert.is(g.vif.up, false, 'stalled: carrier off');
  assert.ok(g.vif.queues[0]!.stalled);
  g.postRx(2);
  run(w);
  assert.is(g.vif.up, true, 'slots again: carrier on');
  assert.is(g.rxResponses().length, 2);
  teardown(w, g);
});

test('netback: guest to guest, a mapped TX frag is copied gref to gref into the RX buffer, then answered', () => {
  let vifDev: { ndoStartXmit(skb: SkBuff): number } | null = null;
  const w = nbWorld({
    strategy: 'map',
    deliver: (skb) => {
      skbPush(skb, 14);
      vifDev!.ndoStartXmit(skb);
    },
  });
  const g = new TestGuest(w);
  g.connect();
  vifDev = g.vif;
  g.postRx(2);
  const hv = w.t.hv;
  const copy = hv.gnttabCopy.bind(hv);
  let grefToGref = 0;
  hv.gnttabCopy = (caller, ops, count) => {
    for (let i = 0; i < count; i++) if (ops[i]!.flags === (GNTCOPY_source_gref | GNTCOPY_dest_gref)) grefToGref++;
    return copy(caller, ops, count);
  };
  const data = frame(3000, 8);
  const p = g.sendPacket(data);
  run(w);
  hv.gnttabCopy = copy;
  assert.ok(grefToGref >= 1, 'the frag was copied from the sender\'s grant');
  assert.equal([...received(g)], [...data]);
  assert.equal(g.txResponses(), [{ id: p.ids[0]!, status: 0 }], 'answered once the RX copy freed the packet');
  teardown(w, g);
});

test.run();
