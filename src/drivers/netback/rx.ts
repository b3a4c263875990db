/**
 * Guest RX: the backend's stack transmits to the guest (REFERENCE.md §5.9; interface.c xenvif_start_xmit,
 * rx.c). Always a grant copy: the guest posts empty granted pages on the RX ring, netback copies each packet
 * into them and answers in the same slots.
 *
 * - Enqueue (`xenvifStartXmit`): pick a queue, drop if the vif is not schedulable or the multicast filter
 *   says no, stamp the drain deadline, queue it. A queue holding rx_queue_max bytes (512 KiB) drops the
 *   packet and counts it (XSA-392); the free happens after the queue is left alone (XSA-424).
 * - The guest-RX "thread" (`xenvifRxThread`, a clock callback): while the frontend has posted the slots the
 *   head packet needs (ceil(len / 4096), + 1 for a GSO extra), copy up to 64 packets: chunks bounded by the
 *   destination page and the source page, 64 copy ops per hypercall, gref to gref when the source is
 *   another guest's mapped page. Each response goes into the slot of the request it consumed; the first
 *   carries the flags and its own length, extras follow it. A failed copy overwrites that response's status
 *   with the raw GNTST code. Responses are pushed with the notify rule, then the packets are freed.
 * - Drain and stall in virtual time: a packet older than the drain timeout (10 s, or 30 ms without
 *   feature-rx-notify) is dropped; a queue that has not had the slots it needs for the stall timeout (60 s;
 *   off without feature-rx-notify) turns the carrier off until they come.
 *
 * Each posted request is read once (ringCopyRequest) before its slot is overwritten by the response.
 */

import {
  NETRXF_csum_blank, NETRXF_data_validated, NETRXF_extra_info, NETRXF_more_data, NETIF_RX_RESPONSE,
  XEN_NETIF_EXTRA_FLAG_MORE, XEN_NETIF_EXTRA_TYPE_GSO, XEN_NETIF_EXTRA_TYPE_XDP, XEN_NETIF_GSO_TYPE_NONE,
  XEN_NETIF_GSO_TYPE_TCPV4, XEN_NETIF_GSO_TYPE_TCPV6, netifExtraInfoCodec, netifRxResponseCodec,
} from '../../abi/netif.ts';
import { GNTCOPY_dest_gref, GNTCOPY_source_gref, GNTST_okay } from '../../abi/grant_table.ts';
import { XEN_PAGE_SHIFT, XEN_PAGE_SIZE } from '../../abi/page.ts';
import { DOMID_SELF } from '../../abi/xen.ts';
import {
  ringCopyRequest, ringGetResponse, ringPushResponsesAndCheckNotify, ringPutResponse,
} from '../../abi/ring.ts';
import { CHECKSUM_PARTIAL, CHECKSUM_UNNECESSARY } from '../../skb/constants.ts';
import { SKB_GSO_TCPV4 } from '../../skb/features.ts';
import { consumeSkb, kfreeSkb } from '../../skb/free.ts';
import { skbHeadlen, skbIsGso, type SkBuff } from '../../skb/skbuff.ts';
import { COPY_BATCH_SIZE, RX_BATCH_SIZE } from './constants.ts';
import {
  xenvifCarrierOff, xenvifQueueCarrierOff, xenvifQueueCarrierOn, xenvifRxEoi, xenvifSchedulable, type XenVif,
} from './interface.ts';
import type { RxPktState, XenvifQueue } from './queue.ts';

// ---- enqueue ----------------------------------------------------------------------------------------------

/** Which queue a packet goes to: a flow hash of its IPv4 addresses and ports when there are several. */
function xenvifSelectQueue(vif: XenVif, skb: SkBuff): number {
  const n = vif.numQueues;
  if (n <= 1) return 0;
  const b = vif.nb.hdrScratch;
  if (skbHeadlen(skb) < 38 || readBytes(skb, 0, 38, b) !== 0 || b[12] !== 0x08 || b[13] !== 0x00) return 0;
  let h = 0x811c9dc5;
  for (let i = 26; i < 38; i++) h = Math.imul(h ^ b[i]!, 0x01000193) >>> 0;
  return h % n;
}

/** Linear bytes [off, off + len) of the packet from its data pointer into `out`. */
function readBytes(skb: SkBuff, off: number, len: number, out: Uint8Array): number {
  const mem = skb.env.mem;
  const sh = skb.shinfo;
  for (let i = 0; i < len; i++) {
    const a = sh.headOff + skb.data + off + i;
    out[i] = mem.bytes[mem.checkRead(skb.env.domid, sh.headFrames[a >> XEN_PAGE_SHIFT]!) + (a & (XEN_PAGE_SIZE - 1))]!;
  }
  return 0;
}

