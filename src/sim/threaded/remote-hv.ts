/**
 * The hypervisor as a guest thread reaches it: the surface netfront, the guest's grant driver and the IRQ
 * dispatcher use (`mem`, `clock`, `xs`, `evtchn`, `gnttabQuerySize`, `gnttabSetupTable`), with every
 * hypercall executed on the hypervisor's thread (hv-link.ts runs it there). Nothing of the hypervisor's state
 * lives here.
 *
 * - Machine memory is the same SharedArrayBuffer (`MachineMemory.attach`): the guest writes its frames,
 *   grant entries and ring pages in place, as a real guest does; no hypercall is involved.
 * - Event channels: `evtchnSend` and `evtchnEoi` are posted (the guest does not wait: Linux ignores their
 *   result on these paths); `evtchnClearPending` and the pending/mask tests act on the port bitmaps
 *   directly (the guest's shared-info page); every other operation is a synchronous call.
 * - XenStore: every operation is a synchronous call; a watch callback stays here and is run by the guest
 *   thread when the hypervisor thread forwards the event.
 * - Grant table: setup_table and query_size are synchronous calls; everything else the guest's grant driver
 *   does is writing its own table.
 *
 * Deviation: a posted EVTCHNOP_send returns 0 at once; a bad port is then found (and ignored) on the
 * hypervisor's thread. Misuse by the calling code (a caller that is not this guest) throws here.
 */

import { InvalidArgument } from '../../errors.ts';
import { Domain } from '../../hv/domain.ts';
import { PortTable, type EventNotifier, type EvtchnStatus, type PortBitmaps } from '../../hv/event-channel.ts';
import { GnttabGuest } from '../../hv/gnttab.ts';
import type { GnttabQuerySize, GnttabSetupTable } from '../../hv/grant-ops.ts';
import { GrantTable } from '../../hv/grant-table.ts';
import type { Hypervisor } from '../../hv/hypervisor.ts';
import type { MachineMemory } from '../../hv/memory.ts';
import type { WatchCallback, XsPerm } from '../../hv/xenstore.ts';
import { EVTCHN_2L_NR_CHANNELS } from '../../abi/event_channel.ts';
import { Link, OP_EVTCHN_EOI, OP_EVTCHN_SEND, type CallAnswer, type WatchMessage } from './protocol.ts';
import type { WallClock } from './wall-clock.ts';

/** A word nobody notifies: Atomics.wait on it is a short sleep. */
const nap = new Int32Array(new SharedArrayBuffer(4));

/** What the hypervisor thread tells a guest thread about its domain. */
export interface GuestDomainInfo {
  readonly domid: number;
  readonly name: string;
  readonly frames: readonly number[];
  readonly ports: PortBitmaps;
  readonly maxGrantFrames: number;
  readonly maxMaptrackFrames: number;
}

/** The guest's end of the link: synchronous calls and posted operations. */
export class HypercallPort {
  readonly link: Link;
  private posted = 0;

  constructor(link: Link) {
    this.link = link;
  }

  /** Run `op` on the hypervisor thread and return its result; an error there is thrown here. */
  call(op: string, ...args: unknown[]): unknown {
    const a = this.link.call.call({ op, args }, this.link.hvBell) as CallAnswer;
    if ('error' in a) throw new InvalidArgument(`hypercall ${op} on the hypervisor thread: ${a.error}`);
    return a.ok;
  }

  /** Queue a posted operation; waits only while the queue is full. */
  post(op: number, a: number, b = 0, c = 0): void {
    const l = this.link;
    while (!l.posted.push(op, a, b, c)) {
      l.hvBell.ring();
      Atomics.wait(nap, 0, 0, 0.05);
    }
    this.posted++;
    l.hvBell.ring();
  }

  /** Operations posted so far. */
  get postedCount(): number {
    return this.posted;
  }
}

/** XenStore through the link (the methods netfront and the xenbus helpers use). */
export class RemoteXenStore {
  private readonly port: HypercallPort;
  private readonly domid: number;
  private readonly watchCbs = new Map<string, WatchCallback>();

