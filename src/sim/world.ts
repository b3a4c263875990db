/**
 * World: the standard machine every lifecycle scenario, showcase and benchmark runs on.
 *
 * ```
 *   one Scheduler (virtual time, seeded Prng) ── Hypervisor ── IrqDispatcher
 *
 *   guest 1 (domid 1)                 dom0 (domid 0)                               host j (optional)
 *   NetfrontInfo ══ rings, grants ══▶ Netback vif1 ─┐
 *   guest 2 ...  ══ rings, grants ══▶         vif2 ─┴─ br0 ── NetStack
 *                                                        (taps, sockets, forward hook)
 *                                                             └─ eth<j> (DevQueue) ══ wire ══ eth0 (DevQueue)
 *                                                                                          └─ NetStack
 * ```
 *
 * `new World(opts)` builds it and runs the xenbus handshake to Connected for every guest: a Hypervisor on a
 * Scheduler, dom0 with its page allocator, ExecContext, NetStack (its own SkbEnv, shared with netback) and a
 * bridge; N guests, each with its SkbEnv and a NetfrontInfo connected to a netback vif with its own TX
 * strategy, the vifs bridged (or left for the scenario to wire, `bridge: false`); optional hosts beyond a
 * DevQueue link from dom0. Then the audit baselines are taken. A scenario sends real frames from a guest
 * (`sendFrame`: the frame's bytes in guest pages, linear or paged, optionally GSO), runs the clock, reads the
 * lifecycle counters, and ends with `teardown()`: guests removed, backends removed, stacks shut down, then the
 * hypervisor audit, every domain's skb leak audit and the lifecycle findings, returned as words.
 *
 * Observation, none of it changing what it observes:
 * - netback's `onTrace` and the guest probes feed the LifecycleTracer (world/lifecycle.ts), which forwards
 *   every event to `opts.trace` with page ids "domid:frame" (the guest frame lent);
 * - the guest probes wrap, on each guest's grant driver instance only, the calls netfront's TX path makes
 *   (grant read-only; end access, checked and deferred) and read the requests back from the guest's TX ring
 *   after each push: a kprobe, not a code change, removed again at teardown;
 * - `opts.pcap` gets every frame crossing a vif (guest TX as netback delivers it, guest RX as netfront
 *   receives it), every frame the host side sends into the bridge, and every frame leaving a host link.
 *
 * The lent-page guard (the guest's own check, `guestWrite`): a guest frame is write-protected while it is lent,
 * that is while a read-only TX grant of it has not been ended, or while any other domain maps it. A store into
 * such a frame is a PageFault, recorded in `faults` and not performed (the guest's copy of the data is what the
 * backend may still read). Every byte the world writes into guest memory goes through it: the head and frag
 * pages of each skb sent, and whatever a scenario writes into its buffers. Without the guard an early reuse
 * would be silent until a receiver noticed; with it the reuse itself is the failure.
 *
 * Ownership: the World owns every object it built (domains, drivers, stacks, devices) and the probes; a
 * scenario owns what it adds on top (taps, sockets, endpoints) and closes it in an `onTeardown` callback, which
 * runs first in teardown. Everything is driven by the one Scheduler and seeded Prng: same options, same run.
 */

import { XenbusStateConnected } from '../abi/xenbus.ts';
import { GTF_type_mask, GTF_invalid } from '../abi/grant_table.ts';
import { NETTXF_extra_info, NETIF_TX_REQUEST, NETIF_EXTRA_INFO, XEN_NETIF_EXTRA_FLAG_MORE } from '../abi/netif.ts';
import { ringGetRequest } from '../abi/ring.ts';
import { PageFault, InvalidArgument } from '../errors.ts';
import { auditHypervisor, snapshot, type AuditBaseline } from '../hv/audit.ts';
import type { CostParams } from '../hv/cost.ts';
import type { Domain } from '../hv/domain.ts';
import { Hypervisor } from '../hv/hypervisor.ts';
import { xenbusCreateDevice } from '../hv/xenbus.ts';
import { IrqDispatcher } from '../drivers/evtchn-irq.ts';
import { NetfrontInfo } from '../drivers/netfront/index.ts';
import { Netback, netbackRemove, type BackendInfo, type TxStrategy, type XenVif } from '../drivers/netback/index.ts';
import { GFP_KERNEL } from '../mm/gfp.ts';
import { FlatPageAllocator } from '../mm/page-allocator.ts';
import { ExecContext } from '../mm/task.ts';
import {
  brAddIf, brCreate, devQueuePurge, doSoftirq, netifReceiveSkb, netStackCreate, skbMacOffset, wireLink, DevQueue,
  ETH_HLEN, IPV4_HLEN, NETDEV_TX_BUSY, type NetBridge, type NetDevice, type NetStack, type WireObserver,
} from '../net/index.ts';
import {
  SkbAudit, SkbEnv, allocSkb, kfreeSkb, skbCopyBits, skbFillPageDesc, skbPutData, skbReserve, skbToBytes,
  CHECKSUM_PARTIAL, SKB_GSO_TCPV4, type SkBuff,
} from '../skb/index.ts';
import { Prng } from './prng.ts';
import { Scheduler } from './scheduler.ts';
import type { TraceEvent } from './scenarios/registry.ts';
import { LifecycleTracer, TxPacket } from './world/lifecycle.ts';
import { buildFrame, headerLen, parseFrameSpec, type FrameSpec } from './world/frames.ts';

