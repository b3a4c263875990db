/**
 * The soak: several well-behaved guests (the real netfront, domains 2..N, each vif with a random TX strategy)
 * send at full rate through netback while a hostile guest (the hand-written raw guest, domain 1) misbehaves in
 * every way the hostile suites know, gets disabled, dies mid-stream, and comes back as a new domain. dom0's
 * "stack" plays the backend side at random: it consumes, holds for a while, clones for a tap, or forwards a
 * packet to another vif (guest to guest, gref to gref). Good guests disconnect and reconnect now and then.
 *
 * Checked at every step:
 * - nothing escapes (any exception ends the soak as a failure);
 * - every live grant is accounted for: dom0's foreign mappings equal the ring pages of the connected queues
 *   plus the slots netback says it holds mapped (nothing mapped behind its back, nothing forgotten);
 * - bounded: dom0's watch queue, each backend's deferred state and guest-RX queue stay under their caps;
 * - the good guests are never marked broken by their frontend (netback never misbehaves toward them).
 * And over the run: each good guest's packets keep reaching the stack while the hostile one is disabled or
 * dead. At the end everything is released and removed, and the hypervisor audit (against the baseline of
 * dom0 alone), dom0's sk_buff audit and each guest's are clean.
 *
 * Deterministic for a seed; bounded by a step count and a wall-clock budget.
 */
import { auditHypervisor, snapshot } from '../../../../src/hv/audit.ts';
import { ManualClock } from '../../../../src/hv/clock.ts';
import type { Domain } from '../../../../src/hv/domain.ts';
import { Hypervisor } from '../../../../src/hv/hypervisor.ts';
import { IrqDispatcher } from '../../../../src/drivers/evtchn-irq.ts';
import {
  Netback, TX_STRATEGIES, XENVIF_RX_QUEUE_BYTES, netbackRemove, type TxStrategy, type XenVif,
} from '../../../../src/drivers/netback/index.ts';
import { FlatPageAllocator } from '../../../../src/mm/page-allocator.ts';
import { NETDEV_TX_OK, type NetDevice } from '../../../../src/net/netdevice.ts';
import { SkbAudit, SkbEnv, consumeSkb, kfreeSkb, skbClone, skbPush, type SkBuff } from '../../../../src/skb/index.ts';
import { EventStorm, XenstoreFlapper } from '../../../../src/sim/faults/index.ts';
import { Prng } from '../../../../src/sim/prng.ts';
import { TestGuest, frame, run, type NbWorld } from '../../../drivers/netback/support.ts';
import { netfrontGuest, type GoodGuest } from '../fixtures.ts';

export interface SoakOptions {
  readonly seed: number;
  readonly steps: number;
  readonly seconds: number;
  /** Well-behaved guests (default 3). */
  readonly goodGuests?: number;
  readonly log?: (line: string) => void;
}

export interface SoakReport {
  seed: number;
  steps: number;
  ms: number;
  virtualMs: number;
  goodSent: number;
  goodDelivered: number;
  goodReceived: number;
  /** Good-guest packets that reached the stack while the hostile guest was disabled or dead. */
  goodDeliveredWhileHostileDown: number;
  hostileSessions: number;
  hostileDisabled: number;
  hostileDeaths: number;
  hostilePackets: number;
  reconnects: number;
  held: number;
  clones: number;
  forwards: number;
  maxForeignMappings: number;
  failure: string | null;
  findings: string[];
}

const SOUND: readonly TxStrategy[] = TX_STRATEGIES.filter((s) => s !== 'plain-ref');

class Soak {
  readonly o: SoakOptions;
  readonly prng: Prng;
  readonly clock = new ManualClock();
  readonly hv: Hypervisor;
  readonly dom0: Domain;
  readonly irq: IrqDispatcher;
  readonly env: SkbEnv;
  readonly dom0Audit: SkbAudit;
  readonly nb: Netback;
  readonly w: NbWorld;
  readonly baseline: ReturnType<typeof snapshot>;
  readonly good: GoodGuest[] = [];
  readonly reconnecting = new Set<GoodGuest>();
  hostile: TestGuest | null = null;
  hostileDom: Domain | null = null;
  /** The hostile guest's domain is dying or its backend is still tearing down: wait before a new one. */
  hostileGone = 0;
  readonly holds = new Set<SkBuff>();
  readonly r: SoakReport;

