/**
 * netfront RX (backend → guest): keeping the RX ring stocked (xennet_alloc_rx_buffers) and receiving
 * (xennet_poll with xennet_get_responses, xennet_get_extras, xennet_fill_frags, handle_incoming_queue).
 *
 * Buffers: each request lends one zeroed guest page, granted writable to the backend, with
 * id = req_prod & (RING_SIZE - 1). The backend answers in the slot of the request it consumed (REFERENCE.md
 * §2.4 same-slot rule), so the page of response k is found at index k & (RING_SIZE - 1); the response id is
 * not trusted for that, as in Linux.
 *
 * Receiving: each response is snapshotted once (RING_COPY_RESPONSE). A packet is its first response (flags,
 * its own fragment length in `status`), the extras that follow it when NETRXF_extra_info is set (their slots'
 * pages are reposted untouched), and one more response per fragment while NETRXF_more_data is set. For each
 * data slot: a negative status or offset + status > 4096 is an error (the page is reposted); otherwise the
 * grant is ended with the checked form, which must succeed (else the device is broken, XSA-396, and the page
 * stays with its grant for the deferred path), and the page joins the packet. A packet with any error, too
 * many slots, a missing slot or a bad GSO extra is dropped whole and counted in rxErrors. A good one becomes
 * a guest sk_buff: a small head, the pages as frags (skbAddRxFrag, the page reference handed over), the first
 * min(len, RX_COPY_THRESHOLD) bytes pulled into the head, checksum state and GSO fields from the flags and the
 * extra; it is handed to the injected receive callback at the end of the poll.
 *
 * Bounded: one poll delivers at most `budget` packets (NAPI weight 64) and reschedules itself for the rest;
 * an interrupt only schedules the poll (XSA-391).
 */

import {
  NETRXF_csum_blank, NETRXF_data_validated, NETRXF_extra_info, NETRXF_more_data, NET_RX_RING_SIZE,
  XEN_NETIF_EXTRA_FLAG_MORE, XEN_NETIF_EXTRA_TYPE_GSO, XEN_NETIF_EXTRA_TYPE_MAX, XEN_NETIF_GSO_TYPE_TCPV4,
  XEN_NETIF_NR_SLOTS_MIN, netifExtraInfoCodec, type NetifExtraInfo,
} from '../../abi/netif.ts';
import { emitRxRequest, NetifWireError, parseExtraInfo, parseRxResponse } from '../../abi/netif_parse.ts';
import { XEN_PAGE_SIZE } from '../../abi/page.ts';
import {
  ringCopyResponse, ringFinalCheckForResponses, ringGetRequest, ringNrUnconsumedResponses,
  ringPushRequestsAndCheckNotify, ringResponseProdOverflow, type RingIdx,
} from '../../abi/ring.ts';
import { EINVAL, ENOMEM } from '../../hv/errno.ts';
import { GFP_ATOMIC, __GFP_NOWARN } from '../../mm/gfp.ts';
import { ETH_HLEN } from '../../net/wire.ts';
import { netdevAllocSkb, skbReserve } from '../../skb/alloc.ts';
import { skbCopyBits } from '../../skb/bytes.ts';
import { CHECKSUM_PARTIAL, CHECKSUM_UNNECESSARY, NET_IP_ALIGN } from '../../skb/constants.ts';
import { E2BIG } from '../../skb/errno.ts';
import { SKB_GSO_DODGY, SKB_GSO_TCPV4, SKB_GSO_TCPV6 } from '../../skb/features.ts';
import { skbAddRxFrag } from '../../skb/frag.ts';
import { kfreeSkb } from '../../skb/free.ts';
import { pskbPullTail } from '../../skb/pull.ts';
import { skbDequeue, skbQueuePurge, skbQueueTail } from '../../skb/queue.ts';
import { skbHeadlen, skbResetMacHeader, skbSetNetworkHeader, type SkBuff } from '../../skb/skbuff.ts';
import { INVALID_GRANT_REF, NET_RX_SLOTS_MIN, NO_PAGE, RX_COPY_THRESHOLD, RX_REFILL_DELAY } from './constants.ts';
import { MAX_PKT_SLOTS, napiSchedule, notifyRemoteViaEvtchn, type NetfrontQueue } from './queue.ts';

