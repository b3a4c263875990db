/**
 * skb_segment: software GSO. Cut a super-packet into a list of segments of `gso_size` payload bytes each,
 * every segment starting with a copy of the `doffset` header bytes in front of `head_skb.data`
 * (REFERENCE.md §8.5; Linux net/core/skbuff.c and the net_core_gso KUnit cases).
 *
 * References: with scatter-gather (NETIF_F_SG) a segment's payload is the original frag slots, trimmed to its
 * byte range, each slot placed in a segment taking one new reference (on the frame or the slot's destructor);
 * a frag-list member whose head is a page fragment contributes that head page as a frag (get_page); a member
 * that is exactly one segment is cloned instead (trimmed, header made writable). Without SG the payload is
 * copied and the segments hold no frag reference. The zerocopy completion is shared into every segment after
 * head_skb's frags were orphaned up front. The caller then frees head_skb, dropping its own references.
 *
 * GSO_PARTIAL (and the frag-list split for devices that segment the type but take no frag list): the working
 * MSS becomes gso_size * partial_segs, each output segment carries gso_size and gso_segs = partial_segs, and
 * the last one is fixed up. GSO_BY_FRAGS: one segment per frag-list member.
 *
 * Frag lists: like Linux, skb_segment trusts the members to lie on MSS boundaries (GRO builds them that way:
 * each member but the last one MSS long). A member whose linear length happens to equal the segment length is
 * cloned whole even if it does not start at the segment's offset, so a misaligned frag list yields wrong
 * segments, or a BUG where the walk runs out of frags (SkbBug here). The DODGY check at the start is Linux's
 * partial defence for untrusted gso_size.
 *
 * Returns the first segment (segments are linked by `next`; `segs.prev` is the last one) or a negative errno.
 * Not modelled: tunnel headers (skb_tnl_header_len is 0), checksum values (only ip_summed is set), and the
 * sock_wfree ownership hand-over to the last segment.
 */

import { GFP_ATOMIC } from '../mm/gfp.ts';
import { allocSkb, assertLive, skbPush, skbPut, skbReserve } from './alloc.ts';
import { skbCopyBitsToHead } from './bytes.ts';
import { copySkbHeader, skbClone } from './clone.ts';
import { CHECKSUM_NONE, GSO_BY_FRAGS, SKBFL_SHARED_FRAG } from './constants.ts';
import { EINVAL, ENOMEM } from './errno.ts';
import { SkbBug } from './errors.ts';
import { skbCowHead } from './expand.ts';
import {
  canChecksumProtocol,
  NETIF_F_GSO_PARTIAL,
  NETIF_F_SG,
  netGsoOk,
  SKB_GSO_DODGY,
  SKB_GSO_PARTIAL,
} from './features.ts';
import { fragSlotCopy, fragSlotRef, fragSlotSet } from './frag.ts';
import type { SkbEnv } from './env.ts';
import { kfreeSkb, kfreeSkbList, skbReleaseHeadState } from './free.ts';
import { headCopy } from './head.ts';
import { skbAllocRxFlag } from './copy.ts';
import { skbLinearize } from './pull.ts';
import {
  skbHasSharedFrag,
  skbHeadersOffsetUpdate,
  skbHeadlen,
  skbHeadroom,
  skbResetMacLen,
  type SkBuff,
  type SkbSharedInfo,
} from './skbuff.ts';
import { pskbTrim } from './trim.ts';
import { skbOrphanFrags, skbZerocopyClone } from './ubuf.ts';

/**
 * gso_size is untrusted (SKB_GSO_DODGY) and does not match the head, and a frag-list member has a linear,
 * non-page head: the members may not end on MSS boundaries, so frags cannot be shared and SG is turned off.
 */
function dodgyNeedsCopy(head: SkBuff, mss: number): boolean {
  if ((head.shinfo.gsoType & SKB_GSO_DODGY) === 0 || mss === GSO_BY_FRAGS || mss === skbHeadlen(head)) return false;
  for (let m = head.shinfo.fragList; m !== null; m = m.next) {
    if (skbHeadlen(m) !== 0 && !m.headFrag) return true;
  }
  return false;
}

