import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { InvalidArgument } from '../../src/errors.ts';
import { GFP_ATOMIC } from '../../src/mm/gfp.ts';
import { PF_MEMALLOC, kswapdTask } from '../../src/mm/task.ts';
import { allocSkb, allocUbufInfo, kfreeSkb, skbPutData, skbReserve, skbZcopyInit } from '../../src/skb/index.ts';
import {
  ETH_P_8021Q,
  ETH_P_ARP,
  ETH_P_IPV6,
  NET_RX_DROP,
  NET_RX_SUCCESS,
  PacketType,
  RX_HANDLER_ANOTHER,
  RX_HANDLER_CONSUMED,
  RX_RESERVE_NAIVE,
  SOCK_DGRAM,
  SOCK_MEMALLOC,
  devAddPack,
  enqueueToBacklog,
  ethTypeTrans,
  netdevAllocSkbRx,
  netifReceiveSkb,
  netifRx,
  packetSocketClose,
  packetSocketOpen,
  skClearMemalloc,
  skSetMemalloc,
  sockClose,
  sockCreate,
  sockDrain,
  sockFlag,
  type NetStack,
  type Sock,
} from '../../src/net/index.ts';
import { throwsType } from '../support/assert.ts';
import { end, frameBytes, netWorld, rxFrame, rxPaged, rxSkb, SinkDevice } from './fixtures.ts';

function setup(opts: Parameters<typeof netWorld>[0] = {}) {
  const w = netWorld(opts);
  const stack = w.a.stack;
  const dev = new SinkDevice('eth0', 2, 0x00163e000002);
  return { w, stack, dev };
}

/** A SOCK_MEMALLOC socket on another port, so the rules are active. */
function memallocSock(stack: NetStack, port = 999): Sock {
  const sk = sockCreate(stack, SOCK_DGRAM, port);
  skSetMemalloc(sk);
  return sk;
}

test('receive: an untagged UDP frame reaches the bound socket; a tap on the stack sees it too', () => {
  const { w, stack, dev } = setup();
  const sk = sockCreate(stack, SOCK_DGRAM, 2049);
  const tap = packetSocketOpen(stack);
  assert.is(netifReceiveSkb(stack, dev, rxFrame(stack)), NET_RX_SUCCESS);
  assert.is(sk.receiveQueue.qlen, 1);
  assert.is(tap.queued, 1);
  assert.is(tap.stats.cloned, 1, 'the tap holds a clone: the socket holds the original');
  assert.is(sk.receiveQueue.first!.len, 32, 'the socket gets the skb with data at the UDP payload');
  packetSocketClose(tap);
  sockClose(sk);
  end(w);
});

test('receive: while a memalloc socket exists a tagged skb skips the taps', () => {
  const { w, stack, dev } = setup();
  const ms = memallocSock(stack, 2049);
  const tap = packetSocketOpen(stack);
  netifReceiveSkb(stack, dev, rxFrame(stack, {}, true));
  assert.is(tap.stats.seen, 0);
  assert.is(stack.stats.rxTapsSkipped, 1);
  assert.is(ms.receiveQueue.qlen, 1, 'the memalloc socket got it');
  netifReceiveSkb(stack, dev, rxFrame(stack, {}, false));
  assert.is(tap.stats.seen, 1, 'an untagged skb still reaches the tap');
  packetSocketClose(tap);
  sockClose(ms);
  end(w);
});

test('receive: a tagged skb for an ordinary socket is freed by sk_filter within the same netif_receive_skb call', () => {
  const { w, stack, dev } = setup();
  const ms = memallocSock(stack);
  const flood = sockCreate(stack, SOCK_DGRAM, 2049, { readerBlocked: true, rcvbuf: 1 << 30 });
  const live = stack.env.liveSkbs;
  const pr = rxPaged(stack, frameBytes({ payload: new Uint8Array(1000).fill(7) }));
  pr.skb.pfmemalloc = true;
  assert.is(netifReceiveSkb(stack, dev, pr.skb), NET_RX_DROP);
  assert.is(stack.env.liveSkbs, live, 'nothing survives the call');
  assert.is(pr.log.destroyed, 1, "the guest page's destructor already fired");
  assert.is(flood.receiveQueue.qlen, 0);
  assert.is(flood.stats.pfmemallocDrops, 1);
  assert.is(stack.stats.dropPfmemallocFilter, 1);
  sockClose(flood);
  sockClose(ms);
  end(w);
});

