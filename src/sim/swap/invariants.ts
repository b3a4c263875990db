/**
 * The ten invariants of REFERENCE §12.4, and how each is checked. Each check is a small exported function over
 * explicit state (so a test can feed it a violating state); `InvariantChecker` calls them from the places the
 * scenario observes: every page allocation, every received skb, the end of each step's softirq work, the end of
 * each step.
 *
 * | # | invariant | checked by | when | modes |
 * |---|---|---|---|---|
 * | 1 | allocation floors | `floorViolation` (free after ≥ the caller's floor; a tagged page only with NO_WATERMARKS), `overrunViolation` (no entitled allocation found free == 0), `groupViolation` (0 ≤ usage ≤ limit) | each allocation; each step | floors: all; overruns: mainline, groups; groups: groups |
 * | 2 | tagged skbs end at a memalloc socket, a fragment queue, or freed | `taggedFate` on every tagged skb received in the step; `taggedAmongNewest` on floodSock | end of the step's softirq work | mainline, groups |
 * | 3 | taps never see a tagged received skb | `taggedAmongNewest` on the tap's queue (received entries) | same | mainline, groups |
 * | 4 | tagged non-ARP/IP/IPv6/802.1Q frames dropped, counted | `protoFilterViolation`: such frames handed up = Δ dropPfmemallocProto | same | mainline, groups |
 * | 5 | PF_MEMALLOC does not leak; __GFP_NOMEMALLOC wins | `pfMemallocLeak` around each netif_receive_skb and each softirq; user tasks and rpciod without PF_MEMALLOC between steps; `nomemallocViolation` per allocation | each packet / softirq / step / allocation | all |
 * | 6 | clone and frag attach propagate the tag | `propagationViolation` on RX build_skb from a tagged page, request frag attach, request and retransmit clones | as they happen | all but nta (nothing is tagged) |
 * | 7 | tagged slab objects only to entitled callers | `slabViolation` on every rpc buffer and workload object | each kmalloc | all |
 * | 8 | throttling | `throttleViolation` (a user task in direct reclaim has free > reserve/2), `waitqueueViolation` (kswapd asleep ⇒ pfmemalloc_wait empty), a parked task never runs | each direct reclaim; each step | all |
 * | 9 | liveness | the Watchdog (watchdog.ts) and the workload's completion | each step | completes: mainline, groups, nta; deadlock detected: off, naive |
 * | 10 | reverse check | `reverseViolation`: once free > LOW for a step, an skb whose buffer came from a frag-cache page started after that is untagged; and floodSock is offered traffic again | each received skb; end of run | mainline, groups |
 *
 * A check that does not apply to a mode still runs and its count is reported as an observation (e.g. how many
 * tagged skbs the naive mode left on floodSock), never as a failure.
 */

import { ALLOC_NO_WATERMARKS, gfpPfmemallocAllowed } from '../../mm/alloc-flags.ts';
import { __GFP_NOMEMALLOC } from '../../mm/gfp.ts';
import type { MemReserve } from '../../mm/reserve.ts';
import { objFrame, slabIsPfmemalloc, type KmemAllocator } from '../../mm/slab.ts';
import { PF_MEMALLOC, type TaskStruct } from '../../mm/task.ts';
import { pfmemallocWatermarkOk } from '../../mm/vmscan.ts';
import { AllocOutcome, type ZonePageAllocator } from '../../mm/zone-allocator.ts';
import { skbPfmemallocProtocol } from '../../net/receive.ts';
import { Sock, SOCK_MEMALLOC, sockFlag } from '../../net/sock.ts';
import type { NetStack } from '../../net/stack.ts';
import type { PacketSocket } from '../../net/tap.ts';
import type { SkBuffHead } from '../../skb/queue.ts';
import type { SkBuff } from '../../skb/skbuff.ts';
import type { InvariantCheck } from '../scenarios/registry.ts';
import type { SwapReserveGroups } from './groups.ts';
import type { AllocObserver } from './observed-pages.ts';
import type { PageFragCache } from './page-frag.ts';
import type { ModeSpec } from './params.ts';
import type { Reclaim, ReclaimObserver } from './reclaim.ts';
import type { RxObserver, SwapNic } from './nic.ts';
import type { TxObserver } from './swap-client.ts';
import type { WorkloadObserver } from './workload.ts';

