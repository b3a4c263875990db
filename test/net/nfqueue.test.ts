import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InvalidArgument } from '../../src/errors.ts';
import {
  IPPROTO_TCP,
  IPPROTO_UDP,
  NF_ACCEPT,
  NF_DROP,
  NfQueue,
  SOCK_DGRAM,
  ipNfqueueAttach,
  netifReceiveSkb,
  nfqueueDetach,
  nfqueueVerdict,
  skSetMemalloc,
  sockClose,
  sockCreate,
} from '../../src/net/index.ts';
import { throwsType } from '../support/assert.ts';
import { end, netWorld, rxFrame, SinkDevice } from './fixtures.ts';

function setup(q = new NfQueue(IPPROTO_UDP, 4)) {
  const w = netWorld();
  const stack = w.a.stack;
  ipNfqueueAttach(stack, q);
  return { w, stack, q, dev: new SinkDevice('eth0', 2, 1) };
}

test('nfqueue: a matching packet waits for the verdict; NF_ACCEPT continues to the socket, NF_DROP frees it', () => {
  const { w, stack, q, dev } = setup();
  const sk = sockCreate(stack, SOCK_DGRAM, 2049);
  netifReceiveSkb(stack, dev, rxFrame(stack));
  netifReceiveSkb(stack, dev, rxFrame(stack));
  assert.is(q.queue.qlen, 2);
  assert.is(sk.receiveQueue.qlen, 0);
  assert.ok(nfqueueVerdict(stack, q, NF_ACCEPT));
  assert.is(sk.receiveQueue.qlen, 1);
  assert.ok(nfqueueVerdict(stack, q, NF_DROP));
  assert.is(stack.stats.dropNfqueueVerdict, 1);
  assert.not.ok(nfqueueVerdict(stack, q, NF_ACCEPT), 'nothing left');
  sockClose(sk);
  end(w);
});

test('nfqueue: a tagged packet never waits in the queue while the reserve rules are active (pvnet rule, §12.4)', () => {
  const { w, stack, q, dev } = setup();
  const ms = sockCreate(stack, SOCK_DGRAM, 2049);
  skSetMemalloc(ms);
  netifReceiveSkb(stack, dev, rxFrame(stack, {}, true));
  assert.is(q.queue.qlen, 0);
  assert.is(stack.stats.dropPfmemallocNfqueue, 1);
  sockClose(ms);
  end(w);
});

test('nfqueue: a full queue drops; other protocols pass by; detaching frees what waits', () => {
  const { w, stack, q, dev } = setup();
  const tcp = sockCreate(stack, 1, 2049);
  for (let i = 0; i < 6; i++) netifReceiveSkb(stack, dev, rxFrame(stack));
  assert.is(q.queue.qlen, 4);
  assert.is(stack.stats.dropNfqueueFull, 2);
  netifReceiveSkb(stack, dev, rxFrame(stack, { ipProto: IPPROTO_TCP }));
  assert.is(tcp.receiveQueue.qlen, 1);
  throwsType(() => ipNfqueueAttach(stack, new NfQueue()), InvalidArgument);
  nfqueueDetach(stack, q);
  assert.is(q.queue.qlen, 0);
  throwsType(() => nfqueueDetach(stack, q), InvalidArgument);
  sockClose(tcp);
  end(w);
});

test.run();