const RX_MASK = NET_RX_RING_SIZE - 1;
/** EBADR ("Missing extra info"), ENOENT ("Need more slots"): Linux's codes, kept for the record. */
const EBADR = 53;
const ENOENT = 2;

// ---- posting buffers ---------------------------------------------------------------------------------------

/** xennet_rxidx. */
function xennetRxidx(idx: RingIdx): number {
  return idx & RX_MASK;
}

/**
 * xennet_alloc_rx_buffers: post a zeroed, writable-granted page for every free request slot. Fewer than
 * NET_RX_SLOTS_MIN outstanding (or a failed allocation) arms the refill timer (HZ/10) and pushes nothing yet,
 * as Linux does; otherwise the requests are pushed with the notify rule.
 */
export function xennetAllocRxBuffers(q: NetfrontQueue): void {
  const info = q.info;
  if (!info.up || info.broken) return;
  const r = q.rx;
  const gt = info.dom.gnttab;
  const pages = info.env.pages;
  let reqProd = r.reqProdPvt;
  let failed = false;
  while (((reqProd - r.rspCons) >>> 0) < NET_RX_RING_SIZE) {
    const id = xennetRxidx(reqProd);
    if (q.rxPage[id] !== NO_PAGE) break; // a slot the backend never answered; cannot happen in order
    const page = pages.allocPage(GFP_ATOMIC | __GFP_NOWARN);
    if (page < 0) {
      failed = true;
      break;
    }
    const ref = gt.gnttabClaimGrantReference(q.grefRxHead);
    if (ref < 0) {
      pages.putPage(page);
      failed = true;
      break;
    }
    info.mem.fill(info.dom.domid, page, 0, XEN_PAGE_SIZE, 0);
    gt.gnttabGrantForeignAccessRef(ref, info.otherendId, page, false);
    q.rxPage[id] = page;
    q.grantRxRef[id] = ref;
    putRxRequest(q, reqProd, id, ref);
    reqProd = (reqProd + 1) >>> 0;
  }
  r.reqProdPvt = reqProd;
  if (((reqProd - r.rspCons) >>> 0) < NET_RX_SLOTS_MIN || failed) {
    if (q.rxRefillTimer === 0) q.rxRefillTimer = info.clock.setTimer(RX_REFILL_DELAY, q.rxRefillTimeout);
    return;
  }
  if (ringPushRequestsAndCheckNotify(r)) notifyRemoteViaEvtchn(q, q.rxEvtchn);
}

function putRxRequest(q: NetfrontQueue, idx: RingIdx, id: number, ref: number): void {
  const req = q.rxReq;
  req.id = id;
  req.pad = 0;
  req.gref = ref;
  emitRxRequest(req, q.rx.page.view, ringGetRequest(q.rx, idx));
}

/** xennet_move_rx_slot: repost a page (still granted) at the next request index. */
function xennetMoveRxSlot(q: NetfrontQueue, page: number, ref: number): void {
  const r = q.rx;
  const id = xennetRxidx(r.reqProdPvt);
  q.rxPage[id] = page;
  q.grantRxRef[id] = ref;
  putRxRequest(q, r.reqProdPvt, id, ref);
  r.reqProdPvt = (r.reqProdPvt + 1) >>> 0;
}

/** xennet_set_rx_rsp_cons: consume up to `val`, and remember what is left for the interrupt check. */
function xennetSetRxRspCons(q: NetfrontQueue, val: RingIdx): void {
  q.rx.rspCons = val;
  q.rxRspUnconsumed = ringNrUnconsumedResponses(q.rx);
}

/** Take the page and ref posted at ring index `idx` out of the slot (xennet_get_rx_skb / _ref). */
function takeRxSlot(q: NetfrontQueue, idx: RingIdx): void {
  const i = xennetRxidx(idx);
  q.slotPage = q.rxPage[i]!;
  q.slotRef = q.grantRxRef[i]!;
  q.rxPage[i] = NO_PAGE;
  q.grantRxRef[i] = INVALID_GRANT_REF;
}

// ---- one packet ----------------------------------------------------------------------------------------------

