/**
 * netfront TX (guest → backend): xennet_start_xmit and the completion path xennet_tx_buf_gc.
 *
 * A guest sk_buff's bytes already sit in guest frames: the linear head (one or more frames) and the frags.
 * xennetStartXmit cuts them into slots that never cross a page (offset + size ≤ 4096), grants each slot's frame
 * read-only to the backend through a ref from the queue's reservation, and writes the requests (REFERENCE.md
 * §2.3): the first carries the packet's flags and its total length, a GSO extra follows it when the skb is GSO,
 * then one request per further slot, chained by NETTXF_more_data. Every data slot takes a free id and holds
 * one `users` reference of the skb. The requests are pushed with the ring's notify rule.
 *
 * xennetTxBufGc snapshots each response once (RING_COPY_RESPONSE) and frees a slot only after ending the
 * grant with the checked form: a grant the backend still maps is never revoked behind its back, the device
 * is marked broken instead (XSA-396), and the slot's skb and page stay held until disconnect hands them to
 * the deferred end-access path. A response id that is out of range or not pending, or a response producer
 * beyond the ring, marks the device broken too (XSA-391). Nothing here throws on what the backend wrote.
 */

import {
  NETIF_RSP_NULL, NETIF_RSP_OKAY, NETTXF_csum_blank, NETTXF_data_validated, NETTXF_extra_info, NETTXF_more_data,
  NET_TX_RING_SIZE, XEN_NETIF_EXTRA_TYPE_GSO, XEN_NETIF_GSO_TYPE_TCPV4, XEN_NETIF_GSO_TYPE_TCPV6,
  XEN_NETIF_MAX_TX_SIZE,
} from '../../abi/netif.ts';
import { emitExtraInfo, emitTxRequest, NetifWireError, parseTxResponse } from '../../abi/netif_parse.ts';
import { XEN_PAGE_SHIFT, XEN_PAGE_SIZE } from '../../abi/page.ts';
import {
  ringCopyResponse, ringFinalCheckForResponses, ringFreeRequests, ringGetRequest, ringPushRequestsAndCheckNotify,
  ringResponseProdOverflow,
} from '../../abi/ring.ts';
import { GFP_ATOMIC } from '../../mm/gfp.ts';
import { NETDEV_TX_BUSY, NETDEV_TX_OK } from '../../net/netdevice.ts';
import { ETH_HLEN, ETH_P_IP } from '../../net/wire.ts';
import { allocSkb, skbPut } from '../../skb/alloc.ts';
import { skbCopyBits, skbCopyBitsToHead } from '../../skb/bytes.ts';
import { skbCopyHeader } from '../../skb/clone.ts';
import { CHECKSUM_PARTIAL, CHECKSUM_UNNECESSARY } from '../../skb/constants.ts';
import { SKB_GSO_TCPV4, SKB_GSO_TCPV6 } from '../../skb/features.ts';
import { consumeSkb, kfreeSkb, skbGet } from '../../skb/free.ts';
import { headIndex } from '../../skb/head.ts';
import { skbLinearize } from '../../skb/pull.ts';
import { skbHeadersOffsetUpdate, skbHeadlen, type SkBuff } from '../../skb/skbuff.ts';
import {
  INVALID_GRANT_REF, NETFRONT_TX_SLOTS_LIMIT, NO_PAGE, TX_LINK_NONE, TX_PENDING, XENNET_MAX_TX_SLOTS,
} from './constants.ts';
import type { NetfrontInfo } from './netfront.ts';
import { MAX_PKT_SLOTS, notifyRemoteViaEvtchn, type NetfrontQueue } from './queue.ts';

const PAGE_MASK = XEN_PAGE_SIZE - 1;

// ---- the id free list (add_id_to_list / get_id_from_list) ----------------------------------------------------

function addIdToList(q: NetfrontQueue, id: number): void {
  q.txLink[id] = q.txSkbFreelist;
  q.txSkbFreelist = id;
}

