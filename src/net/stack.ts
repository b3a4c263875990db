/**
 * NetStack: one domain kernel's network stack, the object every function of src/net/ takes first (Linux's
 * `struct net` plus the per-CPU softnet data; there is no global stack).
 *
 * ```
 *   NetStack
 *   ├─ env, ctx, clock      the domain's SkbEnv, its ExecContext (`current`, softirq state), virtual time
 *   ├─ memallocSocks        sk_memalloc_socks(): SOCK_MEMALLOC sockets alive (skSetMemalloc / skClearMemalloc)
 *   ├─ ptypeAll             taps (ETH_P_ALL packet types: packet sockets)
 *   ├─ ptypeBase            protocol handlers: ARP, IPv4, IPv6, registered at construction (inetInit);
 *   │                       802.1Q is untagged in the core, as Linux does
 *   ├─ udpTable, tcpTable   sockets by local port
 *   ├─ backlog[cpu]         enqueue_to_backlog queues (netif_rx), bounded by netdevMaxBacklog
 *   ├─ frags                IPv4 reassembly queues, bounded by ipfragHighThresh
 *   └─ stats                one counter per drop reason (NetStackStats)
 * ```
 *
 * Owns: the backlog queues and the fragment queues (and the skbs on them), the protocol handler objects it
 * registered, scratch buffers and parse records reused by every packet. Sockets, taps, bridges and devices
 * are owned by whoever created them; they register themselves here and unregister when closed.
 * Referenced by: drivers (netback calls netifReceiveSkb(stack, vif, skb)), sockets, taps, bridges, devices.
 * Dies: with the domain; `shutdown()` frees what it still holds so the skb audit comes out clean.
 *
 * The reserve rules (REFERENCE §11.7) cost one comparison while no SOCK_MEMALLOC socket exists
 * (`memallocSocks === 0`): that is Linux's static key. `rxReserveMode` selects the three behaviours of
 * REFERENCE §12.3: 'aware' (3.6 semantics, the default), 'naive' (RX allocations may use the reserve but no
 * receive-path rule applies: mode A′) and 'off' (RX allocations never use the reserve: mode A).
 */

import type { Clock } from '../hv/clock.ts';
import { gfpPfmemallocAllowed } from '../mm/alloc-flags.ts';
import { __GFP_MEMALLOC } from '../mm/gfp.ts';
import type { PageAllocator } from '../mm/page-allocator.ts';
import type { ExecContext } from '../mm/task.ts';
import { FifoRing, SkbEnv, type SkbEnvOptions } from '../skb/env.ts';
import { SkBuffHead, skbQueuePurge } from '../skb/queue.ts';
import type { SkBuff } from '../skb/skbuff.ts';
import type { NetDevice, PacketType } from './netdevice.ts';
import { inetInit } from './ipv4.ts';
import { IpFragState } from './ipfrag.ts';
import type { NfQueue } from './nfqueue.ts';
import type { Sock } from './sock.ts';
import {
  DEV_WEIGHT,
  IPFRAG_HIGH_THRESH,
  IPFRAG_LOW_THRESH,
  IPFRAG_TIME_NS,
  NET_SCRATCH_BYTES,
  NETDEV_MAX_BACKLOG,
  RX_RESERVE_AWARE,
  RX_RESERVE_OFF,
  type RxReserveMode,
} from './constants.ts';
import { newEthHdr, newIpv4Hdr, newL4Hdr } from './wire.ts';

/** Counters a scenario reads. Every drop the stack makes is counted in exactly one `drop*` field. */
export class NetStackStats {
  /** netif_receive_skb calls (nested re-injections by a bridge count again). */
  rxPackets = 0;
  /** Tagged skbs that went past the taps without visiting them (REFERENCE §11.7 step 3). */
  rxTapsSkipped = 0;
  /** Tagged skbs processed under PF_MEMALLOC. */
  rxPfmemalloc = 0;
  /** Deliveries to taps (deliver_skb to a ptype_all entry). */
  tapDeliveries = 0;
  /** deliver_skb skipped a handler because the zerocopy frags could not be copied aside (not a drop). */
  deliverNoMem = 0;

