/**
 * SwapWorld: everything one run of the scenario is made of, wired together (REFERENCE §12.1).
 *
 * ```
 *   MachineMemory ── client domain (domid 1): totalPages frames
 *     ZonePageAllocator (marks from min_free_kbytes; pagesEmerg in groups) ◀── ObservedZone ◀── checker
 *     [nta] NtaAllocator (ntaPoolPages, per CPU) ◀── NtaNetPages ──┐
 *     KmemAllocator (rpc buffers, workload objects)                 │ the stack's PageAllocator
 *     NetStack (rxReserveMode per mode) ◀───────────────────────────┘
 *       SwapNic (2 RX queues, frag caches) ─ wire ─▶ BlockServer ─ replies ─▶ SwapNic queue 1
 *       floodSock (UDP, reader blocked)   swapSock (SwapClient, SOCK_MEMALLOC)   [tap]
 *     Reclaim (lru, kswapd, pfmemalloc_wait) ◀── Workload (D tasks)
 *     [groups] SwapReserveGroups under zone.reserveRoot
 *   FloodSource, Watchdog, InvariantChecker, Prng(seed), Scheduler (the clock)
 * ```
 *
 * Owns every piece; `teardownSwapWorld` gives everything back in dependency order and returns the audit
 * findings (empty when no page, skb, slab object or reserve charge was leaked).
 */

import { InvalidArgument } from '../../errors.ts';
import { MachineMemory } from '../../hv/memory.ts';
import { GFP_KERNEL } from '../../mm/gfp.ts';
import { kmallocEstimateObjs } from '../../mm/kmalloc.ts';
import { NtaAllocator } from '../../mm/nta.ts';
import type { PageAllocator } from '../../mm/page-allocator.ts';
import { KmemAllocator, kmemCacheShrink } from '../../mm/slab.ts';
import { ExecContext, kthreadCreate, TaskStruct } from '../../mm/task.ts';
import { initPerZoneWmarkMin } from '../../mm/watermark.ts';
import { ZonePageAllocator } from '../../mm/zone-allocator.ts';
import { SOCK_DGRAM, sockClose, sockCreate, type Sock } from '../../net/sock.ts';
import { netStackCreate, type NetStack } from '../../net/stack.ts';
import { packetSocketClose, packetSocketOpen, type PacketSocket } from '../../net/tap.ts';
import { SkbAudit } from '../../skb/audit.ts';
import { Prng } from '../prng.ts';
import { Scheduler } from '../scheduler.ts';
import { BlockServer } from './block-server.ts';
import { FloodSource } from './flood.ts';
import { SwapReserveGroups } from './groups.ts';
import { CLIENT_MAC, FLOOD_PORT, SERVER_PORT } from './hosts.ts';
import { InvariantChecker } from './invariants.ts';
import { NtaNetPages } from './net-pages.ts';
import { SwapNic } from './nic.ts';
import { ObservedZone } from './observed-pages.ts';
import { mainlineMinFreeKbytes, MODES, reserveDemand, type ModeSpec, type ReserveDemand, type SwapMode, type SwapParams } from './params.ts';
import { Reclaim } from './reclaim.ts';
import { SwapClient } from './swap-client.ts';
import { Watchdog } from './watchdog.ts';
import { Workload } from './workload.ts';

/** The client domain's id. */
export const CLIENT_DOMID = 1;

export interface SwapWorld {
  readonly params: SwapParams;
  readonly mode: ModeSpec;
  readonly prng: Prng;
  readonly sched: Scheduler;
  readonly mem: MachineMemory;
  readonly ctx: ExecContext;
  readonly zone: ZonePageAllocator;
  readonly pages: ObservedZone;
  readonly nta: NtaAllocator | null;
  readonly kmem: KmemAllocator;
  readonly demand: ReserveDemand;
  readonly groups: SwapReserveGroups | null;
  readonly stack: NetStack;
  readonly nic: SwapNic;
  readonly floodSock: Sock;
  readonly tap: PacketSocket | null;
  readonly client: SwapClient;
  readonly server: BlockServer;
  readonly flood: FloodSource;
  readonly reclaim: Reclaim;
  readonly workload: Workload;
  readonly checker: InvariantChecker;
  readonly watchdog: Watchdog;
  readonly audit: SkbAudit;
  /** The task each CPU's softirq borrows: kswapd on CPU 0, a workload task on CPU 1. */
  readonly softirqTasks: TaskStruct[];
  /** The server's side of the wire: a reply frame arrives at the NIC. */
  readonly serverDeliver: (frame: Uint8Array, len: number) => boolean;
  /** The user task that owns floodSock (its reader). */
  readonly floodTask: TaskStruct;
  /** Flood datagrams its reader has read, once awake. */
  floodRead: number;
  /** The current step (read by the wire to the server). */
  step: number;
}

