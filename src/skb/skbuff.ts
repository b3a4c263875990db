/**
 * struct sk_buff and struct skb_shared_info: the two objects every skb operation works on.
 *
 * Buffer geometry (offsets are bytes from the start of the head, as Linux stores them with
 * NET_SKBUFF_DATA_USES_OFFSET):
 *
 * ```
 *                         ---------------------------------------------------------------
 *   head (shinfo.head*) ->|  headroom  |  linear data (headlen)  |  tailroom  | (shinfo) |
 *                         ---------------------------------------------------------------
 *                         0          data                     tail          end
 *
 *   shinfo.frags[0 .. nrFrags-1]   paged data: (frame, off, size[, destructor]) each
 *   shinfo.fragList                further sk_buffs whose bytes follow the frags
 *
 *   len     = headlen + dataLen             headlen = tail - data
 *   dataLen = sum(frag sizes) + sum(fragList lens)
 * ```
 *
 * The head is real memory: `nrHeadFrames` machine frames owned by the skb's domain, allocated through the
 * domain's PageAllocator. A head of up to one page (4096 bytes less the 320-byte shinfo overhead) is one frame;
 * a larger one (skb_copy of a 64 KiB packet) is several frames, listed in `headFrames` and addressed as one
 * contiguous range: byte `x` of the head lives in frame `headFrames[(headOff + x) >> 12]`. A page-fragment
 * head (build_skb, `headFrag`) is always one frame and may start at `headOff` inside it. skb_shared_info is
 * modelled as this JS object instead of bytes at `end`; `end` still leaves room for it exactly as Linux's
 * SKB_WITH_OVERHEAD does, so tailroom and truesize match a 6.x kernel (up to kmalloc's small-head cache).
 *
 * The three counters (REFERENCE.md §8.1), kept apart:
 *
 * - `skb.users`: holders of this SkBuff object. skbGet +1, kfreeSkb/consumeSkb -1, the object dies at 0.
 *   skbShared(skb) <=> users > 1.
 * - `shinfo.dataref`: SkBuffs sharing one head and one SkbSharedInfo. skbClone +1; a sharing skb's release
 *   subtracts 1 (or 1 + 1<<16 if it was a payload-only nohdr holder). The shinfo's contents (frag references,
 *   fragList, head frames, zerocopy completion) are released when the last holder lets go.
 * - per frame: one page reference per frag slot that points at the frame, in any shinfo (not per skb), plus
 *   one per head that lives in it. A slot with a destructor counts on the destructor instead of the frame.
 */

import type { SkbEnv } from './env.ts';
import type { FragDestructor } from './destructor.ts';
import type { UbufInfo } from './ubuf.ts';
import {
  CHECKSUM_NONE,
  CHECKSUM_PARTIAL,
  MAX_HEAD_FRAMES,
  SKB_DATAREF_MASK,
  SKB_DATAREF_SHIFT,
  SKB_HEADER_UNSET,
  SKBFL_SHARED_FRAG,
} from './constants.ts';

/** skb->destructor: the owner hook (sock_wfree and friends), run once when the skb is released. */
export type SkbDestructorFn = (skb: SkBuff) => void;

/**
 * SkbSharedInfo: one head buffer plus the shared info that Linux keeps at its end.
 *
 * Ownership: created by a head allocation (allocSkb, buildSkb, pskbExpandHead) with dataref = 1 and owned
 * jointly by every SkBuff whose `shinfo` points at it; `dataref` counts them. Clones share it and see the same
 * frags, fragList and completion object. It owns one page reference per frag slot without a destructor, one
 * destructor reference per slot with one, one `users` reference on each fragList member, the head frames, and
 * (while SKBFL_ZEROCOPY_ENABLE is set) one completion reference on `destructorArg`.
 *
 * Who writes: only the operations in src/skb/ change the frag arrays, and only through the slot helpers in
 * frag.ts (the C accessors are the only way in). Linux requires an skb to be unshared and uncloned before
 * its frags are changed; the operations enforce that by unclone/expand first, as Linux does.
 *
 * Death: the last dataref holder releases it (skbReleaseData): completion first, then every frag slot,
 * then the fragList, then the head frames. The object then returns to its SkbEnv pool.
 */
export class SkbSharedInfo {
  readonly env: SkbEnv;
  /** Index of this object in its pool, for audits and traces. */
  readonly id: number;
  /** False while the object sits in the pool. */
  live = false;

  // ---- the head buffer -----------------------------------------------------------------------------
  /** Frames holding the head, in address order; only the first `nrHeadFrames` are meaningful. */
  readonly headFrames = new Int32Array(MAX_HEAD_FRAMES);
  nrHeadFrames = 0;
  /** Byte offset of head byte 0 inside headFrames[0] (non-zero only for page-fragment heads). */
  headOff = 0;
  /** The head allocation needed the emergency reserve (kmalloc_reserve's pfmemalloc result). */
  headPfmemalloc = false;