export { LifecycleTracer, TxPacket, TxSlot, checkTrace } from './world/lifecycle.ts';
export type { TraceCheck } from './world/lifecycle.ts';

/** Receives frames for a capture: the bytes are only valid during the call. */
export type PcapSink = (timeNs: number, frame: Uint8Array, off: number, len: number) => void;

/** dom0's addresses; guest i has 00:16:3e:00:00:i and 10.0.0.i, host j 00:16:3e:00:01:j and 10.0.1.j. */
export const DOM0_MAC = 0x00163e0000fe;
export const DOM0_ADDR = 0x0a0000fe;
export const guestMac = (domid: number): number => 0x00163e000000 + domid;
export const guestAddr = (domid: number): number => 0x0a000000 + domid;
export const hostMac = (j: number): number => 0x00163e000100 + j;
export const hostAddr = (j: number): number => 0x0a000100 + j;

export interface HostOptions {
  readonly name: string;
  /** Frames of the host's memory (default 512). */
  readonly frames?: number;
  /** dom0's NIC toward the host: a slow device (delay before the wire, rate), and a wire observer. */
  readonly delayNs?: number;
  readonly rateBps?: number;
  readonly txqueuelen?: number;
  readonly observer?: WireObserver;
  /** The host's NIC toward dom0 (default: no delay, no rate). */
  readonly hostDelayNs?: number;
  /** Add dom0's NIC to br0 (default false: dom0 reaches the host by routing, its own IP layer). */
  readonly bridged?: boolean;
}

export interface WorldOptions {
  /** Guests (default 2), domids 1..N. */
  readonly guests?: number;
  /** TX strategy of every vif, or one per guest (default 'hybrid'). */
  readonly strategy?: TxStrategy | readonly TxStrategy[];
  readonly seed?: number;
  /** Lifecycle timeline sink (ScenarioOptions.trace). */
  readonly trace?: (e: TraceEvent) => void;
  /** Frame capture sink (ScenarioOptions.pcap). */
  readonly pcap?: PcapSink;
  /** Make the vifs ports of br0 (default true). */
  readonly bridge?: boolean;
  /** MTU of the vifs and br0 (default 65535: a 64 KiB frame passes the bridge without GSO). */
  readonly mtu?: number;
  /** Machine, dom0 and per-guest frames (defaults 8192, 2048, 1024). */
  readonly frames?: number;
  readonly dom0Frames?: number;
  readonly guestFrames?: number;
  readonly hosts?: readonly HostOptions[];
  /** Netback timing (ns): dealloc thread wake-up (default 1000), NAPI and guest-RX thread delays (0). */
  readonly deallocDelayNs?: number;
  readonly napiDelayNs?: number;
  readonly rxThreadDelayNs?: number;
  /** Upcall latency of event channels (default 1000 ns). */
  readonly upcallLatencyNs?: number;
  readonly cost?: Partial<CostParams>;
  /** SkbEnv tracking mode (allocation sites in leak findings; slower). */
  readonly skbTracking?: boolean;
}

/** How `sendFrame` lays the frame out in guest memory. */
export interface SendOptions {
  /** Bytes in the linear head (default: the whole frame up to 1514 bytes, else the first 128). */
  readonly headLen?: number;
  /** Offset of the first frag in its page (default 0). */
  readonly fragOff?: number;
  /** Use these guest frames for the frags, in order (app buffers: the skb takes a page reference on each). */
  readonly pages?: readonly number[];
  /** GSO (TCPv4, the frames here are IPv4): gso_size; CHECKSUM_PARTIAL is set, so the frame's TCP checksum
   *  must be the pseudo-header sum (`partial: true` in `frame()`). */
  readonly gso?: { readonly size: number };
  /** TX queue (default: netfront's choice). */
  readonly queue?: number;
  /** The packet's tag for the lifecycle records (default: the world's running count). */
  readonly tag?: number;
}