test('receive: a memalloc socket accepts a tagged skb over the protocol memory limit (sk_rmem_schedule); an untagged one is refused', () => {
  const { w, stack, dev } = setup({ stack: { udpMemLimit: 100 } });
  const ms = memallocSock(stack, 2049);
  netifReceiveSkb(stack, dev, rxFrame(stack, {}, true));
  assert.is(ms.receiveQueue.qlen, 1);
  assert.ok(stack.udpMem.allocated > stack.udpMem.limit, 'the reserve traffic runs past the limit');
  netifReceiveSkb(stack, dev, rxFrame(stack, {}, false));
  assert.is(ms.receiveQueue.qlen, 1);
  assert.is(stack.stats.dropProtoMem, 1);
  sockDrain(ms);
  assert.is(stack.udpMem.allocated, 0, 'the charges come back when the reader frees');
  sockClose(ms);
  end(w);
});

test('receive: sk_rcvbuf still bounds a memalloc socket (Linux does not exempt it); its kernel reader keeps it drained', () => {
  const { w, stack, dev } = setup();
  const ms = sockCreate(stack, SOCK_DGRAM, 2049, { rcvbuf: 1 });
  skSetMemalloc(ms);
  netifReceiveSkb(stack, dev, rxFrame(stack, {}, true));
  netifReceiveSkb(stack, dev, rxFrame(stack, {}, true));
  assert.is(ms.receiveQueue.qlen, 1, 'rmem_alloc >= rcvbuf refuses the second');
  assert.is(ms.stats.rcvbufDrops, 1);
  sockClose(ms);
  end(w);
});

test('receive: a tagged skb whose protocol is not ARP, IPv4, IPv6 or 802.1Q is dropped and counted in rx_dropped', () => {
  const { w, stack, dev } = setup();
  const ms = memallocSock(stack, 2049);
  let reached = 0;
  devAddPack(stack, new PacketType(0x88cc, null, (skb) => { reached++; kfreeSkb(skb); return NET_RX_SUCCESS; }));
  netifReceiveSkb(stack, dev, rxFrame(stack, { proto: 0x88cc }, true));
  assert.is(reached, 0);
  assert.is(stack.stats.dropPfmemallocProto, 1);
  assert.is(dev.stats.rxDropped, 1);
  netifReceiveSkb(stack, dev, rxFrame(stack, { proto: 0x88cc }, false));
  assert.is(reached, 1, 'untagged, the same protocol is delivered');
  netifReceiveSkb(stack, dev, rxFrame(stack, { proto: ETH_P_ARP }, true));
  netifReceiveSkb(stack, dev, rxFrame(stack, { proto: ETH_P_IPV6 }, true));
  assert.is(stack.stats.arpRcv, 1);
  assert.is(stack.stats.ipv6Rcv, 1);
  assert.is(stack.stats.dropPfmemallocProto, 1, 'ARP and IPv6 pass the filter');
  sockClose(ms);
  end(w);
});

test('receive: an 802.1Q-tagged frame is untagged and its inner protocol decides (tagged skb, inner IPv4 delivered)', () => {
  const { w, stack, dev } = setup();
  const ms = memallocSock(stack, 2049);
  const inner = frameBytes();
  const b = new Uint8Array(inner.length + 4);
  b.set(inner.subarray(0, 12), 0);
  b.set([0x81, 0x00, 0x00, 0x05], 12);
  b.set(inner.subarray(12), 16);
  const skb = rxSkb(stack, b, true);
  assert.is(skb.protocol, ETH_P_8021Q);
  netifReceiveSkb(stack, dev, skb);
  assert.is(ms.receiveQueue.qlen, 1);
  const lldp = new Uint8Array(b);
  lldp.set([0x88, 0xcc], 16);
  netifReceiveSkb(stack, dev, rxSkb(stack, lldp, true));
  assert.is(stack.stats.dropPfmemallocProto, 1, 'an inner non-IP protocol is dropped after untagging');
  sockClose(ms);
  end(w);
});

