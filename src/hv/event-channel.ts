/**
 * Event channels, 2-level ABI (REFERENCE.md §3.7; xen/include/public/event_channel.h, xen/common/event_channel.c).
 *
 * `PortTable` is one domain's set of ports (owned by the Domain, dies with it). Per port: its state
 * (EVTCHNSTAT_closed / unbound / interdomain), the remote domain (for an unbound port: who may bind it; for
 * an interdomain port: the peer) and remote port, a pending bit and a mask bit, and pvnet's late-EOI state.
 * Port 0 is reserved, as in Xen; ports 1..4095 are usable (EVTCHN_2L_NR_CHANNELS).
 *
 * `EventChannelSwitch` is the hypervisor's event-channel code, one per Hypervisor. It alone changes states;
 * the pending and mask bitmaps are Int32Array words on SharedArrayBuffers, changed with Atomics, so a
 * worker thread can test and clear its own pending bits while another domain sends.
 *
 * Delivery: a send sets the remote port's pending bit. If the bit was already set the event coalesces
 * (counted, nothing else happens: one bit, not a queue). Otherwise, unless the port is masked, the injected
 * `onEvent(domid, port)` is called; the scheduler uses it to run the domain's handler. The handler clears
 * the pending bit (`evtchnClearPending`, the guest writing its shared-info bitmap). Unmasking a port whose
 * bit is set delivers then.
 *
 * Late EOI (Linux's lateeoi event handling, the XSA-332 mitigation; modelled at the port because delivery
 * happens here): a port bound in late-EOI mode is not delivered again after a delivery until its handler
 * calls `evtchnEoi()`; events arriving meanwhile only set the pending bit, and the EOI delivers them. An EOI
 * flagged spurious is counted.
 *
 * Errors a guest can cause (bad port, wrong state, no free port, unknown domain) are returned as negative
 * errno values; only misuse by the calling code (a destroyed or foreign caller) throws.
 *
 * Deviation: the pending and mask bits live in hypervisor-owned typed arrays, not in a shared_info page in
 * guest memory; there are no vCPUs, so no per-vCPU selector word and no upcall-pending flag.
 */

import {
  EVTCHN_2L_NR_CHANNELS, EVTCHNSTAT_closed, EVTCHNSTAT_interdomain, EVTCHNSTAT_unbound,
} from '../abi/event_channel.ts';
import { DOMID_SELF } from '../abi/xen.ts';
import { InvalidArgument, UseAfterDestroy } from '../errors.ts';
import type { CostModel } from './cost.ts';
import type { Domain } from './domain.ts';
import { EINVAL, ENOSPC, EPERM, ESRCH } from './errno.ts';

/** Called once per delivered event. */
export type EventNotifier = (domid: number, port: number) => void;

/** Result of evtchnStatus. */
export interface EvtchnStatus {
  status: number;
  /** Unbound: the domain allowed to bind. Interdomain: the peer. */
  remoteDom: number;
  /** Interdomain: the peer's port; otherwise 0. */
  remotePort: number;
}

/** A port table's pending and mask bitmaps (EVTCHN_2L_NR_CHANNELS bits each). */
export interface PortBitmaps {
  readonly pending: SharedArrayBuffer;
  readonly mask: SharedArrayBuffer;
}

/** One domain's ports. Written only by EventChannelSwitch (and the owner's clear-pending / mask). */
export class PortTable {
  readonly nrPorts = EVTCHN_2L_NR_CHANNELS;
  readonly state = new Uint8Array(EVTCHN_2L_NR_CHANNELS);
  readonly remoteDom = new Uint16Array(EVTCHN_2L_NR_CHANNELS);
  readonly remotePort = new Uint16Array(EVTCHN_2L_NR_CHANNELS);
  readonly lateEoi = new Uint8Array(EVTCHN_2L_NR_CHANNELS);
  /** Late-EOI port delivered and not yet EOI'd. */
  readonly eoiOwed = new Uint8Array(EVTCHN_2L_NR_CHANNELS);
  readonly pending: Int32Array;
  readonly mask: Int32Array;
  /** Ports not closed (port 0 excluded). */
  bound = 0;
  /** Events delivered to this domain (onEvent calls). */
  delivered = 0;
  /** Sends that found the pending bit already set. */
  coalesced = 0;
  /** EOIs flagged spurious. */
  spuriousEois = 0;

  /**
   * `shared`: the pending and mask bitmaps of an existing table, so that another thread (the domain's own, in
   * the worker runtime) tests and clears the same bits. Default: fresh bitmaps.
   */
  constructor(shared?: PortBitmaps) {
    this.pending = new Int32Array(shared?.pending ?? new SharedArrayBuffer(EVTCHN_2L_NR_CHANNELS / 8));
    this.mask = new Int32Array(shared?.mask ?? new SharedArrayBuffer(EVTCHN_2L_NR_CHANNELS / 8));
  }