/**
 * The GSO-partial MSS multiplier, or 0. `len` is head_skb's length before the header push. Mirrors the SG +
 * checksum branch of skb_segment, including the frag-list split for devices without NETIF_F_FRAGLIST.
 */
function partialSegments(head: SkBuff, features: number, mss: number, len: number): number {
  const list = head.shinfo.fragList;
  if ((features & NETIF_F_GSO_PARTIAL) === 0) {
    if (list === null || !netGsoOk(features, head.shinfo.gsoType)) return 0;
    const fragLen = list.len;
    for (let m: SkBuff | null = list; m !== null; m = m.next) {
      if (fragLen !== m.len && m.next !== null) return 0;
      if (skbHeadlen(m) !== 0 && !m.headFrag) return 0;
      len -= m.len;
    }
    if (len !== fragLen) return 0;
  }
  const segs = Math.floor(Math.min(len, GSO_BY_FRAGS - 1) / mss);
  return segs > 1 ? segs : 0;
}

export function skbSegment(headSkb: SkBuff, features: number): SkBuff | number {
  assertLive(headSkb, 'skb_segment');
  const hsh = headSkb.shinfo;
  let mss = hsh.gsoSize;
  if (mss === 0) throw new SkbBug('skb_segment on an skb without gso_size');
  const doffset = headSkb.data - headSkb.macHeader;
  const origLen = headSkb.len;
  if (dodgyNeedsCopy(headSkb, mss)) features &= ~NETIF_F_SG;
  skbPush(headSkb, doffset);
  if (headSkb.protocol === 0) return -EINVAL;
  const sg = (features & NETIF_F_SG) !== 0;
  const csum = canChecksumProtocol(features, headSkb.protocol);
  let partialSegs = 0;
  if (sg && csum && mss !== GSO_BY_FRAGS) {
    partialSegs = partialSegments(headSkb, features, mss, origLen);
    if (partialSegs > 0) mss *= partialSegs;
  }
  if (skbOrphanFrags(headSkb, GFP_ATOMIC) !== 0) return -ENOMEM;
  const st = takeState(headSkb.env);
  st.head = headSkb;
  st.doffset = doffset;
  st.headroom = skbHeadroom(headSkb);
  st.sg = sg;
  st.csum = csum;
  st.listSkb = headSkb.shinfo.fragList;
  st.fragSkb = headSkb;
  st.i = 0;
  st.nfrags = headSkb.shinfo.nrFrags;
  st.pos = skbHeadlen(headSkb);
  st.segs = null;
  st.tail = null;
  try {
    return runSegment(st, mss, features, partialSegs);
  } finally {
    st.busy = false;
    st.segs = null;
    st.tail = null;
    st.listSkb = null;
  }
}

function runSegment(st: SegState, mss: number, features: number, partialSegs: number): SkBuff | number {
  let err: number;
  try {
    err = segmentLoop(st, mss);
  } catch (e) {
    kfreeSkbList(st.segs);
    throw e;
  }
  if (err !== 0) {
    kfreeSkbList(st.segs);
    return err;
  }
  const segs = st.segs!;
  segs.prev = st.tail;
  if (partialSegs > 0) fixPartial(st, features, partialSegs);
  return segs;
}

/**
 * The state of one skb_segment call: the walk over source frags (which skb's frags, which slot, -1 for that
 * skb's head page, and the byte position) plus the output list. One per env, reused: no allocation per call.
 */
class SegState {
  head!: SkBuff;
  doffset = 0;
  headroom = 0;
  sg = false;
  csum = false;
  listSkb: SkBuff | null = null;
  /** The cursor: frags of `fragSkb`, slot `i` of `nfrags`, at packet byte `pos`. */
  fragSkb!: SkBuff;
  i = 0;
  nfrags = 0;
  pos = 0;
  segs: SkBuff | null = null;
  tail: SkBuff | null = null;
  busy = false;
}

const states = new WeakMap<SkbEnv, SegState>();

/** The env's reusable state, or a fresh one if a destructor callback re-entered skb_segment. */
function takeState(env: SkbEnv): SegState {
  let st = states.get(env);
  if (st === undefined) {
    st = new SegState();
    states.set(env, st);
  }
  if (st.busy) st = new SegState();
  st.busy = true;
  return st;
}