test('receive: PF_MEMALLOC is set while a tagged skb is processed and restored afterwards', () => {
  const { w, stack, dev } = setup();
  const seen: boolean[] = [];
  const ms = sockCreate(stack, SOCK_DGRAM, 2049, { dataReady: () => seen.push((stack.ctx.current.flags & PF_MEMALLOC) !== 0) });
  skSetMemalloc(ms);
  netifReceiveSkb(stack, dev, rxFrame(stack, {}, true));
  netifReceiveSkb(stack, dev, rxFrame(stack, {}, false));
  assert.equal(seen, [true, false]);
  assert.is(stack.ctx.current.flags & PF_MEMALLOC, 0);
  // A task that already had PF_MEMALLOC keeps it.
  const prev = stack.ctx.switchTo(kswapdTask());
  netifReceiveSkb(stack, dev, rxFrame(stack, {}, true));
  assert.is(stack.ctx.current.flags & PF_MEMALLOC, PF_MEMALLOC);
  stack.ctx.switchTo(prev);
  sockClose(ms);
  end(w);
});

test('receive: a nested netif_receive_skb (an rx_handler re-injecting) saves and restores PF_MEMALLOC in turn', () => {
  const { w, stack, dev } = setup();
  const ms = memallocSock(stack, 2049);
  const upper = new SinkDevice('br0', 3, 0x00163e0000fe);
  const trace: string[] = [];
  const flag = () => ((stack.ctx.current.flags & PF_MEMALLOC) !== 0 ? 'on' : 'off');
  dev.rxHandler = (skb) => {
    trace.push(`outer ${flag()}`);
    netifReceiveSkb(stack, upper, skb);
    trace.push(`after inner ${flag()}`);
    return RX_HANDLER_CONSUMED;
  };
  netifReceiveSkb(stack, dev, rxFrame(stack, {}, true));
  trace.push(`after outer ${flag()}`);
  assert.equal(trace, ['outer on', 'after inner on', 'after outer off']);
  assert.is(ms.receiveQueue.qlen, 1);
  dev.rxHandler = null;
  sockClose(ms);
  end(w);
});

test('receive: with no memalloc socket a tagged skb is treated as untagged by the receive path (taps, protocols, no PF_MEMALLOC)', () => {
  const { w, stack, dev } = setup();
  const tap = packetSocketOpen(stack);
  let flagSeen = -1;
  devAddPack(stack, new PacketType(0x88cc, null, (skb) => { flagSeen = stack.ctx.current.flags & PF_MEMALLOC; kfreeSkb(skb); return NET_RX_SUCCESS; }));
  netifReceiveSkb(stack, dev, rxFrame(stack, { proto: 0x88cc }, true));
  assert.is(tap.stats.seen, 1);
  assert.is(flagSeen, 0);
  assert.is(stack.stats.rxPfmemalloc, 0);
  assert.is(stack.stats.dropPfmemallocProto, 0);
  packetSocketClose(tap);
  end(w);
});

test('receive: with no memalloc socket, sk_filter still refuses a tagged skb at an ordinary socket (it does not consult sk_memalloc_socks)', () => {
  const { w, stack, dev } = setup();
  const sk = sockCreate(stack, SOCK_DGRAM, 2049);
  netifReceiveSkb(stack, dev, rxFrame(stack, {}, true));
  assert.is(sk.receiveQueue.qlen, 0);
  assert.is(stack.stats.dropPfmemallocFilter, 1);
  sockClose(sk);
  end(w);
});

