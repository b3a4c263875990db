/**
 * NetfrontInfo (Linux struct netfront_info): one guest's virtual network device, the frontend half of a vif.
 *
 * Owns: its queues (queue.ts; each owns its rings, channels, grants and in-flight buffers), the xenstore watch
 * on the backend's state, the device-level state below, and the counters of queues already torn down. It
 * implements the stack's NetDevice seam: the guest stack transmits with `ndoStartXmit(skb)` (ownership passes
 * on NETDEV_TX_OK) and receives through the injected `receive(skb)` callback (ownership passes with the call).
 *
 * Who writes which field:
 * - the xenbus code (xenbus.ts) writes `xbState`, `up` (the carrier), `queues`, `mac`, the negotiated
 *   features (`canSg`, `canTso4`, `canTso6`, `canIpv6Csum`), `bounce`, `connectError` and the close state;
 * - the TX and RX paths write queue state and counters, and call `markBroken`, the only writer of `broken`,
 *   `brokenReason` and `brokenQueue` (cleared again only by a reconnect, as Linux does);
 * - the caller sets nothing after construction except through the methods.
 *
 * Dependencies are passed in (hypervisor, IRQ dispatcher, the guest domain, its SkbEnv), never imported.
 * netfront installs the guest's page operations into the guest grant driver (`dom.gnttab.pageOps`) when none
 * are set, so the deferred end-access path holds and drops real page references on the SkbEnv's allocator.
 *
 * Life: constructed = probed (Initialising, watching the backend); connects when the backend shows InitWait;
 * `close()` runs the xenbus close and releases the data path; `reconnect()` starts over with new rings and
 * grants; `remove()` closes and drops the watch for good. A broken device drops every packet and ignores its
 * interrupts until it is reconnected; the pages the backend may still read are never reused meanwhile.
 */

import { XenbusStateClosed, XenbusStateInitialising, XenbusStateInitWait, type XenbusState } from '../../abi/xenbus.ts';
import { InvalidArgument, UseAfterDestroy } from '../../errors.ts';
import type { Clock, TimerHandle } from '../../hv/clock.ts';
import type { Domain } from '../../hv/domain.ts';
import type { Hypervisor } from '../../hv/hypervisor.ts';
import type { MachineMemory } from '../../hv/memory.ts';
import { frontendPath, xenbusRead, xenbusReadState, xenbusScanfUint } from '../../hv/xenbus.ts';
import { XBT_NIL, type XenStore } from '../../hv/xenstore.ts';
import { newNetDeviceStats, type NetDevice, type NetDeviceStats } from '../../net/netdevice.ts';
import type { SkbEnv } from '../../skb/env.ts';
import { consumeSkb } from '../../skb/free.ts';
import type { SkBuff } from '../../skb/skbuff.ts';
import type { IrqDispatcher } from '../evtchn-irq.ts';
import { NAPI_POLL_WEIGHT } from './constants.ts';
import type { NetfrontQueue } from './queue.ts';
import { addNetfrontQueueStats, newNetfrontQueueStats, type NetfrontQueueStats } from './stats.ts';
import { xennetStartXmit } from './tx.ts';
import {
  closeProgress, netbackChanged, otherendState, xennetBusClose, xennetDisconnectBackend, xennetSwitchState,
} from './xenbus.ts';

export interface NetfrontOptions {
  readonly hv: Hypervisor;
  /** The hypervisor's event dispatcher (one per Hypervisor). */
  readonly irq: IrqDispatcher;
  /** The guest this netfront runs in. */
  readonly dom: Domain;
  /** The guest kernel's sk_buff context: ring pages, RX pages and RX sk_buffs come from its allocator. */
  readonly env: SkbEnv;
  /** The vif's device id (default 0); the toolstack must have created the device (xenbusCreateDevice). */
  readonly devid?: number;
  /** Queues to ask for (Linux's max_queues, default min(8, CPUs)); pvnet's default is 1, one vCPU. */
  readonly maxQueues?: number;
  /** The `trusted` module parameter (default true); false bounces every TX skb as `trusted = 0` does. */
  readonly trusted?: boolean;
  /** NAPI budget per poll (default 64). */
  readonly napiBudget?: number;
  /** The guest stack's receive entry point; it owns the skb from the call on. Default: consume it. */
  readonly receive?: (skb: SkBuff) => void;
  /** Called when a stopped TX queue wakes (netif_tx_wake_queue). */
  readonly onTxWake?: (queue: number) => void;
  readonly name?: string;
  readonly ifindex?: number;
}

/** Hooks for tests that need to act at one exact moment. */
export interface NetfrontTestHooks {
  /** Runs inside talk_to_netback's transaction, just before it is committed (to force an EAGAIN). */
  beforeKeysCommit?: (tx: number) => void;
}