/** One guest of the world. */
export class WorldGuest {
  readonly index: number;
  readonly domid: number;
  readonly dom: Domain;
  readonly env: SkbEnv;
  readonly audit: SkbAudit;
  readonly nf: NetfrontInfo;
  readonly be: BackendInfo;
  readonly strategy: TxStrategy;
  readonly mac: number;
  readonly addr: number;
  /** Frames received (bytes, Ethernet header first) when `keepReceived`; counters always. */
  keepReceived = true;
  readonly received: Uint8Array[] = [];
  rxFrames = 0;
  rxBytes = 0;
  /** Called with each received frame's bytes (valid during the call) before it is kept. */
  onReceive: ((frame: Uint8Array, skb: SkBuff) => void) | null = null;
  /** Read-only TX grant refs per frame, as the probes saw them made (the lent-page guard checks them). */
  readonly txGrants = new Map<number, Set<number>>();
  /** TX packets posted, dropped by netfront (nothing posted), refused (TX_BUSY). */
  txPackets = 0;
  txBytes = 0;
  txDropped = 0;
  txBusy = 0;

  constructor(index: number, dom: Domain, env: SkbEnv, nf: NetfrontInfo, be: BackendInfo, strategy: TxStrategy) {
    this.index = index;
    this.domid = dom.domid;
    this.dom = dom;
    this.env = env;
    this.audit = new SkbAudit(env);
    this.nf = nf;
    this.be = be;
    this.strategy = strategy;
    this.mac = guestMac(dom.domid);
    this.addr = guestAddr(dom.domid);
  }

  /** netback's vif for this guest (dom0's NetDevice). */
  get vif(): XenVif {
    const v = this.be.vif;
    if (v === null) throw new InvalidArgument(`dom${this.domid}: no vif`);
    return v;
  }
}

/** A plain network host beyond a link from dom0 (an NFS server, a block server). */
export class WorldHost {
  readonly name: string;
  readonly index: number;
  readonly dom: Domain;
  /** The host's stack (its own SkbEnv and ExecContext). */
  readonly stack: NetStack;
  readonly audit: SkbAudit;
  /** The host's NIC, and dom0's NIC toward it. */
  readonly nic: DevQueue;
  readonly dom0Nic: DevQueue;
  readonly mac: number;
  readonly addr: number;

  constructor(index: number, dom: Domain, stack: NetStack, nic: DevQueue, dom0Nic: DevQueue) {
    this.index = index;
    this.name = dom.name;
    this.dom = dom;
    this.stack = stack;
    this.audit = new SkbAudit(stack.env);
    this.nic = nic;
    this.dom0Nic = dom0Nic;
    this.mac = hostMac(index + 1);
    this.addr = hostAddr(index + 1);
  }
}

/** Counters every scenario reports. */
export interface WorldCounters {
  packets: number;
  bytes: number;
  responses: number;
  earlyUnmaps: number;
  responsesBeforeUnmap: number;
  grantMaps: number;
  grantUnmaps: number;
  grantCopies: number;
  maxGrantsMapped: number;
  modelledNs: number;
  virtualNs: number;
}

export interface TeardownReport {
  /** Every finding, in words: hypervisor audit, skb leak audits (dom0, guests, hosts), lifecycle. */
  readonly findings: string[];
  /** Guest devices that closed within the timeout. */
  readonly closed: number;
}

export class World {
  readonly sched = new Scheduler();
  readonly hv: Hypervisor;
  readonly irq: IrqDispatcher;
  readonly prng: Prng;
  readonly nb: Netback;
  readonly dom0: { readonly dom: Domain; readonly ctx: ExecContext; readonly stack: NetStack; readonly env: SkbEnv; readonly audit: SkbAudit; readonly br: NetBridge };
  readonly guests: WorldGuest[] = [];
  readonly hosts: WorldHost[] = [];
  readonly life: LifecycleTracer;
  /** Stores the lent-page guard refused. */
  readonly faults: PageFault[] = [];
  readonly mtu: number;
  /** Called after each packet netback delivered has been through dom0's receive path (taps, bridge...). */
  onDelivered: ((dev: NetDevice) => void) | null = null;

  private readonly pcap: PcapSink | null;
  private readonly pcapBuf: Uint8Array;
  private readonly baseline: AuditBaseline;
  private readonly cleanups: (() => void)[] = [];
  private readonly unprobe: (() => void)[] = [];
  private nextTag = 1;
  private tornDown = false;
  /** Virtual time when teardown began (the run's end), -1 before. */
  private endNs = -1;