/** Build a run of mode `mode` with parameters `p`, from `seed`. */
export function buildSwapWorld(p: SwapParams, modeName: SwapMode, seed: number): SwapWorld {
  const mode = MODES[modeName];
  const mem = new MachineMemory(p.totalPages + 8);
  mem.registerDomain(CLIENT_DOMID);
  const ctx = new ExecContext(new TaskStruct('init'));
  const ntaFrames = mode.nta ? mem.populate(CLIENT_DOMID, p.ntaPoolPages) : null;
  const sysFrames = mem.populate(CLIENT_DOMID, p.totalPages - (ntaFrames?.length ?? 0));
  // min_free_kbytes of the whole domain's lowmem: the NTA pool comes out of the same RAM, the marks do not move.
  const defaultMinFree = p.minFreeKbytes ?? initPerZoneWmarkMin(p.totalPages * 4);
  const zone = new ZonePageAllocator(mem, CLIENT_DOMID, sysFrames, ctx, { minFreeKbytes: defaultMinFree });
  const pages = new ObservedZone(zone);
  const kmem = new KmemAllocator(pages, ctx, p.cpus);
  const demand = reserveDemand(p, kmallocEstimateObjs(kmem, p.rpcBufBytes, p.maxInFlight));
  if (mode.name === 'mainline') zone.setMinFreeKbytes(p.minFreeKbytes ?? mainlineMinFreeKbytes(demand.total));
  const nta = ntaFrames !== null ? new NtaAllocator(mem, CLIENT_DOMID, ntaFrames, ctx, p.cpus) : null;
  const netPages: PageAllocator = nta !== null ? new NtaNetPages(nta, pages) : pages;
  const sched = new Scheduler();
  const stack = netStackCreate({ pages: netPages, ctx, clock: sched, nrCpus: p.cpus, rxReserveMode: mode.rxReserveMode, name: 'swap-client' });
  const audit = new SkbAudit(stack.env);
  const nic = new SwapNic({
    stack, name: 'eth0', ifindex: 2, mac: CLIENT_MAC, cpus: p.cpus, ringSize: p.ringSize, fragSize: p.fragSize,
    rxCopybreak: p.rxCopybreak, napiBudget: p.napiBudget, netdevBudget: p.netdevBudget, storageSport: SERVER_PORT,
    stickyFrag: p.stickyFrag,
  });
  // setsockopt(SO_RCVBUF) doubles the value into sk_rcvbuf: 32 MiB asks for 64 MiB of truesize, RAM's size.
  const floodSock = sockCreate(stack, SOCK_DGRAM, FLOOD_PORT, { readerBlocked: true, rcvbuf: 2 * p.floodRcvbuf });
  const tap = p.tap ? packetSocketOpen(stack, { dev: null, rcvbuf: 2 * p.tapRcvbuf }) : null;
  const reclaim = new Reclaim(zone, pages, p.reclaimers);
  const groups = mode.groups ? new SwapReserveGroups(p, kmem, demand) : null;
  if (groups !== null) {
    const r = groups.connect(zone.reserveRoot);
    if (r !== 0) throw new InvalidArgument(`swap-over-network: the v20 reserve could not be connected (${r}): too little memory`);
  }
  const rpciod = kthreadCreate('rpciod');
  const client = new SwapClient({
    stack, nic, kmem, task: rpciod, cpu: 1 % p.cpus, maxInFlight: p.maxInFlight, queueMax: p.swapQueueMax,
    rto: p.rto, pingIdle: p.pingIdle, rpcHdrBytes: p.rpcHdrBytes, rpcBufBytes: p.rpcBufBytes, memalloc: mode.memallocSocket,
    groups: groups !== null ? { tx: groups.txPages, rpc: groups.rpc } : null,
    onWritten: (f) => reclaim.onWritten(f),
  });
  reclaim.client = client;
  const server = new BlockServer(p.serverLatency, p.replyBytes);
  const flood = new FloodSource(p.floodFrames * p.floodMultiplier, p.floodBytes, p.floodStart, p.nonIpEvery);
  const workload = new Workload({
    ctx, zone, pages, kmem, reclaim, client, tasks: p.reclaimers, perStep: p.anonPerStep, target: p.targetPages,
    objectBytes: p.rpcBufBytes, cpus: p.cpus,
  });
  const floodTask = new TaskStruct('flood-reader');
  const quietTasks = [...workload.tasks, rpciod, floodTask, ctx.current];
  const checker = new InvariantChecker(mode, { zone, stack, nic, floodSock, tap, reclaim, groups, quietTasks }, p.cpus * p.netdevBudget);
  pages.observer = checker;
  nic.observer = checker;
  client.observer = checker;
  reclaim.observer = checker;
  workload.observer = checker;
  const world: SwapWorld = {
    params: p, mode, prng: new Prng(seed), sched, mem, ctx, zone, pages, nta, kmem, demand, groups, stack, nic, floodSock, tap,
    client, server, flood, reclaim, workload, checker, watchdog: new Watchdog(p.watchdogWindow), audit,
    softirqTasks: [reclaim.kswapd, workload.tasks[1 % workload.tasks.length]!],
    serverDeliver: (frame, len) => nic.rx(frame, len, len), floodTask, floodRead: 0, step: 0,
  };
  nic.wire = (frame, len) => server.receive(frame, len, world.step);
  if (!nic.fill(GFP_KERNEL)) throw new InvalidArgument('swap-over-network: the NIC rings could not be filled at ifup: too little memory');
  return world;
}

/** Give everything back; returns what the audits found (empty = clean). */
export function teardownSwapWorld(w: SwapWorld): string[] {
  if (w.tap !== null) packetSocketClose(w.tap);
  w.workload.teardown();
  w.client.teardown();
  w.server.clear();
  sockClose(w.floodSock);
  w.nic.teardown();
  w.reclaim.teardown();
  w.stack.shutdown();
  w.groups?.disconnect();
  for (const c of w.kmem.caches) if (c !== null) kmemCacheShrink(c);
  const findings = [...w.audit.findings(), ...w.kmem.audit(), ...w.zone.audit()];
  if (w.nta !== null) findings.push(...w.nta.audit());
  if (w.zone.zone.pagesEmerg !== 0) findings.push(`emergency pool still ${w.zone.zone.pagesEmerg} pages`);
  for (const g of w.groups?.all() ?? []) if (g.usage !== 0) findings.push(`group "${g.name}" still charged ${g.usage}`);
  return findings;
}
