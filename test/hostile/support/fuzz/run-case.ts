/**
 * Run one fuzz case (case.ts) against the real netback and judge it. Deterministic: the same case gives the
 * same run, so a saved case replays its failure.
 *
 * The world is the netback suites' (test/drivers/netback/support.ts): dom0 with netback, the hand-written
 * guest as dom1, which here plays every step of the case through the real ring, grant, event-channel and
 * xenstore interfaces, with the injectors of src/sim/faults where a step calls for one.
 *
 * After every case, whatever it did:
 * - nothing escaped: any exception from netback, the stack or the hypervisor fails the case (`exception`);
 * - no loop: a step that runs more than LIVELOCK_CALLBACKS clock callbacks fails it (`hang`);
 * - bounded memory: dom0's watch queue, netback's deferred state, the guest-RX queue and the multicast
 *   list stay under their bounds; once the stack has let go, no pending slot and no mapping is left
 *   (`invariant`);
 * - every request answered exactly once, or the vif disabled: every TX status is OKAY, ERROR or NULL, never
 *   more answers than slots consumed; and while the ring was used honestly in one connection (no producer
 *   lie, no reconnect), the answers are exactly those a reference reading of the slots the guest wrote
 *   calls for: one per request (by id, as a multiset), a NULL per extra, all consumed (`invariant`);
 * - the teardown audit is clean: the guest ends every grant (none still mapped), netback is removed, the
 *   hypervisor and dom0's sk_buff audits find nothing (`leak`).
 */
import { NETTXF_extra_info, NETTXF_more_data, XEN_NETIF_EXTRA_FLAG_MORE, XEN_NETIF_EXTRA_TYPE_MAX, XEN_NETIF_EXTRA_TYPE_MCAST_ADD, XEN_NETIF_EXTRA_TYPE_MCAST_DEL } from '../../../../src/abi/netif.ts';
import { SIZEOF_SRING_HEADER } from '../../../../src/abi/ring.ts';
import { AuditFailure } from '../../../../src/errors.ts';
import { GFP_KERNEL } from '../../../../src/mm/gfp.ts';
import { SKB_GSO_TCPV4, allocSkb, kfreeSkb, skbAddRxFrag, skbClone, skbPutData, skbReserve, type SkBuff } from '../../../../src/skb/index.ts';
import {
  XENVIF_RX_QUEUE_BYTES, XEN_NETBK_MCAST_MAX, type NetbackTraceEvent, type XenvifQueue,
} from '../../../../src/drivers/netback/index.ts';
import { EventStorm, GrantFlipper, RingSlotCorrupter, XenstoreFlapper } from '../../../../src/sim/faults/index.ts';
import { Prng } from '../../../../src/sim/prng.ts';
import { TestGuest, frame, nbWorld, run, teardown, type NbWorld } from '../../../drivers/netback/support.ts';
import type { FuzzCase, GrefSpec, SlotSpec, Step } from './case.ts';

export type FailureKind = 'exception' | 'hang' | 'invariant' | 'leak';

export interface CaseStats {
  slotsWritten: number;
  txResponses: number;
  delivered: number;
  rxResponses: number;
  disabled: boolean;
  fatalReason: string | null;
  /** The exact (reference-reading) check applied. */
  exact: boolean;
  corruptions: number;
  storms: number;
}

export interface CaseResult {
  readonly ok: boolean;
  readonly kind?: FailureKind;
  readonly message?: string;
  readonly stats: CaseStats;
}

/** Clock callbacks one step may run before the case counts as looping. */
export const LIVELOCK_CALLBACKS = 60_000;
/** Fresh pages one case may grant (the guest has a few hundred frames). */
const FRESH_GRANTS_MAX = 250;

class Livelock extends Error {}
class Violation extends Error {}

function violation(cond: boolean, msg: string): void {
  if (!cond) throw new Violation(msg);
}