/** The first byte of the destination MAC has the group bit set. */
function isMulticastFrame(skb: SkBuff, scratch: Uint8Array): boolean {
  if (skbHeadlen(skb) < 6) return false;
  readBytes(skb, 0, 6, scratch);
  if ((scratch[0]! & 1) === 0) return false;
  for (let i = 0; i < 6; i++) if (scratch[i] !== 0xff) return true;
  return false;
}

function macAt(scratch: Uint8Array): number {
  let v = 0;
  for (let i = 0; i < 6; i++) v = v * 256 + scratch[i]!;
  return v;
}

/** xenvif_start_xmit: the stack hands a packet (data at its Ethernet header) to the guest. Always consumes it. */
export function xenvifStartXmit(vif: XenVif, skb: SkBuff): void {
  const nb = vif.nb;
  const q = vif.numQueues >= 1 ? vif.queues[xenvifSelectQueue(vif, skb)] : undefined;
  let ok = q !== undefined && q.rx !== null && xenvifSchedulable(vif);
  if (ok && vif.multicastControl && isMulticastFrame(skb, nb.hdrScratch) && !vif.mcastAddrs.includes(macAt(nb.hdrScratch))) ok = false;
  if (ok && !xenvifRxQueueTail(q!, skb, nb.clock.now() + vif.drainTimeoutNs)) ok = false;
  if (!ok) {
    vif.stats.txDropped++;
    if (q !== undefined) q.stats.rxDropped++;
    kfreeSkb(skb);
    return;
  }
  xenvifKickThread(q!);
}

/** Slots the head packet needs (xenvif_update_needed_slots; no software hash in pvnet's sk_buff). */
function xenvifUpdateNeededSlots(q: XenvifQueue, skb: SkBuff | null): void {
  let needed = 0;
  if (skb !== null) {
    needed = Math.ceil(skb.len / XEN_PAGE_SIZE);
    if (skbIsGso(skb)) needed++;
  }
  q.rxSlotsNeeded = needed;
}

/** xenvif_rx_queue_tail: queue the packet unless the byte cap is reached (then stop the queue: false). */
function xenvifRxQueueTail(q: XenvifQueue, skb: SkBuff, expires: number): boolean {
  if (q.rxQueueLen >= q.rxQueueMax) {
    q.rxQueueStopped = true;
    return false;
  }
  if (q.rxQueue.count === 0) xenvifUpdateNeededSlots(q, skb);
  q.rxQueue.push(skb, expires);
  q.rxQueueLen += skb.len;
  return true;
}

/** xenvif_rx_dequeue. */
function xenvifRxDequeue(q: XenvifQueue): SkBuff | null {
  const skb = q.rxQueue.shift();
  if (skb !== null) {
    xenvifUpdateNeededSlots(q, q.rxQueue.peek());
    q.rxQueueLen -= skb.len;
    if (q.rxQueueLen < q.rxQueueMax) q.rxQueueStopped = false;
  }
  return skb;
}

/** xenvif_rx_queue_purge: drop everything queued (the thread is stopping). */
export function xenvifRxQueuePurge(q: XenvifQueue): void {
  for (let skb = xenvifRxDequeue(q); skb !== null; skb = xenvifRxDequeue(q)) kfreeSkb(skb);
}

/** xenvif_rx_queue_drop_expired: drop head packets past their drain deadline. */
function xenvifRxQueueDropExpired(q: XenvifQueue): void {
  const now = q.vif.nb.clock.now();
  while (q.rxQueue.count !== 0 && now >= q.rxQueue.peekExpires()) {
    const skb = xenvifRxDequeue(q)!;
    kfreeSkb(skb);
    q.vif.stats.rxDropped++;
    q.stats.rxDropped++;
  }
}

// ---- slots ------------------------------------------------------------------------------------------------

/**
 * xenvif_rx_ring_slots_available: the frontend has posted the slots the head packet needs. If not, arm
 * req_event at the producer it saw + 1 and look again while the producer keeps moving (RX's own final check).
 */
function xenvifRxRingSlotsAvailable(q: XenvifQueue): boolean {
  const rx = q.rx;
  const needed = q.rxSlotsNeeded;
  if (rx === null || needed === 0) return false;
  let prod: number;
  do {
    prod = rx.sring.reqProd;
    if (((prod - rx.reqCons) >>> 0) >= needed) return true;
    rx.sring.reqEvent = (prod + 1) >>> 0;
  } while (rx.sring.reqProd !== prod);
  return false;
}

