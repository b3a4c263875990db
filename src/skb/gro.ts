/**
 * skb_gro_receive: merge a received skb into a GRO aggregate (net/core/gro.c; REFERENCE.md §8.5).
 *
 * `p` is the aggregate (the first skb of its flow), `skb` the newcomer, whose bytes from its GRO offset on are
 * payload. NAPI_GRO_CB lives in the skbs' `gro*` fields; napiGroCbInit sets them as dev_gro_receive does.
 * Three outcomes, in Linux's order of preference:
 *
 * (a) skb's linear part is all header: its frag slots move to the end of the chain's last skb (no reference
 *     change; skb's nr_frags becomes 0) and skb is freed afterwards as NAPI_GRO_FREE;
 * (b) skb's head is a page fragment: the head page becomes a frag of the last skb (the head's own page
 *     reference moves with it: a stolen head), followed by skb's frags (moved), and only skb's shell is freed
 *     afterwards (NAPI_GRO_FREE_STOLEN_HEAD);
 * (c) otherwise, or past MAX_SKB_FRAGS: skb joins p's frag list whole (its `users` reference moves there),
 *     header-released (nohdr), its owner destructor cleared.
 *
 * Returns 0, or -E2BIG when the aggregate would reach the size limit or the skb asks for a flush. After a
 * merge the caller disposes of skb with napiGroFreeMerged (nothing to do after outcome (c)). GRO input skbs are
 * fresh from a driver: a cloned, shared or zerocopy one is refused as a programming error (Linux assumes it
 * away; a zerocopy skb's completion would vanish with its stolen shell).
 */

import { assertLive, skbHeaderRelease } from './alloc.ts';
import { skbCopyBitsToHead } from './bytes.ts';
import { GRO_LEGACY_MAX_SIZE, NAPI_GRO_FREE, NAPI_GRO_FREE_STOLEN_HEAD, SKB_STRUCT_SIZE, skbTruesize } from './constants.ts';
import { E2BIG } from './errno.ts';
import { SkbBug } from './errors.ts';
import { fragSlotCopy, fragSlotSet, skbFragUnref } from './frag.ts';
import { consumeSkb, kfreeSkbPartial } from './free.ts';
import { skbCloned, skbHeadlen, skbIsGso, skbShared, type SkBuff } from './skbuff.ts';
import { skbZcopy } from './ubuf.ts';

/** dev_gro_receive's NAPI_GRO_CB setup: payload starts `dataOffset` bytes after skb.data. */
export function napiGroCbInit(skb: SkBuff, dataOffset: number): void {
  assertLive(skb, 'napi_gro_cb');
  skb.groDataOffset = dataOffset;
  skb.groCount = skbIsGso(skb) ? skb.shinfo.gsoSegs : 1;
  skb.groLast = skb;
  skb.groFlush = skb.shinfo.fragList !== null;
  skb.groFree = 0;
}

/** skb_gro_len: payload bytes past the GRO offset. */
export function skbGroLen(skb: SkBuff): number {
  return skb.len - skb.groDataOffset;
}

export function skbGroReceive(p: SkBuff, skb: SkBuff, groMaxSize: number = GRO_LEGACY_MAX_SIZE): number {
  assertLive(p, 'skb_gro_receive');
  assertLive(skb, 'skb_gro_receive');
  if (skbShared(skb) || skbCloned(skb) || skbCloned(p)) throw new SkbBug('skb_gro_receive on a shared or cloned skb');
  if (skbZcopy(skb) !== null) throw new SkbBug('skb_gro_receive on a zerocopy skb (its completion would be lost with its shell)');
  const len = skbGroLen(skb);
  if (p.len + len >= Math.min(groMaxSize, GRO_LEGACY_MAX_SIZE) || skb.groFlush) return -E2BIG;
  const lp = p.groLast ?? p;
  const offset = skb.groDataOffset;
  const headlen = skbHeadlen(skb);
  const max = skb.env.maxSkbFrags;
  let delta: number;
  let last: SkBuff = lp;
  if (headlen <= offset && lp.shinfo.nrFrags + skb.shinfo.nrFrags <= max) {
    delta = moveFrags(lp, skb, offset - headlen);
  } else if (headlen > offset && skb.headFrag && lp.shinfo.nrFrags + 1 + skb.shinfo.nrFrags <= max) {
    delta = stealHead(lp, skb, offset);
  } else {
    delta = appendToFragList(p, skb, offset, headlen);
    last = p;
  }
  p.groCount += skb.groCount;
  p.dataLen += len;
  p.truesize += delta;
  p.len += len;
  if (last !== p) {
    last.dataLen += len;
    last.truesize += delta;
    last.len += len;
  }
  return 0;
}