/** The 12 bytes of a TX slot as the guest writes them. */
function slotBytes(s: SlotSpec, gref: number): Uint8Array {
  const b = new Uint8Array(12);
  const v = new DataView(b.buffer);
  if (s.t === 'req') {
    v.setUint32(0, gref >>> 0, true);
    v.setUint16(4, s.offset & 0xffff, true);
    v.setUint16(6, s.flags & 0xffff, true);
    v.setUint16(8, s.id & 0xffff, true);
    v.setUint16(10, s.size & 0xffff, true);
  } else {
    b[0] = s.type & 0xff;
    b[1] = s.flags & 0xff;
    for (let i = 0; i < 6; i++) b[2 + i] = s.bytes[i]! & 0xff;
  }
  return b;
}

/** What a correct backend answers for the slots [start, end) the guest wrote (REFERENCE §2.3, §5.3-5.4). */
function expectedAnswers(written: Map<number, Uint8Array>, start: number, end: number): { ids: number[]; nulls: number } | string {
  const ids: number[] = [];
  let nulls = 0;
  let i = start;
  const at = (k: number): DataView | null => {
    const b = written.get(k >>> 0);
    return b === undefined ? null : new DataView(b.buffer);
  };
  while (i !== end) {
    const first = at(i);
    if (first === null) return `slot ${i} consumed but never written`;
    i = (i + 1) >>> 0;
    const flags = first.getUint16(6, true);
    let extras = 0;
    let mcast = false;
    if ((flags & NETTXF_extra_info) !== 0) {
      let more: boolean;
      do {
        if (i === end) return 'a packet\'s extras run past what was consumed';
        const x = at(i)!;
        i = (i + 1) >>> 0;
        extras++;
        const type = x.getUint8(0);
        if (type === 0 || type >= XEN_NETIF_EXTRA_TYPE_MAX) return `extra of type ${type} accepted`;
        if (type === XEN_NETIF_EXTRA_TYPE_MCAST_ADD || type === XEN_NETIF_EXTRA_TYPE_MCAST_DEL) mcast = true;
        more = (x.getUint8(1) & XEN_NETIF_EXTRA_FLAG_MORE) !== 0;
      } while (more);
    }
    ids.push(first.getUint16(8, true));
    nulls += extras;
    if (mcast) continue;
    let prev = flags;
    while ((prev & NETTXF_more_data) !== 0) {
      if (i === end) return 'a chain runs past what was consumed';
      const f = at(i)!;
      i = (i + 1) >>> 0;
      ids.push(f.getUint16(8, true));
      prev = f.getUint16(6, true);
    }
  }
  return { ids, nulls };
}

function multiset(xs: readonly number[]): string {
  return [...xs].sort((a, b) => a - b).join(',');
}

/** A dom0 packet of `len` bytes: up to 2000 linear, the rest in page frags. */
function stackSkb(w: NbWorld, len: number, seed: number, gso: boolean): SkBuff | null {
  const bytes = frame(len, seed, { tcp: len >= 54 });
  const linear = Math.min(len, 2000);
  const skb = allocSkb(w.env, linear + 64);
  if (skb === null) return null;
  skbReserve(skb, 64);
  skbPutData(skb, bytes.subarray(0, linear));
  let i = 0;
  for (let at = linear; at < len && i < 16; at += 3000, i++) {
    const n = Math.min(3000, len - at);
    const page = w.pa.allocPage(GFP_KERNEL);
    if (page < 0) break;
    w.t.hv.mem.write(0, page, 100, bytes.subarray(at, at + n), 0, n);
    skbAddRxFrag(skb, i, page, 100, n, 4096);
  }
  if (gso && skb.len > 1000) {
    skb.shinfo.gsoSize = 1000;
    skb.shinfo.gsoType = SKB_GSO_TCPV4;
  }
  return skb;
}

/** Drive one case. Mutable state of the run lives here. */
class CaseRun {
  readonly c: FuzzCase;
  readonly w: NbWorld;
  readonly g: TestGuest;
  readonly prng: Prng;
  readonly flip: GrantFlipper;
  readonly grants: number[] = [];
  readonly written = new Map<number, Uint8Array>();
  readonly stats: CaseStats = {
    slotsWritten: 0, txResponses: 0, delivered: 0, rxResponses: 0, disabled: false, fatalReason: null, exact: true,
    corruptions: 0, storms: 0,
  };
  readonly responses: { id: number; status: number }[] = [];
  q0: XenvifQueue | null = null;
  corrupter: RingSlotCorrupter | null = null;
  fired = 0;
  fresh = 0;

