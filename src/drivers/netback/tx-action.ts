/**
 * Guest TX, steps 2-6 (REFERENCE.md §5.3; netback.c xenvif_tx_action, xenvif_tx_check_gop,
 * xenvif_tx_submit): one batched copy hypercall and one batched map hypercall for the round, the per-op
 * status check with its responses, and the hand-off of each built sk_buff to the stack.
 *
 * Check, per packet, in op order:
 * - header copy ops: success answers the slot OKAY at once, failure ERROR, except the last copy op when its
 *   slot is shared with mapped frag 0 (that slot is answered when its mapping is);
 * - map ops: success records the handle; a success after an earlier failure of the packet is unmapped at
 *   once and answered OKAY (ERROR for a shared slot whose header copy failed); a failure answers ERROR and
 *   unmaps and answers OKAY every earlier mapped frag (the first skb's too when the failure is in the
 *   frag_list skb);
 * - an errored packet is freed without frags, and every slot of it has been answered.
 *
 * Hand-off: checksum flags from the first request, frags with the strategy's completion object, frag_list
 * consolidation, eth_type_trans (the stack's, net/eth.ts; it pulls the header out of a mapped frag in map
 * mode), checksum setup (a GSO packet without csum_blank is forced to
 * CHECKSUM_PARTIAL and counted), the GSO segment count, then SKBFL_ZEROCOPY_ENABLE immediately before the
 * stack's receive hook.
 */

import { NETTXF_csum_blank, NETTXF_data_validated, XEN_NETIF_RSP_ERROR, XEN_NETIF_RSP_OKAY } from '../../abi/netif.ts';
import { GNTST_okay } from '../../abi/grant_table.ts';
import { ringHasUnconsumedRequests } from '../../abi/ring.ts';
import { kfreeSkb } from '../../skb/free.ts';
import { CHECKSUM_PARTIAL, CHECKSUM_UNNECESSARY, SKB_HEADER_UNSET } from '../../skb/constants.ts';
import { skbIsGso, skbResetNetworkHeader, type SkBuff } from '../../skb/skbuff.ts';
import { ethTypeTrans } from '../../net/eth.ts';
import { skbChecksumSetup, skbTcpAllHeaders } from './checksum.ts';
import { xenvifGrantHandleSet, xenvifIdxUnmap } from './dealloc.ts';
import { COPY_PENDING_PER_PACKET, type XenvifQueue } from './queue.ts';
import { txPendingRoom, xenvifTxBuildGops } from './tx.ts';
import { xenvifFillFrags, xenvifHandleFragList, xenvifSkbZerocopyPrepare } from './tx-strategies.ts';
import { xenvifIdxRelease } from './tx-response.ts';

/**
 * tx_work_todo: requests wait on the ring. pvnet adds: and a packet's worth of pending slots is free (Linux
 * 3.x had this check; newer Linux needs none because each unanswered slot holds at most one pending slot,
 * which plain-ref mode, answering before unmapping, does not guarantee).
 */
export function txWorkTodo(q: XenvifQueue): boolean {
  return q.tx !== null && ringHasUnconsumedRequests(q.tx) && txPendingRoom(q);
}

/** xenvif_tx_action: one round of at most `budget` packets. Returns the packets handed to the stack. */
export function xenvifTxAction(q: XenvifQueue, budget: number): number {
  if (!txWorkTodo(q)) return 0;
  xenvifTxBuildGops(q, budget);
  if (q.round.count === 0) return 0;
  const nb = q.vif.nb;
  const s = q.stats;
  if (q.nrCops !== 0) {
    nb.hv.gnttabCopy(nb.dom, q.txCopyOps, q.nrCops);
    s.copies += q.nrCops;
    s.copyHypercalls++;
  }
  if (q.nrMops !== 0) {
    nb.hv.gnttabMapGrantRef(nb.dom, q.txMapOps, q.nrMops);
    s.maps += q.nrMops;
    s.mapHypercalls++;
  }
  return xenvifTxSubmit(q);
}

/** One region of a packet's mapped frags (first skb or frag_list skb); see the file header. */
function checkFrags(q: XenvifQueue, k: number, second: boolean, err: number, sharedslot: boolean): number {
  const round = q.round;
  const base = k * COPY_PENDING_PER_PACKET;
  const off = second ? round.nrFrags[k]! : 0;
  const n = second ? round.nrFragsN[k]! : round.nrFrags[k]!;
  for (let i = 0; i < n; i++) {
    const pi = round.fragPending[base + off + i]!;
    const op = q.txMapOps[q.mapCursor++]!;
    const newerr = op.status;
    if (newerr === GNTST_okay) {
      xenvifGrantHandleSet(q, pi, op.handle, op.dev_bus_addr / 4096);
      if (err !== 0) {
        xenvifIdxUnmap(q, pi);
        xenvifIdxRelease(q, pi, i === 0 && !second && sharedslot ? XEN_NETIF_RSP_ERROR : XEN_NETIF_RSP_OKAY);
      }
      continue;
    }
    xenvifIdxRelease(q, pi, XEN_NETIF_RSP_ERROR);
    if (err !== 0) continue;
    for (let j = 0; j < i; j++) {
      const pj = round.fragPending[base + off + j]!;
      xenvifIdxUnmap(q, pj);
      xenvifIdxRelease(q, pj, XEN_NETIF_RSP_OKAY);
    }
    if (second) {
      for (let j = 0; j < round.nrFrags[k]!; j++) {
        const pj = round.fragPending[base + j]!;
        xenvifIdxUnmap(q, pj);
        xenvifIdxRelease(q, pj, XEN_NETIF_RSP_OKAY);
      }
    }
    err = newerr;
  }
  return err;
}