function copyExtra(dst: NetifExtraInfo, src: NetifExtraInfo): void {
  dst.type = src.type;
  dst.flags = src.flags;
  dst.u.gso.size = src.u.gso.size;
  dst.u.gso.type = src.u.gso.type;
  dst.u.gso.pad = src.u.gso.pad;
  dst.u.gso.features = src.u.gso.features;
  dst.u.hash.type = src.u.hash.type;
  dst.u.hash.algorithm = src.u.hash.algorithm;
  dst.u.hash.value.set(src.u.hash.value);
}

/**
 * xennet_get_extras: the extra_info slots after the packet's first response, chained by
 * XEN_NETIF_EXTRA_FLAG_MORE. Each is kept by type (an unknown type is an error); each slot's page is reposted
 * unused. rsp_cons ends on the last extra. 0, -EBADR (the chain runs past the producer) or -EINVAL.
 */
function xennetGetExtras(q: NetfrontQueue, rp: RingIdx): number {
  const r = q.rx;
  const e = q.rxExtra;
  let cons = r.rspCons;
  let err = 0;
  do {
    if (((cons + 1) >>> 0) === rp) {
      err = -EBADR;
      break;
    }
    cons = (cons + 1) >>> 0;
    ringCopyResponse(r, cons, e, netifExtraInfoCodec);
    if (e.type === 0 || e.type >= XEN_NETIF_EXTRA_TYPE_MAX) err = -EINVAL;
    else copyExtra(q.rxExtras[e.type - 1]!, e);
    takeRxSlot(q, cons);
    if (q.slotPage !== NO_PAGE) xennetMoveRxSlot(q, q.slotPage, q.slotRef);
  } while ((e.flags & XEN_NETIF_EXTRA_FLAG_MORE) !== 0);
  xennetSetRxRspCons(q, cons);
  return err;
}

/** Add one slot's page to the packet being collected; past MAX_PKT_SLOTS the page is freed at once. */
function pktAdd(q: NetfrontQueue, page: number, off: number, size: number): void {
  if (q.pktCount === MAX_PKT_SLOTS) {
    q.info.env.pages.putPage(page);
    return;
  }
  const n = q.pktCount++;
  q.pktPage[n] = page;
  q.pktOff[n] = off;
  q.pktSize[n] = size;
}

/** Free the pages of a packet that is dropped. */
function pktDrop(q: NetfrontQueue, from = 0): void {
  const pages = q.info.env.pages;
  for (let j = from; j < q.pktCount; j++) pages.putPage(q.pktPage[j]!);
  q.pktCount = 0;
}

/**
 * xennet_get_responses: walk one packet's responses from rsp_cons (whose snapshot is q.rxFirst), collecting
 * its pages. Sets q.pktNext to the index after the packet. Returns 0 or a negative errno; after a grant the
 * backend still holds, the device is broken and the caller stops.
 */
function xennetGetResponses(q: NetfrontQueue, rp: RingIdx): number {
  const info = q.info;
  const gt = info.dom.gnttab;
  const r = q.rx;
  let rx = q.rxFirst;
  const max = XEN_NETIF_NR_SLOTS_MIN + (rx.status <= RX_COPY_THRESHOLD ? 1 : 0);
  let cons = r.rspCons;
  takeRxSlot(q, cons);
  let page = q.slotPage;
  let ref = q.slotRef;
  let slotIdx = cons;
  let slots = 1;
  let err = 0;
  q.pktCount = 0;
  if ((rx.flags & NETRXF_extra_info) !== 0) {
    err = xennetGetExtras(q, rp);
    cons = r.rspCons;
  }
  for (;;) {
    if (ref === INVALID_GRANT_REF) {
      // No buffer was posted in this slot: a response the backend made up.
      err = -EINVAL;
    } else if (rx.status < 0 || parseRxResponse(rx) instanceof NetifWireError) {
      xennetMoveRxSlot(q, page, ref);
      err = -EINVAL;
    } else if (!gt.gnttabEndForeignAccessRef(ref)) {
      const i = xennetRxidx(slotIdx);
      q.rxPage[i] = page;
      q.grantRxRef[i] = ref;
      info.markBroken(q, `RX grant ${ref} still in use by the backend (ring index ${slotIdx})`);
      return -EINVAL;
    } else {
      gt.gnttabReleaseGrantReference(q.grefRxHead, ref);
      pktAdd(q, page, rx.offset, rx.status);
    }
    if ((rx.flags & NETRXF_more_data) === 0) break;
    if (((cons + slots) >>> 0) === rp) {
      err = -ENOENT;
      break;
    }
    slotIdx = (cons + slots) >>> 0;
    rx = ringCopyResponse(r, slotIdx, q.rxRsp);
    takeRxSlot(q, slotIdx);
    page = q.slotPage;
    ref = q.slotRef;
    slots++;
  }
  if (slots > max) err = -E2BIG;
  q.pktNext = (cons + slots) >>> 0;
  return err;
}

