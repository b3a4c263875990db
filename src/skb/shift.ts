/**
 * skb_shift: move up to `shiftlen` paged bytes from the front of `skb` to the end of `tgt` (TCP SACK
 * collapsing; REFERENCE.md §8.5). Returns the number of bytes moved, 0 when it declines.
 *
 * References: if skb's first frag continues tgt's last one (same frame, contiguous, same destructor), the bytes
 * merge into tgt's slot; a full merge then unreferences skb's slot (two slots became one). Whole frags move
 * with no reference change. A frag moved only in part gets one extra reference and lives in both skbs.
 * Both skbs are uncloned first (keeping truesize). It declines if skb has linear data, if either skb is
 * zerocopy, or if tgt would need more than MAX_SKB_FRAGS slots.
 */

import { assertLive } from './alloc.ts';
import { CHECKSUM_PARTIAL, SKBFL_SHARED_FRAG } from './constants.ts';
import { SkbBug } from './errors.ts';
import { skbUncloneKeeptruesize } from './expand.ts';
import { fragSlotCopy, fragSlotRef, fragSlotUnref, skbCanCoalesce } from './frag.ts';
import { skbHeadlen, type SkBuff } from './skbuff.ts';
import { skbZcopy } from './ubuf.ts';

function prepareForShift(skb: SkBuff): boolean {
  return skbUncloneKeeptruesize(skb) === 0;
}

export function skbShift(tgt: SkBuff, skb: SkBuff, shiftlen: number): number {
  assertLive(tgt, 'skb_shift');
  assertLive(skb, 'skb_shift');
  if (shiftlen > skb.len) throw new SkbBug(`skb_shift(${shiftlen}) longer than the skb (${skb.len})`);
  if (skbHeadlen(skb) !== 0) return 0;
  if (skbZcopy(tgt) !== null || skbZcopy(skb) !== null) return 0;
  const max = skb.env.maxSkbFrags;
  let todo = shiftlen;
  let from = 0;
  let to = tgt.shinfo.nrFrags;
  let merge = -1;
  {
    const sh = skb.shinfo;
    if (skbCanCoalesce(tgt, to, sh.fragPage[0]!, sh.fragOff[0]!, sh.fragDtor[0]!)) {
      merge = to - 1;
      todo -= sh.fragSize[0]!;
      if (todo < 0) {
        if (!prepareForShift(skb) || !prepareForShift(tgt)) return 0;
        tgt.shinfo.fragSize[merge]! += shiftlen;
        skb.shinfo.fragSize[0]! -= shiftlen;
        skb.shinfo.fragOff[0]! += shiftlen;
        return finish(tgt, skb, shiftlen);
      }
      from++;
    }
  }
  if (shiftlen === skb.len && skb.shinfo.nrFrags - from > max - to) return 0;
  if (!prepareForShift(skb) || !prepareForShift(tgt)) return 0;
  const sh = skb.shinfo;
  const tsh = tgt.shinfo;
  while (todo > 0 && from < sh.nrFrags) {
    if (to === max) return 0;
    const size = sh.fragSize[from]!;
    if (todo >= size) {
      fragSlotCopy(tsh, to, sh, from);
      todo -= size;
      from++;
      to++;
    } else {
      fragSlotRef(sh, from);
      fragSlotCopy(tsh, to, sh, from);
      tsh.fragSize[to] = todo;
      sh.fragOff[from]! += todo;
      sh.fragSize[from]! -= todo;
      todo = 0;
      to++;
      break;
    }
  }
  tsh.nrFrags = to;
  if (merge >= 0) {
    tsh.fragSize[merge]! += sh.fragSize[0]!;
    fragSlotUnref(sh, 0);
  }
  let k = 0;
  while (from < sh.nrFrags) fragSlotCopy(sh, k++, sh, from++);
  sh.nrFrags = k;
  if (todo > 0 && sh.nrFrags === 0) throw new SkbBug('skb_shift ran out of frags');
  return finish(tgt, skb, shiftlen);
}

function finish(tgt: SkBuff, skb: SkBuff, shiftlen: number): number {
  tgt.ipSummed = CHECKSUM_PARTIAL;
  skb.ipSummed = CHECKSUM_PARTIAL;
  tgt.shinfo.flags |= skb.shinfo.flags & SKBFL_SHARED_FRAG;
  skb.len -= shiftlen;
  skb.dataLen -= shiftlen;
  skb.truesize -= shiftlen;
  tgt.len += shiftlen;
  tgt.dataLen += shiftlen;
  tgt.truesize += shiftlen;
  return shiftlen;
}