function rxQueueSlots(q: XenvifQueue): number {
  return q.rx === null ? 0 : (q.rx.sring.reqProd - q.rx.reqCons) >>> 0;
}

function xenvifRxQueueStalled(q: XenvifQueue): boolean {
  return !q.stalled && rxQueueSlots(q) < q.rxSlotsNeeded && q.vif.nb.clock.now() > q.lastRxTime + q.vif.stallTimeoutNs;
}

function xenvifRxQueueReady(q: XenvifQueue): boolean {
  return q.stalled && rxQueueSlots(q) >= q.rxSlotsNeeded;
}

/** xenvif_have_rx_work: slots for the head packet, a stall to declare or lift, or a disabled vif. */
export function xenvifHaveRxWork(q: XenvifQueue): boolean {
  const vif = q.vif;
  return xenvifRxRingSlotsAvailable(q)
    || (vif.stallTimeoutNs !== 0 && (xenvifRxQueueStalled(q) || xenvifRxQueueReady(q)))
    || vif.disabled;
}

// ---- the guest-RX thread ----------------------------------------------------------------------------------

/** xenvif_kick_thread: wake the queue's guest-RX thread. */
export function xenvifKickThread(q: XenvifQueue): void {
  if (q.rxThreadScheduled || q.rx === null) return;
  q.rxThreadScheduled = true;
  q.vif.nb.clock.setTimer(q.vif.nb.rxThreadDelayNs, q.rxThreadCb);
}

/**
 * One turn of xenvif_kthread_guest_rx. Woken by a kick it first checks for work (none: give the owed EOI and
 * sleep until the head packet's drain deadline); woken by that timeout it runs the loop body regardless.
 */
export function xenvifRxThread(q: XenvifQueue, timedOut: boolean): void {
  if (timedOut) q.rxWakeTimer = 0;
  else q.rxThreadScheduled = false;
  const vif = q.vif;
  const nb = vif.nb;
  if (q.rx === null || q.rxThreadStopped) return;
  if (!q.rxThreadStarted) {
    q.rxThreadStarted = true;
    if (vif.stallTimeoutNs === 0) xenvifQueueCarrierOn(q);
  }
  if (!timedOut && !xenvifHaveRxWork(q)) {
    xenvifRxSleep(q);
    return;
  }
  if (vif.disabled) {
    // XSA-90: the rogue frontend's vif is turned off here, in thread context, by queue 0.
    if (q.id === 0) {
      xenvifCarrierOff(vif);
      q.rxThreadStopped = true;
      xenvifRxQueuePurge(q);
      return;
    }
    // pvnet: other queues sleep instead of spinning until the carrier goes.
    xenvifRxSleep(q);
    return;
  }
  if (q.rxQueue.count !== 0) xenvifRxAction(q);
  if (vif.stallTimeoutNs !== 0) {
    if (xenvifRxQueueStalled(q)) xenvifQueueCarrierOff(q);
    else if (xenvifRxQueueReady(q)) xenvifQueueCarrierOn(q);
  }
  xenvifRxQueueDropExpired(q);
  // Loop: look for more work now.
  if (!q.rxThreadScheduled) {
    q.rxThreadScheduled = true;
    nb.clock.setTimer(nb.rxThreadDelayNs, q.rxThreadCb);
  }
}

/** xenvif_wait_for_rx_work with nothing to do: EOI, then sleep until the head packet expires. */
function xenvifRxSleep(q: XenvifQueue): void {
  const nb = q.vif.nb;
  xenvifRxEoi(q);
  if (q.rxWakeTimer !== 0) nb.clock.cancel(q.rxWakeTimer);
  q.rxWakeTimer = 0;
  if (q.rxQueue.count !== 0) {
    const delay = Math.max(0, q.rxQueue.peekExpires() - nb.clock.now());
    q.rxWakeTimer = nb.clock.setTimer(delay, q.rxWakeCb);
  }
}

// ---- copying ----------------------------------------------------------------------------------------------

/** xenvif_rx_copy_flush: one copy hypercall; failed ops overwrite their response's status; push; free. */
function xenvifRxCopyFlush(q: XenvifQueue): void {
  const nb = q.vif.nb;
  const rx = q.rx!;
  const n = q.rxCopyNum;
  if (n !== 0) {
    nb.hv.gnttabCopy(nb.dom, q.rxCopyOps, n);
    q.stats.copies += n;
    q.stats.copyHypercalls++;
    for (let i = 0; i < n; i++) {
      const op = q.rxCopyOps[i]!;
      if (op.status === GNTST_okay) continue;
      q.stats.rxCopyErrors++;
      rx.page.view.setInt16(ringGetResponse(rx, q.rxCopyIdx[i]!) + NETIF_RX_RESPONSE.status.offset, op.status, true);
    }
  }
  q.rxCopyNum = 0;
  if (ringPushResponsesAndCheckNotify(rx) && q.rxIrq !== 0) nb.hv.evtchn.evtchnSend(nb.dom, q.rxIrq);
  for (let i = 0; i < q.rxCompletedCount; i++) {
    consumeSkb(q.rxCompleted[i]!);
    q.rxCompleted[i] = null;
  }
  q.rxCompletedCount = 0;
}

