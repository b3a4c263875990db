/**
 * The backend half of the vif handshake (REFERENCE.md §3.2-3.6; Linux xen-netback/xenbus.c).
 *
 * BackendInfo (struct backend_info) owns one backend device directory `backend/vif/<guest>/<devid>`: the
 * state netback means to be in (`state`), the frontend state it last saw, the vif, the watches it holds
 * (the frontend's `state`, this directory's `hotplug-status` and `rate`), and what went wrong
 * (`fatalError`: xenbus_dev_fatal's record; `refused`: a frontend netback will not connect to). Written only
 * from the watch callbacks here (xenstore's watch queue, drained by whoever runs processWatches); dies in
 * `netbackRemove`, on the frontend's Unknown (or Closed while the device is offline), or by the caller.
 *
 * ```
 *   probe:    feature keys (one transaction) + split-event-channels, multi-queue-max-queues; vif created
 *   frontend Initialising  -> InitWait
 *   frontend Connected     -> connect: queues, rings mapped and attached at rsp_prod (a ring claiming
 *                             more than RING_SIZE requests is refused, -EIO), channels bound late-EOI
 *                          -> Connected once hotplug-status = connected
 *   frontend Closing       -> Closing (disconnect first if connected)
 *   frontend Closed        -> Closed; Unknown -> Closed and the device is removed
 *   anything else          -> xenbus_dev_fatal: error node written, Closing
 * ```
 *
 * Deviations, each at its place: a frontend without request-rx-copy is refused and the backend stays in
 * InitWait (current Linux ignores that return value; REFERENCE §3.4 says it will not connect); a failed
 * connect does not go on to announce Connected; a disconnect that must wait for packets still in the stack
 * (Linux blocks the xenbus thread in kthread_stop) completes later, and the state machine resumes then.
 */

import {
  XenbusStateClosed, XenbusStateClosing, XenbusStateConnected, XenbusStateInitialised, XenbusStateInitialising,
  XenbusStateInitWait, XenbusStateReconfigured, XenbusStateReconfiguring, XenbusStateUnknown, type XenbusState,
} from '../../abi/xenbus.ts';
import { XEN_NETIF_GSO_TYPE_TCPV4, XEN_NETIF_GSO_TYPE_TCPV6 } from '../../abi/netif.ts';
import { EAGAIN, EINVAL, ENOENT } from '../../hv/errno.ts';
import {
  backendPath, frontendPath, xenbusExists, xenbusGather, xenbusPrintf, xenbusRead, xenbusReadState,
  xenbusReadUnsigned, xenbusScanfUint, xenbusSwitchState,
} from '../../hv/xenbus.ts';
import { XBT_NIL } from '../../hv/xenstore.ts';
import { RX_DRAIN_TIMEOUT_NO_NOTIFY_NS, XEN_NETIF_MAX_XDP_HEADROOM } from './constants.ts';
import { xenNetParseRate, xenvifInitCredit, xenvifRateChanged } from './credit.ts';
import {
  XenVif, xenvifAllocQueues, xenvifCarrierOn, xenvifConnectData, xenvifDisconnectData, xenvifDisconnectQueue,
  xenvifFreeQueues,
} from './interface.ts';
import type { Netback, TxStrategy } from './netback.ts';
import type { XenvifQueue } from './queue.ts';

const EOPNOTSUPP = 95;

/** A xenbus_dev_fatal / xenbus_dev_error record. */
export interface XenbusError {
  readonly err: number;
  readonly message: string;
}

export class BackendInfo {
  readonly nb: Netback;
  /** The backend directory (dev->nodename). */
  readonly nodename: string;
  /** The frontend directory (dev->otherend) and domain. */
  readonly otherend: string;
  readonly otherendId: number;
  readonly devid: number;
  readonly strategy: TxStrategy;
  /** The state netback is in or heading for (be->state). */
  state: XenbusState = XenbusStateInitialising;
  frontendState: XenbusState = XenbusStateUnknown;
  vif: XenVif | null = null;
  /** The hotplug script's path, if the toolstack gave one. */
  hotplugScript: string | undefined;
  haveHotplugStatusWatch = false;
  haveRateWatch = false;
  /** xenbus_dev_fatal records, oldest first. */
  readonly errors: XenbusError[] = [];
  /** Why netback refused the frontend (request-rx-copy missing or 0), or null. */
  refused: XenbusError | null = null;
  removed = false;

