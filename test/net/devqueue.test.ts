import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CHECKSUM_PARTIAL, skbPush } from '../../src/skb/index.ts';
import {
  DevQueue,
  LoopbackDevice,
  NullDevice,
  SOCK_DGRAM,
  devQueuePurge,
  devQueueXmit,
  emitUdpPartial,
  ETH_HLEN,
  IPV4_HLEN,
  newIpv4Hdr,
  newL4Hdr,
  parseIpv4,
  sockClose,
  sockCreate,
  sockRecv,
  wireLink,
  type NetStack,
} from '../../src/net/index.ts';
import { consumeSkb, skbToBytes, type SkBuff } from '../../src/skb/index.ts';
import { end, frameBytes, MAC_A, MAC_B, netWorld, rxPaged, rxSkb } from './fixtures.ts';

const US = 1000;

/** A frame the host sends: an skb with data at the Ethernet header. */
function txSkb(stack: NetStack, bytes: Uint8Array): SkBuff {
  const skb = rxSkb(stack, bytes);
  skbPush(skb, ETH_HLEN);
  return skb;
}

function dq(w: ReturnType<typeof netWorld>, opts: Partial<ConstructorParameters<typeof DevQueue>[0]> = {}) {
  return new DevQueue({ name: 'eth0', ifindex: 2, mac: MAC_A, clock: w.clock, ...opts });
}

test('devqueue: holds each skb (and its frag references) until it leaves the wire, then frees it', () => {
  const w = netWorld();
  const stack = w.a.stack;
  const nic = dq(w, { delayNs: 100 * US });
  const pr = rxPaged(stack, frameBytes({ payload: new Uint8Array(1000).fill(2) }));
  skbPush(pr.skb, ETH_HLEN);
  devQueueXmit(stack, nic, pr.skb);
  w.clock.runUntil(99 * US);
  assert.is(pr.log.destroyed, 0, 'still in the device queue');
  assert.is(nic.queue.qlen, 1);
  w.clock.runUntil(100 * US);
  assert.is(pr.log.destroyed, 1, 'TX completion released the page');
  assert.is(nic.stats.txPackets, 1);
  end(w);
});

test('devqueue: packets leave in order, one at a time, at the configured rate', () => {
  const w = netWorld();
  const stack = w.a.stack;
  const seen: [number, number][] = [];
  // 1500-byte frames at 12 Mbit/s: 1 ms each on the wire, after a 50 µs device delay.
  const nic = dq(w, { delayNs: 50 * US, rateBps: 12_000_000, observer: (f, len, t) => seen.push([f[ETH_HLEN + IPV4_HLEN + 8 + 0]!, t]) });
  for (let i = 0; i < 3; i++) devQueueXmit(stack, nic, txSkb(stack, frameBytes({ payload: new Uint8Array(1500 - 42).fill(i) })));
  w.clock.runUntilIdle(100);
  assert.equal(seen, [[0, 1050 * US], [1, 2050 * US], [2, 3050 * US]]);
  end(w);
});

test('devqueue: a full queue (txqueuelen) drops at enqueue and counts it', () => {
  const w = netWorld();
  const stack = w.a.stack;
  const nic = dq(w, { txqueuelen: 2, delayNs: 10 * US });
  for (let i = 0; i < 4; i++) devQueueXmit(stack, nic, txSkb(stack, frameBytes()));
  assert.is(nic.queue.qlen, 2);
  assert.is(nic.qdiscDrops, 2);
  assert.is(nic.stats.txDropped, 2);
  w.clock.runUntilIdle(10);
  end(w);
});

test('devqueue: the wire carries the bytes the pages hold at departure, with a checksum the NIC computed over them', () => {
  const w = netWorld();
  const sa = w.a.stack;
  const sb = w.b.stack;
  const nicA = dq(w, { delayNs: 500 * US });
  const nicB = new DevQueue({ name: 'eth0', ifindex: 2, mac: MAC_B, clock: w.clock });
  wireLink(nicA, sa, nicB, sb);
  const sk = sockCreate(sb, SOCK_DGRAM, 2049);
  // A UDP datagram whose payload is a page frag, checksum left to the device (CHECKSUM_PARTIAL).
  const bytes = frameBytes({ payload: new Uint8Array(800).fill(0x11) });
  const ip = newIpv4Hdr();
  parseIpv4(bytes, ETH_HLEN, bytes.length - ETH_HLEN, ip);
  emitUdpPartial(bytes, ETH_HLEN + IPV4_HLEN, ip, { ...newL4Hdr(), sport: 4000, dport: 2049 }, 800);
  const pr = rxPaged(sa, bytes, ETH_HLEN + IPV4_HLEN + 8);
  skbPush(pr.skb, ETH_HLEN);
  pr.skb.ipSummed = CHECKSUM_PARTIAL;
  pr.skb.csumStart = pr.skb.data + ETH_HLEN + IPV4_HLEN;
  pr.skb.csumOffset = 6;
  devQueueXmit(sa, nicA, pr.skb);
  // The lender rewrites its page while the packet waits in the slow device queue.
  sa.env.mem.write(sa.env.domid, pr.page, 0, new Uint8Array(800).fill(0x22), 0, 800);
  w.clock.runUntilIdle(100);
  const got = sockRecv(sk)!;
  assert.ok(got !== null, 'the receiver verified the checksum: it matches the rewritten bytes');
  assert.equal([...skbToBytes(got)].slice(0, 4), [0x22, 0x22, 0x22, 0x22], 'the new contents went out');
  consumeSkb(got);
  assert.is(sb.stats.dropCsum, 0);
  sockClose(sk);
  end(w);
});