function getIdFromList(q: NetfrontQueue): number {
  const id = q.txSkbFreelist;
  if (id !== TX_LINK_NONE) {
    q.txSkbFreelist = q.txLink[id]!;
    q.txLink[id] = TX_LINK_NONE;
  }
  return id;
}

// ---- queue flow control ------------------------------------------------------------------------------------

/** netfront_tx_slot_available: fewer than 256 - 18 - 1 requests outstanding, so a worst-case packet fits. */
export function netfrontTxSlotAvailable(q: NetfrontQueue): boolean {
  return ((q.tx.reqProdPvt - q.tx.rspCons) >>> 0) < NETFRONT_TX_SLOTS_LIMIT;
}

/** xennet_maybe_wake_tx: restart a stopped queue once responses have made room. */
export function xennetMaybeWakeTx(q: NetfrontQueue): void {
  if (!q.txStopped || !netfrontTxSlotAvailable(q) || !q.info.up) return;
  q.txStopped = false;
  q.stats.txWakes++;
  q.info.onTxWake(q.id);
}

// ---- slot counting and queue selection -----------------------------------------------------------------------

/** Slots the linear area takes: one per page it touches, and always one (the first request). */
function headSlots(skb: SkBuff): number {
  const len = skbHeadlen(skb);
  if (len === 0) return 1;
  const off = (skb.shinfo.headOff + skb.data) & PAGE_MASK;
  return (off + len + PAGE_MASK) >> XEN_PAGE_SHIFT;
}

/** xennet_count_skb_slots: data slots the skb needs (one per non-empty frag: a frag never crosses a frame). */
export function xennetCountSkbSlots(skb: SkBuff): number {
  const sh = skb.shinfo;
  let slots = headSlots(skb);
  for (let i = 0; i < sh.nrFrags; i++) if (sh.fragSize[i] !== 0) slots++;
  return slots;
}

/**
 * xennet_select_queue: queue 0 with one queue; otherwise a flow hash (skb_get_hash, reduced to FNV-1a over
 * the IPv4 protocol, addresses and ports, or over the Ethernet header for anything else, then mixed) modulo
 * the count.
 */
export function xennetSelectQueue(info: NetfrontInfo, skb: SkBuff): number {
  const n = info.queues.length;
  if (n <= 1) return 0;
  const b = info.hashScratch;
  const have = Math.min(skb.len, b.length);
  if (skbCopyBits(skb, 0, b, 0, have) !== 0) return 0;
  let h = 0x811c9dc5;
  const ihl = have > ETH_HLEN ? (b[ETH_HLEN]! & 0x0f) * 4 : 0;
  if (have >= ETH_HLEN + ihl + 4 && ihl >= 20 && ((b[12]! << 8) | b[13]!) === ETH_P_IP) {
    h = fnv1a(h, b, ETH_HLEN + 9, ETH_HLEN + 10);
    h = fnv1a(h, b, ETH_HLEN + 12, ETH_HLEN + 20);
    h = fnv1a(h, b, ETH_HLEN + ihl, ETH_HLEN + ihl + 4);
  } else h = fnv1a(h, b, 0, Math.min(have, ETH_HLEN));
  // Final avalanche (murmur3's fmix32), so that the low bits the modulo keeps depend on every input bit.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) % n;
}