export class NetfrontInfo implements NetDevice {
  readonly hv: Hypervisor;
  readonly xs: XenStore;
  readonly clock: Clock;
  readonly mem: MachineMemory;
  readonly irq: IrqDispatcher;
  readonly dom: Domain;
  readonly env: SkbEnv;
  readonly devid: number;
  /** The frontend's xenstore directory, and the backend's (otherend) with its domain id. */
  readonly nodename: string;
  readonly otherend: string;
  readonly otherendId: number;

  // NetDevice
  readonly name: string;
  readonly ifindex: number;
  mac = 0;
  mtu = 1500;
  /** netif_carrier_ok: the data path is connected. */
  up = false;
  rxHandler: ((skb: SkBuff) => number) | null = null;

  /** The state this frontend last published. */
  xbState: XenbusState = XenbusStateInitialising;
  queues: NetfrontQueue[] = [];
  /** The backend misbehaved; the device is disabled for further use (xennet's `broken`). */
  broken = false;
  brokenReason: string | null = null;
  brokenQueue = -1;
  /** Times a device was marked broken (over reconnects). */
  brokenCount = 0;
  /** Bounce every TX skb into zeroed pages (XSA-403): the backend is not trusted. */
  bounce = false;
  /** Offloads the backend offers. */
  canSg = false;
  canTso4 = false;
  canTso6 = false;
  canIpv6Csum = false;
  /** Why the last connect attempt failed, or null. */
  connectError: { readonly errno: number; readonly reason: string } | null = null;
  /** Transactions retried on EAGAIN while writing the frontend keys. */
  xsRetries = 0;
  /** Packets dropped while no queue existed (never connected, or disconnected). */
  txDroppedNoQueue = 0;
  readonly testHooks: NetfrontTestHooks = {};

  readonly maxQueues: number;
  readonly trustedParam: boolean;
  readonly napiBudget: number;
  readonly receive: (skb: SkBuff) => void;
  readonly onTxWake: (queue: number) => void;
  /** Scratch for header peeks (queue hash, ethertype). */
  readonly hashScratch = new Uint8Array(64);

  // Close state (xenbus.ts).
  closeStage: 0 | 1 | 2 = 0;
  closeTimer: TimerHandle = 0;
  closeDone: (() => void) | null = null;
  /** The last close gave up waiting for the backend at least once. */
  closeTimedOut = false;
  readonly closeTimeout: () => void;
  removed = false;

  private readonly retired: NetfrontQueueStats = newNetfrontQueueStats();
  private readonly watchToken: string;
  private readonly watchPath: string;

  constructor(opts: NetfrontOptions) {
    this.hv = opts.hv;
    this.xs = opts.hv.xs;
    this.clock = opts.hv.clock;
    this.mem = opts.hv.mem;
    this.irq = opts.irq;
    this.dom = opts.dom;
    this.env = opts.env;
    if (opts.env.domid !== opts.dom.domid) throw new InvalidArgument(`netfront: the SkbEnv belongs to dom${opts.env.domid}, not ${opts.dom}`);
    this.devid = opts.devid ?? 0;
    this.maxQueues = opts.maxQueues ?? 1;
    if (!Number.isInteger(this.maxQueues) || this.maxQueues < 1) throw new InvalidArgument(`netfront: bad maxQueues ${opts.maxQueues}`);
    this.trustedParam = opts.trusted ?? true;
    this.napiBudget = opts.napiBudget ?? NAPI_POLL_WEIGHT;
    if (!Number.isInteger(this.napiBudget) || this.napiBudget < 1) throw new InvalidArgument(`netfront: bad napiBudget ${opts.napiBudget}`);
    this.receive = opts.receive ?? consumeSkb;
    this.onTxWake = opts.onTxWake ?? (() => {});
    this.name = opts.name ?? `eth${this.devid}`;
    this.ifindex = opts.ifindex ?? this.devid + 2;
    this.nodename = frontendPath(this.dom.domid, 'vif', this.devid);
    const domid = this.dom.domid;
    const otherend = xenbusRead(this.xs, domid, XBT_NIL, this.nodename, 'backend');
    const otherendId = xenbusScanfUint(this.xs, domid, XBT_NIL, this.nodename, 'backend-id');
    if (otherend === undefined || otherendId === undefined) {
      throw new InvalidArgument(`netfront: ${this.nodename} has no backend / backend-id (create the device first)`);
    }
    this.otherend = otherend;
    this.otherendId = otherendId;
    this.closeTimeout = () => closeProgress(this, true);
    const pages = this.env.pages;
    this.dom.gnttab.pageOps ??= { getPage: (f) => pages.getPage(f), putPage: (f) => pages.putPage(f) };
    // netfront_probe / xennet_create_dev: publish Initialising, then follow the backend.
    xennetSwitchState(this, XenbusStateInitialising);
    this.watchToken = `netfront-${domid}-${this.devid}`;
    this.watchPath = `${this.otherend}/state`;
    const rc = this.xs.watch(domid, this.watchPath, this.watchToken, () => {
      if (!this.removed) netbackChanged(this, otherendState(this));
    });
    if (rc < 0) throw new InvalidArgument(`netfront: cannot watch ${this.watchPath} (${rc})`);
  }