/** xennet_set_skb_gso: a GSO extra needs a non-zero MSS and a TCP type. */
function xennetSetSkbGso(skb: SkBuff, gso: NetifExtraInfo): number {
  if (parseExtraInfo(gso) instanceof NetifWireError) return -EINVAL;
  const sh = skb.shinfo;
  sh.gsoSize = gso.u.gso.size;
  sh.gsoType = (gso.u.gso.type === XEN_NETIF_GSO_TYPE_TCPV4 ? SKB_GSO_TCPV4 : SKB_GSO_TCPV6) | SKB_GSO_DODGY;
  sh.gsoSegs = 0;
  return 0;
}

/**
 * Build the guest sk_buff for the collected packet (the skb half of xennet_poll, xennet_fill_frags and
 * handle_incoming_queue): a small head, each page a frag (its page reference handed over), the first
 * min(first status, RX_COPY_THRESHOLD) bytes pulled into the head. When the frag array is full the pull is
 * done early to free slot 0; if that does not make room the packet is dropped (-ENOENT). Returns the skb or a
 * negative errno; the packet's pages are consumed either way.
 */
function xennetBuildRxSkb(q: NetfrontQueue): SkBuff | number {
  const env = q.info.env;
  const skb = netdevAllocSkb(env, RX_COPY_THRESHOLD + NET_IP_ALIGN, GFP_ATOMIC | __GFP_NOWARN);
  if (skb === null) {
    pktDrop(q);
    return -ENOMEM;
  }
  skbReserve(skb, NET_IP_ALIGN);
  const first = q.rxFirst;
  const pullTo = Math.min(Math.max(first.status, 0), RX_COPY_THRESHOLD);
  const sh = skb.shinfo;
  for (let j = 0; j < q.pktCount; j++) {
    if (sh.nrFrags === env.maxSkbFrags) {
      if (pullTo > skbHeadlen(skb)) pskbPullTail(skb, pullTo - skbHeadlen(skb));
      if (sh.nrFrags >= env.maxSkbFrags) {
        pktDrop(q, j);
        kfreeSkb(skb);
        return -ENOENT;
      }
    }
    skbAddRxFrag(skb, sh.nrFrags, q.pktPage[j]!, q.pktOff[j]!, q.pktSize[j]!, XEN_PAGE_SIZE);
  }
  q.pktCount = 0;
  if (pullTo > skbHeadlen(skb) && !pskbPullTail(skb, pullTo - skbHeadlen(skb))) {
    kfreeSkb(skb);
    return -ENOMEM;
  }
  if ((first.flags & NETRXF_csum_blank) !== 0) skb.ipSummed = CHECKSUM_PARTIAL;
  else if ((first.flags & NETRXF_data_validated) !== 0) skb.ipSummed = CHECKSUM_UNNECESSARY;
  return skb;
}

// ---- the poll ------------------------------------------------------------------------------------------------

/**
 * xennet_poll: receive up to `budget` packets, hand them to the guest stack, refill the ring, and either
 * finish (final check: reschedule if responses arrived meanwhile) or, with the budget used up, reschedule.
 * Returns the packets delivered. A response producer beyond the ring (or beyond the requests posted) marks
 * the device broken.
 */