  constructor(opts: WorldOptions = {}) {
    const n = opts.guests ?? 2;
    if (!Number.isInteger(n) || n < 1 || n > 16) throw new InvalidArgument(`world: ${n} guests (1..16)`);
    this.prng = new Prng(opts.seed ?? 1);
    this.mtu = opts.mtu ?? 0xffff;
    this.pcap = opts.pcap ?? null;
    this.pcapBuf = new Uint8Array(this.pcap !== null ? 0x10000 : 0);
    this.hv = new Hypervisor({ frames: opts.frames ?? 8192, clock: this.sched, ...(opts.cost !== undefined ? { cost: opts.cost } : {}) });
    this.hv.xs.onWatchQueued = () => this.sched.defer(() => this.hv.xs.processWatches());
    this.irq = new IrqDispatcher(this.hv, opts.upcallLatencyNs ?? 1_000);

    const dom0 = this.hv.createDomain({ domid: 0, frames: opts.dom0Frames ?? 2048, name: 'dom0' });
    const ctx = new ExecContext();
    const stack = netStackCreate({
      pages: new FlatPageAllocator(this.hv.mem, 0, dom0.frames), ctx, clock: this.sched, name: 'dom0',
      ...(opts.skbTracking === true ? { skb: { tracking: true } } : {}),
    });
    stack.localAddrs.add(DOM0_ADDR);
    const br = brCreate(stack, 'br0', 10, DOM0_MAC);
    br.dev.mtu = this.mtu;
    if (this.pcap !== null) br.capture = (skb, port, t) => { if (port === null) this.capture(t, skb); };
    this.dom0 = { dom: dom0, ctx, stack, env: stack.env, audit: new SkbAudit(stack.env), br };

    this.life = new LifecycleTracer({
      now: () => this.sched.now(),
      mappedFrame: (domid, queue, pi) => this.guestByDomid(domid)?.be.vif?.queues[queue]?.mmapFrame[pi] ?? -1,
      liveRefs: (frame) => liveRefs(stack.env, frame),
      grantFrame: (domid, ref) => this.hv.domain(domid)?.grantTable.frameOf(ref) ?? -1,
    }, opts.trace ?? null);

    this.nb = new Netback({
      hv: this.hv, irq: this.irq, dom: dom0, env: stack.env, strategy: 'hybrid',
      deliver: (skb, dev) => {
        if (this.pcap !== null) this.capture(this.sched.now(), skb);
        doSoftirq(stack, () => netifReceiveSkb(stack, dev, skb));
        this.onDelivered?.(dev);
      },
      onTrace: (e) => this.life.netback(e),
      deallocDelayNs: opts.deallocDelayNs ?? 1_000,
      napiDelayNs: opts.napiDelayNs ?? 0,
      rxThreadDelayNs: opts.rxThreadDelayNs ?? 0,
      maxQueues: 1,
    });

    // Domains first, then the baselines (nothing lent, nothing mapped), then the devices and the handshake.
    const doms: Domain[] = [];
    for (let i = 0; i < n; i++) doms.push(this.hv.createDomain({ domid: i + 1, frames: opts.guestFrames ?? 1024, name: `guest${i + 1}` }));
    (opts.hosts ?? []).forEach((h, j) => this.addHost(j, h, n));
    this.hv.xs.processWatches();
    this.baseline = snapshot(this.hv);
    doms.forEach((d, i) => this.addGuest(i, d, opts));
    this.connect();
    if (opts.bridge !== false) for (const g of this.guests) brAddIf(br, g.vif);
    for (const g of this.guests) g.vif.mtu = this.mtu;
  }

  // ---- building ---------------------------------------------------------------------------------------------

  private addGuest(i: number, dom: Domain, opts: WorldOptions): void {
    const domid = dom.domid;
    const s = opts.strategy ?? 'hybrid';
    const strategy = typeof s === 'string' ? s : s[i % s.length]!;
    const env = new SkbEnv(new FlatPageAllocator(this.hv.mem, domid, dom.frames), opts.skbTracking === true ? { tracking: true } : {});
    const mac = macString(guestMac(domid));
    const rc = xenbusCreateDevice(this.hv.xs, 0, {
      type: 'vif', frontendId: domid, backendId: 0, devid: 0, backendKeys: { mac }, frontendKeys: { mac },
    });
    if (rc !== 0) throw new InvalidArgument(`world: xenbusCreateDevice for dom${domid}: ${rc}`);
    const be = this.nb.probe(domid, 0, strategy);
    let g: WorldGuest | null = null;
    const nf = new NetfrontInfo({ hv: this.hv, irq: this.irq, dom, env, receive: (skb) => this.guestReceive(g!, skb) });
    g = new WorldGuest(i, dom, env, nf, be, strategy);
    this.guests.push(g);
    this.probeGuest(g);
  }