  constructor(c: FuzzCase, seed: number, trace: ((line: string) => void) | null) {
    this.c = c;
    this.prng = new Prng(seed);
    this.w = nbWorld({
      strategy: c.strategy, hold: c.hold, frames: 1400, dom0Frames: 560, guestFrames: 640,
      ...(trace === null ? {} : { onTrace: (e: NetbackTraceEvent) => trace(`${e.time} ${e.kind} pi=${e.pendingIdx} id=${e.id} gref=${e.gref} status=${e.status} bytes=${e.bytes}`) }),
    });
    const clock = this.w.t.clock;
    const set = clock.setTimer.bind(clock);
    clock.setTimer = (delay: number, fn: () => void) => set(delay, () => {
      if (++this.fired > LIVELOCK_CALLBACKS) throw new Livelock(`more than ${LIVELOCK_CALLBACKS} clock callbacks in one step`);
      fn();
    });
    this.g = new TestGuest(this.w, { split: c.split, ringStart: c.ringStart, rxNotify: c.rxNotify });
    this.flip = new GrantFlipper(this.g.dom);
  }

  connect(): void {
    const c = this.c;
    if (c.xdpHeadroom !== null) this.g.write('xdp-headroom', c.xdpHeadroom);
    this.g.connect();
    this.q0 = this.g.be.vif?.queues[0] ?? null;
    if (this.q0?.tx != null && c.corrupt > 0) {
      this.corrupter = new RingSlotCorrupter(this.q0.tx, { prng: this.prng.fork('corrupt'), rate: c.corrupt, window: 'consumed', bytesPerHit: 8 }).install();
    }
  }

  private gref(spec: GrefSpec): number {
    const g = this.g;
    if (spec.kind === 'raw') return spec.v >>> 0;
    if (spec.kind === 'again' && this.grants.length > 0) return this.grants[spec.i % this.grants.length]!;
    if (this.fresh >= FRESH_GRANTS_MAX) return this.grants.length > 0 ? this.grants[this.fresh++ % this.grants.length]! : 0;
    this.fresh++;
    const seed = spec.kind === 'again' ? 0 : spec.seed;
    const { ref } = g.grantData(frame(4096, seed), 0);
    if (spec.kind === 'ended') g.dom.gnttab.gnttabEndForeignAccessRef(ref);
    this.grants.push(ref);
    return ref;
  }

  step(s: Step): void {
    this.fired = 0;
    const w = this.w;
    const g = this.g;
    switch (s.k) {
      case 'tx': {
        const tx = g.tx[0];
        if (tx === undefined) return;
        const unanswered = (tx.reqProdPvt - tx.sring.rspProd) >>> 0;
        if (unanswered + s.slots.length > tx.nrEnts) return;   // never overwrite a slot not yet answered
        for (const slot of s.slots) {
          const bytes = slotBytes(slot, slot.t === 'req' ? this.gref(slot.gref) : 0);
          const idx = tx.reqProdPvt;
          tx.page.bytes.set(bytes, tx.page.base + SIZEOF_SRING_HEADER + (idx & (tx.nrEnts - 1)) * tx.entrySize);
          this.written.set(idx, bytes);
          tx.reqProdPvt = (idx + 1) >>> 0;
          this.stats.slotsWritten++;
        }
        if (s.prodLie !== 0) {
          this.stats.exact = false;
          tx.sring.reqProd = (tx.reqProdPvt + s.prodLie) >>> 0;
          if (s.notify) w.t.hv.evtchn.evtchnSend(g.dom, g.txPort[0]!);
        } else if (s.notify) {
          g.pushTx();
        } else {
          tx.sring.reqProd = tx.reqProdPvt;
        }
        return;
      }
      case 'grant':
        if (this.grants.length > 0) this.flip.apply(this.grants[s.i % this.grants.length]!, s.m);
        return;
      case 'storm': {
        const ports = g.txPort.length === 0 ? [] : s.rx ? [g.txPort[0]!, g.rxPort[0]!] : [g.txPort[0]!];
        new EventStorm(w.t.hv.evtchn, g.dom, ports).burst(s.n);
        this.stats.storms += s.n;
        return;
      }
      case 'xs':
        if (s.key === 'state' || s.key === 'multi-queue-num-queues') this.stats.exact = false;
        new XenstoreFlapper(w.t.hv.xs, 1, g.fe, s.key, s.values).flap(s.n);
        return;
      case 'rx':
        this.rx(s);
        return;
      case 'stack':
        this.stack(s.op);
        return;
      case 'run':
        run(w, s.us * 1000);
        return;
    }
  }

