/**
 * Creating sk_buffs (REFERENCE.md §8.3) and the linear-area primitives (skb_reserve, skb_put, skb_push,
 * skb_pull, skb_trim).
 *
 * allocSkb (__alloc_skb) gives a new SkBuff with users = 1, a fresh head of at least `size` bytes (no
 * headroom, all tailroom), dataref = 1, no frags. A failed head allocation is a normal outcome: null, as in
 * Linux. buildSkb wraps a caller's page fragment (head_frag) and takes over the caller's page reference.
 */

import { XEN_PAGE_SIZE } from '../abi/page.ts';
import { InvalidArgument, UseAfterDestroy } from '../errors.ts';
import { __GFP_DIRECT_RECLAIM, __GFP_MEMALLOC, GFP_ATOMIC } from '../mm/gfp.ts';
import {
  CHECKSUM_NONE,
  NET_SKB_PAD,
  SKB_ALLOC_RX,
  SKB_DATAREF_SHIFT,
  SKB_HEADER_UNSET,
  skbDataAlign,
  skbTruesize,
} from './constants.ts';
import { skbStructAlloc, type SkbEnv } from './env.ts';
import { SkbBug } from './errors.ts';
import { allocHead, headEnd, headWrite, wrapHeadFrag } from './head.ts';
import { pagePfmemalloc } from './frag.ts';
import { skbCloned, type SkBuff, type SkbSharedInfo } from './skbuff.ts';

/** Throws UseAfterDestroy if `skb` was freed. Every public operation checks its skb arguments. */
export function assertLive(skb: SkBuff, op: string): void {
  if (!skb.live) throw new UseAfterDestroy(`${op}: sk_buff #${skb.id} was already freed`);
}

/** The state __alloc_skb leaves: everything zero except the unset header markers. */
export function skbResetFields(skb: SkBuff): void {
  skb.users = 1;
  skb.len = 0;
  skb.dataLen = 0;
  skb.data = 0;
  skb.tail = 0;
  skb.end = 0;
  skb.truesize = 0;
  skb.cloned = false;
  skb.nohdr = false;
  skb.headFrag = false;
  skb.pfmemalloc = false;
  skb.hdrLen = 0;
  skb.macHeader = SKB_HEADER_UNSET;
  skb.networkHeader = 0;
  skb.transportHeader = SKB_HEADER_UNSET;
  skb.macLen = 0;
  skb.protocol = 0;
  skb.ipSummed = CHECKSUM_NONE;
  skb.csumStart = 0;
  skb.csumOffset = 0;
  skb.sk = null;
  skb.destructor = null;
  skb.next = null;
  skb.prev = null;
  skb.groDataOffset = 0;
  skb.groCount = 1;
  skb.groLast = null;
  skb.groFlush = false;
  skb.groFree = 0;
}

function skbAround(env: SkbEnv, sh: SkbSharedInfo, end: number): SkBuff {
  const skb = skbStructAlloc(env);
  skbResetFields(skb);
  skb.shinfo = sh;
  skb.end = end;
  skb.truesize = skbTruesize(end, env.shinfoSize);
  return skb;
}

/**
 * __alloc_skb / alloc_skb: a new sk_buff with a head of at least `size` bytes, or null. SKB_ALLOC_RX in
 * `flags` adds __GFP_MEMALLOC while a memalloc socket exists; `skb.pfmemalloc` tells whether the head needed
 * the reserve.
 */
export function allocSkb(env: SkbEnv, size: number, gfp: number = GFP_ATOMIC, flags = 0): SkBuff | null {
  if (!Number.isInteger(size) || size < 0) throw new InvalidArgument(`alloc_skb: bad size ${size}`);
  if ((flags & SKB_ALLOC_RX) !== 0 && env.memallocSocks()) gfp |= __GFP_MEMALLOC;
  const sh = allocHead(env, size, gfp);
  if (sh === null) return null;
  const skb = skbAround(env, sh, headEnd(env, size));
  skb.pfmemalloc = sh.headPfmemalloc;
  return skb;
}

/**
 * build_skb: wrap a page fragment of `fragSize` bytes at `off` in `frame` (head_frag). The caller donates one
 * page reference on the frame; it is dropped when the head is freed. `fragSize` includes the shared-info
 * overhead, so the head has `fragSize - SKB_DATA_ALIGN(sizeof shinfo)` usable bytes.
 */
