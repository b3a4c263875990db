/**
 * Making paged bytes linear: __pskb_pull_tail and what is built on it (pskb_may_pull, pskb_pull,
 * skb_linearize, skb_condense).
 *
 * pskbPullTail(skb, delta) copies the first `delta` paged bytes into the tail of the head (REFERENCE.md §8.5):
 *
 * 1. If the head is too small, or shared with a clone, it is first replaced (pskbExpandHead): a cloned skb
 *    thereby takes its own reference on every frag before anything is dropped.
 * 2. The bytes are copied.
 * 3. If the pull reaches into the frag list, members eaten whole are consumed, and the member eaten in part is
 *    pulled in place, or first cloned if it is shared (the clone replaces it at the head of the list).
 * 4. Each frag eaten whole is unreferenced (a destructor whose last slot this was fires here); a frag eaten in
 *    part keeps its slot with offset and size adjusted; the survivors move to the front.
 * 5. If no paged data is left, the zerocopy completion fires with success = false.
 *
 * The caller must hold the only `users` reference (SkbSharedError otherwise).
 */

import { GFP_ATOMIC } from '../mm/gfp.ts';
import { assertLive } from './alloc.ts';
import { skbCopyBitsToHead } from './bytes.ts';
import { skbClone } from './clone.ts';
import { skbTruesize } from './constants.ts';
import { ENOMEM } from './errno.ts';
import { SkbBug, SkbSharedError } from './errors.ts';
import { pskbExpandHead } from './expand.ts';
import { SKB_GSO_DODGY } from './features.ts';
import { fragSlotCopy, skbFragUnref } from './frag.ts';
import { consumeSkb, kfreeSkb } from './free.ts';
import { skbCloned, skbHeadlen, skbIsGso, skbIsNonlinear, skbShared, type SkBuff } from './skbuff.ts';
import { skbZcopyClear } from './ubuf.ts';

/** __pskb_pull_tail: true on success; false (NULL) if memory ran out, with the skb unchanged. */
export function pskbPullTail(skb: SkBuff, delta: number): boolean {
  assertLive(skb, '__pskb_pull_tail');
  if (skbShared(skb)) throw new SkbSharedError('__pskb_pull_tail', skb.users);
  const eat = skb.tail + delta - skb.end;
  if (eat > 0 || skbCloned(skb)) {
    if (pskbExpandHead(skb, 0, eat > 0 ? eat + 128 : 0, GFP_ATOMIC) !== 0) return false;
  }
  if (skbCopyBitsToHead(skb, skbHeadlen(skb), skb.shinfo, skb.tail, delta) !== 0) {
    throw new SkbBug(`__pskb_pull_tail(${delta}) beyond the ${skb.dataLen} paged bytes`);
  }
  if (skb.shinfo.fragList !== null && !pullFragList(skb, delta)) return false;
  pullPages(skb, delta);
  return true;
}

/** Phase 3: the pull reaches past the frags into the frag list. False if a clone could not be made. */
function pullFragList(skb: SkBuff, delta: number): boolean {
  const sh = skb.shinfo;
  let eat = delta;
  for (let i = 0; i < sh.nrFrags; i++) {
    const size = sh.fragSize[i]!;
    if (size >= eat) return true;
    eat -= size;
  }
  if (eat === 0) return true;
  let list = sh.fragList;
  let clone: SkBuff | null = null;
  let insp: SkBuff | null = null;
  while (eat > 0 && list !== null) {
    if (list.len <= eat) {
      eat -= list.len;
      list = list.next;
      insp = list;
      continue;
    }
    if (skbIsGso(skb) && !list.headFrag && skbHeadlen(list) !== 0) sh.gsoType |= SKB_GSO_DODGY;
    if (skbShared(list)) {
      clone = skbClone(list, GFP_ATOMIC);
      if (clone === null) return false;
      insp = list.next;
      list = clone;
    } else {
      insp = list;
    }
    if (!pskbPull(list, eat)) {
      kfreeSkb(clone);
      return false;
    }
    break;
  }
  for (let m = sh.fragList; m !== insp && m !== null; m = sh.fragList) {
    sh.fragList = m.next;
    consumeSkb(m);
  }
  if (clone !== null) {
    clone.next = sh.fragList;
    sh.fragList = clone;
  }
  return true;
}

/** Phases 4 and 5: drop the frags eaten whole, trim the first survivor, compact, account. */
function pullPages(skb: SkBuff, delta: number): void {
  const sh = skb.shinfo;
  let eat = delta;
  let k = 0;
  let keepCount = true;
  const n = sh.nrFrags;
  for (let i = 0; i < n; i++) {
    const size = sh.fragSize[i]!;
    if (size <= eat) {
      skbFragUnref(skb, i);
      eat -= size;
      continue;
    }
    if (k !== i) fragSlotCopy(sh, k, sh, i);
    if (eat !== 0) {
      sh.fragOff[k]! += eat;
      sh.fragSize[k]! -= eat;
      if (i === 0) {
        keepCount = false;
        break;
      }
      eat = 0;
    }
    k++;
  }
  if (keepCount) sh.nrFrags = k;
  skb.tail += delta;
  skb.dataLen -= delta;
  if (skb.dataLen === 0) skbZcopyClear(skb, false);
}

/** pskb_may_pull: make the first `len` bytes linear; false if the skb is shorter or memory ran out. */
export function pskbMayPull(skb: SkBuff, len: number): boolean {
  assertLive(skb, 'pskb_may_pull');
  const headlen = skbHeadlen(skb);
  if (len <= headlen) return true;
  if (len > skb.len) return false;
  return pskbPullTail(skb, len - headlen);
}

/** pskb_pull: pull `len` bytes off the front, linearizing as needed; false (NULL) on failure. */
export function pskbPull(skb: SkBuff, len: number): boolean {
  if (!pskbMayPull(skb, len)) return false;
  skb.len -= len;
  skb.data += len;
  return true;
}

/** skb_linearize: make the whole packet linear. 0 or -ENOMEM. */
export function skbLinearize(skb: SkBuff): number {
  assertLive(skb, 'skb_linearize');
  if (!skbIsNonlinear(skb)) return 0;
  return pskbPullTail(skb, skb.dataLen) ? 0 : -ENOMEM;
}

/**
 * skb_condense: if the paged data fits in the tailroom of an uncloned skb, pull it all now (freeing the frags
 * early) and reset truesize to the head's.
 */
export function skbCondense(skb: SkBuff): void {
  assertLive(skb, 'skb_condense');
  if (skb.dataLen !== 0) {
    if (skb.dataLen > skb.end - skb.tail || skbCloned(skb)) return;
    pskbPullTail(skb, skb.dataLen);
  }
  skb.truesize = skbTruesize(skb.end, skb.env.shinfoSize);
}
