/**
 * The vif: netback's network device (Linux's struct xenvif, interface.c) and the per-queue plumbing around
 * the shared rings: mapping them, binding the event channels in late-EOI mode, the interrupt handlers, NAPI,
 * carrier on and off, and tearing it all down.
 *
 * XenVif owns its queues (created at connect, dropped at disconnect), the frontend's negotiated features
 * (written by xenbus.ts at connect), the multicast filter (written by the TX path's control requests), and
 * `disabled` with the recorded reason: set by a fatal protocol error from the TX path, never cleared while
 * the vif lives; from then on the poll does nothing and the guest-RX thread of queue 0 turns the carrier off
 * from "thread context" (XSA-90). It is also a NetDevice: the stack transmits to the guest through
 * `ndoStartXmit` (rx.ts); `stats` keeps dom0's view (rx = from the guest), the queues keep the frontend's.
 *
 * Scheduling model: Linux's NAPI poll, the guest-RX kthread and the dealloc kthread are callbacks on the
 * virtual clock (`napiDelayNs`, `rxThreadDelayNs`, `deallocDelayNs` after the wake-up), each scheduled at
 * most once at a time. Handlers run asynchronously through the IrqDispatcher, as real upcalls do.
 *
 * Dies with its BackendInfo (netbackRemove). A vif with packets still in flight in the stack cannot finish
 * disconnecting until they are released (Linux's dealloc thread waits for inflight packets too).
 */

import {
  GNTMAP_host_map, GNTST_okay,
} from '../../abi/grant_table.ts';
import { XEN_PAGE_SIZE } from '../../abi/page.ts';
import {
  SharedRing, backRingAttach, ringFinalCheckForRequests, ringHasUnconsumedRequests,
} from '../../abi/ring.ts';
import { netifRxRingType, netifTxRingType } from '../../abi/netif.ts';
import { gnttabSetMapOp, gnttabSetUnmapOp, newMapGrantRef, newUnmapGrantRef } from '../../hv/grant-ops.ts';
import { newNetDeviceStats, NETDEV_TX_OK, type NetDevice, type NetDeviceStats } from '../../net/netdevice.ts';
import type { SkBuff } from '../../skb/skbuff.ts';
import {
  NETBK_COMMON_EOI, NETBK_RX_EOI, NETBK_TX_EOI, NETBACK_INVALID_HANDLE, XENVIF_NAPI_WEIGHT,
} from './constants.ts';
import { txDeallocDrained, xenvifTxDeallocAction } from './dealloc.ts';
import type { Netback, TxStrategy } from './netback.ts';
import { XenvifQueue } from './queue.ts';
import { xenvifHaveRxWork, xenvifKickThread, xenvifRxQueuePurge, xenvifStartXmit } from './rx.ts';
import { sumQueueStats, type NetbackQueueStats } from './stats.ts';
import { txWorkTodo, xenvifTxAction } from './tx-action.ts';
import type { BackendInfo } from './xenbus.ts';

const EIO = 5;

/** The dummy MAC Linux gives a vif netdev (FE:FF:FF:FF:FF:FF): never stolen by a bridge for STP. */
export const XENVIF_DUMMY_MAC = 0xfeffffffffff;

export class XenVif implements NetDevice {
  readonly nb: Netback;
  readonly be: BackendInfo;
  /** The frontend's domain and the device handle. */
  readonly domid: number;
  readonly handle: number;
  readonly name: string;
  readonly ifindex: number;
  readonly mac = XENVIF_DUMMY_MAC;
  mtu = 1500;
  /** The carrier: on once every queue's guest-RX side is ready, off on a stall, disconnect or fatal error. */
  up = false;
  readonly stats: NetDeviceStats = newNetDeviceStats();
  rxHandler: ((skb: SkBuff) => number) | null = null;
  readonly strategy: TxStrategy;

  queues: XenvifQueue[] = [];
  numQueues = 0;
  /** VIF_STATUS_CONNECTED. */
  connected = false;
  /** The frontend proved hostile: nothing more is processed. */
  disabled = false;
  /** Why `disabled` was set (the netdev_err message Linux would log). */
  fatalReason: string | null = null;
  stalledQueues = 0;
  drainTimeoutNs: number;
  stallTimeoutNs: number;

