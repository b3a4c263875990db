import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PcapWriter, readPcap } from '../../src/report/pcap.ts';
import { consumeSkb, kfreeSkb, skbToBytes } from '../../src/skb/index.ts';
import {
  NET_RX_SUCCESS,
  NullDevice,
  PacketType,
  SOCK_DGRAM,
  devAddPack,
  devQueueXmit,
  netifReceiveSkb,
  packetSocketClose,
  packetSocketOpen,
  sockClose,
  sockCreate,
  sockDrain,
  tapRecv,
} from '../../src/net/index.ts';
import { end, frameBytes, netWorld, rxFrame, rxPaged, rxSkb, SinkDevice } from './fixtures.ts';

const MS = 1_000_000;

test('tap: holds a clone that shares the frags: the guest page destructor waits for the tap, not for the socket', () => {
  const w = netWorld();
  const stack = w.a.stack;
  const dev = new SinkDevice('vif1.0', 2, 1);
  const sk = sockCreate(stack, SOCK_DGRAM, 2049);
  const tap = packetSocketOpen(stack);
  const pr = rxPaged(stack, frameBytes({ payload: new Uint8Array(1200).fill(4) }));
  netifReceiveSkb(stack, dev, pr.skb);
  assert.is(tap.stats.cloned, 1);
  assert.is(pr.dtor.ref, 1, 'one frag slot (one shared info) references the page');
  assert.is(pr.skb.shinfo.dataref, 2, 'the socket skb and the tap clone share the shared info');
  sockDrain(sk);
  assert.is(pr.log.destroyed, 0, 'the socket let go; the tap still holds the page');
  const held = tapRecv(tap)!;
  assert.equal([...skbToBytes(held)].slice(-4), [4, 4, 4, 4]);
  consumeSkb(held);
  assert.is(pr.log.destroyed, 1, 'the destructor fires when the tap releases');
  packetSocketClose(tap);
  sockClose(sk);
  end(w);
});

test('tap: with a hold time, each packet is read (freed) that long after it arrived, in order', () => {
  const w = netWorld();
  const stack = w.a.stack;
  const dev = new SinkDevice('eth0', 2, 1);
  const tap = packetSocketOpen(stack, { holdNs: 10 * MS });
  const logs: { destroyed: number }[] = [];
  for (let i = 0; i < 3; i++) {
    if (i > 0) w.clock.runUntil(w.clock.now() + 4 * MS);
    const pr = rxPaged(stack, frameBytes({ proto: 0x88b5 }));
    logs.push(pr.log);
    netifReceiveSkb(stack, dev, pr.skb);
  }
  // arrivals at 0, 4, 8 ms; reads at 10, 14, 18 ms.
  assert.equal(logs.map((l) => l.destroyed), [0, 0, 0]);
  w.clock.runUntil(10 * MS);
  assert.equal(logs.map((l) => l.destroyed), [1, 0, 0]);
  w.clock.runUntil(17 * MS);
  assert.equal(logs.map((l) => l.destroyed), [1, 1, 0]);
  w.clock.runUntil(18 * MS);
  assert.equal(logs.map((l) => l.destroyed), [1, 1, 1]);
  assert.is(tap.stats.read, 3);
  packetSocketClose(tap);
  end(w);
});

test('tap: a reader that never reads fills the receive buffer; later packets are dropped and counted', () => {
  const w = netWorld();
  const stack = w.a.stack;
  const dev = new SinkDevice('eth0', 2, 1);
  const one = rxFrame(stack);
  const truesize = one.truesize;
  kfreeSkb(one);
  const tap = packetSocketOpen(stack, { rcvbuf: truesize * 3 });
  const sk = sockCreate(stack, SOCK_DGRAM, 2049, { rcvbuf: 1 << 30 });
  for (let i = 0; i < 5; i++) netifReceiveSkb(stack, dev, rxFrame(stack));
  assert.is(tap.queued, 3);
  assert.is(tap.stats.drops, 2);
  assert.is(tap.sk.rmemAlloc, truesize * 3);
  assert.is(sk.receiveQueue.qlen, 5, 'the tap being full costs the socket nothing');
  packetSocketClose(tap);
  assert.is(tap.sk.rmemAlloc, 0);
  sockClose(sk);
  end(w);
});

