/**
 * The TX strategies' own part: how a packet's mapped slots become frags, and how netback learns that the
 * stack is done with them (DESIGN.md principle 4, REFERENCE.md §5.3 steps 4-7, §5.7, §9).
 *
 * ```
 *   strategy   layout                         completion object            fires when
 *   copy       whole packet copied (linear)   none                          (answered after the copy)
 *   map        every slot mapped              FragDestructor per slot       last frag slot anywhere lets go
 *   hybrid     128 B copied, rest mapped      FragDestructor per slot       last frag slot anywhere lets go
 *   zerocopy   128 B copied, rest mapped      one UbufInfo per packet,      last dataref, or at once when a
 *                                             slots chained through ctx     clone / local delivery copies aside
 *   plain-ref  128 B copied, rest mapped      page refs for the stack;      the response: when the sk_buff
 *                                             FragDestructor only to unmap  netback built is freed (too early)
 * ```
 *
 * Frag destructors are Campbell's (skb/destructor.ts): fill the slot, set the destructor, take the slot's
 * reference, drop the producer's. Clones, pulls, splits and segmentation carry the reference along, so the
 * grant stays mapped (GTF_reading set) exactly as long as any sk_buff anywhere points at the page.
 *
 * plain-ref (the NFS retransmit bug of REFERENCE.md §10, on purpose): the guest is told OKAY when the
 * sk_buff netback handed over is freed (its skb->destructor, the owner hook), although a clone or a queue
 * may still read the page; the grant is unmapped later, when the last reference goes. A guest that reuses
 * its buffer on OKAY changes bytes the backend is still sending.
 */

import { GFP_ATOMIC } from '../../mm/gfp.ts';
import { XEN_PAGE_SIZE } from '../../abi/page.ts';
import { NETIF_RSP_OKAY } from '../../abi/netif.ts';
import { SKBFL_ZEROCOPY_ENABLE } from '../../skb/constants.ts';
import { fragDestructorAlloc, skbFragDestructorUnref } from '../../skb/destructor.ts';
import { skbFillPageDesc, skbFragRef, skbFragSetDestructor, skbFragUnref } from '../../skb/frag.ts';
import { allocUbufInfo, ubufInfoComplete } from '../../skb/ubuf.ts';
import { skbCopyBits } from '../../skb/bytes.ts';
import { skbHeadlen, type SkBuff } from '../../skb/skbuff.ts';
import { ENOMEM } from '../../skb/errno.ts';
import { INVALID_PENDING_IDX } from './constants.ts';
import { COPY_PENDING_PER_PACKET, type XenvifQueue } from './queue.ts';
import { makeTxResponseNoPush, pushTxResponses } from './tx-response.ts';

/**
 * xenvif_fill_frags: turn the packet's mapped slots (record `k`, first skb or, with `second`, the frag_list
 * skb) into frags of `skb`, with the strategy's completion object.
 */
export function xenvifFillFrags(q: XenvifQueue, skb: SkBuff, k: number, second: boolean): void {
  const round = q.round;
  const n = second ? round.nrFragsN[k]! : round.nrFrags[k]!;
  const base = k * COPY_PENDING_PER_PACKET + (second ? round.nrFrags[k]! : 0);
  const env = q.vif.nb.env;
  const strategy = q.vif.strategy;
  if (strategy === 'plain-ref' && !second) plainRefReset(q, skb);
  let prev = INVALID_PENDING_IDX;
  for (let i = 0; i < n; i++) {
    const pi = round.fragPending[base + i]!;
    const frame = q.mmapFrame[pi]!;
    const size = q.reqSize[pi]!;
    skbFillPageDesc(skb, i, frame, q.reqOffset[pi]!, size);
    skb.len += size;
    skb.dataLen += size;
    skb.truesize += size;
    if (strategy === 'zerocopy') {
      // The extra page reference that offsets the stack's put_page: the grant's lifetime is the uarg's.
      env.pages.getPage(frame);
      if (prev === INVALID_PENDING_IDX) skb.shinfo.destructorArg = allocUbufInfo(env, q.zerocopyCb, 0, pi);
      else q.ctx[prev] = pi;
      q.ctx[pi] = INVALID_PENDING_IDX;
      prev = pi;
    } else {
      const d = fragDestructorAlloc(env, q.fragDestroyCb, pi);
      skbFragSetDestructor(skb, i, d);
      skbFragRef(skb, i);
      skbFragDestructorUnref(d);
      if (strategy === 'plain-ref' && !second) plainRefOwn(q, skb, pi);
    }
  }
}

/**
 * xenvif_skb_zerocopy_prepare: set SKBFL_ZEROCOPY_ENABLE right before the skb leaves netback (earlier, a pull
 * inside netback would already copy the frags aside) and count it in flight.
 */
