/**
 * One netfront queue (Linux struct netfront_queue): a TX ring, an RX ring, one or two event channels, and the
 * bookkeeping for every slot either ring has in flight.
 *
 * ```
 *   TX (guest → backend)                              RX (backend → guest)
 *   tx ring page  (granted rw to the backend)         rx ring page  (granted rw to the backend)
 *   txSkbs[id]     the sk_buff slot `id` carries      rxPage[i]      the empty page posted at ring index i
 *   grantTxRef[id] the read-only grant of its frame   grantRxRef[i]  its writable grant
 *   grantTxPage[id] that frame                        (i = req_prod & (RING_SIZE - 1): responses come back
 *   txLink[id]     free chain / TX_PENDING / NONE      in the slot of their request, so i is also the
 *   grefTxHead     reserved refs, one per TX slot      response's index)
 *                                                      grefRxHead     reserved refs, one per RX slot
 * ```
 *
 * Owns: both ring pages (one page reference each, handed to the grant table when access ends), 256 + 256
 * reserved grant refs, every claimed ref and page listed above, one `users` reference of a TX sk_buff per TX
 * slot it occupies (Linux's skb_get per extra slot), the per-packet scratch (staged TX requests, collected RX
 * slots), and the timers it armed (NAPI, RX refill).
 *
 * Who writes: xennetStartXmit (tx.ts) fills TX slots and ids; xennetTxBufGc (tx.ts) empties them when the
 * backend answers; xennetAllocRxBuffers / xennetPoll (rx.ts) fill and empty RX slots. The shared ring pages
 * are written by both ends; this side reads responses only through ringCopyResponse (one snapshot each).
 *
 * Dies in xennetDestroyQueue: handlers unbound, channels closed, every pending TX skb freed and every posted
 * RX page released with its grant ended (or handed to the deferred end-access path with a page reference
 * when the backend still maps it: the page is then never reused until the backend lets go), reserved refs
 * freed, ring grants ended the same way.
 */

import {
  NET_RX_RING_SIZE, NET_TX_RING_SIZE, netifExtraInfoCodec, netifRxResponseCodec, netifTxRequestCodec,
  netifTxResponseCodec, netifRxRequestCodec, netifRxRingType, netifTxRingType, XEN_NETIF_EXTRA_TYPE_MAX, XEN_NETIF_NR_SLOTS_MIN,
  type NetifExtraInfo, type NetifRxFrontRing, type NetifRxRequest, type NetifRxResponse, type NetifTxFrontRing, type NetifTxRequest,
  type NetifTxResponse,
} from '../../abi/netif.ts';
import { XEN_PAGE_SIZE } from '../../abi/page.ts';
import { xenFrontRingInit, type RingIdx } from '../../abi/ring.ts';
import { DOMID_SELF } from '../../abi/xen.ts';
import type { TimerHandle } from '../../hv/clock.ts';
import { ENOMEM } from '../../hv/errno.ts';
import { GNTTAB_LIST_END, type GrantRefHead } from '../../hv/gnttab.ts';
import { __GFP_HIGH, GFP_NOIO } from '../../mm/gfp.ts';
import { SkBuffHead } from '../../skb/queue.ts';
import type { SkBuff } from '../../skb/skbuff.ts';
import { INVALID_GRANT_REF, NO_PAGE, TX_LINK_NONE } from './constants.ts';
import type { NetfrontInfo } from './netfront.ts';
import { xennetHandleRx, xennetPoll, xennetReleaseRxBufs } from './rx.ts';
import { newNetfrontQueueStats, type NetfrontQueueStats } from './stats.ts';
import { xennetHandleTx, xennetReleaseTxBufs } from './tx.ts';

/** Data slots one packet may use on either ring, plus one for a GSO extra and one of slack. */
export const MAX_PKT_SLOTS = XEN_NETIF_NR_SLOTS_MIN + 2;

/** A ring page: the guest frame and the grant the backend maps it through. */
interface RingPage {
  readonly frame: number;
  readonly ref: number;
}