test('tap: a tap bound to a device sees only that device', () => {
  const w = netWorld();
  const stack = w.a.stack;
  const d1 = new SinkDevice('eth0', 2, 1);
  const d2 = new SinkDevice('eth1', 3, 2);
  const tap = packetSocketOpen(stack, { dev: d2 });
  netifReceiveSkb(stack, d1, rxFrame(stack, { proto: 0x88b5 }));
  netifReceiveSkb(stack, d2, rxFrame(stack, { proto: 0x88b5 }));
  assert.is(tap.stats.seen, 1);
  packetSocketClose(tap);
  end(w);
});

test('tap: when the tap is the last handler it keeps the skb itself (no clone), as af_packet does', () => {
  const w = netWorld();
  const stack = w.a.stack;
  const dev = new SinkDevice('eth0', 2, 1);
  const tap = packetSocketOpen(stack);
  netifReceiveSkb(stack, dev, rxFrame(stack, { proto: 0x88b5 }));
  assert.is(tap.stats.queued, 1);
  assert.is(tap.stats.cloned, 0);
  assert.is(stack.stats.dropNoHandler, 0, 'delivered to the tap, not dropped');
  packetSocketClose(tap);
  end(w);
});

test('tap: two taps and a protocol handler: the first tap gets a reference, clones, and the handler keeps the original', () => {
  const w = netWorld();
  const stack = w.a.stack;
  const dev = new SinkDevice('eth0', 2, 1);
  const t1 = packetSocketOpen(stack);
  const t2 = packetSocketOpen(stack);
  let usersAtHandler = 0;
  devAddPack(stack, new PacketType(0x88b5, null, (skb) => { usersAtHandler = skb.users; kfreeSkb(skb); return NET_RX_SUCCESS; }));
  netifReceiveSkb(stack, dev, rxFrame(stack, { proto: 0x88b5 }));
  assert.is(t1.stats.cloned + t2.stats.cloned, 2);
  assert.is(usersAtHandler, 1);
  packetSocketClose(t1);
  packetSocketClose(t2);
  end(w);
});

test('tap: the transmit side (dev_queue_xmit_nit) gives the taps one clone of what leaves', () => {
  const w = netWorld();
  const stack = w.a.stack;
  const dev = new NullDevice('eth0', 2);
  const t1 = packetSocketOpen(stack);
  const t2 = packetSocketOpen(stack);
  const bytes = frameBytes();
  const skb = rxSkb(stack, bytes);
  skb.data -= 14; // back to the Ethernet header: a frame the host sends
  skb.len += 14;
  devQueueXmit(stack, dev, skb);
  assert.is(dev.stats.txPackets, 1);
  assert.is(t1.queued + t2.queued, 2);
  assert.is(t1.stats.cloned + t2.stats.cloned, 1, 'one clone for all taps; the first tap was given a reference and cloned it');
  const got = tapRecv(t1)!;
  assert.equal([...skbToBytes(got)], [...bytes]);
  consumeSkb(got);
  packetSocketClose(t1);
  packetSocketClose(t2);
  end(w);
});

test('tap: pcap capture records each accepted frame from its link header, at virtual time', () => {
  const w = netWorld();
  const stack = w.a.stack;
  const dev = new SinkDevice('eth0', 2, 1);
  const pcap = new PcapWriter();
  const tap = packetSocketOpen(stack, { pcap, holdNs: 0 });
  const f1 = frameBytes({ payload: new Uint8Array([1, 2, 3]) });
  const f2 = frameBytes({ payload: new Uint8Array([4, 5]), proto: 0x88b5 });
  netifReceiveSkb(stack, dev, rxSkb(stack, f1));
  w.clock.runUntil(5 * MS);
  netifReceiveSkb(stack, dev, rxSkb(stack, f2));
  w.clock.runUntilIdle(10);
  const recs = readPcap(pcap.toBytes());
  assert.is(recs.length, 2);
  assert.equal([...recs[0]!.data], [...f1]);
  assert.equal([...recs[1]!.data], [...f2]);
  assert.is(recs[1]!.timeNs, 5 * MS);
  packetSocketClose(tap);
  end(w);
});

test.run();
