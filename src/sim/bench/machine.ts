/**
 * The benchmark machine: dom0 running the real netback over a dom0 stack, and one guest running the real
 * netfront with the workload's sender (workload.ts). Built in two halves so that the worker-thread runtime
 * can put each half in its own thread: `buildBackendSide` (hypervisor, dom0, the device, netback, the sink)
 * and `buildGuestSide` (the guest kernel, its sender, netfront). `TxMachine` puts both on one deterministic
 * scheduler: the single-thread reference run.
 *
 * (sim/world.ts, the general machine builder, was not there when this was written; this builds only what
 * the TX benchmark needs.)
 */

import { InvalidArgument } from '../../errors.ts';
import { XenbusStateConnected } from '../../abi/xenbus.ts';
import type { Clock } from '../../hv/clock.ts';
import type { CostParams, DomainCost } from '../../hv/cost.ts';
import type { Domain } from '../../hv/domain.ts';
import { Hypervisor } from '../../hv/hypervisor.ts';
import { xenbusCreateDevice } from '../../hv/xenbus.ts';
import { auditHypervisor } from '../../hv/audit.ts';
import { IrqDispatcher } from '../../drivers/evtchn-irq.ts';
import { Netback, netbackRemove } from '../../drivers/netback/index.ts';
import type { BackendInfo } from '../../drivers/netback/xenbus.ts';
import { NetfrontInfo } from '../../drivers/netfront/netfront.ts';
import { FlatPageAllocator } from '../../mm/page-allocator.ts';
import { ExecContext } from '../../mm/task.ts';
import { netStackCreate, type NetStack } from '../../net/stack.ts';
import { SkbEnv } from '../../skb/env.ts';
import { Scheduler } from '../scheduler.ts';
import { TxGenerator, TxSink, checkSpec, type TxWorkloadSpec } from './workload.ts';

export const BENCH_GUEST = 1;
export const MACHINE_FRAMES = 8192;
export const DOM0_FRAMES = 4096;
export const GUEST_FRAMES = 2048;
const MAC = '00:16:3e:00:00:01';

export interface BackendSide {
  readonly hv: Hypervisor;
  readonly dom0: Domain;
  readonly guest: Domain;
  readonly irq: IrqDispatcher;
  readonly stack: NetStack;
  readonly sink: TxSink;
  readonly nb: Netback;
  readonly be: BackendInfo;
}

/**
 * The hypervisor with dom0 and the guest domain, the vif device in xenstore, dom0's stack with the sink,
 * and netback probed on the device (waiting for the frontend). Watch events run on `clock`.
 */
export function buildBackendSide(clock: Clock, spec: TxWorkloadSpec, cost?: Partial<CostParams>): BackendSide {
  checkSpec(spec);
  const hv = new Hypervisor({ frames: MACHINE_FRAMES, clock, ...(cost !== undefined ? { cost } : {}) });
  const dom0 = hv.createDomain({ domid: 0, frames: DOM0_FRAMES, name: 'dom0' });
  const guest = hv.createDomain({ domid: BENCH_GUEST, frames: GUEST_FRAMES, name: 'guest' });
  hv.xs.onWatchQueued = () => clock.setTimer(0, () => hv.xs.processWatches());
  const irq = new IrqDispatcher(hv);
  const stack = netStackCreate({ pages: new FlatPageAllocator(hv.mem, 0, dom0.frames), ctx: new ExecContext(), clock });
  const sink = new TxSink(stack, spec.size, spec.tap, spec.verify);
  const nb = new Netback({ hv, irq, dom: dom0, env: stack.env, strategy: spec.strategy, deliver: sink.deliver });
  const rc = xenbusCreateDevice(hv.xs, 0, {
    type: 'vif', frontendId: BENCH_GUEST, backendId: 0, devid: 0, backendKeys: { mac: MAC }, frontendKeys: { mac: MAC },
  });
  if (rc !== 0) throw new InvalidArgument(`bench machine: creating the vif failed (${rc})`);
  const be = nb.probe(BENCH_GUEST, 0);
  return { hv, dom0, guest, irq, stack, sink, nb, be };
}

export interface GuestSide {
  readonly env: SkbEnv;
  readonly gen: TxGenerator;
  readonly nf: NetfrontInfo;
}

/**
 * The guest kernel over `dom`'s frames, the sender, and netfront (which starts its handshake at once). `hv`
 * is the hypervisor as the guest reaches it: the real one, or the worker runtime's hypercall proxy.
 */
export function buildGuestSide(hv: Hypervisor, irq: IrqDispatcher, dom: Domain, spec: TxWorkloadSpec): GuestSide {
  const env = new SkbEnv(new FlatPageAllocator(hv.mem, dom.domid, dom.frames));
  const gen = new TxGenerator(env, spec.size, spec.verify);
  const nf = new NetfrontInfo({ hv, irq, dom, env, onTxWake: () => void gen.pump() });
  gen.attach(nf);
  return { env, gen, nf };
}