  private addHost(j: number, h: HostOptions, nGuests: number): void {
    const dom = this.hv.createDomain({ domid: nGuests + 1 + j, frames: h.frames ?? 512, name: h.name });
    const ctx = new ExecContext();
    const stack = netStackCreate({ pages: new FlatPageAllocator(this.hv.mem, dom.domid, dom.frames), ctx, clock: this.sched, name: h.name });
    const addr = hostAddr(j + 1);
    stack.localAddrs.add(addr);
    const observe = (inner: WireObserver | undefined): WireObserver => (frame, len, t, dev) => {
      inner?.(frame, len, t, dev);
      if (this.pcap !== null) this.pcap(t, frame, 0, len);
    };
    const nic = new DevQueue({ name: 'eth0', ifindex: 2, mac: hostMac(j + 1), clock: this.sched, delayNs: h.hostDelayNs ?? 0, observer: observe(undefined) });
    const dom0Nic = new DevQueue({
      name: `eth${j + 1}`, ifindex: 20 + j, mac: DOM0_MAC, clock: this.sched, delayNs: h.delayNs ?? 0, rateBps: h.rateBps ?? 0,
      ...(h.txqueuelen !== undefined ? { txqueuelen: h.txqueuelen } : {}), observer: observe(h.observer),
    });
    nic.mtu = dom0Nic.mtu = this.mtu;
    wireLink(dom0Nic, this.dom0.stack, nic, stack);
    if (h.bridged === true) brAddIf(this.dom0.br, dom0Nic);
    this.hosts.push(new WorldHost(j, dom, stack, nic, dom0Nic));
  }

  /** Run the handshake until every guest and vif is connected with its carrier on. */
  private connect(): void {
    const deadline = this.sched.now() + 10_000_000_000;
    const ready = () => this.guests.every((g) => g.nf.state === XenbusStateConnected && g.be.vif !== null && g.be.vif.up);
    while (!ready()) {
      if (this.sched.now() > deadline || !this.sched.step()) {
        const why = this.guests.map((g) => `dom${g.domid}: nf ${g.nf.state}, vif ${g.be.vif?.up ?? 'none'}${g.nf.connectError ? ` (${g.nf.connectError.reason})` : ''}`);
        throw new InvalidArgument(`world: the guests did not connect: ${why.join('; ')}`);
      }
    }
  }

  // ---- the guest probes -----------------------------------------------------------------------------------

  /**
   * Wrap netfront's grant calls on this guest's grant driver instance: a read-only grant to the backend is a
   * TX grant (`granted`, and the lent-page guard's list), its checked end-access (`ended`, ok or not); the
   * deferred form (used at disconnect) is `ended` when it succeeds at once, `end-deferred` otherwise.
   */
  private probeGuest(g: WorldGuest): void {
    const gt = g.dom.gnttab;
    const table = g.dom.grantTable;
    const life = this.life;
    const backend = g.be.nb.dom.domid;
    const txRefs = new Set<number>();
    const grantRef = gt.gnttabGrantForeignAccessRef;
    const endRef = gt.gnttabEndForeignAccessRef;
    const endDeferred = gt.gnttabEndForeignAccess;
    gt.gnttabGrantForeignAccessRef = (ref, domid, frame, readonly) => {
      grantRef.call(gt, ref, domid, frame, readonly);
      if (readonly && domid === backend) {
        txRefs.add(ref);
        (g.txGrants.get(frame) ?? g.txGrants.set(frame, new Set()).get(frame)!).add(ref);
        life.granted(g.domid, ref, frame);
      }
    };
    gt.gnttabEndForeignAccessRef = (ref) => {
      const frame = table.frameOf(ref);
      const ok = endRef.call(gt, ref);
      if (txRefs.has(ref)) {
        if (ok) txRefs.delete(ref);
        life.ended(g.domid, ref, ok, frame);
      }
      return ok;
    };
    gt.gnttabEndForeignAccess = (ref, page) => {
      const frame = table.frameOf(ref);
      endDeferred.call(gt, ref, page);
      if (txRefs.has(ref)) {
        const ok = (table.flagsOf(ref) & GTF_type_mask) === GTF_invalid;
        txRefs.delete(ref);
        if (ok) life.ended(g.domid, ref, true, frame);
        else life.record('end-deferred', { page: `${g.domid}:${frame}`, domid: g.domid, ref });
      }
    };
    this.unprobe.push(() => {
      Reflect.deleteProperty(gt, 'gnttabGrantForeignAccessRef');
      Reflect.deleteProperty(gt, 'gnttabEndForeignAccessRef');
      Reflect.deleteProperty(gt, 'gnttabEndForeignAccess');
    });
  }