/** xenvif_rx_copy_add: one chunk from (frame, srcOff) into the request's page at `offset`. */
function xenvifRxCopyAdd(q: XenvifQueue, gref: number, offset: number, frame: number, srcOff: number, len: number): void {
  if (q.rxCopyNum === COPY_BATCH_SIZE) xenvifRxCopyFlush(q);
  const nb = q.vif.nb;
  const op = q.rxCopyOps[q.rxCopyNum]!;
  op.flags = GNTCOPY_dest_gref;
  const foreign = nb.foreignDomid[frame]!;
  if (foreign !== 0 && nb.hv.mem.owner[frame] !== nb.dom.domid) {
    op.source.domid = foreign - 1;
    op.source.u.ref = nb.foreignGref[frame]!;
    op.flags |= GNTCOPY_source_gref;
  } else {
    op.source.u.gmfn = frame;
    op.source.domid = DOMID_SELF;
  }
  op.source.offset = srcOff;
  op.dest.u.ref = gref;
  op.dest.domid = q.vif.domid;
  op.dest.offset = offset;
  op.len = len;
  op.status = 1;
  q.rxCopyIdx[q.rxCopyNum++] = q.rx!.reqCons;
}

function xenvifGsoType(skb: SkBuff): number {
  if (!skbIsGso(skb)) return XEN_NETIF_GSO_TYPE_NONE;
  return (skb.shinfo.gsoType & SKB_GSO_TCPV4) !== 0 ? XEN_NETIF_GSO_TYPE_TCPV4 : XEN_NETIF_GSO_TYPE_TCPV6;
}

/** xenvif_rx_next_skb: dequeue the head packet and set up its state and extras. */
function xenvifRxNextSkb(q: XenvifQueue): SkBuff {
  const pkt = q.rxPkt;
  const skb = xenvifRxDequeue(q)!;
  q.stats.rxBytes += skb.len;
  q.stats.rxPackets++;
  q.vif.stats.txBytes += skb.len;
  q.vif.stats.txPackets++;
  pkt.skb = skb;
  pkt.fragIter = skb;
  pkt.remaining = skb.len;
  pkt.frag = -1;
  pkt.fragOffset = 0;
  pkt.slot = 0;
  pkt.extraCount = 0;
  const gsoType = xenvifGsoType(skb);
  pkt.gso = ((1 << gsoType) & q.vif.gsoMask) !== 0 ? gsoType : 0;
  if (pkt.gso !== 0) pkt.extraCount++;
  pkt.xdp = q.vif.xdpHeadroom;
  if (pkt.xdp !== 0) pkt.extraCount++;
  return skb;
}

/** xenvif_rx_next_frag: move to the next frag, or the next frag_list member's linear data. */
function xenvifRxNextFrag(pkt: RxPktState): void {
  const it = pkt.fragIter!;
  pkt.frag++;
  pkt.fragOffset = 0;
  if (pkt.frag >= it.shinfo.nrFrags) {
    pkt.fragIter = it === pkt.skb ? it.shinfo.fragList : it.next;
    pkt.frag = -1;
  }
}

/** xenvif_rx_next_chunk: the next run of bytes, bounded by the destination and the source page. */
function xenvifRxNextChunk(pkt: RxPktState, offset: number): number {
  const it = pkt.fragIter!;
  let fragLen: number;
  let a: number;
  if (pkt.frag === -1) {
    const sh = it.shinfo;
    fragLen = skbHeadlen(it) - pkt.fragOffset;
    a = sh.headOff + it.data + pkt.fragOffset;
    pkt.chunkFrame = sh.headFrames[a >> XEN_PAGE_SHIFT]!;
    pkt.chunkOff = a & (XEN_PAGE_SIZE - 1);
  } else {
    const sh = it.shinfo;
    fragLen = sh.fragSize[pkt.frag]! - pkt.fragOffset;
    pkt.chunkFrame = sh.fragPage[pkt.frag]!;
    pkt.chunkOff = sh.fragOff[pkt.frag]! + pkt.fragOffset;
  }
  // A frontend's xdp-headroom may reach 0x7fff, past the page: Linux's unsigned arithmetic then bounds the
  // chunk by the source alone and the hypervisor refuses the copy (GNTST_bad_copy_arg, reported in the
  // response). A room of 0 here would copy nothing, forever: the guest-RX thread would never finish the packet.
  const room = offset < XEN_PAGE_SIZE ? XEN_PAGE_SIZE - offset : fragLen;
  let len = Math.min(fragLen, room, XEN_PAGE_SIZE - pkt.chunkOff);
  if (len < 0) len = 0;
  pkt.fragOffset += len;
  if (fragLen === len) xenvifRxNextFrag(pkt);
  return len;
}

