import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CHECKSUM_UNNECESSARY, consumeSkb, kfreeSkb, skbToBytes } from '../../src/skb/index.ts';
import {
  ETH_HLEN,
  IPV4_HLEN,
  SOCK_DGRAM,
  netifReceiveSkb,
  skSetMemalloc,
  sockClose,
  sockCreate,
  sockRecv,
} from '../../src/net/index.ts';
import { end, frameBytes, IP_A, netWorld, rxSkb, SinkDevice } from './fixtures.ts';

function setup() {
  const w = netWorld();
  return { w, stack: w.a.stack, dev: new SinkDevice('eth0', 2, 1) };
}

test('ipv4: a datagram for another host is dropped while forwarding is off, and goes to the forward hook when on', () => {
  const { w, stack, dev } = setup();
  stack.localAddrs.add(IP_A);
  netifReceiveSkb(stack, dev, rxSkb(stack, frameBytes()));
  assert.is(stack.stats.dropNotLocal, 1);
  const fwd: number[] = [];
  stack.ipForward = (skb) => { fwd.push(skb.len); kfreeSkb(skb); };
  netifReceiveSkb(stack, dev, rxSkb(stack, frameBytes()));
  assert.equal(fwd, [IPV4_HLEN + 8 + 32]);
  const ms = sockCreate(stack, SOCK_DGRAM, 9);
  skSetMemalloc(ms);
  netifReceiveSkb(stack, dev, rxSkb(stack, frameBytes(), true));
  assert.is(fwd.length, 1, 'a tagged skb never reaches a forwarding queue while the rules are active');
  assert.is(stack.stats.dropPfmemallocForward, 1);
  sockClose(ms);
  end(w);
});

test('ipv4: Ethernet padding beyond tot_len is trimmed before delivery', () => {
  const { w, stack, dev } = setup();
  const sk = sockCreate(stack, SOCK_DGRAM, 2049);
  const f = frameBytes({ payload: new Uint8Array([1, 2, 3]) });
  const padded = new Uint8Array(60);
  padded.set(f);
  netifReceiveSkb(stack, dev, rxSkb(stack, padded));
  const skb = sockRecv(sk)!;
  assert.equal([...skbToBytes(skb)], [1, 2, 3]);
  consumeSkb(skb);
  sockClose(sk);
  end(w);
});

test('ipv4: a bad UDP checksum is dropped for a CHECKSUM_NONE skb; CHECKSUM_UNNECESSARY is trusted', () => {
  const { w, stack, dev } = setup();
  const sk = sockCreate(stack, SOCK_DGRAM, 2049);
  const f = frameBytes();
  f[f.length - 1]! ^= 0x40;
  netifReceiveSkb(stack, dev, rxSkb(stack, f));
  assert.is(stack.stats.dropCsum, 1);
  const trusted = rxSkb(stack, f);
  trusted.ipSummed = CHECKSUM_UNNECESSARY;
  netifReceiveSkb(stack, dev, trusted);
  assert.is(sk.receiveQueue.qlen, 1);
  sockClose(sk);
  end(w);
});

test('ipv4: a bad header checksum, a truncated header and an unknown IP protocol are counted drops', () => {
  const { w, stack, dev } = setup();
  const bad = frameBytes();
  bad[ETH_HLEN + 8]! ^= 1;
  netifReceiveSkb(stack, dev, rxSkb(stack, bad));
  netifReceiveSkb(stack, dev, rxSkb(stack, frameBytes().subarray(0, ETH_HLEN + 12)));
  assert.is(stack.stats.dropMalformed, 2);
  const gre = frameBytes();
  gre[ETH_HLEN + 9] = 47;
  gre[ETH_HLEN + 10] = 0;
  gre[ETH_HLEN + 11] = 0;
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += (gre[ETH_HLEN + i]! << 8) | gre[ETH_HLEN + i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  gre[ETH_HLEN + 10] = (~sum >> 8) & 0xff;
  gre[ETH_HLEN + 11] = ~sum & 0xff;
  netifReceiveSkb(stack, dev, rxSkb(stack, gre));
  assert.is(stack.stats.dropUnknownProto, 1);
  end(w);
});

test.run();
