/**
 * netfront's xenbus side (REFERENCE.md §3.3, §3.6): the handshake (netback_changed, xennet_connect,
 * talk_to_netback), the close (xennet_bus_close, xenbus_frontend_closed) and the data-path teardown
 * (xennet_disconnect_backend).
 *
 * netfront is driven by a xenstore watch on the backend's `state` key: every event calls netbackChanged with
 * the state read then. The frontend waits, Initialising, for the backend to reach InitWait; it then requires
 * the backend's feature-rx-copy (-ENODEV otherwise, recorded in `connectError`), creates its queues (rings
 * initialised and granted by this side, event channels allocated unbound), writes its keys in one
 * transaction retried on EAGAIN, and switches to Connected (never through Initialised, as Linux).
 *
 * Everything read from the backend's directory is read with the total xenbus readers (garbage reads as the
 * default), so nothing a backend writes can throw here.
 */

import { ENODEV } from '../../errno.ts';
import {
  XenbusStateClosed, XenbusStateClosing, XenbusStateConnected, XenbusStateInitialising, XenbusStateInitWait,
  XenbusStateUnknown, type XenbusState,
} from '../../abi/xenbus.ts';
import { InvalidArgument } from '../../errors.ts';
import { EAGAIN, EINVAL, ENOENT } from '../../hv/errno.ts';
import {
  xenbusExists, xenbusPrintf, xenbusRead, xenbusReadState, xenbusReadUnsigned, xenbusSwitchState,
} from '../../hv/xenbus.ts';
import { XBT_NIL } from '../../hv/xenstore.ts';
import { XENNET_TIMEOUT } from './constants.ts';
import type { NetfrontInfo } from './netfront.ts';
import { notifyRemoteViaEvtchn, setupNetfront, xennetDestroyQueue, type NetfrontQueue } from './queue.ts';
import { xennetAllocRxBuffers } from './rx.ts';

/** -ENODEV: the backend cannot do what netfront needs (no copying receive path). */
export { ENODEV };

/** xenbus_switch_state for this device: publish `state` and remember it. */
export function xennetSwitchState(info: NetfrontInfo, state: XenbusState): void {
  info.xbState = state;
  xenbusSwitchState(info.xs, info.dom.domid, info.nodename, state);
}

/** The backend's state as the frontend can read it (garbage or missing: Unknown). */
export function otherendState(info: NetfrontInfo): XenbusState {
  return xenbusReadState(info.xs, info.dom.domid, info.otherend);
}

function backendUnsigned(info: NetfrontInfo, key: string, def: number): number {
  return xenbusReadUnsigned(info.xs, info.dom.domid, info.otherend, key, def);
}

// ---- the backend's state changes -----------------------------------------------------------------------------

/** netback_changed: the frontend's reaction to each state the backend publishes. */
export function netbackChanged(info: NetfrontInfo, backendState: XenbusState): void {
  switch (backendState) {
    case XenbusStateInitWait:
      if (info.xbState !== XenbusStateInitialising) break;
      if (xennetConnect(info) !== 0) break;
      xennetSwitchState(info, XenbusStateConnected);
      break;
    case XenbusStateClosed:
      if (info.xbState === XenbusStateClosed) break;
      xenbusFrontendClosed(info); // the backend's Closing was missed
      break;
    case XenbusStateClosing:
      xenbusFrontendClosed(info);
      break;
    default:
      // Initialising, Initialised, Connected, Reconfiguring, Reconfigured, Unknown: nothing to do.
      break;
  }
  closeProgress(info, false);
}

/**
 * xenbus_frontend_closed: the backend is going away; say Closed. pvnet also releases the data path here (the
 * backend has unmapped by now; whatever it still maps goes to the deferred end-access path), where Linux
 * keeps the rings until the device is removed or resumed.
 */
function xenbusFrontendClosed(info: NetfrontInfo): void {
  xennetSwitchState(info, XenbusStateClosed);
  xennetDisconnectBackend(info);
}

// ---- connect -------------------------------------------------------------------------------------------------

/**
 * xennet_connect: refuse a backend without feature-rx-copy (-ENODEV), talk to the backend, take the offload
 * features it offers, turn the carrier on, kick each queue and stock its RX ring. 0 or a negative errno
 * (also recorded in `info.connectError`).
 */