  /** A disconnect waiting for packets in the stack: the target state to resume towards. */
  resumeTo: XenbusState | null = null;
  /** The frontend state last seen while a disconnect was waiting (at most one), handled once it completes. */
  readonly deferred: XenbusState[] = [];
  /** The device is to be removed once the pending disconnect completes. */
  removeAfterDisconnect = false;

  readonly stateToken: string;
  readonly hotplugToken: string;
  readonly rateToken: string;

  constructor(nb: Netback, nodename: string, otherend: string, otherendId: number, devid: number, strategy: TxStrategy) {
    this.nb = nb;
    this.nodename = nodename;
    this.otherend = otherend;
    this.otherendId = otherendId;
    this.devid = devid;
    this.strategy = strategy;
    this.stateToken = `netback-otherend:${nodename}`;
    this.hotplugToken = `netback-hotplug:${nodename}`;
    this.rateToken = `netback-rate:${nodename}`;
  }

  /** The last xenbus_dev_fatal record, or null. */
  get fatalError(): XenbusError | null {
    return this.errors.length === 0 ? null : this.errors[this.errors.length - 1]!;
  }
}

// ---- small xenbus helpers ---------------------------------------------------------------------------------

function xsOf(be: BackendInfo) {
  return be.nb.hv.xs;
}

function domid(be: BackendInfo): number {
  return be.nb.dom.domid;
}

/**
 * xenbus_dev_fatal: record the error, write it under `error/<nodename>/error` of the backend domain, and
 * switch the device to Closing.
 */