export class NetfrontQueue {
  readonly id: number;
  readonly info: NetfrontInfo;
  /** DEVNAME-qN. */
  readonly name: string;
  readonly stats: NetfrontQueueStats = newNetfrontQueueStats();

  /** Event channels; equal when one channel serves both directions. */
  readonly txEvtchn: number;
  readonly rxEvtchn: number;

  // ---- TX -------------------------------------------------------------------------------------------------
  readonly tx: NetifTxFrontRing;
  readonly txRingRef: number;
  readonly txRingFrame: number;
  readonly txSkbs: (SkBuff | null)[] = new Array<SkBuff | null>(NET_TX_RING_SIZE).fill(null);
  readonly txLink = new Uint16Array(NET_TX_RING_SIZE);
  /** The id is the first data slot of its packet (its answer counts the packet as sent or failed). */
  readonly txFirst = new Uint8Array(NET_TX_RING_SIZE);
  readonly grantTxRef = new Int32Array(NET_TX_RING_SIZE).fill(INVALID_GRANT_REF);
  readonly grantTxPage = new Int32Array(NET_TX_RING_SIZE).fill(NO_PAGE);
  txSkbFreelist = 0;
  readonly grefTxHead: GrantRefHead;
  /** netif_tx_queue_stopped. */
  txStopped = false;
  /** Staged requests of the packet being built (written to the ring once complete), and their count. */
  readonly txStage: NetifTxRequest[] = Array.from({ length: MAX_PKT_SLOTS }, () => netifTxRequestCodec.create());
  txStageCount = 0;
  readonly txGso: NetifExtraInfo = netifExtraInfoCodec.create();
  /** Snapshot of one TX response. */
  readonly txRsp: NetifTxResponse = netifTxResponseCodec.create();

  // ---- RX -------------------------------------------------------------------------------------------------
  readonly rx: NetifRxFrontRing;
  readonly rxRingRef: number;
  readonly rxRingFrame: number;
  readonly rxPage = new Int32Array(NET_RX_RING_SIZE).fill(NO_PAGE);
  readonly grantRxRef = new Int32Array(NET_RX_RING_SIZE).fill(INVALID_GRANT_REF);
  readonly grefRxHead: GrantRefHead;
  /** Unconsumed responses seen by the last interrupt (XSA-391: a producer going backwards is fatal). */
  rxRspUnconsumed = 0;
  /** Snapshots: the current response and the extras of the current packet, indexed by type - 1. */
  readonly rxRsp: NetifRxResponse = netifRxResponseCodec.create();
  readonly rxFirst: NetifRxResponse = netifRxResponseCodec.create();
  readonly rxExtra: NetifExtraInfo = netifExtraInfoCodec.create();
  readonly rxExtras: NetifExtraInfo[] = Array.from({ length: XEN_NETIF_EXTRA_TYPE_MAX - 1 }, () => netifExtraInfoCodec.create());
  /** The request being posted. */
  readonly rxReq: NetifRxRequest = netifRxRequestCodec.create();
  /** The page and ref last taken out of a slot (takeRxSlot). */
  slotPage = NO_PAGE;
  slotRef = INVALID_GRANT_REF;
  /** The current packet's data slots as collected: page, offset, size (grants already ended). */
  readonly pktPage = new Int32Array(MAX_PKT_SLOTS);
  readonly pktOff = new Int32Array(MAX_PKT_SLOTS);
  readonly pktSize = new Int32Array(MAX_PKT_SLOTS);
  pktCount = 0;
  /** Ring index just past the current packet. */
  pktNext: RingIdx = 0;
  /** Packets received in this poll, handed to the stack at its end. */
  readonly rxq = new SkBuffHead();

  // ---- timers ---------------------------------------------------------------------------------------------
  napiScheduled: TimerHandle = 0;
  rxRefillTimer: TimerHandle = 0;
  /** Bound once: the NAPI poll and the refill timer as clock callbacks. */
  readonly napiRun: () => void;
  readonly rxRefillTimeout: () => void;
  /** The running interrupt has found no work yet (its EOI will be flagged spurious). */
  eoiSpurious = true;

