/**
 * IPv4 reassembly (ip_defrag), modelled for what it means to memory: fragments are held by reference, their
 * truesize is counted, and the total is bounded by ipfrag_high_thresh (REFERENCE §11.7, §12.5).
 *
 * ```
 *   IpFragState (one per stack)          FragQueue (one per datagram being reassembled; pooled)
 *   ├─ mem    truesize of all fragments   ├─ key   saddr, daddr, id, protocol
 *   ├─ lru    oldest first                ├─ frags sorted by offset: skb, [off, end) in the datagram
 *   └─ pool   free FragQueue objects      ├─ len   datagram length (known once the last fragment came)
 *                                         └─ timer ipfrag_time: the queue dies if it is not complete by then
 * ```
 *
 * 3.6's policy: before a fragment is queued, if `mem > high_thresh`, ip_evictor frees the oldest queues until
 * `mem < low_thresh` (every fragment freed counts in dropFragThresh). So the reassembly memory stays under the
 * high threshold plus one fragment. A fragment that overlaps another kills its queue (modern IPv4 behaviour,
 * RFC 5722 for IPv6), as does a 65th fragment (pvnet's per-queue bound) or a timeout; those count in
 * dropFragInvalid.
 *
 * A complete datagram is built as Linux builds it: the first fragment becomes the head, the others are chained
 * on its frag_list (their references move, nothing is copied), the IPv4 header is rewritten (tot_len, frag_off
 * 0, checksum). pvnet also ORs the members' pfmemalloc tags into the head, so a datagram built from reserve
 * memory is treated as reserve traffic by sk_filter (whether mainline propagates it was not checked).
 *
 * Owns the fragments it holds. Queues are found by a linear scan of the LRU list: the memory bound keeps it
 * short (a few hundred queues at most), and no key object is built per packet.
 */

import { skbCopyBits, skbStoreBits } from '../skb/bytes.ts';
import { kfreeSkb } from '../skb/free.ts';
import { skbUnclone } from '../skb/expand.ts';
import { pskbTrim } from '../skb/trim.ts';
import type { SkBuff } from '../skb/skbuff.ts';
import type { NetStack } from './stack.ts';
import { IP_MF, IP_OFFSET, ipv4SetLenFrag } from './wire.ts';

/** Fragments one queue may hold (pvnet's bound; beyond it the queue is killed). */
export const IPFRAG_MAX_FRAGS = 64;

/** One datagram being reassembled. Pooled by IpFragState; `live` is false while it sits in the pool. */
export class FragQueue {
  saddr = 0;
  daddr = 0;
  id = 0;
  protocol = 0;
  readonly skbs: (SkBuff | null)[] = new Array<SkBuff | null>(IPFRAG_MAX_FRAGS).fill(null);
  readonly offs = new Int32Array(IPFRAG_MAX_FRAGS);
  readonly ends = new Int32Array(IPFRAG_MAX_FRAGS);
  n = 0;
  /** Datagram length so far: the largest end seen, final once `lastSeen`. */
  len = 0;
  lastSeen = false;
  /** Payload bytes held. */
  meat = 0;
  /** truesize held. */
  mem = 0;
  timer = 0;
  live = false;
  lruPrev: FragQueue | null = null;
  lruNext: FragQueue | null = null;
  readonly expire: () => void;

  constructor(state: IpFragState) {
    this.expire = () => {
      if (!this.live) return;
      state.stack.stats.fragTimeouts++;
      state.kill(this, false);
    };
  }
}

export class IpFragState {
  readonly stack: NetStack;
  /** truesize of every fragment held (frag_mem_limit). */
  mem = 0;
  queues = 0;
  lruHead: FragQueue | null = null;
  lruTail: FragQueue | null = null;
  private readonly pool: FragQueue[] = [];

  constructor(stack: NetStack) {
    this.stack = stack;
  }

  find(saddr: number, daddr: number, id: number, protocol: number): FragQueue | null {
    for (let q = this.lruHead; q !== null; q = q.lruNext) {
      if (q.id === id && q.saddr === saddr && q.daddr === daddr && q.protocol === protocol) return q;
    }
    return null;
  }

  create(saddr: number, daddr: number, id: number, protocol: number): FragQueue {
    const q = this.pool.pop() ?? new FragQueue(this);
    q.saddr = saddr;
    q.daddr = daddr;
    q.id = id;
    q.protocol = protocol;
    q.n = 0;
    q.len = 0;
    q.lastSeen = false;
    q.meat = 0;
    q.mem = 0;
    q.live = true;
    q.timer = this.stack.clock.setTimer(this.stack.ipfragTimeNs, q.expire);
    this.lruAppend(q);
    this.queues++;
    return q;
  }

  /** Move `q` to the young end of the LRU (inet_frag_lru_move). */
  touch(q: FragQueue): void {
    if (this.lruTail === q) return;
    this.lruUnlink(q);
    this.lruAppend(q);
  }

  /** Free every fragment of `q` and retire it; `evicted` picks the counter. */
  kill(q: FragQueue, evicted: boolean): void {
    const st = this.stack.stats;
    for (let i = 0; i < q.n; i++) {
      kfreeSkb(q.skbs[i]!);
      q.skbs[i] = null;
      if (evicted) st.dropFragThresh++;
      else st.dropFragInvalid++;
    }
    q.n = 0;
    this.retire(q);
  }

