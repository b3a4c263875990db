/**
 * Releasing sk_buffs: skb_get, kfree_skb / consume_skb, skb_release_data, kfree_skb_partial.
 *
 * kfreeSkb drops one `users` reference. The last one runs the owner hook (skb_release_head_state), then drops
 * the skb's dataref share (skb_release_data); the holder that brings dataref to zero releases the shared info
 * in this order (6.x, REFERENCE.md §8.5):
 *
 *   1. the zerocopy completion, success = true (and, if the uarg manages the frag references, skip to 3);
 *   2. every frag slot: skbFragUnref (a per-frag destructor fires here if this was its last slot);
 *   3. the frag list: kfreeSkb on each member (they are held through their own `users`);
 *   4. the head frames.
 */

import { assertLive } from './alloc.ts';
import { SKB_DATAREF_SHIFT, SKBFL_MANAGED_FRAG_REFS } from './constants.ts';
import { shinfoFree, skbStructFree } from './env.ts';
import { SkbBug } from './errors.ts';
import { fragSlotUnref } from './frag.ts';
import { freeHeadFrames } from './head.ts';
import type { SkBuff, SkbSharedInfo } from './skbuff.ts';
import { skbZcopy, skbZcopyClear } from './ubuf.ts';

/** skb_get: one more holder of this SkBuff. */
export function skbGet(skb: SkBuff): SkBuff {
  assertLive(skb, 'skb_get');
  skb.users++;
  return skb;
}

/** skb_unref: drop one `users` reference; true if it was the last (the caller then frees the skb). */
export function skbUnref(skb: SkBuff): boolean {
  assertLive(skb, 'skb_unref');
  if (skb.users === 1) return true;
  skb.users--;
  return false;
}

/** kfree_skb: drop a reference, freeing on the last; counts as a drop. Null is allowed. */
export function kfreeSkb(skb: SkBuff | null): void {
  if (skb === null || !skbUnref(skb)) return;
  skb.env.dropped++;
  kfreeSkbNow(skb);
}

/** consume_skb: as kfreeSkb, for a packet that was used rather than dropped. */
export function consumeSkb(skb: SkBuff | null): void {
  if (skb === null || !skbUnref(skb)) return;
  skb.env.consumed++;
  kfreeSkbNow(skb);
}

/** kfree_skb_list: free a `next`-linked list of skbs (segments, a dropped frag list). */
export function kfreeSkbList(segs: SkBuff | null): void {
  while (segs !== null) {
    const next = segs.next;
    kfreeSkb(segs);
    segs = next;
  }
}

/** __kfree_skb: release everything and the shell, whatever `users` says. */
export function kfreeSkbNow(skb: SkBuff): void {
  skbReleaseAll(skb);
  skbStructFree(skb);
}

/** skb_release_all: everything but the shell. */
export function skbReleaseAll(skb: SkBuff): void {
  skbReleaseHeadState(skb);
  skbReleaseData(skb);
}

/** skb_release_head_state: run the owner hook once and forget the owner. */
export function skbReleaseHeadState(skb: SkBuff): void {
  const d = skb.destructor;
  if (d !== null) {
    skb.destructor = null;
    d(skb);
    skb.sk = null;
  }
}

/** skb_data_unref: drop this skb's dataref share; true if it was the last. */
export function skbDataUnref(skb: SkBuff, sh: SkbSharedInfo): boolean {
  if (!skb.cloned) return true;
  const bias = skb.nohdr ? (1 << SKB_DATAREF_SHIFT) + 1 : 1;
  if (sh.dataref === bias) return true;
  sh.dataref -= bias;
  if (sh.dataref < 0) throw new SkbBug(`dataref underflow on shinfo #${sh.id}`);
  return sh.dataref === 0;
}

/** skb_release_data: drop the skb's share of its head; the last holder releases the shared info. */
export function skbReleaseData(skb: SkBuff): void {
  const sh = skb.shinfo;
  if (!sh.live) throw new SkbBug(`sk_buff #${skb.id} points at a released shared info`);
  if (skbDataUnref(skb, sh)) releaseShinfo(skb, sh);
}

function releaseShinfo(skb: SkBuff, sh: SkbSharedInfo): void {
  let skipUnref = false;
  if (skbZcopy(skb) !== null) {
    skipUnref = (sh.flags & SKBFL_MANAGED_FRAG_REFS) !== 0;
    skbZcopyClear(skb, true);
  }
  if (!skipUnref) for (let i = 0; i < sh.nrFrags; i++) fragSlotUnref(sh, i);
  const list = sh.fragList;
  sh.fragList = null;
  kfreeSkbList(list);
  freeHeadFrames(sh);
  shinfoFree(sh);
}

/**
 * kfree_skb_partial: free `skb`; if its head was stolen (it became a frag of another skb: try_coalesce, GRO),
 * free only the shell and leave the head and its page reference to the new owner.
 */
export function kfreeSkbPartial(skb: SkBuff, headStolen: boolean): void {
  assertLive(skb, 'kfree_skb_partial');
  if (!headStolen) {
    kfreeSkbNow(skb);
    return;
  }
  skbReleaseHeadState(skb);
  freeStolenShinfo(skb.shinfo);
  skbStructFree(skb);
}

/** The shared info of a stolen head: its frags and head moved elsewhere, so nothing is released. */
export function freeStolenShinfo(sh: SkbSharedInfo): void {
  sh.nrHeadFrames = 0;
  shinfoFree(sh);
}