  // Frontend features (read_xenbus_vif_flags).
  canSg = true;
  /** Bit (1 << XEN_NETIF_GSO_TYPE_*) per GSO type the frontend accepts on its RX side. */
  gsoMask = 0;
  ipCsum = true;
  ipv6Csum = false;
  multicastControl = false;
  xdpHeadroom = 0;
  /** fe_dev_addr: the MAC from the backend's `mac` key. */
  feDevAddr = 0;
  /** Multicast filter (fe_mcast_addr), 48-bit addresses. */
  readonly mcastAddrs: number[] = [];

  /** Called once every queue has drained after a disconnect was asked for. */
  onDisconnected: (() => void) | null = null;

  constructor(nb: Netback, be: BackendInfo, domid: number, handle: number, strategy: TxStrategy) {
    this.nb = nb;
    this.be = be;
    this.domid = domid;
    this.handle = handle;
    this.name = `vif${domid}.${handle}`;
    this.ifindex = nb.allocIfindex();
    this.strategy = strategy;
    this.drainTimeoutNs = nb.rxDrainTimeoutNs;
    this.stallTimeoutNs = nb.rxStallTimeoutNs;
  }

  ndoStartXmit(skb: SkBuff): number {
    xenvifStartXmit(this, skb);
    return NETDEV_TX_OK;
  }

  /** Counters of all queues, summed. */
  get queueStats(): NetbackQueueStats {
    return sumQueueStats(this.queues.map((q) => q.stats));
  }
}

/** xenvif_schedulable: connected and not disabled (the netdev is always "running" in pvnet). */
export function xenvifSchedulable(vif: XenVif): boolean {
  return vif.connected && !vif.disabled;
}

// ---- connect ----------------------------------------------------------------------------------------------

/**
 * xenvif_map_frontend_data_rings: map both ring pages read-write, attach each back ring at the shared
 * rsp_prod, and refuse a ring whose frontend claims more requests than it holds (REFERENCE.md §1.3). 0 or a
 * negative errno; on failure nothing stays mapped.
 */
function xenvifMapFrontendDataRings(q: XenvifQueue, txRef: number, rxRef: number): number {
  let err = attachRing(q, false, txRef);
  if (err === 0) err = attachRing(q, true, rxRef);
  if (err !== 0) xenvifUnmapFrontendDataRings(q);
  return err;
}

/** Map one ring page and attach a back ring at its rsp_prod; -EIO if its req_prod claims too much. */
function attachRing(q: XenvifQueue, isRx: boolean, ref: number): number {
  const nb = q.vif.nb;
  const addr = ringAddr(q, isRx ? 1 : 0);
  if (isRx) q.rxRingAddr = addr;
  else q.txRingAddr = addr;
  const frame = mapRing(q, ref, addr, isRx);
  if (frame < 0) return frame;
  const page = nb.hv.mem.page(nb.dom.domid, frame, true);
  const shared = new SharedRing(page);
  const rspProd = shared.rspProd;
  const reqProd = shared.reqProd;
  let nrEnts: number;
  if (isRx) {
    q.rx = backRingAttach(netifRxRingType, page, rspProd);
    nrEnts = q.rx.nrEnts;
  } else {
    q.tx = backRingAttach(netifTxRingType, page, rspProd);
    nrEnts = q.tx.nrEnts;
  }
  return ((reqProd - rspProd) >>> 0) > nrEnts ? -EIO : 0;
}

/** A host address token for a ring page of queue `q` (0 = TX ring, 1 = RX ring). */
function ringAddr(q: XenvifQueue, which: number): number {
  return (0x2000_0000 + (q.vif.ifindex * 64 + q.id) * 2 + which) * XEN_PAGE_SIZE;
}

/** Map one ring page read-write (xenbus_map_ring_valloc). The frame, or -EIO-like failure (negative). */
function mapRing(q: XenvifQueue, ref: number, addr: number, isRx: boolean): number {
  const nb = q.vif.nb;
  const op = newMapGrantRef();
  gnttabSetMapOp(op, addr, GNTMAP_host_map, ref, q.vif.domid);
  nb.hv.gnttabMapGrantRef(nb.dom, [op], 1);
  if (op.status !== GNTST_okay) return op.status < 0 ? op.status : -EIO;
  if (isRx) q.rxRingHandle = op.handle;
  else q.txRingHandle = op.handle;
  return op.dev_bus_addr / XEN_PAGE_SIZE;
}

