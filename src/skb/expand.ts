/**
 * pskb_expand_head and the helpers built on it (skb_unclone, skb_cow, skb_cow_head).
 *
 * pskbExpandHead gives the skb a new private head of `old end + nhead + ntail` bytes and a new shared info
 * (REFERENCE.md §8.5). What happens to references depends on whether the old head was shared:
 *
 * - cloned: the new shinfo takes its own reference on every frag slot (+1 on the frame or destructor) and a
 *   `users` reference on every frag-list member, a completion reference if zerocopy; then the skb's share of
 *   the old shinfo is released (skbReleaseData). Net effect on a slot shared with one clone: +1.
 * - not cloned: the descriptors move with no reference change and only the old head frames are freed.
 *
 * Afterwards the skb is uncloned, has dataref 1, nohdr 0, hdr_len 0 and is no page-fragment head.
 */

import { GFP_ATOMIC, __GFP_MEMALLOC } from '../mm/gfp.ts';
import { assertLive } from './alloc.ts';
import { skbCloneFraglist } from './clone.ts';
import { NET_SKB_PAD, SKBFL_DONT_ORPHAN } from './constants.ts';
import { shinfoFree } from './env.ts';
import { ENOMEM } from './errno.ts';
import { SkbBug, SkbSharedError } from './errors.ts';
import { fragSlotCopy, fragSlotRef } from './frag.ts';
import { skbReleaseData } from './free.ts';
import { allocHead, freeHeadFrames, headCopy, headEnd } from './head.ts';
import {
  skbCloned,
  skbHeaderCloned,
  skbHeadersOffsetUpdate,
  skbHeadroom,
  skbShared,
  type SkBuff,
  type SkbSharedInfo,
} from './skbuff.ts';
import { netZcopyGet, skbOrphanFrags, skbZcopy, skbZcopyDowngradeManaged } from './ubuf.ts';

/** Copy the shared-info fields and frag descriptors (memcpy up to frags[nr_frags - 1]); no references. */
function copyShinfo(dst: SkbSharedInfo, src: SkbSharedInfo): void {
  dst.flags = src.flags;
  dst.nrFrags = src.nrFrags;
  dst.txFlags = src.txFlags;
  dst.gsoSize = src.gsoSize;
  dst.gsoSegs = src.gsoSegs;
  dst.gsoType = src.gsoType;
  dst.fragList = src.fragList;
  dst.destructorArg = src.destructorArg;
  for (let i = 0; i < src.nrFrags; i++) fragSlotCopy(dst, i, src, i);
}

/**
 * pskb_expand_head: 0, or -ENOMEM with the skb unchanged. The skb must not be shared (a BUG in Linux,
 * SkbSharedError here).
 */
export function pskbExpandHead(skb: SkBuff, nhead: number, ntail: number, gfp: number = GFP_ATOMIC): number {
  assertLive(skb, 'pskb_expand_head');
  if (nhead < 0 || ntail < 0) throw new SkbBug(`pskb_expand_head(${nhead}, ${ntail}): negative room`);
  if (skbShared(skb)) throw new SkbSharedError('pskb_expand_head', skb.users);
  const old = skb.shinfo;
  const cloned = skbCloned(skb);
  if (cloned && skbZcopy(skb) !== null && (old.flags & SKBFL_DONT_ORPHAN) === 0) {
    // Unreachable in Linux (clones orphan first); orphaning here would recurse through skb_unclone.
    throw new SkbBug('pskb_expand_head on a cloned zerocopy skb whose completion may not be shared');
  }
  skbZcopyDowngradeManaged(skb);
  if (skb.pfmemalloc) gfp |= __GFP_MEMALLOC;
  const osize = skb.end;
  const size = osize + nhead + ntail;
  const sh = allocHead(skb.env, size, gfp);
  if (sh === null) return -ENOMEM;
  const end = headEnd(skb.env, size);
  headCopy(old, 0, sh, nhead, skb.tail);
  copyShinfo(sh, old);
  if (cloned) {
    if (skbOrphanFrags(skb, gfp) !== 0) {
      freeHeadFrames(sh);
      shinfoFree(sh);
      return -ENOMEM;
    }
    if (skbZcopy(skb) !== null) netZcopyGet(old.destructorArg!);
    for (let i = 0; i < sh.nrFrags; i++) fragSlotRef(sh, i);
    skbCloneFraglist(skb);
    skbReleaseData(skb);
  } else {
    freeHeadFrames(old);
    shinfoFree(old);
  }
  skb.shinfo = sh;
  skb.headFrag = false;
  skb.data += nhead;
  skb.tail += nhead;
  skb.end = end;
  skbHeadersOffsetUpdate(skb, nhead);
  skb.cloned = false;
  skb.hdrLen = 0;
  skb.nohdr = false;
  sh.dataref = 1;
  if (skb.sk === null) skb.truesize += end - osize;
  return 0;
}

/** skb_unclone: give a cloned skb a private head (expand by nothing). */
export function skbUnclone(skb: SkBuff, gfp: number = GFP_ATOMIC): number {
  return skbCloned(skb) ? pskbExpandHead(skb, 0, 0, gfp) : 0;
}

/** skb_unclone_keeptruesize: as skbUnclone, but truesize and `end` stay as they were (skb_shift). */
export function skbUncloneKeeptruesize(skb: SkBuff, gfp: number = GFP_ATOMIC): number {
  if (!skbCloned(skb)) return 0;
  const end = skb.end;
  const truesize = skb.truesize;
  const r = pskbExpandHead(skb, 0, 0, gfp);
  if (r !== 0) return r;
  skb.truesize = truesize;
  if (end < skb.end) skb.end = end;
  return 0;
}

function cowInternal(skb: SkBuff, headroom: number, cloned: boolean): number {
  const delta = headroom > skbHeadroom(skb) ? headroom - skbHeadroom(skb) : 0;
  if (delta !== 0 || cloned) return pskbExpandHead(skb, (delta + NET_SKB_PAD - 1) & ~(NET_SKB_PAD - 1), 0, GFP_ATOMIC);
  return 0;
}

/** skb_cow: make the head writable with at least `headroom` bytes of headroom. */
export function skbCow(skb: SkBuff, headroom: number): number {
  return cowInternal(skb, headroom, skbCloned(skb));
}

/** skb_cow_head: as skbCow, but only the header must be writable (a nohdr clone may keep sharing). */
export function skbCowHead(skb: SkBuff, headroom: number): number {
  return cowInternal(skb, headroom, skbHeaderCloned(skb));
}