  /** Take `q` off the books without freeing its fragments (they were freed, or became a datagram). */
  retire(q: FragQueue): void {
    this.mem -= q.mem;
    q.mem = 0;
    q.live = false;
    this.stack.clock.cancel(q.timer);
    this.lruUnlink(q);
    this.queues--;
    this.pool.push(q);
  }

  /** ip_evictor: free the oldest queues until the memory is under the low threshold. */
  evict(): void {
    const low = this.stack.ipfragLowThresh;
    while (this.mem >= low && this.lruHead !== null) {
      this.stack.stats.fragEvictedQueues++;
      this.kill(this.lruHead, true);
    }
  }

  /** Free everything (stack teardown). */
  purge(): void {
    while (this.lruHead !== null) this.kill(this.lruHead, false);
  }

  private lruAppend(q: FragQueue): void {
    q.lruPrev = this.lruTail;
    q.lruNext = null;
    if (this.lruTail !== null) this.lruTail.lruNext = q;
    else this.lruHead = q;
    this.lruTail = q;
  }

  private lruUnlink(q: FragQueue): void {
    if (q.lruPrev !== null) q.lruPrev.lruNext = q.lruNext;
    else this.lruHead = q.lruNext;
    if (q.lruNext !== null) q.lruNext.lruPrev = q.lruPrev;
    else this.lruTail = q.lruPrev;
    q.lruPrev = null;
    q.lruNext = null;
  }
}

/**
 * ip_defrag: queue the fragment `skb` (data at its payload, the header at `networkHeader`, addresses in
 * `stack.ip`). Returns the reassembled datagram (data at its payload) when this fragment completed it, or null
 * when the fragment is held or was dropped (counted).
 */
export function ipDefrag(stack: NetStack, skb: SkBuff, fragField: number): SkBuff | null {
  const state = stack.frags;
  if (state.mem > stack.ipfragHighThresh) state.evict();
  const ip = stack.ip;
  const q = state.find(ip.saddr, ip.daddr, ip.id, ip.protocol) ?? state.create(ip.saddr, ip.daddr, ip.id, ip.protocol);
  state.touch(q);

  const off = (fragField & IP_OFFSET) * 8;
  let end = off + skb.len;
  const more = (fragField & IP_MF) !== 0;
  if (!more) {
    if (end < q.len || (q.lastSeen && end !== q.len)) return invalid(state, q, skb);
    q.lastSeen = true;
    q.len = end;
  } else {
    if ((end & 7) !== 0) {
      end &= ~7; // a non-final fragment carries a multiple of 8 bytes; the excess is cut (as ip_frag_queue)
      if (pskbTrim(skb, end - off) !== 0) return invalid(state, q, skb);
    }
    if (end > q.len) {
      if (q.lastSeen) return invalid(state, q, skb);
      q.len = end;
    }
  }
  if (end <= off) return invalid(state, q, skb);

  // Sorted insert; an overlap with either neighbour kills the queue.
  let i = q.n;
  while (i > 0 && q.offs[i - 1]! > off) i--;
  if ((i > 0 && q.ends[i - 1]! > off) || (i < q.n && q.offs[i]! < end) || q.n === IPFRAG_MAX_FRAGS) {
    return invalid(state, q, skb);
  }
  for (let j = q.n; j > i; j--) {
    q.skbs[j] = q.skbs[j - 1]!;
    q.offs[j] = q.offs[j - 1]!;
    q.ends[j] = q.ends[j - 1]!;
  }
  q.skbs[i] = skb;
  q.offs[i] = off;
  q.ends[i] = end;
  q.n++;
  q.meat += end - off;
  q.mem += skb.truesize;
  state.mem += skb.truesize;

  if (!q.lastSeen || q.meat !== q.len) return null;
  return reassemble(stack, q);
}

/** The fragment is bad: drop it and its whole queue. */
function invalid(state: IpFragState, q: FragQueue, skb: SkBuff): null {
  state.stack.stats.dropFragInvalid++;
  kfreeSkb(skb);
  state.kill(q, false);
  return null;
}

/** ip_frag_reasm: the first fragment becomes the datagram, the rest go on its frag_list. */
function reassemble(stack: NetStack, q: FragQueue): SkBuff | null {
  const state = stack.frags;
  const head = q.skbs[0]!;
  if (q.offs[0] !== 0 || head.shinfo.fragList !== null || skbUnclone(head) !== 0) {
    stack.stats.dropNoMem++;
    state.kill(q, false);
    return null;
  }
  let tail: SkBuff | null = null;
  let addLen = 0;
  let addTruesize = 0;
  for (let i = 1; i < q.n; i++) {
    const m = q.skbs[i]!;
    if (tail === null) head.shinfo.fragList = m;
    else tail.next = m;
    tail = m;
    addLen += m.len;
    addTruesize += m.truesize;
    if (m.pfmemalloc) head.pfmemalloc = true;
  }
  for (let i = 0; i < q.n; i++) q.skbs[i] = null;
  q.n = 0;
  head.len += addLen;
  head.dataLen += addLen;
  head.truesize += addTruesize;
  state.retire(q);

  const hdr = stack.hdrScratch;
  const nh = head.networkHeader - head.data;
  const ihl = -nh;
  skbCopyBits(head, nh, hdr, 0, ihl);
  ipv4SetLenFrag(hdr, 0, ihl + head.len, 0);
  skbStoreBits(head, nh, hdr, 0, ihl);
  stack.stats.fragReasmOk++;
  return head;
}