export function xenbusDevFatal(be: BackendInfo, err: number, message: string): void {
  be.errors.push({ err, message });
  const rel = be.nodename.replace(/^\/local\/domain\/[0-9]+\//, '');
  const home = `/local/domain/${domid(be)}`;
  xenbusPrintf(xsOf(be), domid(be), XBT_NIL, `${home}/error/${rel}`, 'error', `${-err} ${message}`);
  xenbusSwitchState(xsOf(be), domid(be), be.nodename, XenbusStateClosing);
}

/** backend_switch_state: remember the state; publish it unless the hotplug script has not reported yet. */
function backendSwitchState(be: BackendInfo, state: XenbusState): void {
  be.state = state;
  if (!be.haveHotplugStatusWatch) xenbusSwitchState(xsOf(be), domid(be), be.nodename, state);
}

// ---- probe ------------------------------------------------------------------------------------------------

/** The feature keys netback_probe writes in one transaction (REFERENCE.md §3.2). */
function writeFeatures(be: BackendInfo): number {
  const xs = xsOf(be);
  const d = domid(be);
  for (;;) {
    const tx = xs.transactionStart(d);
    if (tx < 0) return tx;
    const keys: [string, number][] = [
      ['feature-sg', 1], ['feature-gso-tcpv4', 1], ['feature-gso-tcpv6', 1], ['feature-ipv6-csum-offload', 1],
      ['feature-rx-copy', 1], ['feature-xdp-headroom', be.nb.providesXdpHeadroom ? 1 : 0], ['feature-rx-flip', 0],
      ['feature-multicast-control', 1], ['feature-dynamic-multicast-control', 1],
    ];
    let err = 0;
    for (const [k, v] of keys) {
      err = xenbusPrintf(xs, d, tx, be.nodename, k, v);
      if (err < 0) break;
    }
    if (err < 0) {
      xs.transactionEnd(d, tx, false);
      return err;
    }
    const end = xs.transactionEnd(d, tx, true);
    if (end !== -EAGAIN) return end;
  }
}

/**
 * netback_probe: feature keys, the optional keys outside the transaction, the vif, and a watch on the
 * frontend's state (whose first event moves the backend to InitWait if the frontend is Initialising).
 * `feature-ctrl-ring` is not advertised: pvnet's netback has no control ring.
 */
export function netbackProbe(nb: Netback, guestDomid: number, devid: number, strategy: TxStrategy): BackendInfo {
  const xs = nb.hv.xs;
  const d = nb.dom.domid;
  const nodename = backendPath(d, 'vif', guestDomid, devid);
  const otherend = xenbusRead(xs, d, XBT_NIL, nodename, 'frontend') ?? frontendPath(guestDomid, 'vif', devid);
  const otherendId = xenbusScanfUint(xs, d, XBT_NIL, nodename, 'frontend-id') ?? guestDomid;
  const be = new BackendInfo(nb, nodename, otherend, otherendId, devid, strategy);
  nb.backends.set(nodename, be);

  const err = writeFeatures(be);
  if (err < 0) {
    xenbusDevFatal(be, err, 'writing feature keys');
    netbackRemove(be);
    return be;
  }
  xenbusPrintf(xs, d, XBT_NIL, nodename, 'feature-split-event-channels', nb.separateTxRxIrq ? 1 : 0);
  xenbusPrintf(xs, d, XBT_NIL, nodename, 'multi-queue-max-queues', nb.maxQueues);
  be.hotplugScript = xenbusRead(xs, d, XBT_NIL, nodename, 'script');
  if (backendCreateXenvif(be) < 0) {
    netbackRemove(be);
    return be;
  }
  // The frontend's state is guest-writable: at most one event of this watch waits in dom0's queue, however
  // fast the guest rewrites it (XSA-349; the callback reads the state as it is when it runs).
  xs.watch(d, `${otherend}/state`, be.stateToken, () => {
    if (!be.removed) frontendChanged(be, xenbusReadState(xs, d, otherend));
  }, { onePending: true });
  return be;
}

/** backend_create_xenvif: read `handle` and make the netdev. With `hotplugScript` on, play the vif script. */
function backendCreateXenvif(be: BackendInfo): number {
  if (be.vif !== null) return 0;
  const nb = be.nb;
  const handle = xenbusScanfUint(xsOf(be), domid(be), XBT_NIL, be.nodename, 'handle');
  if (handle === undefined) {
    xenbusDevFatal(be, -ENOENT, 'reading handle');
    return -ENOENT;
  }
  be.vif = new XenVif(nb, be, be.otherendId, handle, be.strategy);
  if (nb.hotplugScript) xenbusPrintf(xsOf(be), domid(be), XBT_NIL, be.nodename, 'hotplug-status', 'connected');
  return 0;
}

// ---- the state machine ------------------------------------------------------------------------------------

/**
 * frontend_changed: react to the frontend's state. While a disconnect waits for in-flight packets, states
 * are queued and handled once it completes (Linux's xenbus thread is blocked meanwhile).
 */
export function frontendChanged(be: BackendInfo, state: XenbusState): void {
  if (be.removed) return;
  if (be.resumeTo !== null) {
    // Only the latest state is kept (XSA-349): Linux's xenbus thread, blocked in the disconnect, holds at most
    // one pending event for this watch and reads the state when it gets to it. A frontend flapping its state
    // while packets keep the disconnect waiting must not grow dom0's memory.
    be.deferred.length = 0;
    be.deferred.push(state);
    return;
  }
  be.frontendState = state;
  switch (state) {
    case XenbusStateInitialising:
      setBackendState(be, XenbusStateInitWait);
      break;
    case XenbusStateInitialised:
      break;
    case XenbusStateConnected:
      setBackendState(be, XenbusStateConnected);
      break;
    case XenbusStateReconfiguring:
      if (be.vif !== null) readXenbusFrontendXdp(be, be.vif);
      xenbusSwitchState(xsOf(be), domid(be), be.nodename, XenbusStateReconfigured);
      break;
    case XenbusStateClosing:
      setBackendState(be, XenbusStateClosing);
      break;
    case XenbusStateClosed:
      setBackendState(be, XenbusStateClosed);
      if (xenbusReadUnsigned(xsOf(be), domid(be), be.nodename, 'online', 0) !== 0) break;
      removeWhenIdle(be);
      break;
    case XenbusStateUnknown:
      setBackendState(be, XenbusStateClosed);
      removeWhenIdle(be);
      break;
    default:
      xenbusDevFatal(be, -EINVAL, `saw state ${state} at frontend`);
  }
}

function removeWhenIdle(be: BackendInfo): void {
  if (be.resumeTo !== null) be.removeAfterDisconnect = true;
  else netbackRemove(be);
}

/**
 * set_backend_state: walk the shortest legal path (Initialising → InitWait → Connected, Closing ↔ Closed)
 * to `target`. Leaving Connected disconnects first; a disconnect that has to wait pauses the walk.
 */
export function setBackendState(be: BackendInfo, target: XenbusState): void {
  while (be.state !== target) {
    switch (be.state) {
      case XenbusStateInitialising:
        backendSwitchState(be, target === XenbusStateClosed ? XenbusStateClosed : XenbusStateInitWait);
        break;
      case XenbusStateClosed:
        backendSwitchState(be, target === XenbusStateClosing ? XenbusStateClosing : XenbusStateInitWait);
        break;
      case XenbusStateInitWait:
        if (target === XenbusStateConnected) {
          if (!backendConnect(be)) return;
          backendSwitchState(be, XenbusStateConnected);
        } else {
          backendSwitchState(be, XenbusStateClosing);
        }
        break;
      case XenbusStateConnected:
        if (!backendDisconnect(be, target)) return;
        backendSwitchState(be, XenbusStateClosing);
        break;
      case XenbusStateClosing:
        backendSwitchState(be, XenbusStateClosed);
        break;
      default:
        return;
    }
  }
}

/** A waiting disconnect finished: continue towards the target, then handle the states seen meanwhile. */
function disconnectDone(be: BackendInfo): void {
  const target = be.resumeTo;
  be.resumeTo = null;
  if (be.vif !== null) xenvifFreeQueues(be.vif);
  if (target === null) return;
  backendSwitchState(be, XenbusStateClosing);
  setBackendState(be, target);
  if (be.removeAfterDisconnect) {
    be.removeAfterDisconnect = false;
    netbackRemove(be);
    return;
  }
  while (be.deferred.length > 0 && be.resumeTo === null && !be.removed) frontendChanged(be, be.deferred.shift()!);
}

/**
 * backend_disconnect: drop the rate watch and the data path. True if it completed at once; false if it
 * waits for packets still in the stack (the walk resumes towards `target` when they are released).
 */
function backendDisconnect(be: BackendInfo, target: XenbusState): boolean {
  const vif = be.vif;
  if (vif === null) return true;
  unregisterRateWatch(be);
  be.resumeTo = target;
  let sync = true;
  const done = xenvifDisconnectData(vif, () => {
    if (sync) return;
    disconnectDone(be);
  });
  sync = false;
  if (!done) return false;
  be.resumeTo = null;
  xenvifFreeQueues(vif);
  return true;
}

// ---- connect ----------------------------------------------------------------------------------------------

/** xen_net_read_mac: strict `xx:xx:xx:xx:xx:xx`; the address as a 48-bit number, or -ENOENT. */
function xenNetReadMac(be: BackendInfo): number {
  const v = xenbusRead(xsOf(be), domid(be), XBT_NIL, be.nodename, 'mac');
  if (v === undefined || !/^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}$/.test(v)) return -ENOENT;
  let mac = 0;
  for (const part of v.split(':')) mac = mac * 256 + parseInt(part, 16);
  return mac;
}

