/**
 * Mainline's zerocopy completion (REFERENCE.md §9.2): one `ubuf_info` per shared info, in
 * `shinfo.destructorArg`, announced by SKBFL_ZEROCOPY_ENABLE in `shinfo.flags`.
 *
 * Unlike Campbell's per-frag destructor, the completion follows the shared info, not the frags:
 *
 * - it fires with success = true when the last dataref holder releases the shinfo (skb_release_data, before
 *   the frag references drop);
 * - any step that would let the frags escape into an independent skb (clone, pskb_copy, expand of a clone,
 *   segment, skb_zerocopy) first "orphans" them: skbCopyUbufs copies the frag bytes into fresh local pages,
 *   drops the original frag references and completes with success = false at once. Completion objects flagged
 *   SKBFL_DONT_ORPHAN (MSG_ZEROCOPY) are shared into the new skb instead (refcount + 1);
 * - a pull that consumes all paged data completes with success = false.
 *
 * UbufInfo ownership: allocUbufInfo gives the caller one reference; installing it on an skb (skbZcopyInit)
 * donates that reference to the shared info. Every completion (`ubufInfoComplete`) drops one reference and
 * ANDs its success into `zerocopy`; when the count reaches zero the callback runs once with the combined
 * result and the object returns to its pool. This is MSG_ZEROCOPY's rule. xen-netback's and vhost's callbacks
 * ignore the count and fire on the first completion; the two agree on every path Linux takes with such a
 * uarg (it is never shared: clones orphan first), and the counting rule is the only safe reading of the paths
 * that do share one (skb_split, skb_zerocopy), so pvnet uses it for all.
 */

import { UseAfterDestroy } from '../errors.ts';
import { GFP_ATOMIC } from '../mm/gfp.ts';
import { XEN_PAGE_SIZE } from '../abi/page.ts';
import {
  SKBFL_ALL_ZEROCOPY,
  SKBFL_DONT_ORPHAN,
  SKBFL_MANAGED_FRAG_REFS,
  SKBFL_ZEROCOPY_ENABLE,
  SKBFL_ZEROCOPY_FRAG,
} from './constants.ts';
import { captureSite, type SkbEnv } from './env.ts';
import { EINVAL, EIO, ENOMEM } from './errno.ts';
import { skbUnclone } from './expand.ts';
import { fragSlotRef, fragSlotSet, pagePfmemalloc, skbFragUnref } from './frag.ts';
import { fragIndex } from './bytes.ts';
import { skbCloned, skbPagelen, skbShared, type SkBuff } from './skbuff.ts';

/** ubuf_info_ops.complete's user half: called once, when the last reference is completed. */
export type UbufCallback = (uarg: UbufInfo, success: boolean) => void;

export class UbufInfo {
  readonly env: SkbEnv;
  readonly id: number;
  refcnt = 0;
  /** SKBFL_* bits ORed into the shinfo that carries it. */
  flags = 0;
  callback: UbufCallback | null = null;
  /** Producer data (netback: the first pending slot; MSG_ZEROCOPY: the id range). */
  data: unknown = null;
  /** AND of every completion's success (MSG_ZEROCOPY's `zerocopy` bit). */
  zerocopy = true;
  live = false;
  gen = 0;
  allocSite: string | null = null;

  constructor(env: SkbEnv, id: number) {
    this.env = env;
    this.id = id;
  }
}

const QUARANTINE = 64;

/** A completion object with one reference (the caller's), from the env's pool. */
export function allocUbufInfo(env: SkbEnv, callback: UbufCallback, flags = SKBFL_ZEROCOPY_FRAG, data: unknown = null): UbufInfo {
  const ring = env.freeUbufs;
  let u: UbufInfo;
  if (ring.count > QUARANTINE) {
    u = ring.shift();
  } else {
    u = new UbufInfo(env, env.allUbufs.length);
    env.allUbufs.push(u);
  }
  u.refcnt = 1;
  u.flags = flags | SKBFL_ZEROCOPY_ENABLE;
  u.callback = callback;
  u.data = data;
  u.zerocopy = true;
  u.live = true;
  u.gen++;
  env.liveUbufs++;
  if (env.tracking) u.allocSite = captureSite();
  return u;
}