  constructor(port: HypercallPort, domid: number) {
    this.port = port;
    this.domid = domid;
  }

  read(domid: number, tx: number, path: string): string | number {
    return this.port.call('xs.read', this.own(domid), tx, path) as string | number;
  }
  directory(domid: number, tx: number, path: string): string[] | number {
    return this.port.call('xs.directory', this.own(domid), tx, path) as string[] | number;
  }
  getPerms(domid: number, tx: number, path: string): XsPerm[] | number {
    return this.port.call('xs.getPerms', this.own(domid), tx, path) as XsPerm[] | number;
  }
  write(domid: number, tx: number, path: string, value: string): number {
    return this.port.call('xs.write', this.own(domid), tx, path, value) as number;
  }
  mkdir(domid: number, tx: number, path: string): number {
    return this.port.call('xs.mkdir', this.own(domid), tx, path) as number;
  }
  rm(domid: number, tx: number, path: string): number {
    return this.port.call('xs.rm', this.own(domid), tx, path) as number;
  }
  setPerms(domid: number, tx: number, path: string, perms: readonly XsPerm[]): number {
    return this.port.call('xs.setPerms', this.own(domid), tx, path, perms) as number;
  }
  transactionStart(domid: number): number {
    return this.port.call('xs.transactionStart', this.own(domid)) as number;
  }
  transactionEnd(domid: number, tx: number, commit: boolean): number {
    return this.port.call('xs.transactionEnd', this.own(domid), tx, commit) as number;
  }
  watch(domid: number, path: string, token: string, cb: WatchCallback): number {
    const rc = this.port.call('xs.watch', this.own(domid), path, token) as number;
    if (rc === 0) this.watchCbs.set(watchKey(path, token), cb);
    return rc;
  }
  unwatch(domid: number, path: string, token: string): number {
    this.watchCbs.delete(watchKey(path, token));
    return this.port.call('xs.unwatch', this.own(domid), path, token) as number;
  }

  /** Run the callback of a forwarded watch event (dropped if the watch is gone meanwhile, as xenstored does). */
  fire(m: WatchMessage): void {
    this.watchCbs.get(watchKey(m.watched, m.token))?.(m.path, m.token);
  }

  private own(domid: number): number {
    if (domid !== this.domid) throw new InvalidArgument(`xenstore: dom${this.domid}'s connection cannot act as dom${domid}`);
    return domid;
  }
}

function watchKey(path: string, token: string): string {
  return `${path}\u0000${token}`;
}

/** Event channels through the link, for one guest. */
export class RemoteEventChannels {
  /** The delivery hook (the guest's IrqDispatcher installs itself). */
  onEvent: EventNotifier = () => {};
  private readonly port: HypercallPort;
  private readonly dom: () => Domain;

  constructor(port: HypercallPort, dom: () => Domain) {
    this.port = port;
    this.dom = dom;
  }

  evtchnAllocUnbound(caller: Domain, dom: number, remoteDom: number): number {
    return this.port.call('evtchn.allocUnbound', this.own(caller), dom, remoteDom) as number;
  }
  evtchnBindInterdomain(caller: Domain, remoteDom: number, remotePort: number, lateEoi = false): number {
    return this.port.call('evtchn.bindInterdomain', this.own(caller), remoteDom, remotePort, lateEoi) as number;
  }
  evtchnSend(caller: Domain, port: number): number {
    this.own(caller);
    this.port.post(OP_EVTCHN_SEND, port);
    return 0;
  }
  evtchnClose(caller: Domain, port: number): number {
    return this.port.call('evtchn.close', this.own(caller), port) as number;
  }
  evtchnStatus(caller: Domain, dom: number, port: number): EvtchnStatus | number {
    return this.port.call('evtchn.status', this.own(caller), dom, port) as EvtchnStatus | number;
  }
  evtchnMask(caller: Domain, port: number): number {
    return this.port.call('evtchn.mask', this.own(caller), port) as number;
  }
  evtchnUnmask(caller: Domain, port: number): number {
    return this.port.call('evtchn.unmask', this.own(caller), port) as number;
  }
  /** The guest clears its own pending bit (test-and-clear on the shared bitmap). */
  evtchnClearPending(caller: Domain, port: number): boolean {
    this.own(caller);
    if (!(Number.isInteger(port) && port > 0 && port < EVTCHN_2L_NR_CHANNELS)) return false;
    const bit = 1 << (port & 31);
    return (Atomics.and(caller.ports.pending, port >> 5, ~bit) & bit) !== 0;
  }
  evtchnEoi(caller: Domain, port: number, spurious = false): number {
    this.own(caller);
    this.port.post(OP_EVTCHN_EOI, port, spurious ? 1 : 0);
    return 0;
  }

