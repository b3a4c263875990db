/**
 * Netback: the backend driver instance of one backend domain (Linux's module state: its parameters, the
 * xenbus driver registration, and what all vifs share).
 *
 * Owns: the options every vif inherits (TX strategy, the stack's `deliver` hook, the trace hook, module
 * parameters), the backends it probed (one BackendInfo per `backend/vif/<guest>/<devid>` directory), and the
 * foreign-frame registry: for each machine frame dom0 currently maps from a guest through a TX slot, which
 * guest and grant it came from. The registry is what Linux reads with xen_page_foreign(page) when the RX
 * path copies a packet whose frags are another guest's mapped pages (guest to guest): it copies gref to gref.
 *
 * Dependencies come in (DESIGN.md): the hypervisor, the IRQ dispatcher that runs handlers, the backend
 * domain, and that domain's SkbEnv (its page allocator and sk_buff pools). Dies with `remove()` of its
 * backends; nothing here outlives them.
 */

import type { Hypervisor } from '../../hv/hypervisor.ts';
import type { Domain } from '../../hv/domain.ts';
import type { Clock } from '../../hv/clock.ts';
import type { SkbEnv } from '../../skb/env.ts';
import type { SkBuff } from '../../skb/skbuff.ts';
import { consumeSkb } from '../../skb/free.ts';
import type { NetDevice } from '../../net/netdevice.ts';
import type { IrqDispatcher } from '../evtchn-irq.ts';
import { FATAL_SKB_SLOTS_DEFAULT, MAX_QUEUES_DEFAULT, XEN_NETBK_LEGACY_SLOTS_MAX } from './constants.ts';
import { newTraceEvent, type NetbackTraceEvent, type NetbackTraceHook, type NetbackTraceKind } from './stats.ts';
import type { XenvifQueue } from './queue.ts';
import { netbackProbe, type BackendInfo } from './xenbus.ts';
import { NO_FAULTS, type NetbackFaults } from './faults.ts';

/**
 * How the TX path turns guest slots into an sk_buff (DESIGN.md principle 4):
 * - `copy`:      grant-copy the whole packet into a linear dom0 head; every slot answered at once;
 * - `map`:       grant-map every slot; one frag destructor per slot; unmap and answer at the last release;
 * - `hybrid`:    Linux's layout (128 header bytes copied, the rest mapped) with per-frag destructors;
 * - `zerocopy`:  Linux mainline: the same layout, one ubuf_info chain per packet, copy-on-share;
 * - `plain-ref`: the hybrid layout with plain page references: the guest is answered when the first sk_buff
 *                is freed, while clones may still read the page (deliberately wrong: the NFS corruption).
 */
export type TxStrategy = 'copy' | 'map' | 'hybrid' | 'zerocopy' | 'plain-ref';

export const TX_STRATEGIES: readonly TxStrategy[] = ['copy', 'map', 'hybrid', 'zerocopy', 'plain-ref'];

/** The stack's receive entry: netif_receive_skb(skb) with skb->dev = dev. Ownership passes with the call. */
export type DeliverFn = (skb: SkBuff, dev: NetDevice) => void;

export interface NetbackOptions {
  readonly hv: Hypervisor;
  /** Runs event-channel handlers (installed as the hypervisor's event hook). */
  readonly irq: IrqDispatcher;
  /** The backend domain (dom0). */
  readonly dom: Domain;
  /** The backend domain's sk_buff context. */
  readonly env: SkbEnv;
  /** Default TX strategy for vifs probed without one (default `hybrid`, Linux's). */
  readonly strategy?: TxStrategy;
  /** The backend stack; default: consume every packet at once. */
  readonly deliver?: DeliverFn;
  readonly onTrace?: NetbackTraceHook;
  /** multi-queue-max-queues (default min(8, onlineCpus)). */
  readonly maxQueues?: number;
  /** Backend vCPUs, for the queue default (default 4). */
  readonly onlineCpus?: number;
  /** feature-split-event-channels (module parameter separate_tx_rx_irq, default true). */
  readonly separateTxRxIrq?: boolean;
  /** fatal_skb_slots (default 20; raised to at least 18 as Linux does). */
  readonly fatalSkbSlots?: number;
  /** rx_drain_timeout_msecs / rx_stall_timeout_msecs. */
  readonly rxDrainTimeoutMs?: number;
  readonly rxStallTimeoutMs?: number;
  /** Virtual time from a completion to the dealloc step running (the dealloc thread's wake-up), ns. */
  readonly deallocDelayNs?: number;
  /** Virtual time from napi_schedule to the poll, and from a kick to the guest-RX thread, ns. */
  readonly napiDelayNs?: number;
  readonly rxThreadDelayNs?: number;
  /** Play the vif hotplug script: write hotplug-status = connected after creating the vif (default true). */
  readonly hotplugScript?: boolean;
  /** provides_xdp_headroom (feature-xdp-headroom, default true). */
  readonly providesXdpHeadroom?: boolean;
  /** Deliberately wrong variants for the tests that must catch them (faults.ts); default none. */
  readonly faults?: NetbackFaults;
}

