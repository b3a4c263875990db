import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { consumeSkb, skbToBytes, type SkBuff } from '../../src/skb/index.ts';
import {
  ETH_HLEN,
  IP_MF,
  IPV4_HLEN,
  SOCK_DGRAM,
  ipv4SetLenFrag,
  netifReceiveSkb,
  skSetMemalloc,
  sockClose,
  sockCreate,
  sockRecv,
  type NetStack,
} from '../../src/net/index.ts';
import { end, frameBytes, netWorld, rxSkb, SinkDevice } from './fixtures.ts';

const SEC = 1_000_000_000;

/** The frames of one UDP datagram cut into IP fragments of `chunk` payload bytes (a multiple of 8). */
function fragments(payload: Uint8Array, chunk: number, id = 7): Uint8Array[] {
  const whole = frameBytes({ payload, id });
  const ipPayload = whole.subarray(ETH_HLEN + IPV4_HLEN);
  const out: Uint8Array[] = [];
  for (let off = 0; off < ipPayload.length; off += chunk) {
    const part = ipPayload.subarray(off, Math.min(off + chunk, ipPayload.length));
    const f = new Uint8Array(ETH_HLEN + IPV4_HLEN + part.length);
    f.set(whole.subarray(0, ETH_HLEN + IPV4_HLEN));
    f.set(part, ETH_HLEN + IPV4_HLEN);
    const more = off + chunk < ipPayload.length ? IP_MF : 0;
    ipv4SetLenFrag(f, ETH_HLEN, IPV4_HLEN + part.length, more | (off / 8));
    out.push(f);
  }
  return out;
}

function setup(opts: Parameters<typeof netWorld>[0] = {}) {
  const w = netWorld(opts);
  return { w, stack: w.a.stack, dev: new SinkDevice('eth0', 2, 1) };
}

function feed(stack: NetStack, dev: SinkDevice, frames: Uint8Array[], order: number[], tagged: boolean[] = []): void {
  for (const i of order) netifReceiveSkb(stack, dev, rxSkb(stack, frames[i]!, tagged[i] ?? false));
}

test('ipfrag: fragments arriving out of order are reassembled, chained on frag_list, and delivered as one datagram', () => {
  const { w, stack, dev } = setup();
  const sk = sockCreate(stack, SOCK_DGRAM, 2049);
  const data = Uint8Array.from({ length: 3000 }, (_, i) => i & 0xff);
  const frames = fragments(data, 1200);
  assert.is(frames.length, 3);
  feed(stack, dev, frames, [2, 0, 1]);
  assert.is(stack.stats.fragReasmOk, 1);
  const skb = sockRecv(sk) as SkBuff;
  assert.ok(skb.shinfo.fragList !== null, 'the other fragments hang on the head frag_list');
  assert.equal([...skbToBytes(skb)], [...data]);
  consumeSkb(skb);
  assert.is(stack.frags.mem, 0);
  assert.is(stack.frags.queues, 0);
  sockClose(sk);
  end(w);
});

test('ipfrag: over ipfrag_high_thresh the oldest queues are evicted down to the low threshold', () => {
  const { w, stack, dev } = setup();
  const probe = rxSkb(stack, fragments(new Uint8Array(2000), 1000)[0]!);
  const t = probe.truesize;
  consumeSkb(probe);
  stack.ipfragHighThresh = 4 * t;
  stack.ipfragLowThresh = 2 * t;
  let maxMem = 0;
  for (let id = 1; id <= 8; id++) {
    feed(stack, dev, fragments(new Uint8Array(2000), 1000, id), [0]); // first halves only: never complete
    maxMem = Math.max(maxMem, stack.frags.mem);
  }
  assert.ok(maxMem <= stack.ipfragHighThresh + t, 'memory stays under the high threshold plus one fragment');
  assert.ok(stack.stats.fragEvictedQueues > 0);
  assert.is(stack.stats.dropFragThresh, stack.stats.fragEvictedQueues, 'one fragment per evicted queue');
  assert.ok(stack.frags.queues < 8);
  end(w);
});

test('ipfrag: an overlapping fragment kills its queue; so does a timeout', () => {
  const { w, stack, dev } = setup();
  const frames = fragments(new Uint8Array(3000), 1200);
  feed(stack, dev, frames, [0]);
  const overlap = new Uint8Array(frames[1]!);
  ipv4SetLenFrag(overlap, ETH_HLEN, overlap.length - ETH_HLEN, IP_MF | (1200 / 8 - 1));
  netifReceiveSkb(stack, dev, rxSkb(stack, overlap));
  assert.is(stack.stats.dropFragInvalid, 2, 'the held fragment and the overlapping one');
  assert.is(stack.frags.queues, 0);
  feed(stack, dev, frames, [0, 1]);
  assert.is(stack.frags.queues, 1);
  w.clock.runUntil(31 * SEC);
  assert.is(stack.stats.fragTimeouts, 1);
  assert.is(stack.frags.queues, 0);
  assert.is(stack.frags.mem, 0);
  end(w);
});

test('ipfrag: one tagged fragment tags the datagram, so an ordinary socket refuses it', () => {
  const { w, stack, dev } = setup();
  const ms = sockCreate(stack, SOCK_DGRAM, 9);
  skSetMemalloc(ms);
  const sk = sockCreate(stack, SOCK_DGRAM, 2049);
  feed(stack, dev, fragments(new Uint8Array(3000), 1200), [0, 1, 2], [false, true, false]);
  assert.is(stack.stats.fragReasmOk, 1);
  assert.is(sk.receiveQueue.qlen, 0);
  assert.is(stack.stats.dropPfmemallocFilter, 1);
  sockClose(sk);
  sockClose(ms);
  end(w);
});

test('ipfrag: the stack shutdown frees incomplete queues', () => {
  const { w, stack, dev } = setup();
  feed(stack, dev, fragments(new Uint8Array(3000), 1200), [1]);
  assert.is(stack.frags.queues, 1);
  end(w);
});

test.run();