/** xenvif_tx_check_gop for packet `k`: 0, or the first failing op's GNTST status (everything answered). */
export function xenvifTxCheckGop(q: XenvifQueue, k: number): number {
  const round = q.round;
  const base = k * COPY_PENDING_PER_PACKET;
  const cc = round.copyCount[k]!;
  const split = round.splitMask[k]!;
  const nf = round.nrFrags[k]!;
  const sharedslot = nf > 0 && cc > 0 && round.fragPending[base] === round.copyPending[base + cc - 1];
  const nb = q.vif.nb;
  let err = 0;
  for (let i = 0; i < cc; i++) {
    const pi = round.copyPending[base + i]!;
    let op = q.txCopyOps[q.copyCursor]!;
    let newerr = op.status;
    let bytes = op.len;
    if ((split & (1 << i)) !== 0) {
      op = q.txCopyOps[++q.copyCursor]!;
      if (newerr === GNTST_okay) newerr = op.status;
      bytes += op.len;
    }
    nb.trace(q, 'copied', pi, q.reqId[pi]!, op.source.u.ref, newerr, bytes);
    if (newerr === GNTST_okay) {
      if (i < cc - 1 || !sharedslot) xenvifIdxRelease(q, pi, XEN_NETIF_RSP_OKAY);
    } else {
      err = newerr;
      if (i < cc - 1 || !sharedslot) xenvifIdxRelease(q, pi, XEN_NETIF_RSP_ERROR);
    }
    q.copyCursor++;
  }
  err = checkFrags(q, k, false, err, sharedslot);
  if (round.nskb[k] !== null) err = checkFrags(q, k, true, err, sharedslot);
  return err;
}

/** xenvif_tx_submit: check each packet of the round and hand the good ones to the stack. */
export function xenvifTxSubmit(q: XenvifQueue): number {
  const round = q.round;
  const vif = q.vif;
  const nb = vif.nb;
  const s = q.stats;
  const scratch = nb.hdrScratch;
  let workDone = 0;
  q.copyCursor = 0;
  q.mapCursor = 0;
  for (let k = 0; k < round.count; k++) {
    const skb = round.skb[k]!;
    const nskb = round.nskb[k]!;
    const err = xenvifTxCheckGop(q, k);
    round.skb[k] = null;
    round.nskb[k] = null;
    if (err !== 0) {
      // Every slot is answered; the skb carries no frag yet, so freeing it releases only its head.
      kfreeSkb(nskb);
      kfreeSkb(skb);
      s.txDropped++;
      continue;
    }
    const flags = round.flags[k]!;
    if ((flags & NETTXF_csum_blank) !== 0) skb.ipSummed = CHECKSUM_PARTIAL;
    else if ((flags & NETTXF_data_validated) !== 0) skb.ipSummed = CHECKSUM_UNNECESSARY;
    xenvifFillFrags(q, skb, k, false);
    if (nskb !== null) {
      xenvifFillFrags(q, nskb, k, true);
      xenvifSkbZerocopyPrepare(q, nskb);
      if (xenvifHandleFragList(q, skb, nskb) !== 0) {
        xenvifSkbZerocopyPrepare(q, skb);
        kfreeSkb(nskb);
        kfreeSkb(skb);
        s.txDropped++;
        continue;
      }
      kfreeSkb(nskb);
    }
    if (!handOffChecks(q, skb, scratch)) {
      xenvifSkbZerocopyPrepare(q, skb);
      kfreeSkb(skb);
      s.txDropped++;
      continue;
    }
    s.txBytes += skb.len;
    s.txPackets++;
    vif.stats.rxBytes += skb.len;
    vif.stats.rxPackets++;
    workDone++;
    if (skb.shinfo.destructorArg !== null) {
      xenvifSkbZerocopyPrepare(q, skb);
      s.txZerocopySent++;
    }
    nb.trace(q, 'delivered', -1, -1, -1, 0, skb.len);
    nb.deliver(skb, vif);
  }
  round.count = 0;
  return workDone;
}

/** eth_type_trans, checksum setup and the GSO segment count. False: drop the packet. */
function handOffChecks(q: XenvifQueue, skb: SkBuff, scratch: Uint8Array): boolean {
  if (ethTypeTrans(skb) < 0) return false;
  skbResetNetworkHeader(skb);
  let recalculate = false;
  if (skb.ipSummed !== CHECKSUM_PARTIAL && skbIsGso(skb)) {
    q.stats.rxGsoChecksumFixup++;
    skb.ipSummed = CHECKSUM_PARTIAL;
    recalculate = true;
  }
  if (skb.ipSummed === CHECKSUM_PARTIAL && skbChecksumSetup(skb, skb.protocol, recalculate, scratch) !== 0) return false;
  if (skbIsGso(skb)) {
    if (skb.transportHeader === SKB_HEADER_UNSET) return false;
    const hdrlen = skbTcpAllHeaders(skb, scratch);
    if (hdrlen < 0) return false;
    const mss = skb.shinfo.gsoSize;
    skb.shinfo.gsoSegs = Math.ceil((skb.len - hdrlen) / mss);
  }
  return true;
}