  constructor(info: NetfrontInfo, id: number, tx: RingPage, rx: RingPage, txEvtchn: number, rxEvtchn: number,
    grefTxHead: GrantRefHead, grefRxHead: GrantRefHead) {
    this.info = info;
    this.id = id;
    this.name = `${info.name}-q${id}`;
    const mem = info.mem;
    this.txRingFrame = tx.frame;
    this.txRingRef = tx.ref;
    this.tx = xenFrontRingInit(netifTxRingType, mem.page(info.dom.domid, tx.frame, true));
    this.rxRingFrame = rx.frame;
    this.rxRingRef = rx.ref;
    this.rx = xenFrontRingInit(netifRxRingType, mem.page(info.dom.domid, rx.frame, true));
    this.txEvtchn = txEvtchn;
    this.rxEvtchn = rxEvtchn;
    this.grefTxHead = grefTxHead;
    this.grefRxHead = grefRxHead;
    for (let i = 0; i < NET_TX_RING_SIZE; i++) this.txLink[i] = i + 1;
    this.txLink[NET_TX_RING_SIZE - 1] = TX_LINK_NONE;
    this.napiRun = () => {
      this.napiScheduled = 0;
      xennetPoll(this, info.napiBudget);
    };
    this.rxRefillTimeout = () => {
      this.rxRefillTimer = 0;
      napiSchedule(this);
    };
  }

  get splitEvtchn(): boolean {
    return this.txEvtchn !== this.rxEvtchn;
  }
}

/** napi_schedule: run xennetPoll soon (a softirq: the next clock step), once however often asked. */
export function napiSchedule(q: NetfrontQueue): void {
  if (q.napiScheduled !== 0) return;
  q.napiScheduled = q.info.clock.setTimer(0, q.napiRun);
}

// ---- setup (setup_netfront, xennet_init_queue) ---------------------------------------------------------------

/**
 * xenbus_setup_ring: a zeroed page of the guest, granted writable to the backend. Null if no page or no
 * grant could be had.
 */
function xenbusSetupRing(info: NetfrontInfo): RingPage | null {
  const pages = info.env.pages;
  const frame = pages.allocPage(GFP_NOIO | __GFP_HIGH);
  if (frame < 0) return null;
  info.mem.fill(info.dom.domid, frame, 0, XEN_PAGE_SIZE, 0);
  const ref = info.dom.gnttab.gnttabGrantForeignAccess(info.otherendId, frame, false);
  if (ref < 0) {
    pages.putPage(frame);
    return null;
  }
  return { frame, ref };
}

/** xenbus_teardown_ring: end the ring's grant; the page goes with it (now, or once the backend lets go). */
function xenbusTeardownRing(info: NetfrontInfo, ring: RingPage): void {
  info.dom.gnttab.gnttabEndForeignAccess(ring.ref, ring.frame);
}

/** xenbus_alloc_evtchn: an unbound port of the guest that the backend may bind. Port or -errno. */
function xenbusAllocEvtchn(info: NetfrontInfo): number {
  return info.hv.evtchn.evtchnAllocUnbound(info.dom, DOMID_SELF, info.otherendId);
}

/**
 * Create queue `id`: reserve a grant ref for every slot of both rings, set up and initialise both ring pages
 * (this side initialises the shared page), allocate one event channel, or two when the backend offers
 * feature-split-event-channels (falling back to one if the second cannot be had), and bind the handlers.
 * Returns the queue, or a negative errno with everything undone.
 */
