import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  SkBuffHead,
  SkbBug,
  allocSkb,
  kfreeSkb,
  skbDequeue,
  skbDequeueTail,
  skbPeek,
  skbPeekTail,
  skbQueueEmpty,
  skbQueueHead,
  skbQueueLen,
  skbQueuePurge,
  skbQueueTail,
  skbUnlink,
} from '../../src/skb/index.ts';
import { throwsType } from '../support/assert.ts';
import { world } from './world.ts';

test('queue: FIFO order, head insertion, peek, unlink; the queue holds the caller\'s reference', () => {
  const w = world();
  const q = new SkBuffHead();
  const a = allocSkb(w.env, 64)!;
  const b = allocSkb(w.env, 64)!;
  const c = allocSkb(w.env, 64)!;
  skbQueueTail(q, a);
  skbQueueTail(q, b);
  skbQueueHead(q, c);
  assert.is(skbQueueLen(q), 3);
  assert.is(skbPeek(q), c);
  assert.is(skbPeekTail(q), b);
  skbUnlink(a, q);
  assert.is(skbDequeue(q), c);
  assert.is(skbDequeueTail(q), b);
  assert.ok(skbQueueEmpty(q));
  assert.is(skbDequeue(q), null);
  for (const s of [a, b, c]) kfreeSkb(s);
  w.audit.assertClean();
});

test('queue: an skb on a list cannot be queued again; purge frees everything', () => {
  const w = world();
  const q = new SkBuffHead();
  const a = allocSkb(w.env, 64)!;
  skbQueueTail(q, a);
  skbQueueTail(q, allocSkb(w.env, 64)!);
  throwsType(() => skbQueueTail(q, a), SkbBug);
  skbQueuePurge(q);
  assert.is(skbQueueLen(q), 0);
  w.audit.assertClean();
});

test.run();