export function xennetPoll(q: NetfrontQueue, budget: number): number {
  const info = q.info;
  if (info.broken || !info.up) return 0;
  const r = q.rx;
  q.stats.napiPolls++;
  const rp = r.sring.rspProd;
  if (ringResponseProdOverflow(r, rp) || ((rp - r.rspCons) >>> 0) > ((r.reqProdPvt - r.rspCons) >>> 0)) {
    info.markBroken(q, `illegal number of RX responses ${(rp - r.rspCons) >>> 0}`);
    return 0;
  }
  let i = r.rspCons;
  let work = 0;
  while (i !== rp && work < budget) {
    ringCopyResponse(r, i, q.rxFirst);
    for (let k = 0; k < q.rxExtras.length; k++) q.rxExtras[k]!.type = 0;
    let err = xennetGetResponses(q, rp);
    if (info.broken) {
      pktDrop(q);
      skbQueuePurge(q.rxq);
      return 0;
    }
    let skb: SkBuff | null = null;
    if (err === 0) {
      const built = xennetBuildRxSkb(q);
      if (typeof built === 'number') err = built;
      else skb = built;
    }
    const gso = q.rxExtras[XEN_NETIF_EXTRA_TYPE_GSO - 1]!;
    if (skb !== null && gso.type !== 0 && xennetSetSkbGso(skb, gso) !== 0) {
      kfreeSkb(skb);
      skb = null;
      err = -EINVAL;
    }
    xennetSetRxRspCons(q, q.pktNext);
    i = q.pktNext;
    if (skb === null) {
      pktDrop(q);
      if (err === -ENOMEM) q.stats.rxDropped++;
      else q.stats.rxErrors++;
      continue;
    }
    skbQueueTail(q.rxq, skb);
    work++;
  }
  handleIncomingQueue(q);
  xennetAllocRxBuffers(q);
  if (work > q.stats.napiMaxWork) q.stats.napiMaxWork = work;
  if (work < budget) {
    if (ringFinalCheckForResponses(r)) napiSchedule(q);
  } else napiSchedule(q);
  return work;
}

/**
 * handle_incoming_queue: finish each skb for the stack and hand it over. pvnet applies the header part of
 * eth_type_trans (protocol, MAC and network header offsets) but leaves `data` at the Ethernet header, and
 * reduces checksum_setup to its GSO rule: a GSO skb must be CHECKSUM_PARTIAL (counted when forced).
 */
function handleIncomingQueue(q: NetfrontQueue): void {
  const info = q.info;
  const b = info.hashScratch;
  for (let skb = skbDequeue(q.rxq); skb !== null; skb = skbDequeue(q.rxq)) {
    if (skb.len >= ETH_HLEN && skbCopyBits(skb, 12, b, 0, 2) === 0) {
      skb.protocol = (b[0]! << 8) | b[1]!;
      skbResetMacHeader(skb);
      skbSetNetworkHeader(skb, ETH_HLEN);
    }
    if (skb.shinfo.gsoSize !== 0 && skb.ipSummed !== CHECKSUM_PARTIAL) {
      q.stats.rxGsoChecksumFixup++;
      skb.ipSummed = CHECKSUM_PARTIAL;
    }
    q.stats.rxPackets++;
    q.stats.rxBytes += skb.len;
    info.receive(skb);
  }
}

/**
 * xennet_handle_rx: the RX half of an interrupt. Schedules the poll when responses are waiting; more than
 * last time means real work (not spurious); fewer means the backend moved its producer backwards, and the
 * device is broken. False if the device is (now) broken.
 */
export function xennetHandleRx(q: NetfrontQueue): boolean {
  const info = q.info;
  if (info.broken) return false;
  const work = ringNrUnconsumedResponses(q.rx);
  if (work > q.rxRspUnconsumed) {
    q.rxRspUnconsumed = work;
    q.eoiSpurious = false;
  } else if (work < q.rxRspUnconsumed) {
    info.markBroken(q, 'RX producer index going backwards');
    return false;
  }
  if (info.up && work !== 0) napiSchedule(q);
  return true;
}

/**
 * xennet_release_rx_bufs (disconnect): end the grant of every posted page with the deferred form, handing
 * over the page reference, so a page the backend still maps is freed only once it lets go.
 */
export function xennetReleaseRxBufs(q: NetfrontQueue): void {
  const gt = q.info.dom.gnttab;
  const pages = q.info.env.pages;
  skbQueuePurge(q.rxq);
  for (let i = 0; i < NET_RX_RING_SIZE; i++) {
    const page = q.rxPage[i]!;
    if (page === NO_PAGE) continue;
    const ref = q.grantRxRef[i]!;
    if (ref !== INVALID_GRANT_REF) gt.gnttabEndForeignAccess(ref, page);
    else pages.putPage(page);
    q.rxPage[i] = NO_PAGE;
    q.grantRxRef[i] = INVALID_GRANT_REF;
  }
}