/** ubuf_info_ops.complete: drop one reference; the last one runs the callback with the ANDed success. */
export function ubufInfoComplete(uarg: UbufInfo, success: boolean): void {
  if (!uarg.live) throw new UseAfterDestroy(`zerocopy completion #${uarg.id} completed after its last reference`);
  uarg.zerocopy = uarg.zerocopy && success;
  if (--uarg.refcnt !== 0) return;
  const cb = uarg.callback;
  uarg.live = false;
  uarg.env.liveUbufs--;
  if (cb !== null) cb(uarg, uarg.zerocopy);
  uarg.callback = null;
  uarg.data = null;
  uarg.gen++;
  uarg.env.freeUbufs.push(uarg);
}

/** net_zcopy_get. */
export function netZcopyGet(uarg: UbufInfo): void {
  if (!uarg.live) throw new UseAfterDestroy(`zerocopy completion #${uarg.id} referenced after completion`);
  uarg.refcnt++;
}

/** net_zcopy_put: complete one reference with success. */
export function netZcopyPut(uarg: UbufInfo | null): void {
  if (uarg !== null) ubufInfoComplete(uarg, true);
}

/** skb_zcopy: the completion object, if the skb is zerocopy. */
export function skbZcopy(skb: SkBuff): UbufInfo | null {
  const sh = skb.shinfo;
  return (sh.flags & SKBFL_ZEROCOPY_ENABLE) !== 0 ? sh.destructorArg : null;
}

/** skb_zcopy_managed: the completion object holds the frag page references. */
export function skbZcopyManaged(skb: SkBuff): boolean {
  return (skb.shinfo.flags & SKBFL_MANAGED_FRAG_REFS) !== 0;
}

/** skb_zcopy_init: install `uarg` (donating the caller's reference) and OR in its flags. */
export function skbZcopyInit(skb: SkBuff, uarg: UbufInfo): void {
  skb.shinfo.destructorArg = uarg;
  skb.shinfo.flags |= uarg.flags;
}

/**
 * skb_zcopy_set: install `uarg` only if the skb has none. With `donate`, the caller's reference is used;
 * otherwise a new one is taken. Returns true if it was installed (and a donated reference consumed).
 */
export function skbZcopySet(skb: SkBuff, uarg: UbufInfo | null, donate = false): boolean {
  if (uarg === null || skbZcopy(skb) !== null) return false;
  if (!donate) netZcopyGet(uarg);
  skbZcopyInit(skb, uarg);
  return true;
}

/** skb_zcopy_clear: complete (one reference) and clear the zerocopy flags. */
export function skbZcopyClear(skb: SkBuff, success: boolean): void {
  const uarg = skbZcopy(skb);
  if (uarg === null) return;
  ubufInfoComplete(uarg, success);
  skb.shinfo.flags &= ~SKBFL_ALL_ZEROCOPY;
}

/** skb_zcopy_downgrade_managed: take a real reference per frag and stop letting the uarg manage them. */
export function skbZcopyDowngradeManaged(skb: SkBuff): void {
  const sh = skb.shinfo;
  if ((sh.flags & SKBFL_MANAGED_FRAG_REFS) === 0) return;
  sh.flags &= ~SKBFL_MANAGED_FRAG_REFS;
  for (let i = 0; i < sh.nrFrags; i++) fragSlotRef(sh, i);
}

/** skb_orphan_frags: copy the frags aside before they escape, unless the uarg may be shared (DONT_ORPHAN). */
export function skbOrphanFrags(skb: SkBuff, gfp: number = GFP_ATOMIC): number {
  if (skbZcopy(skb) === null) return 0;
  if ((skb.shinfo.flags & SKBFL_DONT_ORPHAN) !== 0) return 0;
  return skbCopyUbufs(skb, gfp);
}