  // ---- struct skb_shared_info ------------------------------------------------------------------------
  /** SKBFL_* bits. */
  flags = 0;
  nrFrags = 0;
  txFlags = 0;
  gsoSize = 0;
  gsoSegs = 0;
  gsoType = 0;
  /** First member of the frag list; members are chained through `next`. */
  fragList: SkBuff | null = null;
  /** The split reference count: see the file header. */
  dataref = 1;
  /** The zerocopy completion object (ubuf_info) when SKBFL_ZEROCOPY_ENABLE is set. */
  destructorArg: UbufInfo | null = null;

  /** frags[i]: the frame, offset in it and size of slot i. A frag never crosses its frame. */
  readonly fragPage: Int32Array;
  readonly fragOff: Int32Array;
  readonly fragSize: Int32Array;
  /** Campbell's per-frag destructor of slot i, or null when the slot counts on the frame. */
  readonly fragDtor: (FragDestructor | null)[];
  /** Generation of fragDtor[i] when it was set, so a slot that outlived its destructor is caught. */
  readonly fragDtorGen: Int32Array;

  constructor(env: SkbEnv, id: number, maxFrags: number) {
    this.env = env;
    this.id = id;
    this.fragPage = new Int32Array(maxFrags);
    this.fragOff = new Int32Array(maxFrags);
    this.fragSize = new Int32Array(maxFrags);
    this.fragDtor = new Array<FragDestructor | null>(maxFrags).fill(null);
    this.fragDtorGen = new Int32Array(maxFrags);
  }

  /** Zero the fields __alloc_skb zeroes (everything before dataref), dataref = 1. */
  reset(): void {
    this.flags = 0;
    this.nrFrags = 0;
    this.txFlags = 0;
    this.gsoSize = 0;
    this.gsoSegs = 0;
    this.gsoType = 0;
    this.fragList = null;
    this.dataref = 1;
    this.destructorArg = null;
    this.nrHeadFrames = 0;
    this.headOff = 0;
    this.headPfmemalloc = false;
  }
}

/**
 * SkBuff: one holder's view of a packet: where its bytes start and end in a shared head, its length, its
 * header offsets and flags.
 *
 * Ownership: whoever allocated or cloned it holds its single `users` reference; skbGet hands out more, and
 * each holder drops its own with kfreeSkb / consumeSkb. The skb holds one dataref share of `shinfo`
 * (with `nohdr` it promises never to touch the header part of the head). A queue, a fragList or a segment
 * list holding an skb holds one of its `users` references through `next` / `prev`.
 *
 * Who writes: the holder of the only `users` reference may change anything; operations that need that
 * (pskbExpandHead, pskbPullTail) throw SkbSharedError otherwise. `cloned` is set on both skbs by skbClone
 * and cleared only when pskbExpandHead gives the skb a private head.
 *
 * Death: at users = 0 the owner destructor runs (skb_release_head_state), the dataref share is released,
 * and the object returns to its SkbEnv pool; any later use throws UseAfterDestroy.
 *
 * pfmemalloc (REFERENCE §11.5): set when the head came from the emergency reserve or a reserve-tagged page was
 * attached as a frag; copied by clone. Derived buffers (copy, pskb_copy, segment, expand) allocate with the
 * entitlement (SKB_ALLOC_RX / __GFP_MEMALLOC) so they inherit the tag when they too need the reserve.
 */
export class SkBuff {
  readonly env: SkbEnv;
  /** Index of this object in its pool, for audits and traces. */
  readonly id: number;
  /** False while the object sits in the pool. */
  live = false;
  /** Bumped at every allocation of this pooled object. */
  gen = 0;

  /** The head and shared info (skb->head plus skb_shinfo()). */
  shinfo: SkbSharedInfo;
  users = 0;
  len = 0;
  dataLen = 0;
  data = 0;
  tail = 0;
  end = 0;
  truesize = 0;

  cloned = false;
  nohdr = false;
  /** The head is a page fragment (build_skb): it may become a frag of another skb (stolen head). */
  headFrag = false;
  pfmemalloc = false;
  hdrLen = 0;

  macHeader = SKB_HEADER_UNSET;
  networkHeader = 0;
  transportHeader = SKB_HEADER_UNSET;
  macLen = 0;
  protocol = 0;
  ipSummed = CHECKSUM_NONE;
  csumStart = 0;
  csumOffset = 0;

  /** The owner hook (skb->sk, skb->destructor). */
  sk: unknown = null;
  destructor: SkbDestructorFn | null = null;

  /** List linkage: queues, fragList chains and segment lists. */
  next: SkBuff | null = null;
  prev: SkBuff | null = null;