/** One invariant: its number, short name, and in which modes it must hold. */
export interface InvariantInfo {
  readonly id: number;
  readonly name: string;
  /** Why it does not apply to a mode, or null if it does. */
  notApplicable(mode: ModeSpec): string | null;
}

const rulesOnly = (m: ModeSpec): string | null =>
  m.rxRules ? null : m.nta ? 'nta: network buffers are never tagged' : `${m.name}: the receive-path rules are off (mode ${m.letter})`;

export const INVARIANTS: readonly InvariantInfo[] = [
  { id: 1, name: 'allocation floors', notApplicable: () => null },
  { id: 2, name: 'tagged skbs end at a memalloc socket, a fragment queue, or freed', notApplicable: rulesOnly },
  { id: 3, name: 'taps never see a tagged received skb', notApplicable: rulesOnly },
  { id: 4, name: 'protocol filter for tagged frames', notApplicable: rulesOnly },
  { id: 5, name: 'PF_MEMALLOC hygiene; __GFP_NOMEMALLOC wins', notApplicable: () => null },
  { id: 6, name: 'tag propagation (clone, frag attach)', notApplicable: (m) => (m.nta ? 'nta: network buffers are never tagged' : null) },
  { id: 7, name: 'tagged slab objects only to entitled callers', notApplicable: () => null },
  { id: 8, name: 'direct-reclaim throttling', notApplicable: () => null },
  { id: 9, name: 'liveness', notApplicable: () => null },
  { id: 10, name: 'reverse check after recovery', notApplicable: rulesOnly },
];

// ---- the checks, over explicit state ---------------------------------------------------------------------------

/** Invariant 1: a successful allocation left free ≥ the caller's floor; a tagged page only with NO_WATERMARKS. */
export function floorViolation(allocFlags: number, outcome: number, freeAfter: number, floor: number): string | null {
  if (freeAfter < 0) return `free went negative (${freeAfter})`;
  if (outcome === AllocOutcome.OK_PFMEMALLOC) {
    return (allocFlags & ALLOC_NO_WATERMARKS) !== 0 ? null : `a page came from the reserve for a caller without NO_WATERMARKS (flags 0x${allocFlags.toString(16)})`;
  }
  return freeAfter >= floor ? null : `an allocation left ${freeAfter} free pages, below its floor ${floor}`;
}

/** Invariant 1 (mainline, groups): no entitled allocation ever found the reserve empty. */
export function overrunViolation(overruns: number): string | null {
  return overruns === 0 ? null : `${overruns} reserve overrun(s): an entitled allocation found free == 0`;
}

/** Invariant 1 (groups): 0 ≤ usage ≤ limit. */
export function groupViolation(g: MemReserve): string | null {
  return g.usage >= 0 && g.usage <= g.limit ? null : `group "${g.name}": usage ${g.usage} outside [0, ${g.limit}]`;
}

/** Invariant 5: __GFP_NOMEMALLOC beats everything: such a call never gets a reserve page. */
export function nomemallocViolation(gfp: number, outcome: number): string | null {
  return (gfp & __GFP_NOMEMALLOC) !== 0 && outcome === AllocOutcome.OK_PFMEMALLOC ? 'a __GFP_NOMEMALLOC allocation was served from the reserve' : null;
}

/** Invariant 5: PF_MEMALLOC is the same after as before. */
export function pfMemallocLeak(before: number, after: number): boolean {
  return ((before ^ after) & PF_MEMALLOC) !== 0;
}

/** Invariant 6: whatever is derived from (or attached from) tagged memory is tagged. */
export function propagationViolation(sourceTagged: boolean, resultTagged: boolean, what: string): string | null {
  return sourceTagged && !resultTagged ? `${what}: the source was tagged, the result is not` : null;
}

/** Invariant 7: an object from a tagged slab went to a caller that is not entitled. */
export function slabViolation(kmem: KmemAllocator, handle: number, gfp: number): string | null {
  if (!slabIsPfmemalloc(kmem, objFrame(handle))) return null;
  return gfpPfmemallocAllowed(gfp, kmem.ctx) ? null : `object ${handle} of a tagged slab went to ${kmem.ctx.current.comm} (gfp 0x${gfp.toString(16)})`;
}