export function xennetConnect(info: NetfrontInfo): number {
  if (backendUnsigned(info, 'feature-rx-copy', 0) === 0) {
    return connectFailed(info, -ENODEV, 'backend does not support copying receive path');
  }
  const err = talkToNetback(info);
  if (err !== 0) return err;
  info.canSg = backendUnsigned(info, 'feature-sg', 0) !== 0;
  info.canTso4 = backendUnsigned(info, 'feature-gso-tcpv4', 0) !== 0;
  info.canTso6 = backendUnsigned(info, 'feature-gso-tcpv6', 0) !== 0;
  info.canIpv6Csum = backendUnsigned(info, 'feature-ipv6-csum-offload', 0) !== 0;
  info.connectError = null;
  info.up = true;
  for (const q of info.queues) {
    notifyRemoteViaEvtchn(q, q.txEvtchn);
    if (q.splitEvtchn) notifyRemoteViaEvtchn(q, q.rxEvtchn);
    xennetAllocRxBuffers(q);
  }
  return 0;
}

function connectFailed(info: NetfrontInfo, errno: number, reason: string): number {
  info.connectError = { errno, reason };
  return errno;
}

/** xen_net_read_mac: the frontend's `mac` key, "xx:xx:xx:xx:xx:xx", as a 48-bit number; -ENOENT if bad. */
function xenNetReadMac(info: NetfrontInfo): number {
  const s = xenbusRead(info.xs, info.dom.domid, XBT_NIL, info.nodename, 'mac');
  if (s === undefined || !/^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}$/.test(s)) return -ENOENT;
  return s.split(':').reduce((acc, h) => acc * 256 + parseInt(h, 16), 0);
}

/**
 * talk_to_netback: read what the backend offers (queues, split channels), the frontend's `trusted` and `mac`
 * keys, create the queues, and write the frontend's keys in one transaction, retried on EAGAIN. On failure
 * everything created is torn down. 0 or a negative errno.
 */
function talkToNetback(info: NetfrontInfo): number {
  const xs = info.xs;
  const domid = info.dom.domid;
  info.bounce = !info.trustedParam || xenbusReadUnsigned(xs, domid, info.nodename, 'trusted', 1) === 0;
  const maxQueues = backendUnsigned(info, 'multi-queue-max-queues', 1);
  const numQueues = Math.min(maxQueues, info.maxQueues);
  const split = backendUnsigned(info, 'feature-split-event-channels', 0) !== 0;
  const mac = xenNetReadMac(info);
  if (mac < 0) return connectFailed(info, mac, `parsing ${info.nodename}/mac`);
  info.mac = mac;
  if (numQueues < 1) return connectFailed(info, -EINVAL, 'no queues');
  // A reconnect starts with a sane device and no leftover queues.
  xennetDisconnectBackend(info);
  info.broken = false;
  info.brokenReason = null;
  info.brokenQueue = -1;
  for (let i = 0; i < numQueues; i++) {
    const q = setupNetfront(info, i, split);
    if (typeof q === 'number') {
      if (i > 0) break; // "only created i queues"
      return connectFailed(info, q, 'creating queues');
    }
    info.queues.push(q);
  }
  const mq = xenbusExists(xs, domid, XBT_NIL, info.otherend, 'multi-queue-max-queues');
  for (;;) {
    const tx = xs.transactionStart(domid);
    const err = writeKeys(info, tx, mq);
    if (err !== 0) {
      xs.transactionEnd(domid, tx, false);
      xennetDisconnectBackend(info);
      return connectFailed(info, err, 'writing the frontend keys');
    }
    info.testHooks.beforeKeysCommit?.(tx);
    const end = xs.transactionEnd(domid, tx, true);
    if (end === -EAGAIN) {
      info.xsRetries++;
      continue;
    }
    if (end !== 0) {
      xennetDisconnectBackend(info);
      return connectFailed(info, end, 'completing the transaction');
    }
    return 0;
  }
}