/** xenvif_unmap_frontend_data_rings: unmap whichever ring pages are mapped. */
export function xenvifUnmapFrontendDataRings(q: XenvifQueue): void {
  const nb = q.vif.nb;
  for (const rx of [false, true]) {
    const handle = rx ? q.rxRingHandle : q.txRingHandle;
    if (handle === NETBACK_INVALID_HANDLE) continue;
    const op = newUnmapGrantRef();
    gnttabSetUnmapOp(op, rx ? q.rxRingAddr : q.txRingAddr, GNTMAP_host_map, handle);
    nb.hv.gnttabUnmapGrantRef(nb.dom, [op], 1);
    if (rx) q.rxRingHandle = NETBACK_INVALID_HANDLE;
    else q.txRingHandle = NETBACK_INVALID_HANDLE;
  }
  q.tx = null;
  q.rx = null;
}

/**
 * xenvif_connect_data: map the rings, bind the event channel(s) in late-EOI mode with their handlers. With
 * one channel (txEvtchn === rxEvtchn) the common handler serves both directions. 0 or a negative errno, with
 * everything undone on failure.
 */
export function xenvifConnectData(q: XenvifQueue, txRef: number, rxRef: number, txEvtchn: number, rxEvtchn: number): number {
  const nb = q.vif.nb;
  let err = xenvifMapFrontendDataRings(q, txRef, rxRef);
  if (err < 0) return err;
  q.stalled = true;
  q.inflightPackets = 0;
  q.lastRxTime = nb.clock.now();
  const evtchn = nb.hv.evtchn;
  if (txEvtchn === rxEvtchn) {
    err = evtchn.evtchnBindInterdomain(nb.dom, q.vif.domid, txEvtchn, true);
    if (err < 0) return failConnect(q, err);
    q.txIrq = q.rxIrq = err;
    nb.irq.bindEvtchnToIrqhandler(nb.dom, err, () => xenvifInterrupt(q));
  } else {
    err = evtchn.evtchnBindInterdomain(nb.dom, q.vif.domid, txEvtchn, true);
    if (err < 0) return failConnect(q, err);
    q.txIrq = err;
    nb.irq.bindEvtchnToIrqhandler(nb.dom, err, () => xenvifTxInterrupt(q));
    err = evtchn.evtchnBindInterdomain(nb.dom, q.vif.domid, rxEvtchn, true);
    if (err < 0) return failConnect(q, err);
    q.rxIrq = err;
    nb.irq.bindEvtchnToIrqhandler(nb.dom, err, () => xenvifRxInterrupt(q));
  }
  return 0;
}

function failConnect(q: XenvifQueue, err: number): number {
  xenvifDisconnectQueue(q);
  return err;
}

/** xenvif_disconnect_queue: unbind and close the channels, unmap the rings. */
export function xenvifDisconnectQueue(q: XenvifQueue): void {
  const nb = q.vif.nb;
  const ports = q.txIrq === q.rxIrq ? [q.txIrq] : [q.txIrq, q.rxIrq];
  for (const port of ports) {
    if (port === 0) continue;
    nb.irq.unbindFromIrqhandler(nb.dom, port);
    nb.hv.evtchn.evtchnClose(nb.dom, port);
  }
  q.txIrq = q.rxIrq = 0;
  q.eoiPending = 0;
  xenvifUnmapFrontendDataRings(q);
}

// ---- carrier ----------------------------------------------------------------------------------------------

/** xenvif_carrier_on: connected; enable the queues and look for work already waiting. */
export function xenvifCarrierOn(vif: XenVif): void {
  if (!vif.canSg && vif.mtu > 1500) vif.mtu = 1500;
  vif.connected = true;
  for (const q of vif.queues) {
    q.napiEnabled = true;
    xenvifNapiScheduleOrEnableEvents(q);
    xenvifKickThread(q);
  }
}