test('devqueue: an observer may rewrite the departing bytes; the peer receives what it left (corruption on the wire)', () => {
  const w = netWorld();
  const sa = w.a.stack;
  const sb = w.b.stack;
  const nicA = dq(w, { observer: (f, len) => { f[len - 1]! ^= 0xff; } });
  const nicB = new DevQueue({ name: 'eth0', ifindex: 2, mac: MAC_B, clock: w.clock });
  wireLink(nicA, sa, nicB, sb);
  const sk = sockCreate(sb, SOCK_DGRAM, 2049);
  devQueueXmit(sa, nicA, txSkb(sa, frameBytes()));
  w.clock.runUntilIdle(100);
  assert.is(sk.receiveQueue.qlen, 0);
  assert.is(sb.stats.dropCsum, 1, 'a software checksum catches it');
  sockClose(sk);
  end(w);
});

test('devqueue: a peer without receive buffers loses the frame in hardware (rx_dropped)', () => {
  const w = netWorld({ frames: 64 });
  const sa = w.a.stack;
  const sb = w.b.stack;
  const nicA = dq(w);
  const nicB = new DevQueue({ name: 'eth0', ifindex: 2, mac: MAC_B, clock: w.clock });
  wireLink(nicA, sa, nicB, sb);
  const held: number[] = [];
  for (let f = sb.env.pages.allocPage(0); f >= 0; f = sb.env.pages.allocPage(0)) held.push(f);
  devQueueXmit(sa, nicA, txSkb(sa, frameBytes()));
  w.clock.runUntilIdle(100);
  assert.is(nicB.stats.rxDropped, 1);
  for (const f of held) sb.env.pages.putPage(f);
  end(w);
});

test('devqueue: purge frees what is queued; a down device drops at once', () => {
  const w = netWorld();
  const stack = w.a.stack;
  const nic = dq(w, { delayNs: 1000 * US });
  devQueueXmit(stack, nic, txSkb(stack, frameBytes()));
  devQueueXmit(stack, nic, txSkb(stack, frameBytes()));
  devQueuePurge(nic);
  assert.is(nic.queue.qlen, 0);
  nic.up = false;
  devQueueXmit(stack, nic, txSkb(stack, frameBytes()));
  assert.is(nic.stats.txDropped, 1);
  w.clock.runUntilIdle(10);
  assert.is(nic.stats.txPackets, 0);
  end(w);
});

test('devqueue: loopback delivers what it sends to its own stack through the backlog; the null device frees at once', () => {
  const w = netWorld();
  const stack = w.a.stack;
  const lo = new LoopbackDevice(stack);
  const sk = sockCreate(stack, SOCK_DGRAM, 2049);
  devQueueXmit(stack, lo, txSkb(stack, frameBytes()));
  assert.is(sk.receiveQueue.qlen, 0, 'not before the softirq');
  w.clock.runUntilIdle(10);
  assert.is(sk.receiveQueue.qlen, 1);
  const nul = new NullDevice('null0', 9);
  const live = stack.env.liveSkbs;
  devQueueXmit(stack, nul, txSkb(stack, frameBytes()));
  assert.is(stack.env.liveSkbs, live);
  assert.is(nul.stats.txPackets, 1);
  sockClose(sk);
  end(w);
});

test('devqueue: a frame too short for an Ethernet header is dropped by loopback, counted, not thrown', () => {
  const w = netWorld();
  const stack = w.a.stack;
  const lo = new LoopbackDevice(stack);
  const skb = rxSkb(stack, frameBytes());
  skb.len = 4;
  skb.tail = skb.data + 4;
  lo.ndoStartXmit(skb);
  assert.is(stack.stats.dropMalformed, 1);
  end(w);
});

test.run();