  constructor(o: SoakOptions) {
    this.o = o;
    this.prng = new Prng(o.seed);
    this.hv = new Hypervisor({ frames: 12288, clock: this.clock });
    this.dom0 = this.hv.createDomain({ domid: 0, frames: 3072, name: 'dom0' });
    this.hv.xs.processWatches();
    this.irq = new IrqDispatcher(this.hv);
    this.env = new SkbEnv(new FlatPageAllocator(this.hv.mem, 0, this.dom0.frames));
    this.dom0Audit = new SkbAudit(this.env);
    this.baseline = snapshot(this.hv);
    this.nb = new Netback({ hv: this.hv, irq: this.irq, dom: this.dom0, env: this.env, deliver: (skb, dev) => this.stack(skb, dev) });
    // The netback suites' world shape, so their raw guest and the netfront helper run on this machine.
    this.w = {
      t: { hv: this.hv, clock: this.clock, dom0: this.dom0, guest: this.dom0, baseline: this.baseline, audit: () => {} },
      irq: this.irq, pa: this.env.pages as FlatPageAllocator, env: this.env, audit: this.dom0Audit, nb: this.nb, held: [], frames: [],
    } as NbWorld;
    this.r = {
      seed: o.seed, steps: 0, ms: 0, virtualMs: 0, goodSent: 0, goodDelivered: 0, goodReceived: 0, goodDeliveredWhileHostileDown: 0,
      hostileSessions: 0, hostileDisabled: 0, hostileDeaths: 0, hostilePackets: 0, reconnects: 0, held: 0, clones: 0, forwards: 0,
      maxForeignMappings: 0, failure: null, findings: [],
    };
  }

  // ---- dom0's side ----------------------------------------------------------------------------------------

  /** What netback hands the stack: consumed, held a while, cloned for a tap, or forwarded to another vif. */
  private stack(skb: SkBuff, dev: NetDevice): void {
    const vif = dev as XenVif;
    if (vif.domid !== 1) {
      this.r.goodDelivered++;
      if (this.hostileDown()) this.r.goodDeliveredWhileHostileDown++;
    }
    const x = this.prng.next();
    if (x < 0.5) return consumeSkb(skb);
    if (x < 0.7) return this.hold(skb);
    if (x < 0.85) {
      const tap = skbClone(skb);
      consumeSkb(skb);
      if (tap !== null) {
        this.r.clones++;
        this.hold(tap);
      }
      return;
    }
    const targets = [...this.nb.backends.values()].map((b) => b.vif).filter((v): v is XenVif => v !== null && v !== vif);
    if (targets.length === 0) return consumeSkb(skb);
    this.r.forwards++;
    skbPush(skb, skb.data - skb.macHeader);
    this.prng.pick(targets).ndoStartXmit(skb);
  }

  private hold(skb: SkBuff): void {
    this.r.held++;
    this.holds.add(skb);
    this.clock.setTimer(this.prng.int(5_000, 800_000), () => {
      if (this.holds.delete(skb)) kfreeSkb(skb);
    });
  }

  private hostileDown(): boolean {
    return this.hostile === null || this.hostile.be.vif === null || this.hostile.vif.disabled || !this.hostile.vif.connected;
  }

  // ---- the guests -----------------------------------------------------------------------------------------

  private newHostile(): void {
    const dom = this.hv.createDomain({ domid: 1, frames: 700 });
    this.hostileDom = dom;
    const w = { ...this.w, t: { ...this.w.t, guest: dom } } as NbWorld;
    this.hostile = new TestGuest(w, { strategy: this.prng.pick(SOUND), split: this.prng.chance(0.5) });
    this.hostile.connect();
    this.hostile.postRx(64);
    this.r.hostileSessions++;
  }

  /** The hostile guest dies: its domain is destroyed with whatever it had in flight. */
  private killHostile(): void {
    const g = this.hostile!;
    for (const p of new Set([...g.txPort, ...g.rxPort])) this.irq.unbindFromIrqhandler(g.dom, p);
    this.hv.destroyDomain(g.dom);
    this.hostile = null;
    this.hostileGone = 1;
    this.r.hostileDeaths++;
  }