/** Invariant 8: a user task may direct-reclaim only while free > reserve / 2 (GFP_HIGHUSER has __GFP_FS: no timeout). */
export function throttleViolation(zone: ZonePageAllocator, task: TaskStruct): string | null {
  if (task.isKthread || pfmemallocWatermarkOk(zone, false)) return null;
  return `${task.comm} direct-reclaimed with ${zone.freePages} free (throttle at ≤ ${(zone.zone.min + zone.zone.pagesEmerg) >> 1})`;
}

/** Invariant 8: while kswapd sleeps nobody waits on pfmemalloc_wait (it wakes them before sleeping). */
export function waitqueueViolation(kswapdAwake: boolean, waiters: number): string | null {
  return !kswapdAwake && waiters > 0 ? `kswapd asleep with ${waiters} task(s) on pfmemalloc_wait` : null;
}

/** Invariant 4: every tagged frame of a forbidden protocol handed up was dropped and counted. */
export function protoFilterViolation(expected: number, dropDelta: number): string | null {
  return expected === dropDelta ? null : `${expected} tagged non-IP frame(s) handed up, ${dropDelta} counted as dropPfmemallocProto`;
}

/** Where a tagged skb handed up this step ended (invariant 2). */
export const FATE_FREED = 0;
export const FATE_MEMALLOC_SOCK = 1;
export const FATE_FRAG_QUEUE = 2;
export const FATE_STRAY = 3;

/** The fate of `skb`, recorded with generation `gen` when it was received. */
export function taggedFate(stack: NetStack, skb: SkBuff, gen: number): number {
  if (!skb.live || skb.gen !== gen) return FATE_FREED;
  const sk = skb.sk;
  if (sk instanceof Sock && sockFlag(sk, SOCK_MEMALLOC)) return FATE_MEMALLOC_SOCK;
  for (let q = stack.frags.lruHead; q !== null; q = q.lruNext) {
    for (let i = 0; i < q.n; i++) if (q.skbs[i] === skb) return FATE_FRAG_QUEUE;
  }
  return FATE_STRAY;
}

/**
 * Tagged skbs among the `n` newest entries of `q` (a queue nobody reads: a blocked reader, a tap). With
 * `receivedOnly`, transmit clones a tap got from dev_queue_xmit_nit (mac header at data) are not counted.
 */
export function taggedAmongNewest(q: SkBuffHead, n: number, receivedOnly = false): number {
  let found = 0;
  let skb = q.last;
  for (let k = 0; k < n && skb !== null; k++, skb = skb.prev) {
    if (skb.pfmemalloc && !(receivedOnly && skb.macHeader === skb.data)) found++;
  }
  return found;
}

/** Invariant 10: an skb from a cache page started after memory recovered must not be tagged. */
export function reverseViolation(armed: boolean, epoch: number, armedEpoch: number, tagged: boolean): string | null {
  return armed && epoch > armedEpoch && tagged ? 'an skb was tagged although its buffer came from a frag-cache page started after free > LOW' : null;
}

// ---- the checker ---------------------------------------------------------------------------------------------

/** What the checker looks at besides what it is told. */
export interface CheckTargets {
  readonly zone: ZonePageAllocator;
  readonly stack: NetStack;
  readonly nic: SwapNic;
  readonly floodSock: Sock;
  readonly tap: PacketSocket | null;
  readonly reclaim: Reclaim;
  readonly groups: SwapReserveGroups | null;
  /** Tasks that must not hold PF_MEMALLOC between steps (user tasks, rpciod outside its sends). */
  readonly quietTasks: readonly TaskStruct[];
}

/** Counts of what was seen, reported whether or not the corresponding invariant applies. */
export class CheckerObservations {
  /** Received skbs built tagged. */
  taggedRx = 0;
  /** Tagged received skbs still held at the end of their step by something other than a memalloc socket. */
  taggedStray = 0;
  /** Tagged skbs found on floodSock. */
  taggedOnFloodSock = 0;
  /** Tagged received skbs a tap kept; tagged transmit clones a tap kept (mainline has no rule for those). */
  taggedOnTapRx = 0;
  taggedOnTapTx = 0;
  /** Tagged non-IP frames handed up. */
  taggedNonIp = 0;
  /** Objects of tagged slabs handed out (to entitled callers). */
  taggedSlabObjects = 0;
  /** Largest dip = max(0, MIN − free) after any allocation. */
  maxDip = 0;
  /** Step of the latest recovery: free above LOW for a whole step after having been at or below it; or -1. */
  recoveredAt = -1;
  /** Flood frames offered to floodSock past sk_filter since the latest recovery. */
  floodAfterRecovery = 0;
  /** Frag caches refilled since the latest recovery that then handed out buffers. */
  cachesRefilledAfterRecovery = 0;
}