test("receive: rxReserveMode 'naive' (mode A′) applies no rule: taps and ordinary sockets take tagged skbs", () => {
  const { w, stack, dev } = setup({ stack: { rxReserveMode: RX_RESERVE_NAIVE } });
  const ms = memallocSock(stack);
  const sk = sockCreate(stack, SOCK_DGRAM, 2049);
  const tap = packetSocketOpen(stack);
  netifReceiveSkb(stack, dev, rxFrame(stack, {}, true));
  assert.is(sk.receiveQueue.qlen, 1);
  assert.is(tap.stats.seen, 1);
  assert.is(stack.stats.rxPfmemalloc, 0);
  packetSocketClose(tap);
  sockClose(sk);
  sockClose(ms);
  end(w);
});

test('receive: skSetMemalloc / skClearMemalloc switch sk_memalloc_socks, sk_allocation and the RX reserve entitlement', () => {
  const { w, stack } = setup();
  const a = sockCreate(stack, SOCK_DGRAM, 1);
  const b = sockCreate(stack, SOCK_DGRAM, 2);
  assert.is(stack.rxMemallocGfp(), 0);
  assert.not.ok(stack.env.memallocSocks());
  skSetMemalloc(a);
  skSetMemalloc(b);
  assert.is(stack.memallocSocks, 2);
  assert.ok(sockFlag(a, SOCK_MEMALLOC));
  assert.ok(stack.env.memallocSocks(), 'the skb layer sees the switch (SKB_ALLOC_RX adds __GFP_MEMALLOC)');
  throwsType(() => skSetMemalloc(a), InvalidArgument);
  skClearMemalloc(a);
  assert.is(stack.memallocSocks, 1);
  sockClose(b);
  assert.is(stack.memallocSocks, 0, 'closing a memalloc socket clears it');
  throwsType(() => skClearMemalloc(a), InvalidArgument);
  sockClose(a);
  end(w);
});

test('receive: netdevAllocSkbRx dips into the reserve only while a memalloc socket exists, and tags what it got from there', () => {
  const w = netWorld({ zone: true });
  const stack = w.a.stack;
  const held: number[] = [];
  for (;;) {
    const f = stack.env.pages.allocPage(GFP_ATOMIC);
    if (f < 0) break;
    held.push(f);
  }
  assert.is(netdevAllocSkbRx(stack, 1500), null, 'below the GFP_ATOMIC floor and no memalloc socket: no buffer');
  const ms = memallocSock(stack);
  const skb = netdevAllocSkbRx(stack, 1500);
  assert.ok(skb !== null);
  assert.ok(skb.pfmemalloc, 'the buffer came from the reserve and is tagged');
  kfreeSkb(skb);
  for (const f of held) stack.env.pages.putPage(f);
  const calm = netdevAllocSkbRx(stack, 1500)!;
  assert.not.ok(calm.pfmemalloc, 'above the watermarks nothing is tagged');
  kfreeSkb(calm);
  sockClose(ms);
  end(w);
});

test('receive: the backlog admits netdev_max_backlog + 1 packets per CPU and drops beyond, counted', () => {
  const { w, stack, dev } = setup({ stack: { netdevMaxBacklog: 4 } });
  const sk = sockCreate(stack, SOCK_DGRAM, 2049, { rcvbuf: 1 << 30 });
  const r = [];
  for (let i = 0; i < 7; i++) r.push(netifRx(stack, dev, rxFrame(stack)));
  assert.equal(r, [0, 0, 0, 0, 0, 1, 1]);
  assert.is(stack.stats.dropBacklog, 2);
  assert.is(dev.stats.rxDropped, 2);
  assert.is(sk.receiveQueue.qlen, 0, 'nothing is processed before the softirq runs');
  w.clock.runUntilIdle(100);
  assert.is(sk.receiveQueue.qlen, 5);
  sockClose(sk);
  end(w);
});