export function setupNetfront(info: NetfrontInfo, id: number, featureSplitEvtchn: boolean): NetfrontQueue | number {
  const gt = info.dom.gnttab;
  const txHead: GrantRefHead = { head: GNTTAB_LIST_END };
  const rxHead: GrantRefHead = { head: GNTTAB_LIST_END };
  if (gt.gnttabAllocGrantReferences(NET_TX_RING_SIZE, txHead) < 0) return -ENOMEM;
  if (gt.gnttabAllocGrantReferences(NET_RX_RING_SIZE, rxHead) < 0) {
    gt.gnttabFreeGrantReferences(txHead);
    return -ENOMEM;
  }
  const txRing = xenbusSetupRing(info);
  const rxRing = txRing === null ? null : xenbusSetupRing(info);
  const txPort = rxRing === null ? -ENOMEM : xenbusAllocEvtchn(info);
  if (txRing === null || rxRing === null || txPort < 0) {
    if (rxRing !== null) xenbusTeardownRing(info, rxRing);
    if (txRing !== null) xenbusTeardownRing(info, txRing);
    gt.gnttabFreeGrantReferences(rxHead);
    gt.gnttabFreeGrantReferences(txHead);
    return txPort;
  }
  // Split channels when offered; one channel if the second cannot be had (setup_netfront's fallback).
  let rxPort = featureSplitEvtchn ? xenbusAllocEvtchn(info) : txPort;
  if (rxPort < 0) rxPort = txPort;
  const q = new NetfrontQueue(info, id, txRing, rxRing, txPort, rxPort, txHead, rxHead);
  bindHandlers(q);
  return q;
}

/**
 * bind_evtchn_to_irqhandler_lateeoi: one handler for both directions (xennet_interrupt) or one per channel
 * (xennet_tx_interrupt, xennet_rx_interrupt). Each acknowledges its event with a late EOI, flagged spurious
 * when it found no work (XSA-391).
 */
function bindHandlers(q: NetfrontQueue): void {
  const { irq, dom } = q.info;
  if (!q.splitEvtchn) {
    // xennet_interrupt
    irq.bindEvtchnToIrqhandler(dom, q.txEvtchn, (port) => {
      q.eoiSpurious = true;
      if (xennetHandleTx(q) && xennetHandleRx(q)) lateEoi(q, port);
    });
    return;
  }
  // xennet_tx_interrupt, xennet_rx_interrupt
  irq.bindEvtchnToIrqhandler(dom, q.txEvtchn, (port) => {
    q.eoiSpurious = true;
    if (xennetHandleTx(q)) lateEoi(q, port);
  });
  irq.bindEvtchnToIrqhandler(dom, q.rxEvtchn, (port) => {
    q.eoiSpurious = true;
    if (xennetHandleRx(q)) lateEoi(q, port);
  });
}

/** xen_irq_lateeoi, with XEN_EOI_FLAG_SPURIOUS when the handler found nothing to do. */
function lateEoi(q: NetfrontQueue, port: number): void {
  if (q.eoiSpurious) q.stats.spuriousEvents++;
  q.info.irq.eoi(q.info.dom, port, q.eoiSpurious);
}

/** notify_remote_via_irq. */
export function notifyRemoteViaEvtchn(q: NetfrontQueue, port: number): void {
  q.info.hv.evtchn.evtchnSend(q.info.dom, port);
}

// ---- teardown (the per-queue part of xennet_disconnect_backend) ----------------------------------------------

/**
 * Stop the queue's timers, unbind and close its channels, release every TX and RX buffer (ending each grant,
 * deferring those the backend still maps), free the reserved refs, and end the ring grants.
 */
export function xennetDestroyQueue(q: NetfrontQueue): void {
  const { info } = q;
  const { clock, irq, dom, hv } = info;
  if (q.rxRefillTimer !== 0) clock.cancel(q.rxRefillTimer);
  if (q.napiScheduled !== 0) clock.cancel(q.napiScheduled);
  q.rxRefillTimer = 0;
  q.napiScheduled = 0;
  irq.unbindFromIrqhandler(dom, q.txEvtchn);
  hv.evtchn.evtchnClose(dom, q.txEvtchn);
  if (q.splitEvtchn) {
    irq.unbindFromIrqhandler(dom, q.rxEvtchn);
    hv.evtchn.evtchnClose(dom, q.rxEvtchn);
  }
  xennetReleaseTxBufs(q);
  xennetReleaseRxBufs(q);
  const gt = dom.gnttab;
  gt.gnttabFreeGrantReferences(q.grefTxHead);
  gt.gnttabFreeGrantReferences(q.grefRxHead);
  xenbusTeardownRing(info, { frame: q.txRingFrame, ref: q.txRingRef });
  xenbusTeardownRing(info, { frame: q.rxRingFrame, ref: q.rxRingRef });
}
