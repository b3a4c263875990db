/**
 * Frag slots: the accessors that are the only way into `shinfo.frags[]`, and the slot-level reference
 * operations every frag-moving operation goes through.
 *
 * A slot is (frame, offset, size, destructor). Its reference is held either on the destructor (if the slot has
 * one: Campbell's design, REFERENCE.md §9.1) or on the frame's page count through the PageAllocator
 * (get_page / put_page). Filling a slot takes no reference: the caller donates one (skb_fill_page_desc).
 * Copying a descriptor into another slot takes no reference either; the operation that does it decides, as
 * Linux does, whether it moves the slot (no change), shares it (skbFragRef on the copy) or drops it.
 *
 * The frame may belong to another domain (a grant-mapped page): reads go through MachineMemory as the skb's
 * own domain, so once the mapping is gone a read faults. A slot whose destructor has already been destroyed
 * throws UseAfterDestroy when it is read or referenced.
 */

import { XEN_PAGE_SIZE } from '../abi/page.ts';
import { InvalidArgument } from '../errors.ts';
import { SKBFL_MANAGED_FRAG_REFS, SKBFL_ZEROCOPY_ENABLE } from './constants.ts';
import {
  destroyDestructor,
  destroyedError,
  traceDestructor,
  type FragDestructor,
} from './destructor.ts';
import { EMSGSIZE } from './errno.ts';
import { FragRefUnderflow, TooManyFrags } from './errors.ts';
import { skbZcopyDowngradeManaged } from './ubuf.ts';
import type { SkBuff, SkbSharedInfo } from './skbuff.ts';

// ---- accessors ----------------------------------------------------------------------------------------------

/** skb_frag_page: the frame of slot i. */
export function skbFragPage(skb: SkBuff, i: number): number {
  return skb.shinfo.fragPage[i]!;
}

/** skb_frag_off. */
export function skbFragOff(skb: SkBuff, i: number): number {
  return skb.shinfo.fragOff[i]!;
}

/** skb_frag_size. */
export function skbFragSize(skb: SkBuff, i: number): number {
  return skb.shinfo.fragSize[i]!;
}

/** The per-frag destructor of slot i, or null if the slot counts on its frame. */
export function skbFragDestructor(skb: SkBuff, i: number): FragDestructor | null {
  return skb.shinfo.fragDtor[i]!;
}

export function skbFragSizeSet(skb: SkBuff, i: number, size: number): void {
  skb.shinfo.fragSize[i] = size;
}

export function skbFragSizeAdd(skb: SkBuff, i: number, delta: number): void {
  skb.shinfo.fragSize[i]! += delta;
}

export function skbFragSizeSub(skb: SkBuff, i: number, delta: number): void {
  skb.shinfo.fragSize[i]! -= delta;
}

export function skbFragOffAdd(skb: SkBuff, i: number, delta: number): void {
  skb.shinfo.fragOff[i]! += delta;
}

// ---- slot references ------------------------------------------------------------------------------------------

/**
 * __skb_frag_ref on slot i of `sh`: +1 on its destructor, or get_page on its frame. A destructor's generation
 * changes when it is destroyed, so comparing it with the slot's recorded one is the whole use-after-destroy
 * check (this is the hot path the destructor overhead benchmark measures).
 */
export function fragSlotRef(sh: SkbSharedInfo, i: number): void {
  const d = sh.fragDtor[i]!;
  if (d === null) {
    sh.env.pages.getPage(sh.fragPage[i]!);
    return;
  }
  if (d.gen !== sh.fragDtorGen[i]) throw destroyedError(d, 'skb_frag_ref');
  d.ref++;
  if (d.trace !== null) traceDestructor(d, 'ref');
}

/** __skb_frag_unref on slot i of `sh`: -1 on its destructor (destroying it at 0), or put_page. */
export function fragSlotUnref(sh: SkbSharedInfo, i: number): void {
  const d = sh.fragDtor[i]!;
  if (d === null) {
    const frame = sh.fragPage[i]!;
    if (!(sh.env.mem.refcount[frame]! > 0)) throw new FragRefUnderflow(frame, `slot ${i} of shinfo #${sh.id} dropped a page reference that is not held`);
    sh.env.pages.putPage(frame);
    return;
  }
  if (d.gen !== sh.fragDtorGen[i]) throw destroyedError(d, 'skb_frag_unref');
  if (d.trace !== null) traceDestructor(d, 'unref');
  if (--d.ref === 0) destroyDestructor(d);
}

/** skb_frag_ref(skb, i). */
export function skbFragRef(skb: SkBuff, i: number): void {
  fragSlotRef(skb.shinfo, i);
}

/** skb_frag_unref(skb, i): a no-op while the completion object manages the frag references. */
export function skbFragUnref(skb: SkBuff, i: number): void {
  if ((skb.shinfo.flags & (SKBFL_ZEROCOPY_ENABLE | SKBFL_MANAGED_FRAG_REFS)) === (SKBFL_ZEROCOPY_ENABLE | SKBFL_MANAGED_FRAG_REFS)) return;
  fragSlotUnref(skb.shinfo, i);
}

// ---- descriptors ----------------------------------------------------------------------------------------------

function checkSlot(sh: SkbSharedInfo, i: number, op: string): void {
  if (!(i >= 0 && i < sh.env.maxSkbFrags)) throw new TooManyFrags(op, i, sh.env.maxSkbFrags);
}

