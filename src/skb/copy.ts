/**
 * Copies with a private head: skb_copy, skb_copy_expand (fully linear, no frag references) and pskb_copy
 * (private linear head, frags shared by reference).
 *
 * skbCopy / skbCopyExpand read every byte (head, frags, frag list) into one new linear head: the copy holds no
 * frag reference, no destructor reference and no zerocopy state, so it never delays a completion. pskbCopy
 * copies only the linear part and takes one reference per frag slot (on the frame, or on the slot's
 * destructor), shares the frag list (`users` + 1 per member) and orphans or shares the zerocopy completion,
 * exactly as __pskb_copy_fclone does (REFERENCE.md §8.5).
 */

import { GFP_ATOMIC } from '../mm/gfp.ts';
import { allocSkb, assertLive, skbPut, skbReserve } from './alloc.ts';
import { skbCopyBitsToHead } from './bytes.ts';
import { skbCloneFraglist, skbCopyHeader } from './clone.ts';
import { SKB_ALLOC_RX, SKBFL_SHARED_FRAG } from './constants.ts';
import { SkbBug } from './errors.ts';
import { fragSlotCopy, fragSlotRef } from './frag.ts';
import { kfreeSkb } from './free.ts';
import { headCopy } from './head.ts';
import { SKB_GSO_FRAGLIST } from './features.ts';
import { skbHeadersOffsetUpdate, skbHeadlen, skbHeadroom, type SkBuff } from './skbuff.ts';
import { skbOrphanFrags, skbZerocopyClone } from './ubuf.ts';

/** skb_alloc_rx_flag: derived buffers of a pfmemalloc skb are allocated with the reserve entitlement. */
export function skbAllocRxFlag(skb: SkBuff): number {
  return skb.pfmemalloc ? SKB_ALLOC_RX : 0;
}

/** skb_copy: a fully linear private copy (headroom included), or null. */
export function skbCopy(skb: SkBuff, gfp: number = GFP_ATOMIC): SkBuff | null {
  assertLive(skb, 'skb_copy');
  if ((skb.shinfo.gsoType & SKB_GSO_FRAGLIST) !== 0) return null;
  const headerlen = skbHeadroom(skb);
  const n = allocSkb(skb.env, skb.end + skb.dataLen, gfp, skbAllocRxFlag(skb));
  if (n === null) return null;
  skbReserve(n, headerlen);
  skbPut(n, skb.len);
  if (skbCopyBitsToHead(skb, -headerlen, n.shinfo, 0, headerlen + skb.len) !== 0) throw new SkbBug('skb_copy: copy_bits failed');
  skbCopyHeader(n, skb);
  return n;
}

/** skb_copy_expand: skb_copy with `newheadroom` / `newtailroom` of room around the data. */
export function skbCopyExpand(skb: SkBuff, newheadroom: number, newtailroom: number, gfp: number = GFP_ATOMIC): SkBuff | null {
  assertLive(skb, 'skb_copy_expand');
  if ((skb.shinfo.gsoType & SKB_GSO_FRAGLIST) !== 0) return null;
  const oldheadroom = skbHeadroom(skb);
  const n = allocSkb(skb.env, newheadroom + skb.len + newtailroom, gfp, skbAllocRxFlag(skb));
  if (n === null) return null;
  skbReserve(n, newheadroom);
  skbPut(n, skb.len);
  let headCopyLen = oldheadroom;
  let headCopyOff = 0;
  if (newheadroom <= headCopyLen) headCopyLen = newheadroom;
  else headCopyOff = newheadroom - headCopyLen;
  if (skbCopyBitsToHead(skb, -headCopyLen, n.shinfo, headCopyOff, skb.len + headCopyLen) !== 0) {
    throw new SkbBug('skb_copy_expand: copy_bits failed');
  }
  skbCopyHeader(n, skb);
  skbHeadersOffsetUpdate(n, newheadroom - oldheadroom);
  return n;
}

/**
 * __pskb_copy_fclone / pskb_copy: a private linear head of `headlen` bytes (with `headroom`), the frags shared
 * by reference, or null.
 */
export function pskbCopy(skb: SkBuff, gfp: number = GFP_ATOMIC, headroom: number = skbHeadroom(skb)): SkBuff | null {
  assertLive(skb, 'pskb_copy');
  const headlen = skbHeadlen(skb);
  const n = allocSkb(skb.env, headlen + headroom, gfp, skbAllocRxFlag(skb));
  if (n === null) return null;
  skbReserve(n, headroom);
  skbPut(n, headlen);
  headCopy(skb.shinfo, skb.data, n.shinfo, n.data, headlen);
  n.truesize += skb.dataLen;
  n.dataLen = skb.dataLen;
  n.len = skb.len;
  const sh = skb.shinfo;
  const nsh = n.shinfo;
  if (sh.nrFrags !== 0) {
    if (skbOrphanFrags(skb, gfp) !== 0 || skbZerocopyClone(n, skb, gfp) !== 0) {
      kfreeSkb(n);
      return null;
    }
    for (let i = 0; i < sh.nrFrags; i++) {
      fragSlotCopy(nsh, i, sh, i);
      fragSlotRef(sh, i);
    }
    nsh.nrFrags = sh.nrFrags;
    nsh.flags |= sh.flags & SKBFL_SHARED_FRAG;
  }
  if (sh.fragList !== null) {
    nsh.fragList = sh.fragList;
    skbCloneFraglist(n);
  }
  skbCopyHeader(n, skb);
  return n;
}