test('receive: process_backlog handles at most dev_weight packets a round, in softirq context, on its CPU', () => {
  const { w, stack, dev } = setup({ stack: { devWeight: 2, nrCpus: 2 } });
  const ctxSeen: string[] = [];
  const sk = sockCreate(stack, SOCK_DGRAM, 2049, { dataReady: () => ctxSeen.push(`${stack.ctx.inServingSoftirq()}@${stack.ctx.cpu}`) });
  for (let i = 0; i < 5; i++) enqueueToBacklog(stack, dev, rxFrame(stack), 1);
  w.clock.runUntilIdle(100);
  assert.is(stack.stats.backlogPolls, 3);
  assert.equal(ctxSeen, ['true@1', 'true@1', 'true@1', 'true@1', 'true@1']);
  assert.is(stack.ctx.cpu, 0);
  assert.is(stack.ctx.softirq, 0);
  const stray = rxFrame(stack);
  throwsType(() => enqueueToBacklog(stack, dev, stray, 5), InvalidArgument);
  kfreeSkb(stray);
  sockClose(sk);
  end(w);
});

test('receive: a device that is down drops; a protocol with no handler is dropped as rx_nohandler', () => {
  const { w, stack, dev } = setup();
  dev.up = false;
  netifReceiveSkb(stack, dev, rxFrame(stack));
  assert.is(stack.stats.dropDevDown, 1);
  dev.up = true;
  netifReceiveSkb(stack, dev, rxFrame(stack, { proto: 0x1234 }));
  assert.is(stack.stats.dropNoHandler, 1);
  assert.is(dev.stats.rxDropped, 2);
  end(w);
});

test('receive: RX_HANDLER_ANOTHER is refused (pvnet has no skb->dev: re-inject and consume instead)', () => {
  const { w, stack, dev } = setup();
  dev.rxHandler = () => RX_HANDLER_ANOTHER;
  const skb = rxFrame(stack);
  throwsType(() => netifReceiveSkb(stack, dev, skb), InvalidArgument);
  kfreeSkb(skb);
  dev.rxHandler = null;
  end(w);
});

test('receive: a zerocopy skb delivered locally has its frags copied aside first and completes early (skb_orphan_frags_rx)', () => {
  const { w, stack, dev } = setup();
  const sk = sockCreate(stack, SOCK_DGRAM, 2049);
  const pr = rxPaged(stack, frameBytes({ payload: new Uint8Array(600).fill(3) }));
  const results: boolean[] = [];
  skbZcopyInit(pr.skb, allocUbufInfo(stack.env, (_u, ok) => results.push(ok)));
  netifReceiveSkb(stack, dev, pr.skb);
  assert.equal(results, [false], 'completed with success = false: the data was copied');
  assert.is(pr.log.destroyed, 1, 'the lent page is released while the packet sits on the socket');
  assert.is(sk.receiveQueue.qlen, 1);
  sockClose(sk);
  end(w);
});

test('receive: malformed frames of any shape are dropped and counted, never thrown', () => {
  const { w, stack, dev } = setup();
  const sk = sockCreate(stack, SOCK_DGRAM, 2049, { rcvbuf: 1 << 30 });
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 14, maxLength: 300 }), fc.integer({ min: 0, max: 299 }), fc.boolean(), (junk, cut, ip) => {
      const good = frameBytes({ payload: junk.subarray(0, 40) });
      const b = ip ? good.slice(0, Math.max(14, Math.min(cut, good.length))) : junk;
      if (ip && cut < good.length && cut > 20) b[cut % b.length]! ^= 0xff;
      const skb = allocSkb(stack.env, b.length + 64)!;
      skbReserve(skb, 64);
      skbPutData(skb, b);
      if (ethTypeTrans(skb) < 0) {
        kfreeSkb(skb);
        return;
      }
      const before = stack.stats.totalDrops() + sk.stats.queued + stack.stats.arpRcv + stack.stats.ipv6Rcv;
      netifReceiveSkb(stack, dev, skb);
      const after = stack.stats.totalDrops() + sk.stats.queued + stack.stats.arpRcv + stack.stats.ipv6Rcv;
      assert.is(after, before + 1, 'every frame ends exactly once: queued, consumed by a handler, or a counted drop');
    }),
    { numRuns: 500 },
  );
  sockDrain(sk);
  sockClose(sk);
  end(w);
});

test.run();