export function buildSkb(env: SkbEnv, frame: number, off: number, fragSize: number): SkBuff {
  const end = fragSize - env.shinfoSize;
  if (!(off >= 0 && end >= 0 && off + fragSize <= XEN_PAGE_SIZE)) {
    throw new InvalidArgument(`build_skb: fragment (off ${off}, size ${fragSize}) must fit one frame and the shinfo overhead`);
  }
  const sh = wrapHeadFrag(env, frame, off);
  const skb = skbAround(env, sh, end);
  skb.headFrag = true;
  if (pagePfmemalloc(sh, frame)) skb.pfmemalloc = true;
  return skb;
}

/**
 * __netdev_alloc_skb: an RX buffer with NET_SKB_PAD headroom. Small buffers get a page-fragment head (one
 * frame each: pvnet has no page_frag cache), big or sleeping ones a kmalloc head with SKB_ALLOC_RX.
 */
export function netdevAllocSkb(env: SkbEnv, length: number, gfp: number = GFP_ATOMIC): SkBuff | null {
  const len = length + NET_SKB_PAD;
  let skb: SkBuff | null;
  if (len > XEN_PAGE_SIZE - env.shinfoSize || (gfp & __GFP_DIRECT_RECLAIM) !== 0) {
    skb = allocSkb(env, len, gfp, SKB_ALLOC_RX);
  } else {
    if (env.memallocSocks()) gfp |= __GFP_MEMALLOC;
    const frame = env.pages.allocPage(gfp);
    if (frame < 0) return null;
    skb = buildSkb(env, frame, 0, skbDataAlign(len) + env.shinfoSize);
  }
  if (skb !== null) skbReserve(skb, NET_SKB_PAD);
  return skb;
}

// ---- the linear area ------------------------------------------------------------------------------------------

/** skb_reserve: move an empty skb's data and tail forward by `len` (headroom). */
export function skbReserve(skb: SkBuff, len: number): void {
  assertLive(skb, 'skb_reserve');
  if (skb.tail + len > skb.end) throw new SkbBug(`skb_reserve(${len}) past end ${skb.end}`);
  skb.data += len;
  skb.tail += len;
}

/** skb_put: extend the linear data by `len` at the tail; returns the offset of the new bytes from `data`. */
export function skbPut(skb: SkBuff, len: number): number {
  assertLive(skb, 'skb_put');
  if (skb.dataLen !== 0) throw new SkbBug('skb_put on a non-linear skb (SKB_LINEAR_ASSERT)');
  const at = skb.tail - skb.data;
  if (skb.tail + len > skb.end) throw new SkbBug(`skb_over_panic: put ${len} with tail ${skb.tail} end ${skb.end}`);
  skb.tail += len;
  skb.len += len;
  return at;
}

/** skb_put_data: skb_put and copy `src` into the new bytes. */
export function skbPutData(skb: SkBuff, src: Uint8Array, srcOff = 0, len = src.length - srcOff): number {
  const at = skbPut(skb, len);
  headWrite(skb.shinfo, skb.data + at, src, srcOff, len);
  return at;
}

/** skb_push: extend the data by `len` at the front, into the headroom. */
export function skbPush(skb: SkBuff, len: number): void {
  assertLive(skb, 'skb_push');
  if (skb.data - len < 0) throw new SkbBug(`skb_under_panic: push ${len} with headroom ${skb.data}`);
  skb.data -= len;
  skb.len += len;
}

/**
 * skb_pull: drop `len` bytes from the front of the linear data. False (NULL) if the skb is shorter than `len`;
 * pulling into paged data needs pskbPull, and doing it here is a BUG.
 */
export function skbPull(skb: SkBuff, len: number): boolean {
  assertLive(skb, 'skb_pull');
  if (len > skb.len) return false;
  if (skb.len - len < skb.dataLen) throw new SkbBug(`skb_pull(${len}) reaches into paged data; use pskb_pull`);
  skb.len -= len;
  skb.data += len;
  return true;
}

/** skb_trim on a linear skb: cut to `len` bytes if longer. */
export function skbTrim(skb: SkBuff, len: number): void {
  assertLive(skb, 'skb_trim');
  if (skb.len <= len) return;
  if (skb.dataLen !== 0) throw new SkbBug('skb_trim on a non-linear skb; use pskb_trim');
  skb.len = len;
  skb.tail = skb.data + len;
}

/** __skb_header_release: this uncloned skb promises never to touch its header again (nohdr). */
export function skbHeaderRelease(skb: SkBuff): void {
  assertLive(skb, 'skb_header_release');
  if (skbCloned(skb)) throw new SkbBug('__skb_header_release on a cloned skb');
  skb.nohdr = true;
  skb.shinfo.dataref = 1 + (1 << SKB_DATAREF_SHIFT);
}