/** skb_orphan_frags_rx: always copy aside before the skb may loop into a receive path. */
export function skbOrphanFragsRx(skb: SkBuff, gfp: number = GFP_ATOMIC): number {
  if (skbZcopy(skb) === null) return 0;
  return skbCopyUbufs(skb, gfp);
}

/**
 * skb_copy_ubufs: copy every frag's bytes into fresh pages of this domain, drop the old frag references,
 * install the new frags, and complete with success = false. -EINVAL if the skb is shared or cannot be
 * uncloned, -ENOMEM if the pages cannot be had (nothing changes then). Frags never cross a 4 KiB frame in
 * pvnet, so order-0 pages always suffice (Linux may need a higher order for bigger frags).
 */
export function skbCopyUbufs(skb: SkBuff, gfp: number = GFP_ATOMIC): number {
  if (skbShared(skb) || skbUnclone(skb, gfp) !== 0) return -EINVAL;
  const sh = skb.shinfo;
  const n = sh.nrFrags;
  if (n !== 0) {
    const pagelen = skbPagelen(skb);
    const newFrags = Math.ceil(pagelen / XEN_PAGE_SIZE);
    const pages = skb.env.scratchFrames;
    for (let i = 0; i < newFrags; i++) {
      const f = skb.env.pages.allocPage(gfp);
      if (f < 0) {
        for (let j = 0; j < i; j++) skb.env.pages.putPage(pages[j]!);
        return -ENOMEM;
      }
      pages[i] = f;
    }
    copyFragsToPages(skb, pages);
    for (let i = 0; i < n; i++) skbFragUnref(skb, i);
    for (let i = 0; i < newFrags; i++) {
      const size = i < newFrags - 1 ? XEN_PAGE_SIZE : pagelen - (newFrags - 1) * XEN_PAGE_SIZE;
      fragSlotSet(sh, i, pages[i]!, 0, size);
      if (pagePfmemalloc(sh, pages[i]!)) skb.pfmemalloc = true;
    }
    sh.nrFrags = newFrags;
  }
  skbZcopyClear(skb, false);
  return 0;
}

/** Copy the bytes of every frag, in order, into consecutive whole pages. */
function copyFragsToPages(skb: SkBuff, pages: Int32Array): void {
  const env = skb.env;
  const sh = skb.shinfo;
  let page = 0;
  let dOff = 0;
  for (let i = 0; i < sh.nrFrags; i++) {
    let src = fragIndex(sh, i, false);
    let left = sh.fragSize[i]!;
    while (left > 0) {
      if (dOff === XEN_PAGE_SIZE) {
        page++;
        dOff = 0;
      }
      const n = Math.min(left, XEN_PAGE_SIZE - dOff);
      const dst = env.mem.checkWrite(env.domid, pages[page]!) + dOff;
      env.mem.memmove(dst, src, n);
      src += n;
      dOff += n;
      left -= n;
    }
  }
}

/**
 * skb_zerocopy_clone: share `orig`'s completion into `nskb`. If nskb already carries a different one, its frags
 * are copied aside first (-EIO if that fails). A `gfp` of 0 marks callers that guarantee nskb has none.
 */
export function skbZerocopyClone(nskb: SkBuff, orig: SkBuff, gfp: number): number {
  const uarg = skbZcopy(orig);
  if (uarg === null) return 0;
  const mine = skbZcopy(nskb);
  if (mine !== null) {
    if (gfp === 0) return -ENOMEM;
    if (mine === uarg) return 0;
    if (skbCopyUbufs(nskb, GFP_ATOMIC) !== 0) return -EIO;
  }
  skbZcopySet(nskb, uarg);
  return 0;
}

/** skb_tx_error: a driver could not send; report completion now unless clones still share the shinfo. */
export function skbTxError(skb: SkBuff): void {
  if (skbCloned(skb)) return;
  skbZcopyDowngradeManaged(skb);
  skbZcopyClear(skb, true);
}