const NR = 11;

export class InvariantChecker implements AllocObserver, RxObserver, TxObserver, ReclaimObserver, WorkloadObserver {
  readonly mode: ModeSpec;
  readonly t: CheckTargets;
  readonly violations = new Int32Array(NR);
  readonly first: (string | null)[] = new Array<string | null>(NR).fill(null);
  readonly seen = new CheckerObservations();
  step = 0;

  private readonly caches: PageFragCache[];
  private readonly armedEpoch: Int32Array;
  private readonly refilledSeen: Uint8Array;
  private armed = false;
  private prevAboveLow = false;
  private pressure = false;
  private readonly recSkb: (SkBuff | null)[];
  private readonly recGen: Int32Array;
  private nRec = 0;
  private protoExpected = 0;
  private protoDropBase = 0;
  private floodQueued = 0;
  private floodOffered = 0;
  private tapQueued = 0;
  private overrunsSeen = 0;

  constructor(mode: ModeSpec, targets: CheckTargets, maxRxPerStep: number) {
    this.mode = mode;
    this.t = targets;
    this.caches = [...targets.nic.netdevCaches, ...targets.nic.napiCaches];
    this.armedEpoch = new Int32Array(this.caches.length);
    this.refilledSeen = new Uint8Array(this.caches.length);
    this.recSkb = new Array<SkBuff | null>(maxRxPerStep).fill(null);
    this.recGen = new Int32Array(maxRxPerStep);
    this.floodQueued = targets.floodSock.stats.queued;
    this.floodOffered = this.floodPastFilter();
    this.tapQueued = targets.tap?.stats.queued ?? 0;
  }

  /** Record a violation of invariant `id` (the first message is kept). */
  fail(id: number, detail: string): void {
    this.violations[id]!++;
    if (this.first[id] === null) this.first[id] = `step ${this.step}: ${detail}`;
  }

  private applies(id: number): boolean {
    return INVARIANTS[id - 1]!.notApplicable(this.mode) === null;
  }

  // ---- AllocObserver (invariants 1, 5) ----

  onPageAlloc(gfp: number, allocFlags: number, outcome: number, freeAfter: number, floor: number): void {
    const v = floorViolation(allocFlags, outcome, freeAfter, floor);
    if (v !== null) this.fail(1, v);
    const n = nomemallocViolation(gfp, outcome);
    if (n !== null) this.fail(5, n);
    const dip = this.t.zone.zone.min - freeAfter;
    if (dip > this.seen.maxDip) this.seen.maxDip = dip;
  }

  // ---- RxObserver (invariants 2, 4, 5, 6, 10) ----

  onRxSkb(skb: SkBuff, cache: PageFragCache, epoch: number, pageTagged: boolean): void {
    const p = propagationViolation(pageTagged, skb.pfmemalloc, 'build_skb on a tagged page');
    if (p !== null) this.fail(6, p);
    if (this.armed) {
      const c = this.caches.indexOf(cache);
      if (c >= 0 && epoch > this.armedEpoch[c]!) {
        if (this.refilledSeen[c] === 0) {
          this.refilledSeen[c] = 1;
          this.seen.cachesRefilledAfterRecovery++;
        }
        const r = reverseViolation(true, epoch, this.armedEpoch[c]!, skb.pfmemalloc);
        if (r !== null && this.applies(10)) this.fail(10, `${cache.name}: ${r}`);
      }
    }
    if (!skb.pfmemalloc) return;
    this.seen.taggedRx++;
    if (this.nRec < this.recSkb.length) {
      this.recSkb[this.nRec] = skb;
      this.recGen[this.nRec] = skb.gen;
      this.nRec++;
    }
  }