/** Outcome (a): move skb's frag slots to the end of `lp`, the first one trimmed by `eat` header bytes. */
function moveFrags(lp: SkBuff, skb: SkBuff, eat: number): number {
  const dst = lp.shinfo;
  const src = skb.shinfo;
  const base = dst.nrFrags;
  for (let i = 0; i < src.nrFrags; i++) fragSlotCopy(dst, base + i, src, i);
  dst.nrFrags = base + src.nrFrags;
  if (src.nrFrags !== 0) {
    dst.fragOff[base]! += eat;
    dst.fragSize[base]! -= eat;
  }
  src.nrFrags = 0;
  const newTruesize = skbTruesize(skb.end, skb.env.shinfoSize);
  const delta = skb.truesize - newTruesize;
  skb.truesize = newTruesize;
  skb.len -= skb.dataLen;
  skb.dataLen = 0;
  skb.groFree = NAPI_GRO_FREE;
  return delta;
}

/** Outcome (b): skb's head page becomes a frag of `lp` (its reference moves), then skb's frags move. */
function stealHead(lp: SkBuff, skb: SkBuff, offset: number): number {
  const dst = lp.shinfo;
  const src = skb.shinfo;
  const base = dst.nrFrags;
  fragSlotSet(dst, base, src.headFrames[0]!, src.headOff + skb.data + offset, skbHeadlen(skb) - offset);
  for (let i = 0; i < src.nrFrags; i++) fragSlotCopy(dst, base + 1 + i, src, i);
  dst.nrFrags = base + 1 + src.nrFrags;
  const delta = skb.truesize - SKB_STRUCT_SIZE;
  skb.truesize = SKB_STRUCT_SIZE;
  skb.groFree = NAPI_GRO_FREE_STOLEN_HEAD;
  return delta;
}

/** Outcome (c): skb joins p's frag list whole, payload-only. */
function appendToFragList(p: SkBuff, skb: SkBuff, offset: number, headlen: number): number {
  skb.destructor = null;
  const delta = skb.truesize;
  if (offset > headlen) {
    const eat = offset - headlen;
    skb.shinfo.fragOff[0]! += eat;
    skb.shinfo.fragSize[0]! -= eat;
    skb.dataLen -= eat;
    skb.len -= eat;
    offset = headlen;
  }
  skb.len -= offset;
  skb.data += offset;
  if (p.groLast === p || p.groLast === null) p.shinfo.fragList = skb;
  else p.groLast.next = skb;
  p.groLast = skb;
  skbHeaderRelease(skb);
  return delta;
}

/** napi_skb_finish for a merged skb: free it as skb_gro_receive left it (whole, shell only, or not at all). */
export function napiGroFreeMerged(skb: SkBuff): void {
  assertLive(skb, 'napi_gro_free');
  if (skb.groFree === NAPI_GRO_FREE_STOLEN_HEAD) kfreeSkbPartial(skb, true);
  else if (skb.groFree === NAPI_GRO_FREE) consumeSkb(skb);
}

/**
 * gro_pull_from_frag0: move `grow` bytes from frag 0 into the linear area (the tailroom must have room);
 * frag 0 is unreferenced if it empties.
 */
export function groPullFromFrag0(skb: SkBuff, grow: number): void {
  assertLive(skb, 'gro_pull_from_frag0');
  const sh = skb.shinfo;
  if (skb.end - skb.tail < grow || sh.nrFrags === 0 || sh.fragSize[0]! < grow) throw new SkbBug(`gro_pull_from_frag0(${grow}) does not fit`);
  if (skbCopyBitsToHead(skb, skbHeadlen(skb), sh, skb.tail, grow) !== 0) throw new SkbBug('gro_pull_from_frag0: copy failed');
  skb.dataLen -= grow;
  skb.tail += grow;
  sh.fragOff[0]! += grow;
  sh.fragSize[0]! -= grow;
  if (sh.fragSize[0] === 0) {
    skbFragUnref(skb, 0);
    for (let i = 1; i < sh.nrFrags; i++) fragSlotCopy(sh, i - 1, sh, i);
    sh.nrFrags--;
  }
}