  /** Read back the data requests netfront just wrote on queue `q` between ring indices `from` and `to`. */
  private recordRequests(g: WorldGuest, q: number, from: number, to: number, packet: TxPacket): void {
    const ring = g.nf.queues[q]!.tx;
    const view = ring.page.view;
    let extras = false;
    for (let i = from; i !== to; i = (i + 1) >>> 0) {
      const at = ringGetRequest(ring, i);
      if (extras) {
        extras = (view.getUint8(at + NETIF_EXTRA_INFO.flags.offset) & XEN_NETIF_EXTRA_FLAG_MORE) !== 0;
        continue;
      }
      const flags = view.getUint16(at + NETIF_TX_REQUEST.flags.offset, true);
      if (i === from && (flags & NETTXF_extra_info) !== 0) extras = true;
      this.life.requested(
        g.domid, q, view.getUint16(at + NETIF_TX_REQUEST.id.offset, true), view.getUint32(at + NETIF_TX_REQUEST.gref.offset, true),
        view.getUint16(at + NETIF_TX_REQUEST.size.offset, true), packet,
      );
    }
  }

  // ---- guest memory and sending ----------------------------------------------------------------------------

  /**
   * Why `frame` of guest `g` may not be written now, or null: another domain maps it (the hypervisor's count),
   * or a TX grant of it is still live in the guest's grant table (the probes say which refs to look at; an
   * entry ended meanwhile, by netfront or by the deferred end-access timer, is dropped here).
   */
  lentReason(g: WorldGuest, frame: number): string | null {
    if (this.hv.mem.foreignMappingsOf(frame) > 0) return 'the backend still maps it';
    const refs = g.txGrants.get(frame);
    if (refs === undefined) return null;
    const table = g.dom.grantTable;
    for (const ref of refs) {
      if ((table.flagsOf(ref) & GTF_type_mask) === GTF_invalid || table.frameOf(ref) !== frame) refs.delete(ref);
    }
    if (refs.size > 0) return 'a TX grant of it is not ended yet';
    g.txGrants.delete(frame);
    return null;
  }

  /**
   * A store by guest `g` into its own `frame` through the lent-page guard: false (and a PageFault recorded,
   * nothing written) if the frame is lent. With `force` the fault is recorded and the store happens anyway:
   * a guest without the check, which trusts the backend's response (the NFS retransmit scenario's client).
   */
  guestWrite(g: WorldGuest, frame: number, off: number, src: Uint8Array, srcOff = 0, len = src.length - srcOff, force = false): boolean {
    const ok = this.guard(g, frame, force);
    if (ok || force) this.hv.mem.write(g.domid, frame, off, src, srcOff, len);
    return ok;
  }

  /** The guard itself: true if `frame` may be written; else a PageFault is recorded (and traced). */
  private guard(g: WorldGuest, frame: number, forced = false): boolean {
    const why = this.lentReason(g, frame);
    if (why === null) return true;
    this.faults.push(new PageFault(g.domid, frame, true, why));
    this.life.record('fault', { page: `${g.domid}:${frame}`, why, forced });
    return false;
  }

  /** A page of guest `g`'s memory for the scenario's own buffers (refcount 1; `guestPutPage` frees it). */
  guestAllocPage(g: WorldGuest): number {
    const f = g.env.pages.allocPage(GFP_KERNEL);
    if (f < 0) throw new InvalidArgument(`dom${g.domid}: out of pages`);
    return f;
  }

  guestPutPage(g: WorldGuest, frame: number): void {
    g.env.pages.putPage(frame);
  }

  /** A frame from guest `from` to guest `to` (or any address): UDP or TCP, `len` bytes in all. */
  frame(from: WorldGuest, to: WorldGuest | { mac: number; addr: number }, len: number, opts: Partial<FrameSpec> = {}): Uint8Array {
    const tag = opts.tag ?? this.nextTag;
    return buildFrame({
      srcMac: from.mac, dstMac: to.mac, saddr: from.addr, daddr: to.addr, proto: 'udp', sport: 4000 + from.domid,
      dport: 5000, len, ...opts, tag,
    });
  }

  /**
   * Send `frame` from guest `g` as its stack would: an skb whose head holds the first `headLen` bytes and whose
   * frags hold the rest in guest pages (fresh ones, or `pages`), handed to netfront. Returns the packet record
   * (its slots filled from the ring), or null if netfront refused it (TX_BUSY) or the guard faulted.
   */
  sendFrame(g: WorldGuest, frame: Uint8Array, opts: SendOptions = {}): TxPacket | null {
    const tag = opts.tag ?? this.nextTag++;
    const skb = this.guestSkb(g, frame, opts);
    if (skb === null) return null;
    const nf = g.nf;
    const before = nf.queues.map((q) => q.tx.reqProdPvt);
    const rc = opts.queue !== undefined ? nf.xmitOnQueue(skb, opts.queue) : nf.ndoStartXmit(skb);
    if (rc === NETDEV_TX_BUSY) {
      g.txBusy++;
      kfreeSkb(skb);
      return null;
    }
    const packet = new TxPacket(tag, g.domid, frame.length, this.sched.now());
    this.life.packets.push(packet);
    nf.queues.forEach((q, i) => {
      if (q.tx.reqProdPvt !== before[i]) this.recordRequests(g, i, before[i]!, q.tx.reqProdPvt, packet);
    });
    if (packet.slots.length === 0) g.txDropped++;
    else {
      g.txPackets++;
      g.txBytes += frame.length;
    }
    return packet;
  }