/** xenvif_carrier_off: no longer connected; stop NAPI and the credit timers. */
export function xenvifCarrierOff(vif: XenVif): void {
  if (!vif.connected) return;
  vif.connected = false;
  vif.up = false;
  for (const q of vif.queues) {
    q.napiEnabled = false;
    if (q.creditTimer !== 0) vif.nb.clock.cancel(q.creditTimer);
    q.creditTimer = 0;
  }
}

/**
 * xenvif_disconnect_data, first half: carrier off, guest-RX threads stopped (their queues purged), dealloc
 * asked to stop. The second half (unbinding, unmapping) runs once every queue has nothing in flight: at once
 * if that is already so, else from the dealloc step. Returns true if the disconnect completed now.
 */
export function xenvifDisconnectData(vif: XenVif, onDone: () => void): boolean {
  xenvifCarrierOff(vif);
  for (const q of vif.queues) {
    if (q.rxWakeTimer !== 0) vif.nb.clock.cancel(q.rxWakeTimer);
    q.rxWakeTimer = 0;
    xenvifRxQueuePurge(q);
    q.deallocStopping = true;
    if (q.deallocProd !== q.deallocCons) xenvifTxDeallocAction(q);
  }
  vif.onDisconnected = onDone;
  return xenvifMaybeFinishDisconnect(vif);
}

/** The second half of a disconnect, once every queue has drained. True if it ran. */
export function xenvifMaybeFinishDisconnect(vif: XenVif): boolean {
  if (vif.onDisconnected === null) return false;
  for (const q of vif.queues) if (!txDeallocDrained(q)) return false;
  for (const q of vif.queues) {
    q.deallocStopping = false;
    xenvifDisconnectQueue(q);
  }
  vif.mcastAddrs.length = 0;
  const done = vif.onDisconnected;
  vif.onDisconnected = null;
  done();
  return true;
}

/** A queue finished draining after a stop was asked (the dealloc kthread exits). */
export function xenvifDeallocStopped(q: XenvifQueue): void {
  xenvifMaybeFinishDisconnect(q.vif);
}

// ---- interrupts and NAPI ----------------------------------------------------------------------------------

function lateEoi(q: XenvifQueue, port: number, spurious: boolean): void {
  const nb = q.vif.nb;
  q.stats.eois++;
  if (spurious) q.stats.spuriousEois++;
  nb.irq.eoi(nb.dom, port, spurious);
}

/** xenvif_handle_tx_interrupt: schedule NAPI if requests wait. */
function xenvifHandleTxInterrupt(q: XenvifQueue): boolean {
  const rc = q.tx !== null && ringHasUnconsumedRequests(q.tx);
  if (rc) napiSchedule(q);
  return rc;
}

/** The TX channel's handler (split channels). An event with no work is acknowledged spurious. */
export function xenvifTxInterrupt(q: XenvifQueue): void {
  q.eoiPending |= NETBK_TX_EOI;
  if (!xenvifHandleTxInterrupt(q)) {
    q.eoiPending &= ~NETBK_TX_EOI;
    lateEoi(q, q.txIrq, true);
  }
}

/** xenvif_handle_rx_interrupt: kick the guest-RX thread if it has work. */
function xenvifHandleRxInterrupt(q: XenvifQueue): boolean {
  const rc = xenvifHaveRxWork(q);
  if (rc) xenvifKickThread(q);
  return rc;
}

/** The RX channel's handler (split channels). */
export function xenvifRxInterrupt(q: XenvifQueue): void {
  q.eoiPending |= NETBK_RX_EOI;
  if (!xenvifHandleRxInterrupt(q)) {
    q.eoiPending &= ~NETBK_RX_EOI;
    lateEoi(q, q.rxIrq, true);
  }
}

/** xenvif_interrupt: the one channel's handler when the frontend did not split them. */
export function xenvifInterrupt(q: XenvifQueue): void {
  q.eoiPending |= NETBK_COMMON_EOI;
  const hasTx = xenvifHandleTxInterrupt(q);
  const hasRx = xenvifHandleRxInterrupt(q);
  if (!hasTx && !hasRx) {
    q.eoiPending &= ~NETBK_COMMON_EOI;
    lateEoi(q, q.txIrq, true);
  }
}

