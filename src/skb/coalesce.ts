/**
 * skb_try_coalesce: append `from`'s bytes to `to` without copying them where possible (TCP receive queue
 * coalescing; REFERENCE.md §8.5).
 *
 * - A small `from` that fits in `to`'s tailroom is copied.
 * - Otherwise, if `from` has linear data, its head must be an unshared page fragment: that page becomes a frag
 *   of `to` *without a new reference* (the head's own reference moves with it: the head is stolen), and the
 *   caller frees only the `from` shell (kfreeSkbPartial(from, true)).
 * - `from`'s frags are then appended to `to`: if `from` is not cloned, the slots move (no reference change,
 *   from's nr_frags becomes 0); if it is cloned, each gets a new reference.
 *
 * It declines (false) if `to` is cloned, either skb has a frag list or is zerocopy, or the frags would not fit.
 */

import { assertLive, skbPut } from './alloc.ts';
import { skbCopyBitsToHead } from './bytes.ts';
import { SKBFL_SHARED_FRAG, SKB_STRUCT_SIZE, skbTruesize } from './constants.ts';
import { SkbBug } from './errors.ts';
import { fragSlotCopy, fragSlotRef, skbFillPageDescOnly } from './frag.ts';
import { skbCloned, skbHeadIsLocked, skbHeadlen, skbTailroom, type SkBuff } from './skbuff.ts';
import { skbZcopy } from './ubuf.ts';

/** The out-parameters of skb_try_coalesce. Reuse one object per caller: no allocation per packet. */
export interface SkbCoalesceResult {
  /** `from`'s head became a frag of `to`: free `from` with kfreeSkbPartial(from, true). */
  fragstolen: boolean;
  /** truesize moved to `to`. */
  deltaTruesize: number;
}

export function skbTryCoalesce(to: SkBuff, from: SkBuff, out: SkbCoalesceResult): boolean {
  assertLive(to, 'skb_try_coalesce');
  assertLive(from, 'skb_try_coalesce');
  const len = from.len;
  out.fragstolen = false;
  out.deltaTruesize = 0;
  if (skbCloned(to)) return false;
  if (len <= skbTailroom(to)) {
    if (len !== 0) {
      const at = skbPut(to, len);
      if (skbCopyBitsToHead(from, 0, to.shinfo, to.data + at, len) !== 0) throw new SkbBug('skb_try_coalesce: copy failed');
    }
    return true;
  }
  const tsh = to.shinfo;
  const fsh = from.shinfo;
  if (tsh.fragList !== null || fsh.fragList !== null) return false;
  if (skbZcopy(to) !== null || skbZcopy(from) !== null) return false;
  const max = to.env.maxSkbFrags;
  let delta: number;
  if (skbHeadlen(from) !== 0) {
    if (tsh.nrFrags + fsh.nrFrags >= max) return false;
    if (skbHeadIsLocked(from)) return false;
    delta = from.truesize - SKB_STRUCT_SIZE;
    const off = fsh.headOff + from.data;
    skbFillPageDescOnly(to, tsh.nrFrags, fsh.headFrames[0]!, off, skbHeadlen(from));
    tsh.nrFrags++;
    out.fragstolen = true;
  } else {
    if (tsh.nrFrags + fsh.nrFrags > max) return false;
    delta = from.truesize - skbTruesize(from.end, from.env.shinfoSize);
  }
  const base = tsh.nrFrags;
  for (let i = 0; i < fsh.nrFrags; i++) fragSlotCopy(tsh, base + i, fsh, i);
  tsh.nrFrags += fsh.nrFrags;
  if (fsh.nrFrags !== 0) tsh.flags |= fsh.flags & SKBFL_SHARED_FRAG;
  if (!skbCloned(from)) fsh.nrFrags = 0;
  else for (let i = 0; i < fsh.nrFrags; i++) fragSlotRef(fsh, i);
  to.truesize += delta;
  to.len += len;
  to.dataLen += len;
  out.deltaTruesize = delta;
  return true;
}