  onRxProtocol(skb: SkBuff): void {
    if (skb.pfmemalloc && !skbPfmemallocProtocol(skb)) {
      this.seen.taggedNonIp++;
      if (this.t.stack.pfmemallocRulesActive()) this.protoExpected++;
    }
  }

  onRxFlags(before: number, after: number): void {
    if (pfMemallocLeak(before, after)) this.fail(5, 'PF_MEMALLOC changed across netif_receive_skb');
  }

  /** Around a whole softirq (the borrowed task's flags before __do_softirq and after it). */
  onSoftirqFlags(before: number, after: number, cpu: number): void {
    if (pfMemallocLeak(before, after)) this.fail(5, `PF_MEMALLOC changed across the softirq on CPU ${cpu}`);
  }

  // ---- TxObserver (invariants 6, 7) ----

  onSlabObject(kmem: KmemAllocator, handle: number, gfp: number): void {
    if (slabIsPfmemalloc(kmem, objFrame(handle))) this.seen.taggedSlabObjects++;
    const v = slabViolation(kmem, handle, gfp);
    if (v !== null) this.fail(7, v);
  }

  onFragAttach(skb: SkBuff, frame: number): void {
    const v = propagationViolation(skb.env.pages.isPfmemalloc(frame), skb.pfmemalloc, 'frag attach of a tagged page');
    if (v !== null) this.fail(6, v);
  }

  onDerived(orig: SkBuff, derived: SkBuff): void {
    const v = propagationViolation(orig.pfmemalloc, derived.pfmemalloc, 'clone');
    if (v !== null) this.fail(6, v);
  }

  // ---- ReclaimObserver, WorkloadObserver (invariant 8) ----

  onDirectReclaim(task: TaskStruct): void {
    const v = throttleViolation(this.t.zone, task);
    if (v !== null) this.fail(8, v);
  }

  onTaskRuns(i: number): void {
    if (this.t.reclaim.isParked(i)) this.fail(8, `task ${i} ran while parked on pfmemalloc_wait`);
  }

  // ---- per step ----

  beginStep(step: number): void {
    this.step = step;
    this.nRec = 0;
    this.protoExpected = 0;
    this.protoDropBase = this.t.stack.stats.dropPfmemallocProto;
  }

  /** After every CPU's softirq work of the step: invariants 2, 3, 4. */
  afterSoftirq(): void {
    const t = this.t;
    const stack = t.stack;
    let stray = 0;
    for (let i = 0; i < this.nRec; i++) {
      if (taggedFate(stack, this.recSkb[i]!, this.recGen[i]!) === FATE_STRAY) stray++;
      this.recSkb[i] = null;
    }
    this.nRec = 0;
    const fs = t.floodSock;
    const newFlood = fs.stats.queued - this.floodQueued;
    this.floodQueued = fs.stats.queued;
    const onFlood = newFlood > 0 ? taggedAmongNewest(fs.receiveQueue, newFlood) : 0;
    this.seen.taggedStray += stray;
    this.seen.taggedOnFloodSock += onFlood;
    if (this.applies(2) && stray + onFlood > 0) this.fail(2, `${stray} tagged skb(s) held outside a memalloc socket, ${onFlood} of them on floodSock`);
    const tap = t.tap;
    if (tap !== null) {
      const n = tap.stats.queued - this.tapQueued;
      this.tapQueued = tap.stats.queued;
      if (n > 0) {
        const rx = taggedAmongNewest(tap.sk.receiveQueue, n, true);
        this.seen.taggedOnTapRx += rx;
        this.seen.taggedOnTapTx += taggedAmongNewest(tap.sk.receiveQueue, n) - rx;
        if (rx > 0 && this.applies(3)) this.fail(3, `the tap kept ${rx} tagged received skb(s)`);
      }
    }
    const v = protoFilterViolation(this.protoExpected, stack.stats.dropPfmemallocProto - this.protoDropBase);
    if (v !== null && this.applies(4)) this.fail(4, v);
  }

