/**
 * skb_zerocopy: build `to` from `from` by reference (nfnetlink_queue, openvswitch upcalls; REFERENCE.md §8.4).
 *
 * A payload that fits `to`'s tailroom is copied. Otherwise `hlen` header bytes are copied (or, with hlen = 0,
 * `from`'s page-fragment head becomes frag 0 of `to` with get_page), `from`'s zerocopy frags are orphaned
 * (-ENOMEM if that fails) and its completion shared into `to`, and `from`'s frag descriptors are copied into
 * `to` with one reference each, the last one cut to the remaining length.
 */

import { GFP_ATOMIC } from '../mm/gfp.ts';
import { assertLive, skbPut } from './alloc.ts';
import { skbCopyBitsToHead } from './bytes.ts';
import { SMP_CACHE_BYTES } from './constants.ts';
import { ENOMEM } from './errno.ts';
import { SkbBug } from './errors.ts';
import { fragSlotCopy, fragSlotRef, fragSlotSet, pagePfmemalloc } from './frag.ts';
import { skbHeadlen, skbTailroom, type SkBuff } from './skbuff.ts';
import { skbOrphanFrags, skbZerocopyClone } from './ubuf.ts';

/** skb_zerocopy_headlen: how much linear room `to` needs for skb_zerocopy(to, from, ...). */
export function skbZerocopyHeadlen(from: SkBuff): number {
  let hlen = 0;
  if (!from.headFrag || skbHeadlen(from) < SMP_CACHE_BYTES || from.shinfo.nrFrags >= from.env.maxSkbFrags) {
    hlen = skbHeadlen(from);
    if (hlen === 0) hlen = from.len;
  }
  if (from.shinfo.fragList !== null) hlen = from.len;
  return hlen;
}

/** skb_zerocopy: 0, -ENOMEM (orphaning failed) or -EFAULT (bad geometry). */
export function skbZerocopy(to: SkBuff, from: SkBuff, len: number, hlen: number): number {
  assertLive(to, 'skb_zerocopy');
  assertLive(from, 'skb_zerocopy');
  if (!from.headFrag && hlen === 0) throw new SkbBug('skb_zerocopy: hlen 0 needs a page-fragment head');
  if (len <= skbTailroom(to)) {
    const at = skbPut(to, len);
    return skbCopyBitsToHead(from, 0, to.shinfo, to.data + at, len);
  }
  const tsh = to.shinfo;
  const fsh = from.shinfo;
  let j = 0;
  let plen = 0;
  if (hlen !== 0) {
    const at = skbPut(to, hlen);
    const r = skbCopyBitsToHead(from, 0, tsh, to.data + at, hlen);
    if (r !== 0) return r;
    len -= hlen;
  } else {
    plen = Math.min(skbHeadlen(from), len);
    if (plen !== 0) {
      const frame = fsh.headFrames[0]!;
      fragSlotSet(tsh, 0, frame, fsh.headOff + from.data, plen);
      if (pagePfmemalloc(tsh, frame)) to.pfmemalloc = true;
      to.env.pages.getPage(frame);
      j = 1;
      len -= plen;
    }
  }
  to.len += len + plen;
  to.dataLen += len + plen;
  to.truesize += len + plen;
  if (skbOrphanFrags(from) !== 0) {
    // Linux leaves the head-page slot uncounted here and its get_page leaks; pvnet counts it so that
    // freeing `to` releases it.
    tsh.nrFrags = j;
    return -ENOMEM;
  }
  skbZerocopyClone(to, from, GFP_ATOMIC);
  for (let i = 0; i < fsh.nrFrags && len > 0; i++) {
    fragSlotCopy(tsh, j, fsh, i);
    const size = Math.min(tsh.fragSize[j]!, len);
    tsh.fragSize[j] = size;
    len -= size;
    fragSlotRef(tsh, j);
    j++;
  }
  tsh.nrFrags = j;
  return 0;
}