function checkFrame(sh: SkbSharedInfo, frame: number, off: number, size: number, op: string): void {
  if (!(frame >= 0 && frame < sh.env.mem.nrFrames) || !(off >= 0 && size >= 0 && off + size <= XEN_PAGE_SIZE)) {
    throw new InvalidArgument(`${op}: frag (frame ${frame}, off ${off}, size ${size}) must lie inside one frame`);
  }
}

/** __skb_fill_page_desc_noacc: set slot i of `sh`, no reference, no destructor. */
export function fragSlotSet(sh: SkbSharedInfo, i: number, frame: number, off: number, size: number): void {
  sh.fragPage[i] = frame;
  sh.fragOff[i] = off;
  sh.fragSize[i] = size;
  sh.fragDtor[i] = null;
  sh.fragDtorGen[i] = 0;
}

/** Copy slot i of `src` into slot j of `dst` (descriptor and destructor pointer), no reference. */
export function fragSlotCopy(dst: SkbSharedInfo, j: number, src: SkbSharedInfo, i: number): void {
  dst.fragPage[j] = src.fragPage[i]!;
  dst.fragOff[j] = src.fragOff[i]!;
  dst.fragSize[j] = src.fragSize[i]!;
  dst.fragDtor[j] = src.fragDtor[i]!;
  dst.fragDtorGen[j] = src.fragDtorGen[i]!;
}

/** The page is tagged pfmemalloc and is this domain's own (a foreign grant-mapped frame carries no tag). */
export function pagePfmemalloc(sh: SkbSharedInfo, frame: number): boolean {
  const env = sh.env;
  return env.mem.owner[frame] === env.domid && env.pages.isPfmemalloc(frame);
}

/** __skb_fill_page_desc: set slot i (no reference taken) and propagate the page's pfmemalloc tag. */
export function skbFillPageDescOnly(skb: SkBuff, i: number, frame: number, off: number, size: number): void {
  const sh = skb.shinfo;
  checkSlot(sh, i, 'skb_fill_page_desc');
  checkFrame(sh, frame, off, size, 'skb_fill_page_desc');
  fragSlotSet(sh, i, frame, off, size);
  if (pagePfmemalloc(sh, frame)) skb.pfmemalloc = true;
}

/**
 * skb_fill_page_desc: slot i = (frame, off, size) and nr_frags = i + 1. Takes no page reference: the caller
 * donates one. Lengths are the caller's to update (skbAddRxFrag does both).
 */
export function skbFillPageDesc(skb: SkBuff, i: number, frame: number, off: number, size: number): void {
  skbFillPageDescOnly(skb, i, frame, off, size);
  skb.shinfo.nrFrags = i + 1;
}

/** skb_add_rx_frag: fill slot i and account its bytes; no reference taken. */
export function skbAddRxFrag(skb: SkBuff, i: number, frame: number, off: number, size: number, truesize: number): void {
  skbFillPageDesc(skb, i, frame, off, size);
  skb.len += size;
  skb.dataLen += size;
  skb.truesize += truesize;
}

/** skb_coalesce_rx_frag: grow slot i by `size` bytes that follow it in the same page; no reference taken. */
export function skbCoalesceRxFrag(skb: SkBuff, i: number, size: number, truesize: number): void {
  skb.shinfo.fragSize[i]! += size;
  skb.len += size;
  skb.dataLen += size;
  skb.truesize += truesize;
}

/**
 * skb_can_coalesce: bytes at (frame, off) may extend slot i-1 instead of using slot i. Never for a zerocopy skb;
 * and, as Campbell's series required, only when the previous slot has the same destructor (`dtor`).
 */
export function skbCanCoalesce(skb: SkBuff, i: number, frame: number, off: number, dtor: FragDestructor | null = null): boolean {
  const sh = skb.shinfo;
  if ((sh.flags & SKBFL_ZEROCOPY_ENABLE) !== 0) return false;
  if (i === 0) return false;
  const p = i - 1;
  return sh.fragPage[p] === frame && sh.fragOff[p]! + sh.fragSize[p]! === off && sh.fragDtor[p] === dtor;
}

/**
 * skb_frag_set_destructor (Campbell): slot i counts on `d` from now on. Takes no reference; the idiom is fill,
 * set the destructor, then skbFragRef(skb, i).
 */
export function skbFragSetDestructor(skb: SkBuff, i: number, d: FragDestructor): void {
  const sh = skb.shinfo;
  checkSlot(sh, i, 'skb_frag_set_destructor');
  if (!d.live) throw destroyedError(d, 'skb_frag_set_destructor');
  sh.fragDtor[i] = d;
  sh.fragDtorGen[i] = d.gen;
}

/**
 * skb_append_pagefrags: extend the last slot when (frame, off) continues it (no new reference); otherwise
 * get_page and use a new slot, or -EMSGSIZE at `maxFrags`. Returns 0 or the negative errno.
 */
export function skbAppendPagefrags(skb: SkBuff, frame: number, off: number, size: number, maxFrags: number): number {
  const sh = skb.shinfo;
  const i = sh.nrFrags;
  if (skbCanCoalesce(skb, i, frame, off)) {
    sh.fragSize[i - 1]! += size;
    return 0;
  }
  if (i >= maxFrags) return -EMSGSIZE;
  checkSlot(sh, i, 'skb_append_pagefrags');
  checkFrame(sh, frame, off, size, 'skb_append_pagefrags');
  skbZcopyDowngradeManaged(skb);
  sh.env.pages.getPage(frame);
  fragSlotSet(sh, i, frame, off, size);
  sh.nrFrags = i + 1;
  return 0;
}
