/**
 * pskb_trim / ___pskb_trim: cut a possibly non-linear skb to `len` bytes (REFERENCE.md §8.5).
 *
 * A cloned skb first gets a private head (pskbExpandHead: +1 on every frag). Then the frag holding byte `len`
 * is shortened and every later frag is unreferenced; if the cut lies in the frag list, shared members up to the
 * boundary are replaced by clones, the boundary member is trimmed recursively and the members after it are
 * freed; otherwise the whole frag list is freed. Finally, an skb with no owner socket is condensed (its
 * remaining paged bytes pulled into the tailroom if they fit, freeing those frags too).
 */

import { GFP_ATOMIC } from '../mm/gfp.ts';
import { assertLive } from './alloc.ts';
import { skbClone } from './clone.ts';
import { ENOMEM } from './errno.ts';
import { pskbExpandHead } from './expand.ts';
import { skbFragUnref } from './frag.ts';
import { consumeSkb, kfreeSkbList } from './free.ts';
import { skbCondense } from './pull.ts';
import { skbCloned, skbHeadlen, skbShared, type SkBuff } from './skbuff.ts';

/** ___pskb_trim: 0 or a negative errno (the skb may then be partly trimmed, as in Linux). */
export function pskbTrimInternal(skb: SkBuff, len: number): number {
  assertLive(skb, '___pskb_trim');
  if (skbCloned(skb)) {
    const err = pskbExpandHead(skb, 0, 0, GFP_ATOMIC);
    if (err !== 0) return err;
  }
  const err = skbHeadlen(skb) >= len ? trimPages(skb, 0) : trimFrags(skb, len);
  if (err !== 0) return err;
  if (len > skbHeadlen(skb)) {
    skb.dataLen -= skb.len - len;
    skb.len = len;
  } else {
    skb.len = len;
    skb.dataLen = 0;
    skb.tail = skb.data + len;
  }
  if (skb.sk === null) skbCondense(skb);
  return 0;
}

/** Find the frag holding byte `len`; cut there, or fall through to the frag list. */
function trimFrags(skb: SkBuff, len: number): number {
  const sh = skb.shinfo;
  let offset = skbHeadlen(skb);
  for (let i = 0; i < sh.nrFrags; i++) {
    const end = offset + sh.fragSize[i]!;
    if (end < len) {
      offset = end;
      continue;
    }
    sh.fragSize[i] = len - offset;
    return trimPages(skb, i + 1);
  }
  return trimFragList(skb, len, offset);
}

/** Keep slots [0, keep), unreference the rest, drop the whole frag list. */
function trimPages(skb: SkBuff, keep: number): number {
  const sh = skb.shinfo;
  const n = sh.nrFrags;
  sh.nrFrags = keep;
  for (let i = keep; i < n; i++) skbFragUnref(skb, i);
  const list = sh.fragList;
  sh.fragList = null;
  kfreeSkbList(list);
  return 0;
}

/** The cut lies in the frag list: unshare members up to it, trim the boundary member, drop the rest. */
function trimFragList(skb: SkBuff, len: number, offset: number): number {
  const sh = skb.shinfo;
  let prev: SkBuff | null = null;
  let frag = sh.fragList;
  while (frag !== null) {
    const end = offset + frag.len;
    if (skbShared(frag)) {
      const nfrag = skbClone(frag, GFP_ATOMIC);
      if (nfrag === null) return -ENOMEM;
      nfrag.next = frag.next;
      consumeSkb(frag);
      frag = nfrag;
      if (prev === null) sh.fragList = frag;
      else prev.next = frag;
    }
    if (end < len) {
      offset = end;
      prev = frag;
      frag = frag.next;
      continue;
    }
    if (end > len) {
      const err = pskbTrim(frag, len - offset);
      if (err !== 0) return err;
    }
    const rest = frag.next;
    frag.next = null;
    kfreeSkbList(rest);
    break;
  }
  return 0;
}

/** pskb_trim: 0 if the skb is not longer than `len`; else trim (linear: move the tail; paged: ___pskb_trim). */
export function pskbTrim(skb: SkBuff, len: number): number {
  assertLive(skb, 'pskb_trim');
  if (len >= skb.len) return 0;
  if (skb.dataLen !== 0) return pskbTrimInternal(skb, len);
  skb.len = len;
  skb.tail = skb.data + len;
  return 0;
}