/** read_xenbus_frontend_xdp: the frontend's RX headroom (capped), 0 when absent. */
function readXenbusFrontendXdp(be: BackendInfo, vif: XenVif): void {
  const h = xenbusScanfUint(xsOf(be), domid(be), XBT_NIL, be.otherend, 'xdp-headroom');
  vif.xdpHeadroom = h === undefined || h > 0xffff ? 0 : Math.min(h, XEN_NETIF_MAX_XDP_HEADROOM);
}

/** read_xenbus_vif_flags (REFERENCE.md §3.4). 0, or -EOPNOTSUPP when the frontend cannot take rx-copy. */
function readXenbusVifFlags(be: BackendInfo, vif: XenVif): number {
  const xs = xsOf(be);
  const d = domid(be);
  const oe = be.otherend;
  const rxCopy = xenbusScanfUint(xs, d, XBT_NIL, oe, 'request-rx-copy');
  if (rxCopy === undefined && xenbusExists(xs, d, XBT_NIL, oe, 'request-rx-copy')) {
    xenbusDevFatal(be, -EINVAL, `reading ${oe}/request-rx-copy`);
    return -EINVAL;
  }
  if (!rxCopy) return -EOPNOTSUPP;
  vif.drainTimeoutNs = be.nb.rxDrainTimeoutNs;
  vif.stallTimeoutNs = be.nb.rxStallTimeoutNs;
  if (!xenbusReadUnsigned(xs, d, oe, 'feature-rx-notify', 0)) {
    vif.drainTimeoutNs = RX_DRAIN_TIMEOUT_NO_NOTIFY_NS;
    vif.stallTimeoutNs = 0;
  }
  vif.canSg = xenbusReadUnsigned(xs, d, oe, 'feature-sg', 0) !== 0;
  vif.gsoMask = 0;
  if (xenbusReadUnsigned(xs, d, oe, 'feature-gso-tcpv4', 0)) vif.gsoMask |= 1 << XEN_NETIF_GSO_TYPE_TCPV4;
  if (xenbusReadUnsigned(xs, d, oe, 'feature-gso-tcpv6', 0)) vif.gsoMask |= 1 << XEN_NETIF_GSO_TYPE_TCPV6;
  vif.ipCsum = !xenbusReadUnsigned(xs, d, oe, 'feature-no-csum-offload', 0);
  vif.ipv6Csum = xenbusReadUnsigned(xs, d, oe, 'feature-ipv6-csum-offload', 0) !== 0;
  vif.multicastControl = xenbusReadUnsigned(xs, d, oe, 'request-multicast-control', 0) !== 0;
  readXenbusFrontendXdp(be, vif);
  return 0;
}