  private rx(s: Extract<Step, { k: 'rx' }>): void {
    const g = this.g;
    const r = g.rx[0];
    if (r === undefined) return;
    this.stats.rxResponses += g.rxResponses().length;
    const room = r.nrEnts - ((r.reqProdPvt - r.rspCons) >>> 0);
    const post = Math.min(s.post, room);
    const first = r.reqProdPvt;
    if (post > 0) g.postRx(post);
    for (let k = 0; k < post; k++) {
      const idx = (first + k) >>> 0;
      const slot = r.page.base + SIZEOF_SRING_HEADER + (idx & (r.nrEnts - 1)) * r.entrySize;
      if (k < s.bad) r.page.view.setUint32(slot + 4, this.prng.nextU32(), true);
      else if (k < s.bad + s.readonly) g.dom.gnttab.gnttabGrantDowngradeReadonly(g.rxPosted[0]!.get(idx)!.ref);
    }
    for (const len of s.sizes) {
      const skb = stackSkb(this.w, len, len & 0xff, s.gso);
      if (skb === null) continue;
      const vif = g.be.vif;
      if (vif === null) kfreeSkb(skb);
      else vif.ndoStartXmit(skb);
    }
  }

  private stack(op: 'free' | 'clone'): void {
    const held = this.w.held;
    if (op === 'free') {
      for (const skb of held.splice(0)) kfreeSkb(skb);
      return;
    }
    const skb = held.shift();
    if (skb === undefined) return;
    const clone = skbClone(skb);
    kfreeSkb(skb);
    if (clone !== null) held.push(clone);
  }