function segmentLoop(st: SegState, mss: number): number {
  const head = st.head;
  let offset = st.doffset;
  do {
    let len: number;
    if (mss === GSO_BY_FRAGS) {
      if (st.listSkb === null) throw new SkbBug('skb_segment: GSO_BY_FRAGS ran out of frag-list members');
      len = st.listSkb.len;
    } else {
      len = Math.min(head.len - offset, mss);
    }
    const err = oneSegment(st, offset, len);
    if (err !== 0) return err;
    offset += len;
  } while (offset < head.len);
  return 0;
}

function linkSegment(st: SegState, nskb: SkBuff): void {
  if (st.tail === null) st.segs = nskb;
  else st.tail.next = nskb;
  st.tail = nskb;
}

/** One loop iteration of skb_segment: the segment carrying bytes [offset, offset + len) of head_skb. */
function oneSegment(st: SegState, offset: number, len: number): number {
  const head = st.head;
  let hsize = skbHeadlen(head) - offset;
  const list = st.listSkb;
  let nskb: SkBuff;
  if (hsize <= 0 && st.i >= st.nfrags && list !== null && skbHeadlen(list) !== 0 && (skbHeadlen(list) === len || st.sg)) {
    const n = cloneListMember(st, list, offset, len);
    if (typeof n === 'number') return n;
    nskb = n;
  } else {
    if (hsize < 0) hsize = 0;
    if (hsize > len || !st.sg) hsize = len;
    const n = allocSkb(head.env, hsize + st.doffset + st.headroom, GFP_ATOMIC, skbAllocRxFlag(head));
    if (n === null) return -ENOMEM;
    skbReserve(n, st.headroom);
    skbPut(n, st.doffset);
    nskb = n;
  }
  linkSegment(st, nskb);
  copySkbHeader(nskb, head);
  skbHeadersOffsetUpdate(nskb, skbHeadroom(nskb) - st.headroom);
  skbResetMacLen(nskb);
  headCopy(head.shinfo, head.data, nskb.shinfo, nskb.data, st.doffset);
  if (nskb.len !== len + st.doffset) {
    if (!st.sg) {
      if (!st.csum) nskb.ipSummed = CHECKSUM_NONE;
      const at = skbPut(nskb, len);
      return skbCopyBitsToHead(head, offset, nskb.shinfo, nskb.data + at, len) !== 0 ? -ENOMEM : 0;
    }
    const err = fillSegmentFrags(st, nskb, offset, len, hsize);
    if (err !== 0) return err;
  }
  return csumCheck(st, nskb);
}

/** A frag-list member that is exactly this segment: clone it, trim it, make its header writable. */
function cloneListMember(st: SegState, list: SkBuff, offset: number, len: number): SkBuff | number {
  if (skbHeadlen(list) > len) throw new SkbBug('skb_segment: frag-list member head longer than the segment');
  const nskb = skbClone(list, GFP_ATOMIC);
  if (nskb === null) return -ENOMEM;
  st.fragSkb = list;
  st.i = 0;
  st.nfrags = list.shinfo.nrFrags;
  st.pos += skbHeadlen(list);
  while (st.pos < offset + len) {
    if (st.i >= st.nfrags) {
      kfreeSkb(nskb);
      throw new SkbBug('skb_segment: frag-list member shorter than its segment (BUG_ON(i >= nfrags))');
    }
    const size = list.shinfo.fragSize[st.i]!;
    if (st.pos + size > offset + len) break;
    st.i++;
    st.pos += size;
  }
  st.listSkb = list.next;
  if (pskbTrim(nskb, len) !== 0) {
    kfreeSkb(nskb);
    return -ENOMEM;
  }
  const hsize = nskb.end;
  if (skbCowHead(nskb, st.doffset + st.headroom) !== 0) {
    kfreeSkb(nskb);
    return -ENOMEM;
  }
  nskb.truesize += nskb.end - hsize;
  skbReleaseHeadState(nskb);
  skbPush(nskb, st.doffset);
  return nskb;
}