/**
 * connect_data_rings for queue `q`: ring refs and channel(s) from the frontend directory (flat for one
 * queue, `queue-N/` otherwise), then xenvif_connect_data. 0 or a negative errno (xenbus_dev_fatal done).
 */
function connectDataRings(be: BackendInfo, q: XenvifQueue): number {
  const xs = xsOf(be);
  const d = domid(be);
  const path = q.vif.numQueues === 1 ? be.otherend : `${be.otherend}/queue-${q.id}`;
  const rings = xenbusGather(xs, d, XBT_NIL, path, { 'tx-ring-ref': 'uint', 'rx-ring-ref': 'uint' });
  const txRef = rings['tx-ring-ref'];
  const rxRef = rings['rx-ring-ref'];
  if (txRef === undefined || rxRef === undefined) {
    xenbusDevFatal(be, -ENOENT, `reading ${path}/ring-ref`);
    return -ENOENT;
  }
  const split = xenbusGather(xs, d, XBT_NIL, path, { 'event-channel-tx': 'uint', 'event-channel-rx': 'uint' });
  let txEvtchn = split['event-channel-tx'];
  let rxEvtchn = split['event-channel-rx'];
  if (txEvtchn === undefined || rxEvtchn === undefined) {
    txEvtchn = rxEvtchn = xenbusScanfUint(xs, d, XBT_NIL, path, 'event-channel');
    if (txEvtchn === undefined) {
      xenbusDevFatal(be, -ENOENT, `reading ${path}/event-channel(-tx/rx)`);
      return -ENOENT;
    }
  }
  const err = xenvifConnectData(q, txRef, rxRef, txEvtchn, rxEvtchn!);
  if (err < 0) {
    xenbusDevFatal(be, err, `mapping shared-frames ${txRef}/${rxRef} port tx ${txEvtchn} rx ${rxEvtchn}`);
    return err;
  }
  return 0;
}

/**
 * connect: the frontend is Connected. Queue count, MAC, rate, features; then each queue's rings and
 * channels; then the carrier and the hotplug-status watch that publishes Connected. False if it failed
 * (the error is recorded; the backend stays where it was).
 */