  dropDevDown = 0;
  /** Tagged skb whose protocol is not ARP, IPv4, IPv6 or 802.1Q (§11.7 step 5). */
  dropPfmemallocProto = 0;
  /** No protocol handler took the packet (rx_nohandler). */
  dropNoHandler = 0;
  /**
   * An allocation the path needed failed: copying zerocopy frags aside (skb_orphan_frags_rx), a clone
   * (skb_share_check), a pull or trim that had to reallocate the head.
   */
  dropNoMem = 0;
  /** A link, VLAN, IP or L4 header was truncated or malformed. */
  dropMalformed = 0;
  /** L4 checksum error (UDP_MIB_CSUMERRORS / TCP_MIB_CSUMERRORS). */
  dropCsum = 0;
  /** IPv4 not addressed to a local address, and no forwarding hook. */
  dropNotLocal = 0;
  /** A tagged skb refused by a forwarding path (IP forward hook, bridge forward). */
  dropPfmemallocForward = 0;
  /** IP protocol with no handler (IPSTATS_MIB_INUNKNOWNPROTOS). */
  dropUnknownProto = 0;
  /** No socket bound to the destination port (UDP_MIB_NOPORTS; TCP would answer RST). */
  dropNoPort = 0;
  /** sk_filter refused a tagged skb at a socket without SOCK_MEMALLOC (LINUX_MIB_PFMEMALLOCDROP). */
  dropPfmemallocFilter = 0;
  /** The socket's receive buffer was full (sk_rcvbuf). */
  dropRcvbuf = 0;
  /** sk_rmem_schedule refused: the protocol memory limit. */
  dropProtoMem = 0;
  /** enqueue_to_backlog over netdev_max_backlog. */
  dropBacklog = 0;
  /** Fragments freed because the reassembly memory went over ipfrag_high_thresh (ip_evictor). */
  dropFragThresh = 0;
  /** Fragments freed with a queue that timed out, overlapped, or exceeded the per-queue limit. */
  dropFragInvalid = 0;
  /** A tagged skb refused by the netfilter queue. */
  dropPfmemallocNfqueue = 0;
  /** The netfilter queue was full (queue_maxlen). */
  dropNfqueueFull = 0;
  /** The netfilter queue's verdict was NF_DROP. */
  dropNfqueueVerdict = 0;
  /** ARP / IPv6 packets taken by their (minimal) handlers. */
  arpRcv = 0;
  ipv6Rcv = 0;

  /** Packets queued on a socket (UDP and TCP). */
  sockDelivered = 0;
  /** Backlog: packets queued, and poll rounds run. */
  backlogEnqueued = 0;
  backlogPolls = 0;
  /** Datagrams reassembled; fragment queues evicted over the high threshold. */
  fragReasmOk = 0;
  fragEvictedQueues = 0;
  fragTimeouts = 0;

  /** Sum of every drop* counter. */
  totalDrops(): number {
    return (
      this.dropDevDown + this.dropPfmemallocProto + this.dropNoHandler + this.dropNoMem + this.dropMalformed +
      this.dropCsum + this.dropNotLocal + this.dropPfmemallocForward + this.dropUnknownProto + this.dropNoPort +
      this.dropPfmemallocFilter + this.dropRcvbuf + this.dropProtoMem + this.dropBacklog + this.dropFragThresh +
      this.dropFragInvalid + this.dropPfmemallocNfqueue + this.dropNfqueueFull + this.dropNfqueueVerdict
    );
  }
}

/** One protocol's memory accounting (proto->memory_allocated against sysctl_{udp,tcp}_mem[2]), in bytes. */
export class ProtoMem {
  allocated = 0;
  limit: number;

  constructor(limit: number) {
    this.limit = limit;
  }
}

/**
 * One CPU's input_pkt_queue (softnet_data). The queue holds each skb's reference; `devs` is a ring parallel to
 * the queue remembering the device each skb arrived on (pvnet's skb has no `dev`). Dies with the stack.
 */
export class Backlog {
  readonly cpu: number;
  readonly queue = new SkBuffHead();
  /** The device of each queued skb, in queue order. */
  readonly devs = new FifoRing<NetDevice>();
  /** A poll is scheduled on the clock (NAPI_STATE_SCHED of the backlog's napi). */
  scheduled = false;
  /** The poll callback, made once on first use. */
  poll: (() => void) | null = null;

  constructor(cpu: number) {
    this.cpu = cpu;
  }
}

export interface NetStackOptions {
  readonly env: SkbEnv;
  readonly ctx: ExecContext;
  readonly clock: Clock;
  readonly name?: string;
  /** CPUs with a backlog queue (default 1; the receive path uses `ctx.cpu`). */
  readonly nrCpus?: number;
  readonly netdevMaxBacklog?: number;
  readonly devWeight?: number;
  readonly ipfragHighThresh?: number;
  readonly ipfragLowThresh?: number;
  readonly ipfragTimeNs?: number;
  /** Protocol memory limits in bytes (sysctl udp_mem / tcp_mem [2] × PAGE_SIZE); default unlimited. */
  readonly udpMemLimit?: number;
  readonly tcpMemLimit?: number;
  readonly rxReserveMode?: RxReserveMode;
}

export class NetStack {
  readonly env: SkbEnv;
  readonly ctx: ExecContext;
  readonly clock: Clock;
  readonly name: string;
  /** sk_memalloc_socks: SOCK_MEMALLOC sockets alive. */
  memallocSocks = 0;
  rxReserveMode: RxReserveMode;