/**
 * Connected: netfront published Connected and is up with its queue, and (when given) netback's vif is
 * connected. Reads no xenstore key (the frontend's own last published state).
 */
export function connected(nf: NetfrontInfo, be: BackendInfo | null): boolean {
  return nf.xbState === XenbusStateConnected && nf.up && nf.queues.length > 0 && (be === null || be.vif?.connected === true);
}

/** Sum of two domains' modelled costs and op counts. */
export function costSum(a: DomainCost, b: DomainCost): DomainCost {
  return {
    ns: a.ns + b.ns, hypercalls: a.hypercalls + b.hypercalls, mapOps: a.mapOps + b.mapOps, unmapOps: a.unmapOps + b.unmapOps,
    tlbFlushes: a.tlbFlushes + b.tlbFlushes, copyOps: a.copyOps + b.copyOps, copyBytes: a.copyBytes + b.copyBytes,
    copyPins: a.copyPins + b.copyPins, evtchnSends: a.evtchnSends + b.evtchnSends,
  };
}

/** `a − b`, counter by counter. */
export function costDiff(a: DomainCost, b: DomainCost): DomainCost {
  return {
    ns: a.ns - b.ns, hypercalls: a.hypercalls - b.hypercalls, mapOps: a.mapOps - b.mapOps, unmapOps: a.unmapOps - b.unmapOps,
    tlbFlushes: a.tlbFlushes - b.tlbFlushes, copyOps: a.copyOps - b.copyOps, copyBytes: a.copyBytes - b.copyBytes,
    copyPins: a.copyPins - b.copyPins, evtchnSends: a.evtchnSends - b.evtchnSends,
  };
}

/** Both domains' counters, summed (a snapshot: later hypercalls do not change it). */
export function machineCost(b: BackendSide): DomainCost {
  return costSum(b.dom0.cost, b.guest.cost);
}

/**
 * Both halves on one Scheduler: the deterministic reference. `connect()` runs the handshake; `send(n)` lets
 * n packets go and runs until every one is answered; `close()` tears down and audits.
 */
export class TxMachine {
  readonly clock = new Scheduler();
  readonly spec: TxWorkloadSpec;
  readonly back: BackendSide;
  readonly guest: GuestSide;
  /** Events the scheduler may run for one `send` before the run is declared stuck. */
  maxEventsPerPacket = 10_000;

  constructor(spec: TxWorkloadSpec, cost?: Partial<CostParams>) {
    this.spec = spec;
    this.back = buildBackendSide(this.clock, spec, cost);
    this.guest = buildGuestSide(this.back.hv, this.back.irq, this.back.guest, spec);
  }

  connect(): void {
    const { clock } = this;
    for (let i = 0; i < 1_000_000 && !connected(this.guest.nf, this.back.be); i++) {
      if (!clock.step()) clock.runUntil(clock.now() + 1_000_000);
    }
    if (!connected(this.guest.nf, this.back.be)) throw new InvalidArgument('bench machine: the vif did not connect');
    this.clock.runUntilIdle();
  }

  /** Send `n` packets and run until all are answered. */
  send(n: number): void {
    const gen = this.guest.gen;
    gen.allow(n);
    gen.pump();
    const limit = this.clock.executed + this.maxEventsPerPacket * Math.max(1, n);
    while (!gen.drained) {
      if (!this.clock.step()) {
        if (gen.pump() === 0 && !gen.drained) throw new InvalidArgument(`bench machine: stuck with ${gen.sent - gen.completed} packets unanswered`);
      }
      if (this.clock.executed > limit) throw new InvalidArgument('bench machine: too many events; the run does not converge');
    }
    this.guest.gen.log?.scan(this.guest.nf.queues[0]!);
  }

  /** Send packet `seq`, which must be the next one, and run until it is answered (one benchmark iteration). */
  sendPacket(seq: number): void {
    if (seq !== this.guest.gen.sent) throw new InvalidArgument(`bench machine: packet ${seq} is not the next (${this.guest.gen.sent})`);
    this.send(1);
  }

  /** Remove the frontend, then the backend; return the hypervisor audit's findings (empty when clean). */
  close(): string[] {
    const { nf, gen } = this.guest;
    let done = false;
    nf.remove(() => {
      done = true;
    });
    for (let i = 0; i < 1_000_000 && !done; i++) if (!this.clock.step()) this.clock.runUntil(this.clock.now() + 1_000_000);
    gen.release();
    netbackRemove(this.back.be);
    this.clock.runUntil(this.clock.now() + 3_000_000_000);
    return auditHypervisor(this.back.hv);
  }
}
