/**
 * Linear heads: allocating them in real frames, freeing them, and moving bytes in and out.
 *
 * Sizing follows __alloc_skb and kmalloc_reserve: the request is aligned (SKB_DATA_ALIGN), the shared-info
 * overhead is added, the total is rounded up to the allocator's size (`kmallocSize`), and `end` is that size
 * less the overhead (SKB_WITH_OVERHEAD(ksize)). Only [0, end) needs memory, so a head takes
 * ceil(end / 4096) frames, at least one. Deviations, both in sizing only: up to a page, kmalloc's power-of-two
 * classes (with 96 and 192) are used and the 6.x small-head cache is not modelled; above a page pvnet rounds to
 * whole frames where kmalloc would round to a power-of-two page order (a 64 KiB skb_copy takes 17 frames, not
 * 32). Every head, however small, has its frames to itself: there is no slab packing several heads per page.
 *
 * Reserve semantics (__kmalloc_reserve, REFERENCE.md §11.5): each frame is first asked for with
 * __GFP_NOMEMALLOC; if that fails and the caller is entitled (`env.pfmemallocAllowed(gfp)`), it is asked again
 * with `gfp`, and the head is tagged pfmemalloc. The tag means "the entitled retry was needed".
 */

import { XEN_PAGE_SHIFT, XEN_PAGE_SIZE } from '../abi/page.ts';
import { __GFP_NOMEMALLOC, __GFP_NOWARN } from '../mm/gfp.ts';
import { MAX_HEAD_FRAMES, skbDataAlign } from './constants.ts';
import { shinfoAlloc, shinfoFree, type SkbEnv } from './env.ts';
import type { SkbSharedInfo } from './skbuff.ts';

const PAGE_MASK = XEN_PAGE_SIZE - 1;

/** kmalloc_size_roundup as pvnet models it (see the file header). */
export function kmallocSize(n: number): number {
  if (n <= 8) return 8;
  if (n > XEN_PAGE_SIZE) return (n + PAGE_MASK) & ~PAGE_MASK;
  if (n > 64 && n <= 96) return 96;
  if (n > 128 && n <= 192) return 192;
  let s = 16;
  while (s < n) s <<= 1;
  return s;
}

/** `end` of a head allocated for `size` bytes: SKB_WITH_OVERHEAD(ksize(SKB_HEAD_ALIGN(size))). */
export function headEnd(env: SkbEnv, size: number): number {
  return kmallocSize(skbDataAlign(size) + env.shinfoSize) - env.shinfoSize;
}

function framesFor(end: number): number {
  return Math.max(1, (end + PAGE_MASK) >> XEN_PAGE_SHIFT);
}

/**
 * A fresh SkbSharedInfo whose head can hold `headEnd(env, size)` bytes, or null if the frames cannot be had.
 * `sh.headPfmemalloc` tells whether the reserve was used.
 */
export function allocHead(env: SkbEnv, size: number, gfp: number): SkbSharedInfo | null {
  const n = framesFor(headEnd(env, size));
  if (n > MAX_HEAD_FRAMES) return null;
  const sh = shinfoAlloc(env);
  let pfmemalloc = false;
  for (let i = 0; i < n; i++) {
    let f = env.pages.allocPage(gfp | __GFP_NOMEMALLOC | __GFP_NOWARN);
    if (f < 0 && env.pfmemallocAllowed(gfp)) {
      f = env.pages.allocPage(gfp);
      pfmemalloc = true;
    }
    if (f < 0) {
      sh.nrHeadFrames = i;
      freeHeadFrames(sh);
      shinfoFree(sh);
      return null;
    }
    sh.headFrames[i] = f;
  }
  sh.nrHeadFrames = n;
  sh.headOff = 0;
  sh.headPfmemalloc = pfmemalloc;
  return sh;
}

/** A shared info around a caller's page fragment (build_skb): one frame, head at `off`; no new reference. */
export function wrapHeadFrag(env: SkbEnv, frame: number, off: number): SkbSharedInfo {
  const sh = shinfoAlloc(env);
  sh.headFrames[0] = frame;
  sh.nrHeadFrames = 1;
  sh.headOff = off;
  sh.headPfmemalloc = false;
  return sh;
}

/** skb_free_head: drop the head's page reference(s) (kfree, or skb_free_frag for a page-fragment head). */
export function freeHeadFrames(sh: SkbSharedInfo): void {
  const pages = sh.env.pages;
  for (let i = 0; i < sh.nrHeadFrames; i++) pages.putPage(sh.headFrames[i]!);
  sh.nrHeadFrames = 0;
}

/** Index in `mem.bytes` of head byte `x`. */
export function headIndex(sh: SkbSharedInfo, x: number): number {
  const a = sh.headOff + x;
  return (sh.headFrames[a >> XEN_PAGE_SHIFT]! << XEN_PAGE_SHIFT) + (a & PAGE_MASK);
}

/** Bytes from head byte `x` to the end of the frame holding it. */
function runAt(sh: SkbSharedInfo, x: number): number {
  return XEN_PAGE_SIZE - ((sh.headOff + x) & PAGE_MASK);
}

/** Index in machine memory of head byte `x`, after the access check as the skb's domain. */
function headBase(sh: SkbSharedInfo, x: number, write: boolean): number {
  const env = sh.env;
  const a = sh.headOff + x;
  const frame = sh.headFrames[a >> XEN_PAGE_SHIFT]!;
  return (write ? env.mem.checkWrite(env.domid, frame) : env.mem.checkRead(env.domid, frame)) + (a & PAGE_MASK);
}

const TO_ARRAY = 0;
const FROM_ARRAY = 1;
const FROM_MEM = 2;

/** Move `len` bytes between the head at `x` and an array at `at` (or machine memory at index `at`), run by run. */
function headMove(sh: SkbSharedInfo, x: number, len: number, mode: number, arr: Uint8Array | null, at: number): void {
  const mem = sh.env.mem;
  while (len > 0) {
    const n = Math.min(len, runAt(sh, x));
    const base = headBase(sh, x, mode !== TO_ARRAY);
    if (mode === TO_ARRAY) mem.copyOut(base, arr!, at, n);
    else if (mode === FROM_ARRAY) mem.copyIn(base, arr!, at, n);
    else mem.memmove(base, at, n);
    x += n;
    at += n;
    len -= n;
  }
}

/** Copy `len` head bytes starting at `x` into `dst[dstOff..]`. */
export function headRead(sh: SkbSharedInfo, x: number, dst: Uint8Array, dstOff: number, len: number): void {
  headMove(sh, x, len, TO_ARRAY, dst, dstOff);
}

/** Copy `src[srcOff..srcOff+len)` into the head at `x`. */
export function headWrite(sh: SkbSharedInfo, x: number, src: Uint8Array, srcOff: number, len: number): void {
  headMove(sh, x, len, FROM_ARRAY, src, srcOff);
}

/** Copy `len` bytes at `srcIndex` of machine memory (already access-checked) into the head at `x`. */
export function headWriteFromMem(sh: SkbSharedInfo, x: number, srcIndex: number, len: number): void {
  headMove(sh, x, len, FROM_MEM, null, srcIndex);
}

/** Copy `len` head bytes of `src` at `sx` into the head of `dst` at `dx` (different heads, or no overlap). */
export function headCopy(src: SkbSharedInfo, sx: number, dst: SkbSharedInfo, dx: number, len: number): void {
  while (len > 0) {
    const n = Math.min(len, runAt(src, sx));
    headMove(dst, dx, n, FROM_MEM, null, headBase(src, sx, false));
    sx += n;
    dx += n;
    len -= n;
  }
}