export function xenvifSkbZerocopyPrepare(q: XenvifQueue, skb: SkBuff): void {
  if (skb.shinfo.destructorArg === null) return;
  skb.shinfo.flags |= SKBFL_ZEROCOPY_ENABLE;
  q.inflightPackets++;
}

// ---- plain-ref: the owner hook ----------------------------------------------------------------------------

function plainRefReset(q: XenvifQueue, skb: SkBuff): void {
  const id = skb.id;
  if (id >= q.ownerCount.length) growOwners(q, id);
  q.ownerCount[id] = 0;
  skb.destructor = q.ownerHook;
}

function growOwners(q: XenvifQueue, id: number): void {
  const n = Math.max(q.ownerCount.length * 2, id + 1);
  const count = new Uint8Array(n);
  count.set(q.ownerCount);
  const pis = new Uint16Array(n * COPY_PENDING_PER_PACKET);
  pis.set(q.ownerPis);
  q.ownerCount = count;
  q.ownerPis = pis;
}

function plainRefOwn(q: XenvifQueue, skb: SkBuff, pi: number): void {
  const id = skb.id;
  q.ownerPis[id * COPY_PENDING_PER_PACKET + q.ownerCount[id]!++] = pi;
  q.pendingOwner[pi] = id + 1;
}

/**
 * The plain-ref owner hook (skb->destructor of the sk_buff netback built): answer OKAY now for every slot it
 * still lends, whoever else still holds the pages. The slots stay mapped until their last reference goes.
 */
export function xenvifPlainRefAnswer(q: XenvifQueue, skb: SkBuff): void {
  const id = skb.id;
  if (id >= q.ownerCount.length) return;
  const n = q.ownerCount[id]!;
  q.ownerCount[id] = 0;
  let any = false;
  for (let j = 0; j < n; j++) {
    const pi = q.ownerPis[id * COPY_PENDING_PER_PACKET + j]!;
    if (q.pendingOwner[pi] !== id + 1) continue;
    q.pendingOwner[pi] = 0;
    q.answered[pi] = 1;
    makeTxResponseNoPush(q, q.reqId[pi]!, q.extraCount[pi]!, NETIF_RSP_OKAY, pi);
    any = true;
  }
  if (any) pushTxResponses(q);
}

// ---- frag_list overflow ---------------------------------------------------------------------------------

/**
 * xenvif_handle_frag_list (REFERENCE.md §5.7): a packet with more mapped slots than MAX_SKB_FRAGS. The
 * frag_list skb `nskb` already has its frags (xenvifFillFrags); every paged byte (the skb's, then nskb's) is copied into
 * fresh local pages, the foreign frags are dropped, the completion runs by hand with success = true, and the
 * local pages become the skb's frags. The caller frees nskb. 0, or -ENOMEM with nothing changed but nskb's
 * frags.
 */
export function xenvifHandleFragList(q: XenvifQueue, skb: SkBuff, nskb: SkBuff): number {
  const nb = q.vif.nb;
  const env = nb.env;
  q.stats.txZerocopySent += 2;
  q.stats.txFragOverflow++;
  const own = skb.dataLen;
  const total = own + nskb.len;
  const headlen = skbHeadlen(skb);
  const npages = Math.ceil(total / XEN_PAGE_SIZE);
  const pages = nb.scratchFrames;
  for (let i = 0; i < npages; i++) {
    const f = env.pages.allocPage(GFP_ATOMIC);
    if (f < 0) {
      for (let j = 0; j < i; j++) env.pages.putPage(pages[j]!);
      return -ENOMEM;
    }
    pages[i] = f;
  }
  const buf = nb.scratchPage;
  for (let i = 0, off = 0; i < npages; i++) {
    const len = Math.min(XEN_PAGE_SIZE, total - off);
    const fromSkb = Math.max(0, Math.min(len, own - off));
    if (fromSkb > 0) skbCopyBits(skb, headlen + off, buf, 0, fromSkb);
    if (len > fromSkb) skbCopyBits(nskb, off + fromSkb - own, buf, fromSkb, len - fromSkb);
    env.mem.write(env.domid, pages[i]!, 0, buf, 0, len);
    off += len;
  }
  // Release the foreign frags, then complete by hand (the grants go to the dealloc step).
  const sh = skb.shinfo;
  if (q.vif.strategy === 'plain-ref') q.ownerCount[skb.id] = 0;
  for (let f = 0; f < sh.nrFrags; f++) skbFragUnref(skb, f);
  const uarg = sh.destructorArg;
  if (uarg !== null) {
    q.inflightPackets++;
    ubufInfoComplete(uarg, true);
    sh.destructorArg = null;
  }
  for (let i = 0, off = 0; i < npages; i++) {
    const len = Math.min(XEN_PAGE_SIZE, total - off);
    skbFillPageDesc(skb, i, pages[i]!, 0, len);
    off += len;
  }
  skb.truesize += npages * XEN_PAGE_SIZE - own;
  skb.len += nskb.len;
  skb.dataLen += nskb.len;
  return 0;
}