  /**
   * Let the clock run until queue `queue` of `g`'s netfront can take a packet (it stops at 237 outstanding
   * requests and wakes on responses); false if it did not within `maxNs`.
   */
  waitTxRoom(g: WorldGuest, queue = 0, maxNs = 1_000_000_000): boolean {
    const end = this.sched.now() + maxNs;
    while (g.nf.queues[queue]?.txStopped === true) {
      if (!this.sched.step() || this.sched.now() > end) return false;
    }
    return true;
  }

  /** Build guest `g`'s skb for `frame` (see sendFrame). Null if the guard refused a store. */
  guestSkb(g: WorldGuest, frame: Uint8Array, opts: SendOptions = {}): SkBuff | null {
    const len = frame.length;
    const headLen = Math.min(len, opts.headLen ?? (len <= 1514 ? len : 128));
    const skb = allocSkb(g.env, headLen + 64, GFP_KERNEL);
    if (skb === null) throw new InvalidArgument(`dom${g.domid}: no memory for an skb`);
    skbReserve(skb, 64);
    const sh = skb.shinfo;
    // The head's frames come from the guest's allocator: one still lent would be a page freed too early.
    for (let i = 0; i < sh.nrHeadFrames; i++) {
      if (!this.guard(g, sh.headFrames[i]!)) {
        kfreeSkb(skb);
        return null;
      }
    }
    skbPutData(skb, frame, 0, headLen);
    let off = headLen;
    let pageOff = opts.fragOff ?? 0;
    for (let i = 0; off < len; i++) {
      const n = Math.min(len - off, 4096 - pageOff);
      const own = opts.pages?.[i];
      const f = own ?? this.guestAllocPage(g);
      if (own !== undefined) g.env.pages.getPage(f);
      skbFillPageDesc(skb, i, f, pageOff, n);
      skb.len += n;
      skb.dataLen += n;
      skb.truesize += 4096;
      if (!this.guestWrite(g, f, pageOff, frame, off, n)) {
        kfreeSkb(skb);
        return null;
      }
      off += n;
      pageOff = 0;
    }
    skb.macHeader = skb.data;
    skb.networkHeader = skb.data + ETH_HLEN;
    skb.protocol = (frame[12]! << 8) | frame[13]!;
    if (opts.gso !== undefined) {
      sh.gsoSize = opts.gso.size;
      sh.gsoType = SKB_GSO_TCPV4;
      sh.gsoSegs = Math.ceil((len - headerLen('tcp')) / opts.gso.size);
      skb.transportHeader = skb.networkHeader + IPV4_HLEN;
      skb.ipSummed = CHECKSUM_PARTIAL;
      skb.csumStart = skb.transportHeader;
      skb.csumOffset = 16;
    }
    return skb;
  }

  // ---- receiving and capture ----------------------------------------------------------------------------------

  private guestReceive(g: WorldGuest, skb: SkBuff): void {
    const b = skbToBytes(skb);
    g.rxFrames++;
    g.rxBytes += b.length;
    if (this.pcap !== null) this.pcap(this.sched.now(), b, 0, b.length);
    g.onReceive?.(b, skb);
    if (g.keepReceived) g.received.push(b);
    kfreeSkb(skb);
  }

  /** Record `skb` (from its mac header) into the capture. */
  private capture(t: number, skb: SkBuff): void {
    const off = skbMacOffset(skb);
    const len = Math.min(skb.len - off, this.pcapBuf.length);
    if (skbCopyBits(skb, off, this.pcapBuf, 0, len) === 0) this.pcap!(t, this.pcapBuf, 0, len);
  }

  // ---- time ---------------------------------------------------------------------------------------------------

  /** Run the clock `ns` forward, every event due on the way. */
  run(ns: number): void {
    this.sched.runUntil(this.sched.now() + ns);
  }

  /**
   * Run events until none is left (true) or one ran past `now + maxNs` (false: something keeps re-arming).
   * Time stops at the last event run, not at the limit.
   */
  runUntilIdle(maxNs = 60_000_000_000): boolean {
    const end = this.sched.now() + maxNs;
    while (this.sched.pending > 0) {
      if (!this.sched.step()) break;
      if (this.sched.now() > end) return false;
    }
    return true;
  }