  /** The bitmaps to post to another thread. */
  get bitmaps(): PortBitmaps {
    return { pending: this.pending.buffer as SharedArrayBuffer, mask: this.mask.buffer as SharedArrayBuffer };
  }

  isPending(port: number): boolean {
    return validPort(port) && (Atomics.load(this.pending, port >> 5) & (1 << (port & 31))) !== 0;
  }

  isMasked(port: number): boolean {
    return validPort(port) && (Atomics.load(this.mask, port >> 5) & (1 << (port & 31))) !== 0;
  }
}

function validPort(port: number): boolean {
  return Number.isInteger(port) && port > 0 && port < EVTCHN_2L_NR_CHANNELS;
}

export class EventChannelSwitch {
  /** The delivery hook; replaceable (the scheduler installs its own). */
  onEvent: EventNotifier;
  private readonly cost: CostModel;
  private readonly lookup: (domid: number) => Domain | undefined;

  constructor(cost: CostModel, lookup: (domid: number) => Domain | undefined, onEvent: EventNotifier = () => {}) {
    this.cost = cost;
    this.lookup = lookup;
    this.onEvent = onEvent;
  }

  /**
   * EVTCHNOP_alloc_unbound: a fresh port in `dom` (DOMID_SELF, or any domain for a privileged caller) that
   * `remoteDom` may bind. Returns the port, or -ESRCH / -EPERM / -ENOSPC.
   */
  evtchnAllocUnbound(caller: Domain, dom: number, remoteDom: number): number {
    this.checkCaller(caller);
    this.cost.hypercall(caller.cost);
    const d = dom === DOMID_SELF || dom === caller.domid ? caller : this.lookup(dom);
    if (d === undefined) return -ESRCH;
    if (d !== caller && !caller.privileged) return -EPERM;
    const port = freePort(d.ports);
    if (port < 0) return port;
    const pt = d.ports;
    pt.state[port] = EVTCHNSTAT_unbound;
    pt.remoteDom[port] = remoteDom === DOMID_SELF ? caller.domid : remoteDom;
    pt.bound++;
    return port;
  }

  /**
   * EVTCHNOP_bind_interdomain: bind a fresh local port to `remoteDom`'s unbound `remotePort`, which must have
   * been allocated for the caller. The new local port is left pending, as Xen always does, since a send made
   * to the unbound remote end was dropped (REFERENCE.md §3.7). `lateEoi` selects late-EOI delivery.
   * Returns the local port, or -ESRCH / -ENOSPC / -EINVAL.
   */
  evtchnBindInterdomain(caller: Domain, remoteDom: number, remotePort: number, lateEoi = false): number {
    this.checkCaller(caller);
    this.cost.hypercall(caller.cost);
    const rd = remoteDom === DOMID_SELF ? caller : this.lookup(remoteDom);
    if (rd === undefined) return -ESRCH;
    const lport = freePort(caller.ports);
    if (lport < 0) return lport;
    const rp = rd.ports;
    if (!validPort(remotePort) || rp.state[remotePort] !== EVTCHNSTAT_unbound || rp.remoteDom[remotePort] !== caller.domid) {
      return -EINVAL;
    }
    const lp = caller.ports;
    lp.state[lport] = EVTCHNSTAT_interdomain;
    lp.remoteDom[lport] = rd.domid;
    lp.remotePort[lport] = remotePort;
    lp.lateEoi[lport] = lateEoi ? 1 : 0;
    lp.bound++;
    rp.state[remotePort] = EVTCHNSTAT_interdomain;
    rp.remoteDom[remotePort] = caller.domid;
    rp.remotePort[remotePort] = lport;
    this.setPending(caller, lport);
    return lport;
  }

  /**
   * EVTCHNOP_send: signal the peer of `port`. A send on an unbound port is dropped (0), as in Xen.
   * Returns 0, or -EINVAL for a port that is not open.
   */
  evtchnSend(caller: Domain, port: number): number {
    this.checkCaller(caller);
    const cost = this.cost;
    cost.hypercall(caller.cost);
    cost.evtchnSend(caller.cost);
    if (!validPort(port)) return -EINVAL;
    const lp = caller.ports;
    const st = lp.state[port];
    if (st === EVTCHNSTAT_unbound) return 0;
    if (st !== EVTCHNSTAT_interdomain) return -EINVAL;
    const rd = this.lookup(lp.remoteDom[port]!);
    if (rd !== undefined) this.setPending(rd, lp.remotePort[port]!);
    return 0;
  }

  /** EVTCHNOP_close: close `port`; an interdomain peer goes back to unbound (bindable by the caller again). */
  evtchnClose(caller: Domain, port: number): number {
    this.checkCaller(caller);
    this.cost.hypercall(caller.cost);
    return this.close(caller, port);
  }

