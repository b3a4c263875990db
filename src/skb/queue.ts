/**
 * sk_buff_head: a queue of skbs (include/linux/skbuff.h), for the net layer's socket, device and retransmit
 * queues.
 *
 * A queued skb is linked through its `next` / `prev`; the queue holds the `users` reference the caller handed
 * it with skbQueueTail / skbQueueHead and hands it back with skbDequeue. An skb is on at most one list at a time
 * (a queue, a frag list or a segment list). skbQueuePurge frees every queued skb (kfree_skb).
 */

import { assertLive } from './alloc.ts';
import { SkbBug } from './errors.ts';
import { kfreeSkb } from './free.ts';
import type { SkBuff } from './skbuff.ts';

export class SkBuffHead {
  first: SkBuff | null = null;
  last: SkBuff | null = null;
  qlen = 0;
}

export function skbQueueHeadInit(q: SkBuffHead): void {
  q.first = null;
  q.last = null;
  q.qlen = 0;
}

export function skbQueueLen(q: SkBuffHead): number {
  return q.qlen;
}

export function skbQueueEmpty(q: SkBuffHead): boolean {
  return q.qlen === 0;
}

/** skb_peek: the first skb, still queued. */
export function skbPeek(q: SkBuffHead): SkBuff | null {
  return q.first;
}

/** skb_peek_tail. */
export function skbPeekTail(q: SkBuffHead): SkBuff | null {
  return q.last;
}

function checkUnlinked(skb: SkBuff, op: string): void {
  assertLive(skb, op);
  if (skb.next !== null || skb.prev !== null) throw new SkbBug(`${op}: sk_buff #${skb.id} is already on a list`);
}

/** skb_queue_tail: append; the queue takes over the caller's reference. */
export function skbQueueTail(q: SkBuffHead, skb: SkBuff): void {
  checkUnlinked(skb, 'skb_queue_tail');
  skb.prev = q.last;
  if (q.last !== null) q.last.next = skb;
  else q.first = skb;
  q.last = skb;
  q.qlen++;
}

/** skb_queue_head: prepend. */
export function skbQueueHead(q: SkBuffHead, skb: SkBuff): void {
  checkUnlinked(skb, 'skb_queue_head');
  skb.next = q.first;
  if (q.first !== null) q.first.prev = skb;
  else q.last = skb;
  q.first = skb;
  q.qlen++;
}

/** skb_unlink: take `skb` out of `q`; the caller now holds the queue's reference. */
export function skbUnlink(skb: SkBuff, q: SkBuffHead): void {
  const prev = skb.prev;
  const next = skb.next;
  if (prev !== null) prev.next = next;
  else q.first = next;
  if (next !== null) next.prev = prev;
  else q.last = prev;
  skb.next = null;
  skb.prev = null;
  q.qlen--;
}

/** skb_dequeue: the first skb, or null. */
export function skbDequeue(q: SkBuffHead): SkBuff | null {
  const skb = q.first;
  if (skb !== null) skbUnlink(skb, q);
  return skb;
}

/** skb_dequeue_tail: the last skb, or null. */
export function skbDequeueTail(q: SkBuffHead): SkBuff | null {
  const skb = q.last;
  if (skb !== null) skbUnlink(skb, q);
  return skb;
}

/** skb_queue_purge: free every queued skb. */
export function skbQueuePurge(q: SkBuffHead): void {
  for (let skb = skbDequeue(q); skb !== null; skb = skbDequeue(q)) kfreeSkb(skb);
}
