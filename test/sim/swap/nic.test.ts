import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GFP_ATOMIC, GFP_KERNEL } from '../../../src/mm/gfp.ts';
import { allocSkb, skbPutData } from '../../../src/skb/alloc.ts';
import { FLOOD_HDR } from '../../../src/sim/swap/flood.ts';
import { SERVER_TO_CLIENT, UDP_HDRS, UdpHeaderWriter } from '../../../src/sim/swap/frames.ts';
import { NIC_QUEUE_DEFAULT, NIC_QUEUE_STORAGE } from '../../../src/sim/swap/nic.ts';
import { netRxSoftirq } from '../../../src/sim/swap/softirq.ts';
import type { SwapWorld } from '../../../src/sim/swap/world.ts';
import { endWorld, smallWorld } from './fixtures.ts';

/** A UDP frame from the block server to the swap client with `payload` bytes. */
function replyFrame(payload = 200): Uint8Array {
  const b = new Uint8Array(UDP_HDRS + payload);
  new UdpHeaderWriter().write(b, SERVER_TO_CLIENT, payload, true);
  return b;
}

function softirq(w: SwapWorld, cpu: number): number {
  return netRxSoftirq(w.ctx, w.nic, cpu, w.softirqTasks[cpu]!, null, w.checker);
}

test('nic: the storage flow is steered to queue 1 (ntuple), everything else to queue 0', () => {
  const w = smallWorld();
  assert.is(w.nic.steer(replyFrame()), NIC_QUEUE_STORAGE);
  assert.is(w.nic.steer(w.flood.ipFrame), NIC_QUEUE_DEFAULT);
  assert.is(w.nic.steer(w.flood.otherFrame), NIC_QUEUE_DEFAULT);
  endWorld(w);
});

test('nic: rings are full after ifup; a frame with no posted buffer is lost in hardware', () => {
  const w = smallWorld();
  const q = w.nic.queues[0]!;
  assert.is(q.posted, q.size);
  for (let i = 0; i < q.size; i++) assert.ok(w.nic.rx(w.flood.ipFrame, FLOOD_HDR, 1500));
  assert.is(q.room, 0);
  assert.not.ok(w.nic.rx(w.flood.ipFrame, FLOOD_HDR, 1500));
  assert.is(q.missed, 1);
  assert.is(w.nic.stats.rxDropped, 1);
  endWorld(w);
});

test('nic: net_rx_action takes at most netdev_budget frames in polls of B and refills after each poll', () => {
  const w = smallWorld();
  const q = w.nic.queues[0]!;
  for (let i = 0; i < q.size; i++) w.nic.rx(w.flood.ipFrame, FLOOD_HDR, 1500);
  const n = softirq(w, 0);
  assert.is(n, w.nic.netdevBudget);
  assert.is(q.filled, q.size - w.nic.netdevBudget);
  assert.is(q.posted, q.size, 'refilled');
  assert.is(w.floodSock.stats.queued, n, 'untagged flood datagrams reach the blocked socket');
  softirq(w, 0);
  assert.is(q.filled, 0);
  endWorld(w);
});

test('nic: a failed refill leaves descriptors empty, and the next frame for them is lost in hardware', () => {
  const w = smallWorld('off');
  const q = w.nic.queues[0]!;
  for (let i = 0; i < q.size; i++) w.nic.rx(w.flood.ipFrame, FLOOD_HDR, 1500);
  const hog: number[] = [];
  for (let f = w.zone.allocPage(GFP_KERNEL); f >= 0; f = w.zone.allocPage(GFP_KERNEL)) hog.push(f);
  for (let f = w.zone.allocPage(GFP_ATOMIC); f >= 0; f = w.zone.allocPage(GFP_ATOMIC)) hog.push(f);
  softirq(w, 0);
  assert.ok(q.refillFailures > 0);
  assert.ok(q.posted < q.size);
  const room = q.room;
  for (let i = 0; i <= room; i++) w.nic.rx(w.flood.ipFrame, FLOOD_HDR, 1500);
  assert.is(q.missed, 1);
  for (const f of hog) w.zone.putPage(f);
  endWorld(w);
});

test('nic: with rx_copybreak a small frame is copied into a napi-cache skb and its buffer is posted again', () => {
  const w = smallWorld('mainline', { rxCopybreak: 256 });
  const q = w.nic.queues[1]!;
  const frame = replyFrame();
  w.nic.rx(frame, frame.length, frame.length);
  const pages = w.zone.inUse;
  softirq(w, 1);
  assert.is(q.copybreak, 1);
  assert.is(q.posted, q.size, 'the buffer is back in the ring without a refill');
  assert.is(w.nic.napiCaches[1]!.stats.allocs, 1);
  assert.is(w.client.sock.receiveQueue.qlen, 1, 'the reply waits on swapSock for rpciod');
  assert.ok(w.zone.inUse >= pages);
  endWorld(w);
});

test('nic: transmit hands the headers to the wire and completes the skb at once', () => {
  const w = smallWorld();
  const seen: number[] = [];
  w.nic.wire = (_f, len, wireLen) => seen.push(len, wireLen);
  const skb = allocSkb(w.stack.env, 128)!;
  skbPutData(skb, new Uint8Array(100).fill(7));
  const live = w.stack.env.liveSkbs;
  w.nic.ndoStartXmit(skb);
  assert.equal(seen, [100, 100]);
  assert.is(w.stack.env.liveSkbs, live - 1);
  endWorld(w);
});

test('nic: ifup fills every ring from the per-CPU netdev caches', () => {
  const w = smallWorld();
  for (const q of w.nic.queues) assert.is(q.posted, q.size);
  assert.ok(w.nic.netdevCaches.every((c) => c.stats.allocs === w.nic.queues[0]!.size));
  assert.ok(w.nic.fill(GFP_KERNEL), 'full rings: nothing to do');
  endWorld(w);
});

test.run();