  /** One step of the hostile guest: mostly traffic, sometimes an attack, rarely death. */
  private hostileStep(): void {
    if (this.hostile === null) {
      // A new domain 1 only once the old one is reaped and its backend gone (the toolstack's order).
      const old = this.hostileDom;
      if (old !== null && old.state !== 'dead') return;
      if ([...this.nb.backends.keys()].some((k) => k.includes('/vif/1/'))) return;
      if (this.hostileGone > 0 && this.hostileGone++ < 5) return;
      this.newHostile();
      return;
    }
    const g = this.hostile;
    if (g.vif.disabled) {
      if (this.prng.chance(0.2)) this.killHostile();
      return;
    }
    const x = this.prng.next();
    const tx = g.tx[0]!;
    g.txResponses(); // read the answers (their ids come free)
    if (g.txGrants.size > 150) {
      // Take back pages no one maps any more (some may still sit in unanswered slots: their maps will fail).
      for (const ref of [...g.txGrants.keys()]) if (g.grantBusy(ref) === 0) g.endTxGrant(ref);
    }
    const room = 200 - ((tx.reqProdPvt - tx.rspCons) >>> 0);
    if (x < 0.5 && room > 24) {
      for (let i = 0; i < this.prng.int(1, 6); i++) {
        const len = this.prng.int(60, 9000);
        const slots = this.prng.int(1, Math.min(6, Math.ceil(len / 1500)));
        const each = Math.floor(len / slots);
        const layout = Array.from({ length: slots }, (_, k) => ({ size: k === 0 ? len - each * (slots - 1) : each }));
        if (layout.some((s) => s.size > 4096)) continue;
        g.sendPacket(frame(len, this.prng.int(0, 255), { tcp: this.prng.chance(0.5) }), { layout, push: false });
        this.r.hostilePackets++;
      }
      g.pushTx();
    } else if (x < 0.6 && room > 4) {
      const p = g.sendPacket(frame(300, 1), { push: false });
      const tx0 = g.tx[0]!;
      tx0.page.view.setUint32(tx0.entries + (p.start & 255) * tx0.entrySize, this.prng.nextU32(), true);
      g.pushTx();
    } else if (x < 0.7) {
      new EventStorm(this.hv.evtchn, g.dom, [g.txPort[0]!, g.rxPort[0]!]).burst(this.prng.int(100, 3000));
    } else if (x < 0.75) {
      new XenstoreFlapper(this.hv.xs, 1, g.fe, 'request-multicast-control', ['0', '1']).flap(200);
    } else if (x < 0.8 && room > 4) {
      // Fatal: a first slot crossing its page.
      const { ref } = g.grantData(frame(100, 2), 0);
      g.putTx({ gref: ref, offset: 4090, id: 1, size: 100 });
      g.pushTx();
      this.r.hostileDisabled++;
    } else if (x < 0.83) {
      this.killHostile();
    } else if (x < 0.9) {
      g.txResponses();
      g.rxResponses();
      const rx = g.rx[0]!;
      const free = rx.nrEnts - ((rx.reqProdPvt - rx.rspCons) >>> 0);
      // The raw guest keeps every RX page until it closes: post while it has pages to spare.
      if (free > 0 && g.rxPosted[0]!.size < 320) g.postRx(Math.min(free, 32));
    }
  }

  private goodStep(gg: GoodGuest): void {
    if (this.reconnecting.has(gg)) return;
    if (this.prng.chance(0.01)) {
      this.reconnecting.add(gg);
      this.r.reconnects++;
      gg.nf.close(() => {
        gg.nf.reconnect();
        this.reconnecting.delete(gg);
      });
      return;
    }
    for (let i = 0; i < 12; i++) {
      const len = this.prng.int(60, 9000);
      if (!gg.send(frame(len, this.prng.int(0, 255), { tcp: this.prng.chance(0.3) }))) break;
      this.r.goodSent++;
    }
  }

  // ---- checks -----------------------------------------------------------------------------------------------