/** napi_schedule: run the poll soon, unless it is already scheduled or NAPI is disabled. */
export function napiSchedule(q: XenvifQueue): void {
  if (q.napiScheduled || !q.napiEnabled) return;
  q.napiScheduled = true;
  q.vif.nb.clock.setTimer(q.vif.nb.napiDelayNs, q.napiPollCb);
}

/**
 * xenvif_poll: one NAPI round. A disabled vif does nothing (and its late EOI is never given: the guest's
 * further events stay masked). Under budget, the queue re-arms through the final check unless credit is
 * what stopped it (the credit timer re-arms it then).
 */
export function xenvifPoll(q: XenvifQueue): void {
  q.napiScheduled = false;
  if (!q.napiEnabled || q.tx === null) return;
  if (q.vif.disabled) return;
  const workDone = xenvifTxAction(q, XENVIF_NAPI_WEIGHT);
  if (q.vif.disabled) return;
  if (workDone >= XENVIF_NAPI_WEIGHT) {
    napiSchedule(q);
    return;
  }
  if (!q.rateLimited) xenvifNapiScheduleOrEnableEvents(q);
}

/**
 * xenvif_napi_schedule_or_enable_events: the final check; more work schedules another poll, none gives the
 * owed late EOI. pvnet also waits (EOI given) when requests remain but no pending slot is free: the dealloc
 * step kicks the poll again when it frees slots (see txWorkTodo).
 */
export function xenvifNapiScheduleOrEnableEvents(q: XenvifQueue): void {
  if (q.tx === null) return;
  const more = ringFinalCheckForRequests(q.tx);
  if (more && txWorkTodo(q)) {
    napiSchedule(q);
    return;
  }
  const owed = q.eoiPending & (NETBK_TX_EOI | NETBK_COMMON_EOI);
  if (owed !== 0) {
    q.eoiPending &= ~(NETBK_TX_EOI | NETBK_COMMON_EOI);
    lateEoi(q, q.txIrq, false);
  }
}

/** The guest-RX thread found nothing to do: give its owed EOI. */
export function xenvifRxEoi(q: XenvifQueue): void {
  const owed = q.eoiPending & (NETBK_RX_EOI | NETBK_COMMON_EOI);
  if (owed === 0) return;
  q.eoiPending &= ~(NETBK_RX_EOI | NETBK_COMMON_EOI);
  lateEoi(q, q.rxIrq, false);
}

/**
 * xenvif_fatal_tx_err: the frontend is hostile. Only `disabled` and the reason are set here (XSA-90: nothing
 * is torn down from the TX path); queue 0's guest-RX thread turns the carrier off. No responses are sent.
 */
export function xenvifFatalTxErr(q: XenvifQueue, reason: string): void {
  const vif = q.vif;
  if (!vif.disabled) {
    vif.disabled = true;
    vif.fatalReason = reason;
    vif.nb.trace(q, 'fatal', -1, -1, -1, 0, 0);
  }
  const q0 = vif.queues[0];
  if (q0 !== undefined) xenvifKickThread(q0);
}

/** Queue `q`'s carrier-relevant stall state changed: the vif carrier is on iff no queue is stalled. */
export function xenvifQueueCarrierOff(q: XenvifQueue): void {
  q.stalled = true;
  if (q.vif.stalledQueues++ === 0) q.vif.up = false;
}

export function xenvifQueueCarrierOn(q: XenvifQueue): void {
  q.lastRxTime = q.vif.nb.clock.now();
  q.stalled = false;
  if (--q.vif.stalledQueues === 0 && q.vif.connected && !q.vif.disabled) q.vif.up = true;
}

/** Create the vif's queues (connect): `n` fresh queues, all stalled until their guest-RX side is ready. */
export function xenvifAllocQueues(vif: XenVif, n: number): void {
  vif.queues = [];
  for (let i = 0; i < n; i++) vif.queues.push(new XenvifQueue(vif, i, vif.nb.fatalSkbSlots));
  vif.numQueues = n;
  vif.stalledQueues = n;
}

/** Drop the queues (after the disconnect completed). */
export function xenvifFreeQueues(vif: XenVif): void {
  vif.queues = [];
  vif.numQueues = 0;
  vif.stalledQueues = 0;
}
