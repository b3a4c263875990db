/**
 * Reading and writing an skb's bytes wherever they live: linear head, frags, frag_list members.
 *
 * skb_copy_bits / skb_store_bits semantics: offsets count from `skb.data`; a negative offset reaches back into
 * the headroom (skb_copy uses that to copy the headroom too); a range past `skb.len` is -EFAULT. Frag bytes are
 * read and written through MachineMemory as the skb's domain, so a frag whose frame is no longer mapped raises
 * a PageFault, and a slot whose destructor already ran throws UseAfterDestroy.
 */

import { checkDestructorGen } from './destructor.ts';
import { EFAULT } from './errno.ts';
import { SkbBug } from './errors.ts';
import { headCopy, headRead, headWrite, headWriteFromMem } from './head.ts';
import { skbHeadlen, type SkBuff, type SkbSharedInfo } from './skbuff.ts';

/** Index in machine memory of the first byte of slot i, after the access check as the skb's domain. */
export function fragIndex(sh: SkbSharedInfo, i: number, write: boolean): number {
  const d = sh.fragDtor[i]!;
  if (d !== null) checkDestructorGen(d, sh.fragDtorGen[i]!, 'frag access');
  const env = sh.env;
  const frame = sh.fragPage[i]!;
  const base = write ? env.mem.checkWrite(env.domid, frame) : env.mem.checkRead(env.domid, frame);
  return base + sh.fragOff[i]!;
}

const READ_TO_ARRAY = 0;
const READ_TO_HEAD = 1;
const WRITE_FROM_ARRAY = 2;

/**
 * Walk [offset, offset + len) of `skb` (head, frags, frag list, as skb_copy_bits does) moving bytes one way:
 * into `arr` at `at`, into the head of `dstSh` at head offset `at`, or from `arr` at `at` into the packet.
 * Returns 0 or -EFAULT.
 */
function walk(skb: SkBuff, offset: number, len: number, mode: number, arr: Uint8Array | null, dstSh: SkbSharedInfo | null, at: number): number {
  if (len < 0 || offset > skb.len - len) return -EFAULT;
  const sh = skb.shinfo;
  let start = skbHeadlen(skb);
  let copy = start - offset;
  if (copy > 0) {
    if (copy > len) copy = len;
    moveLinear(skb, offset, copy, mode, arr, dstSh, at);
    if ((len -= copy) === 0) return 0;
    offset += copy;
    at += copy;
  }
  for (let i = 0; i < sh.nrFrags; i++) {
    const end = start + sh.fragSize[i]!;
    copy = end - offset;
    if (copy > 0) {
      if (copy > len) copy = len;
      moveFrag(skb, fragIndex(sh, i, mode === WRITE_FROM_ARRAY) + offset - start, copy, mode, arr, dstSh, at);
      if ((len -= copy) === 0) return 0;
      offset += copy;
      at += copy;
    }
    start = end;
  }
  for (let m = sh.fragList; m !== null; m = m.next) {
    const end = start + m.len;
    copy = end - offset;
    if (copy > 0) {
      if (copy > len) copy = len;
      if (walk(m, offset - start, copy, mode, arr, dstSh, at) !== 0) return -EFAULT;
      if ((len -= copy) === 0) return 0;
      offset += copy;
      at += copy;
    }
    start = end;
  }
  return len === 0 ? 0 : -EFAULT;
}

function moveLinear(skb: SkBuff, offset: number, n: number, mode: number, arr: Uint8Array | null, dstSh: SkbSharedInfo | null, at: number): void {
  if (mode === READ_TO_ARRAY) headRead(skb.shinfo, skb.data + offset, arr!, at, n);
  else if (mode === READ_TO_HEAD) headCopy(skb.shinfo, skb.data + offset, dstSh!, at, n);
  else headWrite(skb.shinfo, skb.data + offset, arr!, at, n);
}

function moveFrag(skb: SkBuff, index: number, n: number, mode: number, arr: Uint8Array | null, dstSh: SkbSharedInfo | null, at: number): void {
  const mem = skb.env.mem;
  if (mode === READ_TO_ARRAY) mem.copyOut(index, arr!, at, n);
  else if (mode === READ_TO_HEAD) headWriteFromMem(dstSh!, at, index, n);
  else mem.copyIn(index, arr!, at, n);
}

/** skb_copy_bits: copy `len` bytes of the packet at `offset` into `to[toOff..]`. Returns 0 or -EFAULT. */
export function skbCopyBits(skb: SkBuff, offset: number, to: Uint8Array, toOff: number, len: number): number {
  return walk(skb, offset, len, READ_TO_ARRAY, to, null, toOff);
}

/** skb_copy_bits into another skb's head at head offset `headAt` (skb_copy, pull_tail, segment). */
export function skbCopyBitsToHead(skb: SkBuff, offset: number, dst: SkbSharedInfo, headAt: number, len: number): number {
  return walk(skb, offset, len, READ_TO_HEAD, null, dst, headAt);
}

/** skb_store_bits: write `len` bytes of `from[fromOff..]` into the packet at `offset`. Returns 0 or -EFAULT. */
export function skbStoreBits(skb: SkBuff, offset: number, from: Uint8Array, fromOff: number, len: number): number {
  return walk(skb, offset, len, WRITE_FROM_ARRAY, from, null, fromOff);
}

/** The whole packet as a fresh array (allocates: for tests, tools and traces, not for the data path). */
export function skbToBytes(skb: SkBuff): Uint8Array {
  const out = new Uint8Array(skb.len);
  if (skbCopyBits(skb, 0, out, 0, skb.len) !== 0) throw new SkbBug(`sk_buff #${skb.id}: len ${skb.len} does not match its data`);
  return out;
}