export class Netback {
  readonly hv: Hypervisor;
  readonly irq: IrqDispatcher;
  readonly dom: Domain;
  readonly env: SkbEnv;
  readonly clock: Clock;
  readonly strategy: TxStrategy;
  deliver: DeliverFn;
  onTrace: NetbackTraceHook | null;
  readonly maxQueues: number;
  readonly separateTxRxIrq: boolean;
  readonly fatalSkbSlots: number;
  readonly rxDrainTimeoutNs: number;
  readonly rxStallTimeoutNs: number;
  readonly deallocDelayNs: number;
  readonly napiDelayNs: number;
  readonly rxThreadDelayNs: number;
  readonly hotplugScript: boolean;
  readonly providesXdpHeadroom: boolean;
  readonly faults: NetbackFaults;
  /** Probed backends, by backend directory. */
  readonly backends = new Map<string, BackendInfo>();

  /** Foreign-frame registry (see the header): domid + 1 (0 = not foreign), gref, mappings held. */
  readonly foreignDomid: Int32Array;
  readonly foreignGref: Uint32Array;
  readonly foreignMaps: Uint16Array;

  /** Scratch for the frag_list consolidation and header reads (never kept across calls). */
  readonly scratchPage = new Uint8Array(4096);
  readonly scratchFrames = new Int32Array(64);
  readonly hdrScratch = new Uint8Array(64);

  private readonly ev: NetbackTraceEvent = newTraceEvent();
  private nextIfindex = 100;

  constructor(opts: NetbackOptions) {
    this.hv = opts.hv;
    this.irq = opts.irq;
    this.dom = opts.dom;
    this.env = opts.env;
    this.clock = opts.hv.clock;
    this.strategy = opts.strategy ?? 'hybrid';
    this.deliver = opts.deliver ?? ((skb) => consumeSkb(skb));
    this.onTrace = opts.onTrace ?? null;
    this.maxQueues = opts.maxQueues ?? Math.min(MAX_QUEUES_DEFAULT, opts.onlineCpus ?? 4);
    this.separateTxRxIrq = opts.separateTxRxIrq ?? true;
    this.fatalSkbSlots = Math.max(opts.fatalSkbSlots ?? FATAL_SKB_SLOTS_DEFAULT, XEN_NETBK_LEGACY_SLOTS_MAX);
    this.rxDrainTimeoutNs = (opts.rxDrainTimeoutMs ?? 10_000) * 1e6;
    this.rxStallTimeoutNs = (opts.rxStallTimeoutMs ?? 60_000) * 1e6;
    this.deallocDelayNs = opts.deallocDelayNs ?? 1_000;
    this.napiDelayNs = opts.napiDelayNs ?? 0;
    this.rxThreadDelayNs = opts.rxThreadDelayNs ?? 0;
    this.hotplugScript = opts.hotplugScript ?? true;
    this.providesXdpHeadroom = opts.providesXdpHeadroom ?? true;
    this.faults = opts.faults ?? NO_FAULTS;
    const n = opts.hv.mem.nrFrames;
    this.foreignDomid = new Int32Array(n);
    this.foreignGref = new Uint32Array(n);
    this.foreignMaps = new Uint16Array(n);
  }

  /**
   * netback_probe for the device `backend/vif/<guestDomid>/<devid>` (the toolstack created its directories):
   * write the feature keys, create the vif, and follow the frontend from here on. `strategy` overrides the
   * driver default for this vif.
   */
  probe(guestDomid: number, devid: number, strategy: TxStrategy = this.strategy): BackendInfo {
    return netbackProbe(this, guestDomid, devid, strategy);
  }

  /** An ifindex for a new vif netdev. */
  allocIfindex(): number {
    return this.nextIfindex++;
  }

  /** Record that dom0 now maps `frame` from `domid`'s grant `gref`. */
  foreignMapped(frame: number, domid: number, gref: number): void {
    this.foreignDomid[frame] = domid + 1;
    this.foreignGref[frame] = gref;
    this.foreignMaps[frame]!++;
  }

  /** A mapping of `frame` went away. */
  foreignUnmapped(frame: number): void {
    if (--this.foreignMaps[frame]! === 0) this.foreignDomid[frame] = 0;
  }

  /** Emit one trace event (no-op without a hook). */
  trace(q: XenvifQueue, kind: NetbackTraceKind, pendingIdx: number, id: number, gref: number, status: number, bytes: number): void {
    const hook = this.onTrace;
    if (hook === null) return;
    const e = this.ev;
    e.kind = kind;
    e.time = this.clock.now();
    e.domid = q.vif.domid;
    e.devid = q.vif.handle;
    e.queue = q.id;
    e.pendingIdx = pendingIdx;
    e.id = id;
    e.gref = gref;
    e.status = status;
    e.bytes = bytes;
    hook(e);
  }
}