/** xenvif_rx_data_slot: fill one posted page and write its response. */
function xenvifRxDataSlot(q: XenvifQueue, gref: number, id: number): void {
  const pkt = q.rxPkt;
  let offset = q.vif.xdpHeadroom;
  do {
    const len = xenvifRxNextChunk(pkt, offset);
    if (len > 0) xenvifRxCopyAdd(q, gref, offset, pkt.chunkFrame, pkt.chunkOff, len);
    offset += len;
    pkt.remaining -= len;
  } while (offset < XEN_PAGE_SIZE && pkt.remaining > 0);
  let flags = pkt.remaining > 0 ? NETRXF_more_data : 0;
  if (pkt.slot === 0) {
    const skb = pkt.skb!;
    if (skb.ipSummed === CHECKSUM_PARTIAL) flags |= NETRXF_csum_blank | NETRXF_data_validated;
    else if (skb.ipSummed === CHECKSUM_UNNECESSARY) flags |= NETRXF_data_validated;
    if (pkt.extraCount !== 0) flags |= NETRXF_extra_info;
  }
  const rsp = q.rxRsp;
  rsp.id = id;
  rsp.offset = 0;
  rsp.flags = flags;
  rsp.status = offset;
  ringPutResponse(q.rx!, q.rx!.reqCons, rsp, netifRxResponseCodec);
}

/** xenvif_rx_extra_slot: the next extra (GSO first, then XDP) into this response slot. */
function xenvifRxExtraSlot(q: XenvifQueue): void {
  const pkt = q.rxPkt;
  const extra = q.rxExtra;
  pkt.extraCount--;
  extra.flags = pkt.extraCount !== 0 ? XEN_NETIF_EXTRA_FLAG_MORE : 0;
  if (pkt.gso !== 0) {
    extra.type = XEN_NETIF_EXTRA_TYPE_GSO;
    extra.u.gso.type = pkt.gso;
    extra.u.gso.size = pkt.skb!.shinfo.gsoSize;
    extra.u.gso.pad = 0;
    extra.u.gso.features = 0;
    pkt.gso = 0;
  } else {
    extra.type = XEN_NETIF_EXTRA_TYPE_XDP;
    extra.u.xdp.headroom = pkt.xdp;
    extra.u.xdp.pad.fill(0);
    pkt.xdp = 0;
  }
  ringPutResponse(q.rx!, q.rx!.reqCons, extra, netifExtraInfoCodec);
}

/** xenvif_rx_skb: one packet into as many posted slots as it takes. */
function xenvifRxSkb(q: XenvifQueue): void {
  const rx = q.rx!;
  const pkt = q.rxPkt;
  const skb = xenvifRxNextSkb(q);
  q.lastRxTime = q.vif.nb.clock.now();
  do {
    const req = ringCopyRequest(rx, rx.reqCons, q.rxreq);
    if (pkt.slot !== 0 && pkt.extraCount !== 0) xenvifRxExtraSlot(q);
    else xenvifRxDataSlot(q, req.gref, req.id);
    rx.reqCons = (rx.reqCons + 1) >>> 0;
    pkt.slot++;
  } while (pkt.remaining > 0 || pkt.extraCount !== 0);
  rx.rspProdPvt = rx.reqCons;
  q.rxCompleted[q.rxCompletedCount++] = skb;
  q.vif.nb.trace(q, 'rx-copied', -1, -1, -1, 0, skb.len);
  pkt.skb = null;
  pkt.fragIter = null;
}

/** xenvif_rx_action: up to RX_BATCH_SIZE packets while their slots are posted, then flush. */
export function xenvifRxAction(q: XenvifQueue): void {
  let done = 0;
  while (xenvifRxRingSlotsAvailable(q) && q.rxQueue.count !== 0 && done < RX_BATCH_SIZE) {
    xenvifRxSkb(q);
    done++;
  }
  xenvifRxCopyFlush(q);
}