  /** End of the step: invariants 1 (step part), 8 (wait queue), 10 (recovery). */
  endStep(): void {
    const t = this.t;
    const z = t.zone;
    const overruns = z.stats.reserveOverruns - this.overrunsSeen;
    this.overrunsSeen = z.stats.reserveOverruns;
    if (this.mode.rxRules) {
      const o = overrunViolation(overruns);
      if (o !== null) this.fail(1, o);
    }
    if (t.groups !== null) {
      for (const g of t.groups.all()) {
        const v = groupViolation(g);
        if (v !== null) this.fail(1, v);
      }
    }
    const w = waitqueueViolation(z.kswapdAwake, t.reclaim.waiters);
    if (w !== null) this.fail(8, w);
    for (const task of t.quietTasks) if ((task.flags & PF_MEMALLOC) !== 0) this.fail(5, `${task.comm} still has PF_MEMALLOC after the step`);
    const aboveLow = z.freePages > z.zone.low + z.zone.pagesEmerg;
    const offered = this.floodPastFilter();
    if (this.armed) this.seen.floodAfterRecovery += offered - this.floodOffered;
    this.floodOffered = offered;
    if (!aboveLow) {
      this.armed = false;
      this.pressure = true;
    } else if (this.prevAboveLow && !this.armed) {
      this.armed = true;
      for (let c = 0; c < this.caches.length; c++) this.armedEpoch[c] = this.caches[c]!.epoch;
      if (this.pressure) {
        this.pressure = false;
        this.seen.recoveredAt = this.step;
        this.seen.floodAfterRecovery = 0;
        this.seen.cachesRefilledAfterRecovery = 0;
        this.refilledSeen.fill(0);
      }
    }
    this.prevAboveLow = aboveLow;
  }

  /**
   * End of a run whose workload exited at `exitStep` (invariant 10): memory must have recovered after it, and
   * with the flood still on, a refilled cache must have fed floodSock untagged traffic again.
   */
  finishRecovery(exitStep: number, floodActive: boolean): void {
    if (!this.applies(10)) return;
    const s = this.seen;
    if (!this.armed || s.recoveredAt < 0) this.fail(10, `free did not stay above LOW after the workload exited at step ${exitStep}`);
    else if (floodActive && (s.cachesRefilledAfterRecovery === 0 || s.floodAfterRecovery === 0)) {
      this.fail(10, `after recovery at step ${s.recoveredAt}: ${s.cachesRefilledAfterRecovery} cache(s) refilled, ${s.floodAfterRecovery} flood frames offered to floodSock`);
    }
  }

  /** Flood frames that reached floodSock past sk_filter (queued, or refused for its own buffer). */
  private floodPastFilter(): number {
    const s = this.t.floodSock.stats;
    return s.queued + s.rcvbufDrops + s.memDrops;
  }

  /** One InvariantCheck per invariant but liveness (the scenario adds that one). */
  report(): InvariantCheck[] {
    const out: InvariantCheck[] = [];
    for (const inv of INVARIANTS) {
      if (inv.id === 9) continue;
      const na = inv.notApplicable(this.mode);
      const n = this.violations[inv.id]!;
      const name = `${inv.id} ${inv.name}`;
      if (na !== null) out.push({ name, ok: true, detail: `not applicable (${na}); observed: ${this.observedFor(inv.id)}` });
      else out.push({ name, ok: n === 0, detail: n === 0 ? `held (${this.observedFor(inv.id)})` : `${n} violation(s); first at ${this.first[inv.id]}` });
    }
    return out;
  }

  private observedFor(id: number): string {
    const s = this.seen;
    switch (id) {
      case 1: return `max dip ${s.maxDip}, overruns ${this.t.zone.stats.reserveOverruns}`;
      case 2: return `${s.taggedRx} tagged received, ${s.taggedStray} stray, ${s.taggedOnFloodSock} on floodSock`;
      case 3: return `${s.taggedOnTapRx} tagged received and ${s.taggedOnTapTx} tagged transmitted skbs kept by the tap`;
      case 4: return `${s.taggedNonIp} tagged non-IP frames`;
      case 6: return `${s.taggedRx} tagged received skbs`;
      case 7: return `${s.taggedSlabObjects} tagged slab objects handed out`;
      case 10: return `recovered at step ${s.recoveredAt}, ${s.cachesRefilledAfterRecovery} caches refilled, ${s.floodAfterRecovery} flood frames offered after`;
      default: return `${this.violations[id]} violation(s)`;
    }
  }
}