/** The keys of one transaction: queue count, ring and channel keys (flat or per queue), features. */
function writeKeys(info: NetfrontInfo, tx: number, multiQueue: boolean): number {
  const dir = info.nodename;
  const n = info.queues.length;
  let err = multiQueue ? printf(info, tx, dir, 'multi-queue-num-queues', n) : 0;
  if (n === 1) err ||= writeQueueXenstoreKeys(info, info.queues[0]!, tx, dir);
  else for (const q of info.queues) err ||= writeQueueXenstoreKeys(info, q, tx, `${dir}/queue-${q.id}`);
  err ||= printf(info, tx, dir, 'request-rx-copy', 1);
  err ||= printf(info, tx, dir, 'feature-rx-notify', 1);
  err ||= printf(info, tx, dir, 'feature-sg', 1);
  err ||= printf(info, tx, dir, 'feature-gso-tcpv4', 1);
  err ||= printf(info, tx, dir, 'feature-gso-tcpv6', 1);
  err ||= printf(info, tx, dir, 'feature-ipv6-csum-offload', 1);
  return err;
}

/** write_queue_xenstore_keys: ring refs, then `event-channel`, or the -tx / -rx pair when split. */
function writeQueueXenstoreKeys(info: NetfrontInfo, q: NetfrontQueue, tx: number, path: string): number {
  let err = printf(info, tx, path, 'tx-ring-ref', q.txRingRef);
  err ||= printf(info, tx, path, 'rx-ring-ref', q.rxRingRef);
  if (!q.splitEvtchn) return err || printf(info, tx, path, 'event-channel', q.txEvtchn);
  err ||= printf(info, tx, path, 'event-channel-tx', q.txEvtchn);
  return err || printf(info, tx, path, 'event-channel-rx', q.rxEvtchn);
}

function printf(info: NetfrontInfo, tx: number, dir: string, key: string, value: number): number {
  return xenbusPrintf(info.xs, info.dom.domid, tx, dir, key, value);
}

// ---- disconnect and close --------------------------------------------------------------------------------------

/**
 * xennet_disconnect_backend: carrier off, then every queue torn down (xennetDestroyQueue). Its counters are
 * kept (`retiredStats`) so totals survive a reconnect. Idempotent.
 */
export function xennetDisconnectBackend(info: NetfrontInfo): void {
  info.up = false;
  for (const q of info.queues) {
    xennetDestroyQueue(q);
    info.retire(q);
  }
  info.queues.length = 0;
}

/**
 * xennet_bus_close, without blocking: switch to Closing and wait (on the backend's state watch, at most
 * XENNET_TIMEOUT of virtual time) for the backend to reach Closing, Closed or Unknown; switch to Closed and
 * wait the same way for Closed or Unknown; then release the data path and call `done`. If the backend is
 * already Closed, go straight to the end.
 */
export function xennetBusClose(info: NetfrontInfo, done: () => void): void {
  if (info.closeStage !== 0) throw new InvalidArgument(`${info.name}: a close is already running`);
  info.closeDone = done;
  if (otherendState(info) === XenbusStateClosed) {
    if (info.xbState !== XenbusStateClosed) xennetSwitchState(info, XenbusStateClosed);
    closeFinish(info);
    return;
  }
  xennetSwitchState(info, XenbusStateClosing);
  closeWait(info, 1);
}

function closeWait(info: NetfrontInfo, stage: 1 | 2): void {
  info.closeStage = stage;
  info.closeTimer = info.clock.setTimer(XENNET_TIMEOUT, info.closeTimeout);
}

/** One step of the close: called on every backend state change, and with `timedOut` by the timer. */
export function closeProgress(info: NetfrontInfo, timedOut: boolean): void {
  if (info.closeStage === 0) return;
  const be = otherendState(info);
  if (info.closeStage === 1) {
    if (!timedOut && be !== XenbusStateClosing && be !== XenbusStateClosed && be !== XenbusStateUnknown) return;
    info.clock.cancel(info.closeTimer);
    info.closeTimedOut ||= timedOut;
    if (be === XenbusStateClosed) {
      closeFinish(info);
      return;
    }
    xennetSwitchState(info, XenbusStateClosed);
    closeWait(info, 2);
    return;
  }
  if (!timedOut && be !== XenbusStateClosed && be !== XenbusStateUnknown) return;
  info.clock.cancel(info.closeTimer);
  info.closeTimedOut ||= timedOut;
  closeFinish(info);
}

function closeFinish(info: NetfrontInfo): void {
  info.closeStage = 0;
  info.closeTimer = 0;
  xennetDisconnectBackend(info);
  const done = info.closeDone;
  info.closeDone = null;
  done?.();
}