  // ---- the stack's side ---------------------------------------------------------------------------------------

  /** ndo_start_xmit: NETDEV_TX_OK (the skb is now netfront's: sent or dropped) or NETDEV_TX_BUSY (still yours). */
  ndoStartXmit(skb: SkBuff): number {
    return xennetStartXmit(this, skb);
  }

  /** The same, on a chosen queue (modulo the queue count) instead of the flow hash. */
  xmitOnQueue(skb: SkBuff, queue: number): number {
    if (!Number.isInteger(queue) || queue < 0) throw new InvalidArgument(`netfront: bad queue ${queue}`);
    return xennetStartXmit(this, skb, queue);
  }

  // ---- lifecycle ------------------------------------------------------------------------------------------------

  /** The frontend's state as published. */
  get state(): XenbusState {
    return xenbusReadState(this.xs, this.dom.domid, this.nodename);
  }

  /**
   * xennet_bus_close then xennet_disconnect_backend: Closing, wait for the backend (≤ 5 s virtual), Closed,
   * wait again, release the data path; `done` runs at the end. Progress needs watch events and the clock.
   */
  close(done?: () => void): void {
    this.checkNotRemoved('close');
    this.closeTimedOut = false;
    xennetBusClose(this, done ?? (() => {}));
  }

  /**
   * Start over (netfront_resume and a fresh probe): release the data path if it is still up, publish
   * Initialising, and connect again with new rings and grants as soon as the backend shows InitWait.
   */
  reconnect(): void {
    this.checkNotRemoved('reconnect');
    if (this.closeStage !== 0) throw new InvalidArgument(`${this.name}: reconnect while a close is running`);
    xennetDisconnectBackend(this);
    xennetSwitchState(this, XenbusStateInitialising);
    if (otherendState(this) === XenbusStateInitWait) netbackChanged(this, XenbusStateInitWait);
  }

  /** xennet_remove: close, then stop watching the backend; the device is gone afterwards. */
  remove(done?: () => void): void {
    this.close(() => {
      this.removed = true;
      this.xs.unwatch(this.dom.domid, this.watchPath, this.watchToken);
      done?.();
    });
  }

  /** The frontend is Closed and its data path released. */
  get closed(): boolean {
    return this.xbState === XenbusStateClosed && this.queues.length === 0 && this.closeStage === 0;
  }

  private checkNotRemoved(op: string): void {
    if (this.removed) throw new UseAfterDestroy(`${this.name}.${op}: the device was removed`);
  }

  // ---- failure ----------------------------------------------------------------------------------------------------

  /**
   * Disable the device for further use (Linux: info->broken = true, "Disabled for further use"). The first
   * reason is kept. Called with the backend's misbehaviour in words; never throws.
   */
  markBroken(q: NetfrontQueue, reason: string): void {
    if (this.broken) return;
    this.broken = true;
    this.brokenReason = `${q.name}: ${reason}`;
    this.brokenQueue = q.id;
    this.brokenCount++;
  }

  // ---- counters -----------------------------------------------------------------------------------------------------

  /** Keep a torn-down queue's counters. */
  retire(q: NetfrontQueue): void {
    addNetfrontQueueStats(this.retired, q.stats);
  }

  /** The counters of queue `i` of the current connection. */
  queueStats(i: number): NetfrontQueueStats {
    const q = this.queues[i];
    if (q === undefined) throw new InvalidArgument(`${this.name}: no queue ${i}`);
    return q.stats;
  }

  /** Every counter summed over the device's life (current queues and those torn down). */
  netfrontStats(): NetfrontQueueStats {
    const sum = newNetfrontQueueStats();
    addNetfrontQueueStats(sum, this.retired);
    for (const q of this.queues) addNetfrontQueueStats(sum, q.stats);
    sum.txDropped += this.txDroppedNoQueue;
    return sum;
  }

  /** NetDevice statistics (rx errors are counted as drops there). */
  get stats(): NetDeviceStats {
    const s = this.netfrontStats();
    const out = newNetDeviceStats();
    out.rxPackets = s.rxPackets;
    out.rxBytes = s.rxBytes;
    out.rxDropped = s.rxDropped + s.rxErrors;
    out.txPackets = s.txPackets;
    out.txBytes = s.txBytes;
    out.txDropped = s.txDropped;
    return out;
  }
}