  /** EVTCHNOP_status for `port` of `dom` (DOMID_SELF or, for a privileged caller, any domain). */
  evtchnStatus(caller: Domain, dom: number, port: number): EvtchnStatus | number {
    this.checkCaller(caller);
    this.cost.hypercall(caller.cost);
    const d = dom === DOMID_SELF || dom === caller.domid ? caller : this.lookup(dom);
    if (d === undefined) return -ESRCH;
    if (d !== caller && !caller.privileged) return -EPERM;
    if (!validPort(port)) return -EINVAL;
    const pt = d.ports;
    const status = pt.state[port]!;
    return {
      status,
      remoteDom: status === EVTCHNSTAT_closed ? 0 : pt.remoteDom[port]!,
      remotePort: status === EVTCHNSTAT_interdomain ? pt.remotePort[port]! : 0,
    };
  }

  /** Mask `port` (the guest setting its mask bit; not a hypercall). */
  evtchnMask(caller: Domain, port: number): number {
    this.checkCaller(caller);
    if (!validPort(port)) return -EINVAL;
    Atomics.or(caller.ports.mask, port >> 5, 1 << (port & 31));
    return 0;
  }

  /** EVTCHNOP_unmask: clear the mask bit and deliver an event that arrived while masked. */
  evtchnUnmask(caller: Domain, port: number): number {
    this.checkCaller(caller);
    if (!validPort(port)) return -EINVAL;
    const pt = caller.ports;
    Atomics.and(pt.mask, port >> 5, ~(1 << (port & 31)));
    if (pt.isPending(port)) this.deliver(caller, port);
    return 0;
  }

  /** The guest clears `port`'s pending bit; returns whether it was set (test-and-clear). */
  evtchnClearPending(caller: Domain, port: number): boolean {
    this.checkCaller(caller);
    if (!validPort(port)) return false;
    const bit = 1 << (port & 31);
    return (Atomics.and(caller.ports.pending, port >> 5, ~bit) & bit) !== 0;
  }

  /** Late EOI (Linux xen_irq_lateeoi): re-arm `port`; delivers at once if an event is pending. */
  evtchnEoi(caller: Domain, port: number, spurious = false): number {
    this.checkCaller(caller);
    if (!validPort(port)) return -EINVAL;
    const pt = caller.ports;
    if (spurious) pt.spuriousEois++;
    pt.eoiOwed[port] = 0;
    if (pt.isPending(port)) this.deliver(caller, port);
    return 0;
  }

  /** Misuse by the calling code: a Domain of another hypervisor, or one already destroyed. */
  private checkCaller(caller: Domain): void {
    if (this.lookup(caller.domid) === caller) return;
    if (caller.state !== 'alive') throw new UseAfterDestroy(`${caller} is ${caller.state}`);
    throw new InvalidArgument('event channel: caller is not a domain of this hypervisor');
  }

  /** Close every port of a dying domain (domain teardown). */
  closeAll(d: Domain): void {
    for (let p = 1; p < d.ports.nrPorts; p++) if (d.ports.state[p] !== EVTCHNSTAT_closed) this.close(d, p);
  }

  private close(caller: Domain, port: number): number {
    if (!validPort(port)) return -EINVAL;
    const lp = caller.ports;
    const st = lp.state[port];
    if (st === EVTCHNSTAT_closed) return -EINVAL;
    if (st === EVTCHNSTAT_interdomain) {
      const rd = this.lookup(lp.remoteDom[port]!);
      const rport = lp.remotePort[port]!;
      if (rd !== undefined && rd.ports.state[rport] === EVTCHNSTAT_interdomain) {
        rd.ports.state[rport] = EVTCHNSTAT_unbound;
        rd.ports.remoteDom[rport] = caller.domid;
        rd.ports.remotePort[rport] = 0;
      }
    }
    lp.state[port] = EVTCHNSTAT_closed;
    lp.remoteDom[port] = 0;
    lp.remotePort[port] = 0;
    lp.lateEoi[port] = 0;
    lp.eoiOwed[port] = 0;
    const bit = 1 << (port & 31);
    Atomics.and(lp.pending, port >> 5, ~bit);
    Atomics.and(lp.mask, port >> 5, ~bit);
    lp.bound--;
    return 0;
  }

  /** Set `port` pending in `d`; deliver unless it coalesced, is masked, or owes a late EOI. */
  private setPending(d: Domain, port: number): void {
    const pt = d.ports;
    const bit = 1 << (port & 31);
    if ((Atomics.or(pt.pending, port >> 5, bit) & bit) !== 0) {
      pt.coalesced++;
      return;
    }
    this.deliver(d, port);
  }

  private deliver(d: Domain, port: number): void {
    const pt = d.ports;
    if (pt.isMasked(port)) return;
    if (pt.lateEoi[port] !== 0) {
      if (pt.eoiOwed[port] !== 0) return;
      pt.eoiOwed[port] = 1;
    }
    pt.delivered++;
    this.onEvent(d.domid, port);
  }
}

/** Lowest closed port ≥ 1, or -ENOSPC. */
function freePort(pt: PortTable): number {
  for (let p = 1; p < pt.nrPorts; p++) if (pt.state[p] === EVTCHNSTAT_closed) return p;
  return -ENOSPC;
}
