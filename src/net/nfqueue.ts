/**
 * NfQueue: an NFQUEUE target on IPv4 local input. Matching packets wait in the queue for a verdict from a
 * user-space reader (nfqueueVerdict); NF_ACCEPT re-injects the packet into local delivery, NF_DROP frees it.
 *
 * Owns the skbs it holds (one reference each) until the verdict or a purge. Referenced by the stack
 * (`stack.nfQueue`) while attached. A reader may be slow or never answer: that is what makes a queue a place
 * where reserve memory could pile up.
 *
 * pvnet rule, not mainline: REFERENCE §11.7 notes that netfilter has no reserve handling in Linux, while
 * §12.4 invariant 2 requires that no NF_QUEUE holds a tagged skb. pvnet enforces the invariant here: while the
 * reserve rules are active a tagged skb is dropped at enqueue (counted in dropPfmemallocNfqueue). A full
 * queue drops (queue_maxlen, no fail-open).
 */

import { InvalidArgument } from '../errors.ts';
import { kfreeSkb } from '../skb/free.ts';
import { SkBuffHead, skbDequeue, skbQueuePurge, skbQueueTail } from '../skb/queue.ts';
import type { SkBuff } from '../skb/skbuff.ts';
import { NET_RX_DROP, NET_RX_SUCCESS } from './netdevice.ts';
import type { NetStack } from './stack.ts';

/** nfnetlink_queue's default queue_maxlen. */
export const NFQNL_QMAX_DEFAULT = 1024;

export const NF_DROP = 0;
export const NF_ACCEPT = 1;

export class NfQueue {
  readonly queue = new SkBuffHead();
  /** Only packets of this IP protocol are queued (0: every protocol). */
  readonly protocol: number;
  maxlen: number;
  /** Packets queued, and verdicts given. */
  queued = 0;
  accepted = 0;
  dropped = 0;
  /** Where an accepted packet continues (ip_local_deliver_finish); set by nfqueueAttach. */
  reinject: ((skb: SkBuff) => number) | null = null;

  constructor(protocol = 0, maxlen = NFQNL_QMAX_DEFAULT) {
    this.protocol = protocol;
    this.maxlen = maxlen;
  }

  matches(protocol: number): boolean {
    return this.protocol === 0 || this.protocol === protocol;
  }

  /** Free every packet still waiting (detach, teardown). */
  purge(): void {
    skbQueuePurge(this.queue);
  }
}

/** Attach `q` to local input; `reinject` continues local delivery for accepted packets. */
export function nfqueueAttach(stack: NetStack, q: NfQueue, reinject: (skb: SkBuff) => number): void {
  if (stack.nfQueue !== null) throw new InvalidArgument('nfqueue: a queue is already attached to this stack');
  q.reinject = reinject;
  stack.nfQueue = q;
}

/** Detach: the waiting packets are freed (as when the queue's listener goes away). */
export function nfqueueDetach(stack: NetStack, q: NfQueue): void {
  if (stack.nfQueue !== q) throw new InvalidArgument('nfqueue: this queue is not attached');
  stack.nfQueue = null;
  q.purge();
}

/** The NF_QUEUE verdict of a hook: queue `skb` for the reader, or drop it. Takes ownership. */
export function nfqueueEnqueue(stack: NetStack, q: NfQueue, skb: SkBuff): number {
  if (skb.pfmemalloc && stack.pfmemallocRulesActive()) {
    stack.stats.dropPfmemallocNfqueue++;
    kfreeSkb(skb);
    return NET_RX_DROP;
  }
  if (q.queue.qlen >= q.maxlen) {
    stack.stats.dropNfqueueFull++;
    kfreeSkb(skb);
    return NET_RX_DROP;
  }
  skbQueueTail(q.queue, skb);
  q.queued++;
  return NET_RX_SUCCESS;
}

/** The reader's verdict on the oldest waiting packet. False if none waits. */
export function nfqueueVerdict(stack: NetStack, q: NfQueue, verdict: number): boolean {
  const skb = skbDequeue(q.queue);
  if (skb === null) return false;
  if (verdict === NF_ACCEPT && q.reinject !== null) {
    q.accepted++;
    q.reinject(skb);
  } else {
    q.dropped++;
    stack.stats.dropNfqueueVerdict++;
    kfreeSkb(skb);
  }
  return true;
}