  // ---- NAPI_GRO_CB(skb) ------------------------------------------------------------------------------
  groDataOffset = 0;
  groCount = 1;
  groLast: SkBuff | null = null;
  groFlush = false;
  groFree = 0;

  /** Where this skb was allocated (tracking mode only). */
  allocSite: string | null = null;

  constructor(env: SkbEnv, id: number, noHead: SkbSharedInfo) {
    this.env = env;
    this.id = id;
    this.shinfo = noHead;
  }
}

// ---- geometry helpers (skbuff.h inlines) -------------------------------------------------------------------

export function skbShinfo(skb: SkBuff): SkbSharedInfo {
  return skb.shinfo;
}

/** skb_headlen: bytes in the linear area. */
export function skbHeadlen(skb: SkBuff): number {
  return skb.len - skb.dataLen;
}

/** skb_pagelen: bytes in the frags (headlen excluded, frag_list excluded; Linux's __skb_pagelen). */
export function skbPagelen(skb: SkBuff): number {
  const sh = skb.shinfo;
  let n = 0;
  for (let i = 0; i < sh.nrFrags; i++) n += sh.fragSize[i]!;
  return n;
}

export function skbHeadroom(skb: SkBuff): number {
  return skb.data;
}

/** skb_tailroom: zero for a non-linear skb. */
export function skbTailroom(skb: SkBuff): number {
  return skb.dataLen !== 0 ? 0 : skb.end - skb.tail;
}

export function skbEndOffset(skb: SkBuff): number {
  return skb.end;
}

export function skbIsNonlinear(skb: SkBuff): boolean {
  return skb.dataLen !== 0;
}

export function skbHasFragList(skb: SkBuff): boolean {
  return skb.shinfo.fragList !== null;
}

export function skbIsGso(skb: SkBuff): boolean {
  return skb.shinfo.gsoSize !== 0;
}

/** skb_shared: more than one holder of this SkBuff object. */
export function skbShared(skb: SkBuff): boolean {
  return skb.users !== 1;
}

/** skb_cloned: the head is shared with another SkBuff. */
export function skbCloned(skb: SkBuff): boolean {
  return skb.cloned && (skb.shinfo.dataref & SKB_DATAREF_MASK) !== 1;
}

/** skb_header_cloned: the header part of the head is shared with a holder that may write it. */
export function skbHeaderCloned(skb: SkBuff): boolean {
  if (!skb.cloned) return false;
  const d = skb.shinfo.dataref;
  return (d & SKB_DATAREF_MASK) - (d >>> SKB_DATAREF_SHIFT) !== 1;
}

/** skb_head_is_locked: the head cannot be stolen as a page frag. */
export function skbHeadIsLocked(skb: SkBuff): boolean {
  return !skb.headFrag || skbCloned(skb);
}

/** skb_has_shared_frag: some frag may be rewritten by its owner (vmsplice, sendfile, zerocopy). */
export function skbHasSharedFrag(skb: SkBuff): boolean {
  return skbIsNonlinear(skb) && (skb.shinfo.flags & SKBFL_SHARED_FRAG) !== 0;
}

// ---- header offsets (skb_reset_*_header and friends) ------------------------------------------------------

export function skbResetMacHeader(skb: SkBuff): void {
  skb.macHeader = skb.data;
}

export function skbResetNetworkHeader(skb: SkBuff): void {
  skb.networkHeader = skb.data;
}

export function skbResetTransportHeader(skb: SkBuff): void {
  skb.transportHeader = skb.data;
}

export function skbSetNetworkHeader(skb: SkBuff, offset: number): void {
  skb.networkHeader = skb.data + offset;
}

export function skbSetTransportHeader(skb: SkBuff, offset: number): void {
  skb.transportHeader = skb.data + offset;
}

export function skbMacHeaderWasSet(skb: SkBuff): boolean {
  return skb.macHeader !== SKB_HEADER_UNSET;
}

/** skb_reset_mac_len: mac_len = network header - mac header. */
export function skbResetMacLen(skb: SkBuff): void {
  skb.macLen = skbMacHeaderWasSet(skb) ? skb.networkHeader - skb.macHeader : 0;
}

export function skbNetworkOffset(skb: SkBuff): number {
  return skb.networkHeader - skb.data;
}

/** skb_headers_offset_update: the head moved by `off` bytes (expand, copy_expand, segment). */
export function skbHeadersOffsetUpdate(skb: SkBuff, off: number): void {
  if (skb.ipSummed === CHECKSUM_PARTIAL) skb.csumStart += off;
  skb.transportHeader = (skb.transportHeader + off) & 0xffff;
  skb.networkHeader = (skb.networkHeader + off) & 0xffff;
  if (skbMacHeaderWasSet(skb)) skb.macHeader += off;
}