function backendConnect(be: BackendInfo): boolean {
  const vif = be.vif;
  if (vif === null) return false;
  const nb = be.nb;
  const xs = xsOf(be);
  const d = domid(be);
  const requested = xenbusReadUnsigned(xs, d, be.otherend, 'multi-queue-num-queues', 1);
  if (requested > nb.maxQueues || requested === 0) {
    // requested === 0: pvnet refuses it too (Linux would go on with no queue at all).
    xenbusDevFatal(be, -EINVAL, `guest requested ${requested} queues, exceeding the maximum of ${nb.maxQueues}.`);
    return false;
  }
  const mac = xenNetReadMac(be);
  if (mac < 0) {
    xenbusDevFatal(be, mac, `parsing ${be.nodename}/mac`);
    return false;
  }
  vif.feDevAddr = mac;
  const rate = xenNetParseRate(xenbusRead(xs, d, XBT_NIL, be.nodename, 'rate'));
  registerRateWatch(be);
  const flags = readXenbusVifFlags(be, vif);
  if (flags === -EOPNOTSUPP) {
    be.refused = { err: -EOPNOTSUPP, message: `${be.otherend}/request-rx-copy is missing or 0` };
    unregisterRateWatch(be);
    return false;
  }
  if (flags < 0) {
    unregisterRateWatch(be);
    return false;
  }
  be.refused = null;
  xenvifAllocQueues(vif, requested);
  for (const q of vif.queues) {
    xenvifInitCredit(q, rate);
    if (connectDataRings(be, q) < 0) {
      for (const p of vif.queues) xenvifDisconnectQueue(p);
      xenvifFreeQueues(vif);
      unregisterRateWatch(be);
      return false;
    }
  }
  xenvifCarrierOn(vif);
  // Publish Connected once the hotplug script says so (at once if it already did).
  unregisterHotplugStatusWatch(be);
  be.haveHotplugStatusWatch = xs.watch(d, `${be.nodename}/hotplug-status`, be.hotplugToken, () => hotplugStatusChanged(be)) === 0;
  return true;
}

/** hotplug_status_changed: "connected" publishes the pending state and ends the watch. */
function hotplugStatusChanged(be: BackendInfo): void {
  if (!be.haveHotplugStatusWatch) return;
  const v = xenbusRead(xsOf(be), domid(be), XBT_NIL, be.nodename, 'hotplug-status');
  if (v !== 'connected') return;
  unregisterHotplugStatusWatch(be);
  xenbusSwitchState(xsOf(be), domid(be), be.nodename, be.state);
}

function unregisterHotplugStatusWatch(be: BackendInfo): void {
  if (be.haveHotplugStatusWatch) xsOf(be).unwatch(domid(be), `${be.nodename}/hotplug-status`, be.hotplugToken);
  be.haveHotplugStatusWatch = false;
}

function registerRateWatch(be: BackendInfo): void {
  if (be.haveRateWatch) return;
  be.haveRateWatch = xsOf(be).watch(domid(be), `${be.nodename}/rate`, be.rateToken, () => xenNetRateChanged(be)) === 0;
}

function unregisterRateWatch(be: BackendInfo): void {
  if (be.haveRateWatch) xsOf(be).unwatch(domid(be), `${be.nodename}/rate`, be.rateToken);
  be.haveRateWatch = false;
}

/** xen_net_rate_changed: the toolstack changed `rate`. */
function xenNetRateChanged(be: BackendInfo): void {
  const vif = be.vif;
  if (vif === null) return;
  const rate = xenNetParseRate(xenbusRead(xsOf(be), domid(be), XBT_NIL, be.nodename, 'rate'));
  for (const q of vif.queues) xenvifRateChanged(q, rate);
}

// ---- remove -----------------------------------------------------------------------------------------------

/**
 * netback_remove: stop following the frontend, drop hotplug-status, disconnect and free the vif. If packets
 * are still in the stack the removal completes when they are released.
 */
export function netbackRemove(be: BackendInfo): void {
  if (be.removed) return;
  const xs = xsOf(be);
  const d = domid(be);
  unregisterHotplugStatusWatch(be);
  xs.rm(d, XBT_NIL, `${be.nodename}/hotplug-status`);
  const vif = be.vif;
  if (vif !== null && vif.numQueues > 0) {
    if (be.resumeTo !== null) {
      be.removeAfterDisconnect = true;
      return;
    }
    unregisterRateWatch(be);
    be.resumeTo = be.state;
    let sync = true;
    const done = xenvifDisconnectData(vif, () => {
      if (sync) return;
      be.resumeTo = null;
      finishRemove(be);
    });
    sync = false;
    if (!done) return;
    be.resumeTo = null;
  }
  finishRemove(be);
}

function finishRemove(be: BackendInfo): void {
  if (be.vif !== null) xenvifFreeQueues(be.vif);
  unregisterRateWatch(be);
  xsOf(be).unwatch(domid(be), `${be.otherend}/state`, be.stateToken);
  be.removed = true;
  be.vif = null;
  be.nb.backends.delete(be.nodename);
}

export { EOPNOTSUPP };