  private check(): void {
    let expected = 0;
    for (const be of this.nb.backends.values()) {
      const vif = be.vif;
      if (vif === null) continue;
      if (be.deferred.length > 1) throw new Error(`${be.nodename}: ${be.deferred.length} deferred states`);
      for (const q of vif.queues) {
        expected += q.nrMapped + (q.txRingHandle >= 0 ? 1 : 0) + (q.rxRingHandle >= 0 ? 1 : 0);
        if (q.rxQueueLen > XENVIF_RX_QUEUE_BYTES + 65536) throw new Error(`${q.name}: guest-RX queue ${q.rxQueueLen} bytes`);
      }
    }
    const held = this.hv.mem.mappingsHeldBy(0);
    if (held !== expected) throw new Error(`dom0 holds ${held} foreign mappings, netback accounts for ${expected}`);
    if (held > this.r.maxForeignMappings) this.r.maxForeignMappings = held;
    if (this.dom0.grantTable.maptrackInUse !== held) throw new Error(`maptrack ${this.dom0.grantTable.maptrackInUse} ≠ mappings ${held}`);
    if (this.hv.xs.pendingWatchEvents > 64) throw new Error(`${this.hv.xs.pendingWatchEvents} watch events queued`);
    for (const gg of this.good) if (gg.nf.broken) throw new Error(`good guest dom${gg.dom.domid} marked netback broken: ${gg.nf.brokenReason}`);
  }

  // ---- the run ----------------------------------------------------------------------------------------------

  run(): SoakReport {
    const t0 = Date.now();
    try {
      const n = this.o.goodGuests ?? 3;
      for (let i = 0; i < n; i++) this.good.push(netfrontGuest(this.w, 2 + i, { strategy: this.prng.pick(SOUND), frames: 900 }));
      this.newHostile();
      const deadline = t0 + this.o.seconds * 1000;
      while (this.r.steps < this.o.steps && Date.now() < deadline) {
        for (const gg of this.good) this.goodStep(gg);
        this.hostileStep();
        run(this.w, this.prng.int(20_000, 300_000));
        for (const gg of this.good) {
          this.r.goodReceived += gg.received.length;
          gg.received.length = 0;
        }
        this.check();
        this.r.steps++;
        if (this.r.steps % 500 === 0) this.o.log?.(`  step ${this.r.steps}: ${this.r.goodDelivered} good packets delivered, hostile sessions ${this.r.hostileSessions}`);
      }
      this.teardown();
    } catch (e) {
      this.r.failure = `${(e as Error).name}: ${(e as Error).message}\n${((e as Error).stack ?? '').split('\n').slice(1, 5).join('\n')}`;
    }
    this.r.ms = Date.now() - t0;
    return this.r;
  }

  private teardown(): void {
    this.r.virtualMs = Math.round(this.clock.now() / 1e6);
    for (let i = 0; i < 200 && this.reconnecting.size > 0; i++) run(this.w, 1_000_000);
    for (const skb of this.holds) kfreeSkb(skb);
    this.holds.clear();
    run(this.w, 5_000_000);
    // Close every frontend first: a guest's pages may sit in another vif's RX queue (forwarded) until that
    // backend goes, so the guests' own audits wait until every backend is removed.
    for (const gg of this.good) gg.close();
    if (this.hostile !== null) {
      const g = this.hostile;
      if (g.be.vif !== null && !g.vif.disabled) {
        g.close();
        this.hv.destroyDomain(g.dom);
      } else {
        this.killHostile();
      }
    }
    run(this.w, 5_000_000);
    for (const be of [...this.nb.backends.values()]) netbackRemove(be);
    for (let i = 0; i < 100 && this.nb.backends.size > 0; i++) run(this.w, 1_000_000);
    run(this.w, 5_000_000);
    if (this.nb.backends.size !== 0) this.r.findings.push(`${this.nb.backends.size} backends never finished removing`);
    for (const gg of this.good) {
      try {
        gg.finish();
      } catch (e) {
        this.r.findings.push(`dom${gg.dom.domid}: ${(e as Error).message}`);
      }
    }
    this.r.findings.push(...auditHypervisor(this.hv, this.baseline), ...this.dom0Audit.findings());
  }
}

export function soak(o: SoakOptions): SoakReport {
  return new Soak(o).run();
}

export { NETDEV_TX_OK };