  readonly ptypeAll: PacketType[] = [];
  readonly ptypeBase: PacketType[] = [];
  readonly udpTable = new Map<number, Sock>();
  readonly tcpTable = new Map<number, Sock>();
  /** Local IPv4 addresses; while empty every destination is local. */
  readonly localAddrs = new Set<number>();
  /** ip_forward: where IPv4 packets for other hosts go; null drops them (forwarding off). */
  ipForward: ((skb: SkBuff, dev: NetDevice) => void) | null = null;
  /** NFQUEUE on local input (one queue), or null. */
  nfQueue: NfQueue | null = null;

  netdevMaxBacklog: number;
  devWeight: number;
  ipfragHighThresh: number;
  ipfragLowThresh: number;
  ipfragTimeNs: number;
  readonly udpMem: ProtoMem;
  readonly tcpMem: ProtoMem;

  readonly backlog: Backlog[];
  readonly frags: IpFragState;
  readonly stats = new NetStackStats();

  /** Scratch for headers and for whole packets (checksums, captures); never held across calls. */
  readonly hdrScratch = new Uint8Array(128);
  readonly pktScratch = new Uint8Array(NET_SCRATCH_BYTES);
  /** Parse records reused by the receive path. */
  readonly eth = newEthHdr();
  readonly ip = newIpv4Hdr();
  readonly l4 = newL4Hdr();

  constructor(opts: NetStackOptions) {
    this.env = opts.env;
    this.ctx = opts.ctx;
    this.clock = opts.clock;
    this.name = opts.name ?? `dom${opts.env.domid}`;
    this.rxReserveMode = opts.rxReserveMode ?? RX_RESERVE_AWARE;
    this.netdevMaxBacklog = opts.netdevMaxBacklog ?? NETDEV_MAX_BACKLOG;
    this.devWeight = opts.devWeight ?? DEV_WEIGHT;
    this.ipfragHighThresh = opts.ipfragHighThresh ?? IPFRAG_HIGH_THRESH;
    this.ipfragLowThresh = opts.ipfragLowThresh ?? IPFRAG_LOW_THRESH;
    this.ipfragTimeNs = opts.ipfragTimeNs ?? IPFRAG_TIME_NS;
    this.udpMem = new ProtoMem(opts.udpMemLimit ?? Infinity);
    this.tcpMem = new ProtoMem(opts.tcpMemLimit ?? Infinity);
    const cpus = opts.nrCpus ?? 1;
    this.backlog = [];
    for (let c = 0; c < cpus; c++) this.backlog.push(new Backlog(c));
    this.frags = new IpFragState(this);
    inetInit(this);
  }

  /**
   * Free what the stack itself still holds: backlog queues, fragment queues, the netfilter queue. Sockets,
   * taps and devices are closed by their owners.
   */
  shutdown(): void {
    for (const b of this.backlog) {
      skbQueuePurge(b.queue);
      while (b.devs.count > 0) b.devs.shift();
    }
    this.frags.purge();
    if (this.nfQueue !== null) this.nfQueue.purge();
  }

  /** sk_memalloc_socks(). */
  skMemallocSocks(): boolean {
    return this.memallocSocks > 0;
  }

  /** The §11.7 receive rules apply to tagged skbs now: mode 'aware' and a SOCK_MEMALLOC socket exists. */
  pfmemallocRulesActive(): boolean {
    return this.memallocSocks > 0 && this.rxReserveMode === RX_RESERVE_AWARE;
  }

  /** The gfp bit an RX allocation adds now (__alloc_skb with SKB_ALLOC_RX): __GFP_MEMALLOC, or 0. */
  rxMemallocGfp(): number {
    return this.memallocSocks > 0 && this.rxReserveMode !== RX_RESERVE_OFF ? __GFP_MEMALLOC : 0;
  }
}

export interface NetStackCreateOptions extends Omit<NetStackOptions, 'env'> {
  readonly pages: PageAllocator;
  /** Further SkbEnv options (maxSkbFrags, tracking); the reserve hooks are the stack's. */
  readonly skb?: Omit<SkbEnvOptions, 'memallocSocks' | 'pfmemallocAllowed'>;
}

/**
 * A stack with its own SkbEnv, wired so that the skb layer asks this stack whether a memalloc socket exists
 * (SKB_ALLOC_RX allocations then add __GFP_MEMALLOC) and asks the domain's ExecContext whether a gfp mask is
 * entitled to the reserve (gfp_pfmemalloc_allowed: __GFP_MEMALLOC, or PF_MEMALLOC in the right context).
 * A stack built with `new NetStack({ env })` over an env made elsewhere still tags its own RX allocations
 * correctly through netdevAllocSkbRx; only allocSkb(..., SKB_ALLOC_RX) calls made directly then miss the switch.
 */
export function netStackCreate(opts: NetStackCreateOptions): NetStack {
  let stack: NetStack | null = null;
  const env = new SkbEnv(opts.pages, {
    ...opts.skb,
    memallocSocks: () => stack !== null && stack.rxMemallocGfp() !== 0,
    pfmemallocAllowed: (gfp: number) => gfpPfmemallocAllowed(gfp, opts.ctx),
  });
  stack = new NetStack({ ...opts, env });
  return stack;
}