  /** Let go of everything, let the backend settle, and check what must hold before teardown. */
  settleAndCheck(): void {
    const w = this.w;
    const g = this.g;
    this.corrupter?.uninstall();
    this.stats.corruptions = this.corrupter?.hits ?? 0;
    this.flip.restoreAll();
    // The session ends with one honest kick: requests published without a notify are looked at now. Then
    // the stack lets go of everything, including what the kick delivers (a few rounds: bounded).
    if (g.txPort.length > 0 && g.dom.state === 'alive') w.t.hv.evtchn.evtchnSend(g.dom, g.txPort[0]!);
    for (let round = 0; round < 4; round++) {
      for (const skb of w.held.splice(0)) kfreeSkb(skb);
      this.fired = 0;
      run(w, 10_000_000);
    }
    violation(w.held.length === 0, 'the backend kept delivering after the guest stopped');
    this.stats.delivered = w.frames.length;
    if (g.tx[0] !== undefined) this.responses.push(...g.txResponses());
    this.stats.txResponses = this.responses.length;
    if (g.rx[0] !== undefined) this.stats.rxResponses += g.rxResponses().length;
    const vif = g.be.vif;
    this.stats.disabled = vif?.disabled ?? false;
    this.stats.fatalReason = vif?.fatalReason ?? null;

    // Bounded memory.
    violation(w.t.hv.xs.pendingWatchEvents <= 16, `${w.t.hv.xs.pendingWatchEvents} watch events queued`);
    violation(w.t.hv.xs.droppedEvents === 0, `${w.t.hv.xs.droppedEvents} watch events dropped`);
    violation(g.be.deferred.length <= 1, `${g.be.deferred.length} deferred frontend states`);
    for (const q of vif?.queues ?? []) {
      violation(q.rxQueueLen <= XENVIF_RX_QUEUE_BYTES + 65536, `guest-RX queue holds ${q.rxQueueLen} bytes`);
      violation(q.stats.pendingInUse === 0 && q.nrMapped === 0, `after the stack let go: ${q.stats.pendingInUse} pending slots, ${q.nrMapped} mapped`);
      violation(q.deallocProd === q.deallocCons, 'dealloc ring not drained');
    }
    violation((vif?.mcastAddrs.length ?? 0) <= XEN_NETBK_MCAST_MAX, 'multicast list past its bound');

    // Answers: only OKAY / ERROR / NULL, never more than the slots consumed.
    for (const r of this.responses) violation(r.status === 0 || r.status === -1 || r.status === 1, `TX status ${r.status}`);
    violation(this.responses.length <= this.stats.slotsWritten + 256, 'more answers than slots');

    const q = vif?.queues[0];
    const sameConnection = q !== undefined && q === this.q0 && q.tx !== null;
    if (!sameConnection || !this.stats.exact) {
      this.stats.exact = false;
      return;
    }
    const tx = q.tx!;
    const start = this.c.ringStart >>> 0;
    const consumed = tx.reqCons;
    if (this.stats.disabled) {
      // Fatal: some answers may be missing, none may be made up or repeated beyond what was consumed.
      const exp = expectedAnswers(this.written, start, consumed);
      if (typeof exp !== 'string') {
        const seen = multiset(this.responses.filter((r) => r.status !== 1).map((r) => r.id));
        violation(this.responses.filter((r) => r.status !== 1).length <= exp.ids.length, `disabled vif answered more (${seen}) than consumed`);
      }
      return;
    }
    violation(consumed === g.tx[0]!.sring.reqProd, `live vif left requests unconsumed: req_cons ${consumed}, req_prod ${g.tx[0]!.sring.reqProd}`);
    violation(g.tx[0]!.sring.rspProd === consumed, `rsp_prod ${g.tx[0]!.sring.rspProd} ≠ req_cons ${consumed}: a slot unanswered or answered twice`);
    const exp = expectedAnswers(this.written, start, consumed);
    if (typeof exp === 'string') throw new Violation(`live vif, but ${exp}`);
    const got = this.responses.filter((r) => r.status !== 1).map((r) => r.id);
    violation(multiset(got) === multiset(exp.ids), `answered ids ${multiset(got)} ≠ requests ${multiset(exp.ids)}`);
    violation(this.responses.length - got.length === exp.nulls, `${this.responses.length - got.length} NULL answers for ${exp.nulls} extras`);
  }
}

/** The injectors' seed for a case: a hash of its JSON, so a saved case replays alone. */
export function seedOf(c: FuzzCase): number {
  const s = JSON.stringify(c);
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** Run `c` (injectors seeded from `seed`, by default from the case itself); never throws. `trace` gets
 * netback's trace, one line per event. */
export function runCase(c: FuzzCase, seed = seedOf(c), trace: ((line: string) => void) | null = null): CaseResult {
  let r: CaseRun | null = null;
  try {
    r = new CaseRun(c, seed, trace);
    r.connect();
    for (const s of c.steps) r.step(s);
    r.settleAndCheck();
    r.fired = -1e9; // teardown may run long disconnects; it is bounded by its own fixed run lengths
    teardown(r.w, r.g);
    return { ok: true, stats: r.stats };
  } catch (e) {
    const stats = r?.stats ?? ({} as CaseStats);
    const err = e as Error;
    if (e instanceof Livelock) return { ok: false, kind: 'hang', message: err.message, stats };
    if (e instanceof Violation) return { ok: false, kind: 'invariant', message: err.message, stats };
    if (e instanceof AuditFailure || /still mapped|still busy/.test(err?.message ?? '')) {
      return { ok: false, kind: 'leak', message: err.message, stats };
    }
    return { ok: false, kind: 'exception', message: `${err?.name ?? 'Error'}: ${err?.message ?? String(e)}\n${(err?.stack ?? '').split('\n').slice(1, 6).join('\n')}`, stats };
  }
}