function fnv1a(h: number, b: Uint8Array, from: number, to: number): number {
  for (let i = from; i < to; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h;
}

// ---- XSA-403: bouncing into zeroed pages ---------------------------------------------------------------------

/**
 * bounce_skb: copy the packet into a new linear skb whose head is whole, freshly zeroed pages, so every byte
 * the backend can read through its grants is packet data or zero. Deviation: the copy starts at the page's
 * first byte (no headroom), where Linux keeps the original headroom and copies its bytes too; the header
 * offsets are moved to match. Null if no memory.
 */
export function bounceSkb(info: NetfrontInfo, skb: SkBuff): SkBuff | null {
  const size = (skb.len + PAGE_MASK) & ~PAGE_MASK;
  const n = allocSkb(info.env, Math.max(size, XEN_PAGE_SIZE), GFP_ATOMIC);
  if (n === null) return null;
  const sh = n.shinfo;
  for (let i = 0; i < sh.nrHeadFrames; i++) info.mem.fill(info.dom.domid, sh.headFrames[i]!, 0, XEN_PAGE_SIZE, 0);
  skbPut(n, skb.len);
  skbCopyBitsToHead(skb, 0, sh, n.data, skb.len);
  skbCopyHeader(n, skb);
  skbHeadersOffsetUpdate(n, n.data - skb.data);
  return n;
}

// ---- xennet_start_xmit --------------------------------------------------------------------------------------

/** The drop label of xennet_start_xmit: count and free. */
function drop(info: NetfrontInfo, q: NetfrontQueue | null, skb: SkBuff): number {
  if (q !== null) q.stats.txDropped++;
  else info.txDroppedNoQueue++;
  kfreeSkb(skb);
  return NETDEV_TX_OK;
}

/**
 * ndo_start_xmit. Ownership of `skb` passes on NETDEV_TX_OK (sent or dropped); NETDEV_TX_BUSY means the
 * selected queue is stopped and the caller keeps the skb (Linux's core never calls a stopped queue; pvnet's
 * callers may, and are told so). `queueIndex` overrides xennetSelectQueue.
 */
export function xennetStartXmit(info: NetfrontInfo, skb: SkBuff, queueIndex = -1): number {
  if (info.queues.length === 0) return drop(info, null, skb);
  const qi = queueIndex >= 0 ? queueIndex % info.queues.length : xennetSelectQueue(info, skb);
  const q = info.queues[qi]!;
  if (info.broken) return drop(info, q, skb);
  if (q.txStopped) {
    q.stats.txBusy++;
    return NETDEV_TX_BUSY;
  }
  if (skb.len > XEN_NETIF_MAX_TX_SIZE) return drop(info, q, skb);
  let slots = xennetCountSkbSlots(skb);
  if (slots > XENNET_MAX_TX_SLOTS) {
    q.stats.txLinearized++;
    if (skbLinearize(skb) !== 0) return drop(info, q, skb);
  }
  // The first request must hold the Ethernet header, or netback drops the packet; an untrusted backend gets
  // zeroed whole pages (XSA-403).
  if (info.bounce || XEN_PAGE_SIZE - ((skb.shinfo.headOff + skb.data) & PAGE_MASK) < ETH_HLEN) {
    const n = bounceSkb(info, skb);
    if (n === null) return drop(info, q, skb);
    q.stats.txBounced++;
    consumeSkb(skb);
    skb = n;
  }
  slots = xennetCountSkbSlots(skb);
  const gso = skb.shinfo.gsoSize !== 0;
  if (!info.up || (slots > 1 && !info.canSg) || (gso && !gsoSupported(info, skb)) || slots > MAX_PKT_SLOTS - 1
    || ringFreeRequests(q.tx) < slots + 1) {
    return drop(info, q, skb);
  }
  stageTxRequests(q, skb);
  const len = skb.len;
  writeTxRequests(q, skb, gso);
  if (ringPushRequestsAndCheckNotify(q.tx)) notifyRemoteViaEvtchn(q, q.txEvtchn);
  q.stats.txPackets++;
  q.stats.txBytes += len;
  if (!netfrontTxSlotAvailable(q)) {
    q.txStopped = true;
    q.stats.txStops++;
  }
  return NETDEV_TX_OK;
}

/** netif_needs_gso's answer for this device: the skb's GSO type must be one the backend accepts. */
function gsoSupported(info: NetfrontInfo, skb: SkBuff): boolean {
  const t = skb.shinfo.gsoType;
  if ((t & SKB_GSO_TCPV6) !== 0) return info.canTso6;
  return (t & SKB_GSO_TCPV4) !== 0 && info.canTso4;
}

/**
 * Stage one request per page-bounded piece of the head and of each frag (xennet_make_first_txreq,
 * xennet_make_txreqs): each takes a free id and a reserved ref, grants its frame read-only, and records the
 * skb, ref and frame under its id. Every slot after the first takes one more skb reference.
 */
function stageTxRequests(q: NetfrontQueue, skb: SkBuff): void {
  const sh = skb.shinfo;
  q.txStageCount = 0;
  let len = skbHeadlen(skb);
  let x = skb.data;
  do {
    const at = headIndex(sh, x);
    const off = at & PAGE_MASK;
    const n = Math.min(len, XEN_PAGE_SIZE - off);
    stageOne(q, skb, at >>> XEN_PAGE_SHIFT, off, n);
    x += n;
    len -= n;
  } while (len > 0);
  // A pvnet frag lies inside one frame (skb/frag.ts checks it), so each non-empty frag is one slot.
  for (let i = 0; i < sh.nrFrags; i++) {
    const size = sh.fragSize[i]!;
    if (size !== 0) stageOne(q, skb, sh.fragPage[i]!, sh.fragOff[i]!, size);
  }
}

/** xennet_tx_setup_grant for one slot. */
function stageOne(q: NetfrontQueue, skb: SkBuff, frame: number, offset: number, size: number): void {
  const info = q.info;
  const id = getIdFromList(q);
  const ref = info.dom.gnttab.gnttabClaimGrantReference(q.grefTxHead);
  info.dom.gnttab.gnttabGrantForeignAccessRef(ref, info.otherendId, frame, true);
  if (q.txStageCount !== 0) skbGet(skb);
  q.txSkbs[id] = skb;
  q.grantTxRef[id] = ref;
  q.grantTxPage[id] = frame;
  q.txFirst[id] = q.txStageCount === 0 ? 1 : 0;
  const req = q.txStage[q.txStageCount++]!;
  req.id = id;
  req.gref = ref;
  req.offset = offset;
  req.size = size;
  req.flags = 0;
}

/**
 * Write the staged requests into the ring: the first with the checksum flags and the total length, the GSO
 * extra after it, NETTXF_more_data on every data request but the last. The ids become TX_PENDING only now,
 * as the producer is about to move (xennet_mark_tx_pending): a response naming an id earlier is bogus.
 */
function writeTxRequests(q: NetfrontQueue, skb: SkBuff, gso: boolean): void {
  const r = q.tx;
  const view = r.page.view;
  const n = q.txStageCount;
  const first = q.txStage[0]!;
  if (skb.ipSummed === CHECKSUM_PARTIAL) first.flags |= NETTXF_csum_blank | NETTXF_data_validated;
  else if (skb.ipSummed === CHECKSUM_UNNECESSARY) first.flags |= NETTXF_data_validated;
  if (gso) first.flags |= NETTXF_extra_info;
  first.size = skb.len;
  let idx = r.reqProdPvt;
  for (let i = 0; i < n; i++) {
    const req = q.txStage[i]!;
    if (i < n - 1) req.flags |= NETTXF_more_data;
    emitTxRequest(req, i === 0 ? 'first' : 'fragment', view, ringGetRequest(r, idx));
    idx = (idx + 1) >>> 0;
    if (i === 0 && gso) {
      const e = q.txGso;
      e.type = XEN_NETIF_EXTRA_TYPE_GSO;
      e.flags = 0;
      e.u.gso.size = skb.shinfo.gsoSize;
      e.u.gso.type = (skb.shinfo.gsoType & SKB_GSO_TCPV6) !== 0 ? XEN_NETIF_GSO_TYPE_TCPV6 : XEN_NETIF_GSO_TYPE_TCPV4;
      e.u.gso.pad = 0;
      e.u.gso.features = 0;
      emitExtraInfo(e, view, ringGetRequest(r, idx));
      idx = (idx + 1) >>> 0;
    }
  }
  for (let i = 0; i < n; i++) q.txLink[q.txStage[i]!.id] = TX_PENDING;
  r.reqProdPvt = idx;
}

// ---- completion: xennet_tx_buf_gc ---------------------------------------------------------------------------

/**
 * Consume every TX response: end each slot's grant (checked), return its ref to the reservation and its id
 * to the free list, drop its skb reference. True if any response was seen. Marks the device broken, and
 * stops, on a response producer past the ring, an id out of range or not pending, or a grant the backend
 * still holds.
 */
export function xennetTxBufGc(q: NetfrontQueue): boolean {
  const info = q.info;
  const r = q.tx;
  const rsp = q.txRsp;
  const gt = info.dom.gnttab;
  let workDone = false;
  let more: boolean;
  do {
    const prod = r.sring.rspProd;
    if (ringResponseProdOverflow(r, prod)) {
      info.markBroken(q, `illegal number of TX responses ${(prod - r.rspCons) >>> 0}`);
      return workDone;
    }
    for (let cons = r.rspCons; cons !== prod; cons = (cons + 1) >>> 0) {
      workDone = true;
      ringCopyResponse(r, cons, rsp);
      if (rsp.status === NETIF_RSP_NULL) continue;
      const checked = parseTxResponse(rsp);
      const id = rsp.id;
      if (id >= NET_TX_RING_SIZE) {
        info.markBroken(q, `TX response has incorrect id ${id}`);
        return workDone;
      }
      if (q.txLink[id] !== TX_PENDING) {
        info.markBroken(q, `TX response for inactive request id ${id}`);
        return workDone;
      }
      q.txLink[id] = TX_LINK_NONE;
      const ref = q.grantTxRef[id]!;
      if (!gt.gnttabEndForeignAccessRef(ref)) {
        // The skb, ref and frame stay recorded under `id` for xennetReleaseTxBufs (deferred end-access).
        info.markBroken(q, `TX grant ${ref} still in use by the backend (id ${id})`);
        return workDone;
      }
      gt.gnttabReleaseGrantReference(q.grefTxHead, ref);
      const skb = q.txSkbs[id]!;
      q.txSkbs[id] = null;
      q.grantTxRef[id] = INVALID_GRANT_REF;
      q.grantTxPage[id] = NO_PAGE;
      addIdToList(q, id);
      const failed = checked instanceof NetifWireError || rsp.status !== NETIF_RSP_OKAY;
      if (failed && q.txFirst[id] === 1) q.stats.txErrors++;
      if (failed) kfreeSkb(skb);
      else consumeSkb(skb);
    }
    r.rspCons = prod;
    more = ringFinalCheckForResponses(r);
  } while (more);
  xennetMaybeWakeTx(q);
  return workDone;
}

/** xennet_handle_tx: the TX half of an interrupt. False if the device was already broken (then no EOI). */
export function xennetHandleTx(q: NetfrontQueue): boolean {
  if (q.info.broken) return false;
  if (xennetTxBufGc(q)) q.eoiSpurious = false;
  return true;
}

/**
 * xennet_release_tx_bufs (disconnect): every slot still holding an skb (unanswered, or whose grant could not
 * be ended) ends its grant with the deferred form, handing over one new page reference, so the frame is
 * freed only once the backend has let go; then the slot's skb reference is dropped.
 */
export function xennetReleaseTxBufs(q: NetfrontQueue): void {
  const gt = q.info.dom.gnttab;
  const pages = q.info.env.pages;
  for (let id = 0; id < NET_TX_RING_SIZE; id++) {
    const skb = q.txSkbs[id];
    if (skb === null || skb === undefined) continue;
    q.txSkbs[id] = null;
    const frame = q.grantTxPage[id]!;
    pages.getPage(frame);
    gt.gnttabEndForeignAccess(q.grantTxRef[id]!, frame);
    q.grantTxRef[id] = INVALID_GRANT_REF;
    q.grantTxPage[id] = NO_PAGE;
    q.txLink[id] = TX_LINK_NONE;
    addIdToList(q, id);
    kfreeSkb(skb);
  }
}
