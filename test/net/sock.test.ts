import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InvalidArgument } from '../../src/errors.ts';
import { GFP_ATOMIC, __GFP_MEMALLOC } from '../../src/mm/gfp.ts';
import { consumeSkb } from '../../src/skb/index.ts';
import {
  IPPROTO_TCP,
  SOCK_DEAD,
  SOCK_DGRAM,
  SOCK_STREAM,
  netifReceiveSkb,
  skGfpAtomic,
  skSetMemalloc,
  sockClose,
  sockCreate,
  sockDrain,
  sockFlag,
  sockLookup,
  sockRecv,
} from '../../src/net/index.ts';
import { throwsType } from '../support/assert.ts';
import { end, netWorld, rxFrame, SinkDevice } from './fixtures.ts';

function setup() {
  const w = netWorld();
  return { w, stack: w.a.stack, dev: new SinkDevice('eth0', 2, 1) };
}

test('sock: rmem_alloc counts the truesize of queued skbs; each is given back when the reader frees it', () => {
  const { w, stack, dev } = setup();
  const sk = sockCreate(stack, SOCK_DGRAM, 2049);
  netifReceiveSkb(stack, dev, rxFrame(stack));
  netifReceiveSkb(stack, dev, rxFrame(stack));
  const t = sk.receiveQueue.first!.truesize;
  assert.is(sk.rmemAlloc, 2 * t);
  assert.is(stack.udpMem.allocated, 2 * t);
  const one = sockRecv(sk)!;
  assert.is(sk.rmemAlloc, 2 * t, 'still charged while the reader holds it');
  consumeSkb(one);
  assert.is(sk.rmemAlloc, t);
  sockClose(sk);
  assert.is(sk.rmemAlloc, 0);
  assert.is(stack.udpMem.allocated, 0);
  end(w);
});

test('sock: a blocked reader drains nothing: the queue grows to sk_rcvbuf and later datagrams are dropped in the same pass', () => {
  const { w, stack, dev } = setup();
  const probe = rxFrame(stack);
  const t = probe.truesize;
  consumeSkb(probe);
  const flood = sockCreate(stack, SOCK_DGRAM, 2049, { rcvbuf: 4 * t, readerBlocked: true });
  const live = stack.env.liveSkbs;
  for (let i = 0; i < 10; i++) netifReceiveSkb(stack, dev, rxFrame(stack));
  assert.is(flood.receiveQueue.qlen, 4);
  assert.is(flood.stats.rcvbufDrops, 6);
  assert.is(stack.stats.dropRcvbuf, 6);
  assert.is(stack.env.liveSkbs, live + 4, 'the refused ones are already freed');
  assert.is(sockRecv(flood), null, 'the reader is blocked');
  flood.readerBlocked = false;
  assert.is(sockDrain(flood), 4);
  sockClose(flood);
  end(w);
});

test('sock: a TCP-ish stream socket receives segments with data at the payload and the TCP header at transportHeader', () => {
  const { w, stack, dev } = setup();
  const sk = sockCreate(stack, SOCK_STREAM, 2049);
  netifReceiveSkb(stack, dev, rxFrame(stack, { ipProto: IPPROTO_TCP, payload: new Uint8Array([9, 8, 7]) }));
  const skb = sockRecv(sk)!;
  assert.is(skb.len, 3);
  assert.is(skb.data - skb.transportHeader, 20);
  consumeSkb(skb);
  assert.is(sockLookup(stack, IPPROTO_TCP, 2049), sk);
  sockClose(sk);
  end(w);
});

test('sock: a datagram to a port without a socket is dropped (UDP_MIB_NOPORTS)', () => {
  const { w, stack, dev } = setup();
  netifReceiveSkb(stack, dev, rxFrame(stack, { dport: 7 }));
  netifReceiveSkb(stack, dev, rxFrame(stack, { dport: 7, ipProto: IPPROTO_TCP }));
  assert.is(stack.stats.dropNoPort, 2);
  end(w);
});

test('sock: binding a bound port is misuse; close unbinds, sets SOCK_DEAD, and is idempotent', () => {
  const { w, stack } = setup();
  const sk = sockCreate(stack, SOCK_DGRAM, 53);
  throwsType(() => sockCreate(stack, SOCK_DGRAM, 53), InvalidArgument);
  const tcp = sockCreate(stack, SOCK_STREAM, 53);
  throwsType(() => sockCreate(stack, 99, 54), InvalidArgument);
  throwsType(() => sockCreate(stack, SOCK_DGRAM, 0), InvalidArgument);
  sockClose(sk);
  sockClose(sk);
  assert.ok(sockFlag(sk, SOCK_DEAD));
  throwsType(() => skSetMemalloc(sk), InvalidArgument);
  sockCreate(stack, SOCK_DGRAM, 53);
  sockClose(sockLookup(stack, 17, 53)!);
  sockClose(tcp);
  end(w);
});

test('sock: sk_gfp_atomic carries the socket reserve entitlement into its own allocations', () => {
  const { w, stack } = setup();
  const sk = sockCreate(stack, SOCK_DGRAM, 1);
  assert.is(skGfpAtomic(sk), GFP_ATOMIC);
  skSetMemalloc(sk);
  assert.is(skGfpAtomic(sk), GFP_ATOMIC | __GFP_MEMALLOC);
  sockClose(sk);
  end(w);
});

test.run();
