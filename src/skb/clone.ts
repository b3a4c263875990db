/**
 * skb_clone and the header copies (REFERENCE.md §8.5).
 *
 * A clone is a second SkBuff over the same head and shared info: dataref + 1, both marked cloned, no frag
 * reference taken (the frags are shared through the shinfo). Before that, a zerocopy skb whose completion may
 * not be shared has its frags copied aside (skbOrphanFrags), completing early with success = false; if that
 * fails, the clone fails (null).
 */

import { GFP_ATOMIC } from '../mm/gfp.ts';
import { assertLive, skbResetFields } from './alloc.ts';
import { skbStructAlloc } from './env.ts';
import { skbGet, skbReleaseAll } from './free.ts';
import { skbHeadroom, type SkBuff } from './skbuff.ts';
import { skbOrphanFrags } from './ubuf.ts';

/** __copy_skb_header: the protocol and header fields (not the owner, not the shinfo). */
export function copySkbHeader(n: SkBuff, old: SkBuff): void {
  n.protocol = old.protocol;
  n.macHeader = old.macHeader;
  n.networkHeader = old.networkHeader;
  n.transportHeader = old.transportHeader;
  n.ipSummed = old.ipSummed;
  n.csumStart = old.csumStart;
  n.csumOffset = old.csumOffset;
}

/** skb_copy_header: __copy_skb_header plus the GSO size, segment count and type. */
export function skbCopyHeader(n: SkBuff, old: SkBuff): void {
  copySkbHeader(n, old);
  n.shinfo.gsoSize = old.shinfo.gsoSize;
  n.shinfo.gsoSegs = old.shinfo.gsoSegs;
  n.shinfo.gsoType = old.shinfo.gsoType;
}

/** __skb_clone: make `n` a clone of `skb`. */
function cloneInto(n: SkBuff, skb: SkBuff): SkBuff {
  skbResetFields(n);
  copySkbHeader(n, skb);
  n.len = skb.len;
  n.dataLen = skb.dataLen;
  n.macLen = skb.macLen;
  n.hdrLen = skb.nohdr ? skbHeadroom(skb) : skb.hdrLen;
  n.cloned = true;
  n.nohdr = false;
  n.pfmemalloc = skb.pfmemalloc;
  n.tail = skb.tail;
  n.end = skb.end;
  n.shinfo = skb.shinfo;
  n.headFrag = skb.headFrag;
  n.data = skb.data;
  n.truesize = skb.truesize;
  n.users = 1;
  skb.shinfo.dataref++;
  skb.cloned = true;
  return n;
}

/** skb_clone: a new SkBuff sharing `skb`'s data, or null if the zerocopy frags could not be orphaned. */
export function skbClone(skb: SkBuff, gfp: number = GFP_ATOMIC): SkBuff | null {
  assertLive(skb, 'skb_clone');
  if (skbOrphanFrags(skb, gfp) !== 0) return null;
  return cloneInto(skbStructAlloc(skb.env), skb);
}

/** skb_morph: release `dst`'s contents, then make it a clone of `src`. */
export function skbMorph(dst: SkBuff, src: SkBuff): SkBuff {
  assertLive(dst, 'skb_morph');
  assertLive(src, 'skb_morph');
  skbReleaseAll(dst);
  return cloneInto(dst, src);
}

/** skb_clone_fraglist: one more `users` reference on each frag-list member (the list is being shared). */
export function skbCloneFraglist(skb: SkBuff): void {
  for (let m = skb.shinfo.fragList; m !== null; m = m.next) skbGet(m);
}