  /** The guest with this domid, if any. */
  guestByDomid(domid: number): WorldGuest | undefined {
    return this.guests[domid - 1]?.domid === domid ? this.guests[domid - 1] : this.guests.find((g) => g.domid === domid);
  }

  // ---- results and teardown -------------------------------------------------------------------------------

  /** The common counters; after teardown, `virtualNs` is the time the run ended (teardown excluded). */
  counters(): WorldCounters {
    const l = this.life;
    let packets = 0;
    let bytes = 0;
    for (const g of this.guests) {
      packets += g.txPackets;
      bytes += g.txBytes;
    }
    return {
      packets, bytes, responses: l.responses, earlyUnmaps: l.earlyUnmaps, responsesBeforeUnmap: l.responsesBeforeUnmap,
      grantMaps: l.maps, grantUnmaps: l.unmaps, grantCopies: l.copies, maxGrantsMapped: l.maxMapped,
      modelledNs: Math.round(this.hv.totalModelledNs()), virtualNs: this.endNs >= 0 ? this.endNs : this.sched.now(),
    };
  }

  /** Run `fn` first thing in teardown (close what the scenario added: taps, endpoints, queues). */
  onTeardown(fn: () => void): void {
    this.cleanups.push(fn);
  }

  /**
   * Disconnect everything and audit: the scenario's cleanups (last added first), in-flight work drained,
   * every guest's netfront removed, every backend removed, device queues purged, stacks shut down; then the
   * hypervisor audit against the baseline taken after the handshake, the skb leak audit of every domain, and
   * the lifecycle findings (unanswered requests, early unmaps, grants left mapped).
   */
  teardown(): TeardownReport {
    if (this.tornDown) throw new InvalidArgument('world: teardown twice');
    this.tornDown = true;
    this.endNs = this.sched.now();
    for (const fn of this.cleanups.splice(0).reverse()) fn();
    this.runUntilIdle(10_000_000_000);
    let closed = 0;
    for (const g of this.guests) g.nf.remove(() => closed++);
    this.runUntilIdle(30_000_000_000);
    for (const g of this.guests) netbackRemove(g.be);
    for (const h of this.hosts) {
      devQueuePurge(h.nic);
      devQueuePurge(h.dom0Nic);
    }
    this.runUntilIdle(30_000_000_000);
    for (const h of this.hosts) h.stack.shutdown();
    this.dom0.stack.shutdown();
    for (const fn of this.unprobe.splice(0)) fn();
    const findings = [
      ...auditHypervisor(this.hv, this.baseline),
      ...this.dom0.audit.findings().map((f) => `dom0 skb: ${f}`),
      ...this.guests.flatMap((g) => g.audit.findings().map((f) => `dom${g.domid} skb: ${f}`)),
      ...this.hosts.flatMap((h) => h.audit.findings().map((f) => `${h.name} skb: ${f}`)),
      ...this.life.findings(),
    ];
    if (closed !== this.guests.length) findings.push(`world: ${this.guests.length - closed} guest device(s) did not close`);
    return { findings, closed };
  }
}

/** The tag of the world frame `skb` carries (read from its headers, see world/frames.ts), or -1. */
export function skbTag(skb: SkBuff): number {
  const off = skbMacOffset(skb);
  const len = Math.min(tagScratch.length, skb.len - off);
  if (len <= 0 || skbCopyBits(skb, off, tagScratch, 0, len) !== 0) return -1;
  return parseFrameSpec(tagScratch, len)?.tag ?? -1;
}
const tagScratch = new Uint8Array(64);

/** The bytes of the frame `skb` carries, from its mac header (a copy). */
export function frameBytes(skb: SkBuff): Uint8Array {
  const off = skbMacOffset(skb);
  const out = new Uint8Array(skb.len - off);
  if (skbCopyBits(skb, off, out, 0, out.length) !== 0) throw new InvalidArgument('frameBytes: short skb');
  return out;
}

/** Live sk_buff references to `frame` in `env`: head frames and frag slots of every live shared info. */
export function liveRefs(env: SkbEnv, frame: number): number {
  let n = 0;
  for (const sh of env.allShinfos) {
    if (!sh.live) continue;
    for (let i = 0; i < sh.nrHeadFrames; i++) if (sh.headFrames[i] === frame) n++;
    for (let i = 0; i < sh.nrFrags; i++) if (sh.fragPage[i] === frame) n++;
  }
  return n;
}

/** "00:16:3e:00:00:01" for a 48-bit MAC number (the xenstore `mac` key's form). */
function macString(mac: number): string {
  const parts: string[] = [];
  for (let i = 5; i >= 0; i--) parts.push((Math.floor(mac / 2 ** (8 * i)) % 256).toString(16).padStart(2, '0'));
  return parts.join(':');
}