  private own(caller: Domain): number {
    if (caller !== this.dom()) throw new InvalidArgument(`event channel: ${caller} is not this thread's guest`);
    return caller.domid;
  }
}

/**
 * The hypervisor as netfront sees it from a guest thread. Typed as `Hypervisor` only where a driver asks for
 * one (`asHypervisor`): the drivers use exactly the members implemented here.
 */
export class RemoteHypervisor {
  readonly mem: MachineMemory;
  readonly clock: WallClock;
  readonly port: HypercallPort;
  readonly xs: RemoteXenStore;
  readonly evtchn: RemoteEventChannels;
  readonly dom: Domain;

  constructor(mem: MachineMemory, clock: WallClock, link: Link, info: GuestDomainInfo) {
    this.mem = mem;
    this.clock = clock;
    this.port = new HypercallPort(link);
    this.xs = new RemoteXenStore(this.port, info.domid);
    this.evtchn = new RemoteEventChannels(this.port, () => this.dom);
    this.dom = new Domain({
      domid: info.domid,
      name: info.name,
      privileged: false,
      frames: Int32Array.from(info.frames),
      grantTable: new GrantTable(mem, info.domid, info.maxGrantFrames, info.maxMaptrackFrames),
      ports: new PortTable(info.ports),
      makeGnttab: (d) => new GnttabGuest(this.asHypervisor(), d),
    });
  }

  /** This object where a driver's options ask for the Hypervisor. */
  asHypervisor(): Hypervisor {
    return this as unknown as Hypervisor;
  }

  gnttabQuerySize(caller: Domain, op: GnttabQuerySize): number {
    this.own(caller);
    const r = this.port.call('gnttab.querySize', op.dom) as GnttabQuerySize;
    op.nr_frames = r.nr_frames;
    op.max_nr_frames = r.max_nr_frames;
    op.status = r.status;
    return 0;
  }

  gnttabSetupTable(caller: Domain, op: GnttabSetupTable): number {
    this.own(caller);
    const r = this.port.call('gnttab.setupTable', op.dom, op.nr_frames, op.frame_list.length) as { status: number; frames: number[] };
    op.status = r.status;
    for (let i = 0; i < r.frames.length && i < op.frame_list.length; i++) op.frame_list[i] = r.frames[i]!;
    return 0;
  }

  /** Deliver what the hypervisor thread forwarded: events to the IRQ dispatcher, watch events to xenstore. */
  drain(scratch: Int32Array): number {
    const l = this.port.link;
    let n = 0;
    while (l.events.pop(scratch)) {
      const port = scratch[1]!;
      Atomics.and(l.upcall, port >> 5, ~(1 << (port & 31)));
      this.evtchn.onEvent(this.dom.domid, port);
      n++;
    }
    for (let m = l.watches.pop(); m !== undefined; m = l.watches.pop()) {
      this.xs.fire(m as WatchMessage);
      n++;
    }
    return n;
  }

  private own(caller: Domain): void {
    if (caller !== this.dom) throw new InvalidArgument(`grant table: ${caller} is not this thread's guest`);
  }
}