/** The SG path: copy `hsize` linear bytes, then reference the frag slots covering the rest of the segment. */
function fillSegmentFrags(st: SegState, nskb: SkBuff, offset: number, len: number, hsize: number): number {
  const head = st.head;
  const nsh = nskb.shinfo;
  const at = skbPut(nskb, hsize);
  headCopy(head.shinfo, head.data + offset, nsh, nskb.data + at, hsize);
  nsh.flags |= (head.shinfo.flags | st.fragSkb.shinfo.flags) & SKBFL_SHARED_FRAG;
  if (skbZerocopyClone(nskb, st.fragSkb, GFP_ATOMIC) !== 0) return -ENOMEM;
  const max = head.env.maxSkbFrags;
  while (st.pos < offset + len) {
    if (st.i >= st.nfrags) {
      const err = nextListMember(st, nskb);
      if (err !== 0) return err;
    }
    if (nsh.nrFrags >= max) return -EINVAL;
    const j = nsh.nrFrags;
    const size = placeFrag(nsh, j, st);
    if (st.pos < offset) {
      nsh.fragOff[j]! += offset - st.pos;
      nsh.fragSize[j]! -= offset - st.pos;
    }
    nsh.nrFrags++;
    if (st.pos + size <= offset + len) {
      st.i++;
      st.pos += size;
    } else {
      nsh.fragSize[j]! -= st.pos + size - (offset + len);
      break;
    }
  }
  nskb.dataLen = len - hsize;
  nskb.len += nskb.dataLen;
  nskb.truesize += nskb.dataLen;
  return 0;
}

/** The frags of the current skb are used up: continue with the next frag-list member. */
function nextListMember(st: SegState, nskb: SkBuff): number {
  const list = st.listSkb;
  if (list === null) throw new SkbBug('skb_segment: paged data ends before the segment does');
  if (skbOrphanFrags(list, GFP_ATOMIC) !== 0 || skbZerocopyClone(nskb, list, GFP_ATOMIC) !== 0) return -ENOMEM;
  st.fragSkb = list;
  st.i = 0;
  st.nfrags = list.shinfo.nrFrags;
  nskb.shinfo.flags |= list.shinfo.flags & SKBFL_SHARED_FRAG;
  if (skbHeadlen(list) === 0) {
    if (st.nfrags === 0) throw new SkbBug('skb_segment: empty frag-list member');
  } else {
    if (!list.headFrag) throw new SkbBug('skb_segment: frag-list member with a non-page head under SG');
    st.i = -1;
  }
  st.listSkb = list.next;
  return 0;
}

/** Copy the cursor's slot (or its skb's head page, slot -1) into slot j of `nsh` with a new reference. */
function placeFrag(nsh: SkbSharedInfo, j: number, st: SegState): number {
  const src = st.fragSkb;
  if (st.i < 0) {
    const sh = src.shinfo;
    fragSlotSet(nsh, j, sh.headFrames[0]!, sh.headOff + src.data, skbHeadlen(src));
  } else {
    fragSlotCopy(nsh, j, src.shinfo, st.i);
  }
  fragSlotRef(nsh, j);
  return nsh.fragSize[j]!;
}

/** perform_csum_check: without checksum offload a segment with shared frags is linearized. */
function csumCheck(st: SegState, nskb: SkBuff): number {
  if (st.csum) return 0;
  if (skbHasSharedFrag(nskb) && skbLinearize(nskb) !== 0) return -ENOMEM;
  nskb.ipSummed = CHECKSUM_NONE;
  return 0;
}

/** GSO partial: every segment carries the original gso_size and partial_segs; the last one is fixed up. */
function fixPartial(st: SegState, features: number, partialSegs: number): void {
  const hsh = st.head.shinfo;
  let type = hsh.gsoType;
  if ((features & NETIF_F_GSO_PARTIAL) !== 0) type |= SKB_GSO_PARTIAL;
  type &= ~SKB_GSO_DODGY;
  const gsoSize = hsh.gsoSize;
  for (let s = st.segs; s !== null; s = s.next) {
    s.shinfo.gsoSize = gsoSize;
    s.shinfo.gsoSegs = partialSegs;
    s.shinfo.gsoType = type;
  }
  const tail = st.tail!;
  const payload = tail.len - st.doffset;
  if (payload <= gsoSize) tail.shinfo.gsoSize = 0;
  else if (tail !== st.segs) tail.shinfo.gsoSegs = Math.ceil(payload / gsoSize);
}

