/**
 * skb_split: move everything from byte `len` onward into `skb1` (TCP's tcp_fragment; REFERENCE.md §8.5).
 *
 * - Cut inside the linear area: bytes [len, headlen) are copied into skb1's head and every frag slot moves to
 *   skb1 (no reference change).
 * - Cut in the paged area: slots wholly before the cut stay, slots wholly after it move (no change), and the
 *   slot straddling the cut lives in both: skb keeps its first part, skb1 gets the rest, and one extra
 *   reference is taken (on the frame, or on the slot's destructor) because two slots now point at it.
 *
 * The zerocopy completion is shared into skb1 (refcount + 1) and SHARED_FRAG / PURE_ZEROCOPY are copied.
 * Preconditions Linux leaves to its callers, checked here: `skb` is not cloned (tcp_fragment uncloned it), has
 * no frag list, and skb1 is a fresh linear skb with room for the copied bytes.
 */

import { assertLive, skbPut } from './alloc.ts';
import { SKBFL_PURE_ZEROCOPY, SKBFL_SHARED_FRAG } from './constants.ts';
import { SkbBug } from './errors.ts';
import { fragSlotCopy, fragSlotRef } from './frag.ts';
import { headCopy } from './head.ts';
import { skbCloned, skbHeadlen, type SkBuff } from './skbuff.ts';
import { skbZcopyDowngradeManaged, skbZerocopyClone } from './ubuf.ts';

export function skbSplit(skb: SkBuff, skb1: SkBuff, len: number): void {
  assertLive(skb, 'skb_split');
  assertLive(skb1, 'skb_split');
  if (skbCloned(skb)) throw new SkbBug('skb_split on a cloned skb (unclone it first, as tcp_fragment does)');
  if (skb.shinfo.fragList !== null) throw new SkbBug('skb_split on an skb with a frag list');
  if (skb1.len !== 0 || skb1.shinfo.nrFrags !== 0) throw new SkbBug('skb_split: skb1 must be empty');
  if (!(len >= 0 && len <= skb.len)) throw new SkbBug(`skb_split at ${len} outside [0, ${skb.len}]`);
  const pos = skbHeadlen(skb);
  skbZcopyDowngradeManaged(skb);
  skb1.shinfo.flags |= skb.shinfo.flags & (SKBFL_SHARED_FRAG | SKBFL_PURE_ZEROCOPY);
  skbZerocopyClone(skb1, skb, 0);
  if (len < pos) splitInsideHeader(skb, skb1, len, pos);
  else splitNoHeader(skb, skb1, len, pos);
}

function splitInsideHeader(skb: SkBuff, skb1: SkBuff, len: number, pos: number): void {
  const sh = skb.shinfo;
  const sh1 = skb1.shinfo;
  const at = skbPut(skb1, pos - len);
  headCopy(sh, skb.data + len, sh1, skb1.data + at, pos - len);
  for (let i = 0; i < sh.nrFrags; i++) fragSlotCopy(sh1, i, sh, i);
  sh1.nrFrags = sh.nrFrags;
  sh.nrFrags = 0;
  skb1.dataLen = skb.dataLen;
  skb1.len += skb1.dataLen;
  skb.dataLen = 0;
  skb.len = len;
  skb.tail = skb.data + len;
}

function splitNoHeader(skb: SkBuff, skb1: SkBuff, len: number, pos: number): void {
  const sh = skb.shinfo;
  const sh1 = skb1.shinfo;
  const nfrags = sh.nrFrags;
  let k = 0;
  sh.nrFrags = 0;
  skb1.len = skb1.dataLen = skb.len - len;
  skb.len = len;
  skb.dataLen = len - pos;
  for (let i = 0; i < nfrags; i++) {
    const size = sh.fragSize[i]!;
    if (pos + size > len) {
      fragSlotCopy(sh1, k, sh, i);
      if (pos < len) {
        fragSlotRef(sh, i);
        sh1.fragOff[0]! += len - pos;
        sh1.fragSize[0]! -= len - pos;
        sh.fragSize[i] = len - pos;
        sh.nrFrags++;
      }
      k++;
    } else {
      sh.nrFrags++;
    }
    pos += size;
  }
  sh1.nrFrags = k;
}
