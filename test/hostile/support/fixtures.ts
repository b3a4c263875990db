/**
 * Fixtures for the hostile suites (REFERENCE.md §7). The netback tests build on the hand-written guest of
 * test/drivers/netback/support.ts (raw slots, raw producer indices, raw grants); the helpers here state the
 * outcomes §7 asks for, once:
 *
 * - `expectDisabled`: the vif is disabled with a recorded reason, nothing was answered, and later requests
 *   and kicks are ignored (nothing escaped: the test would have thrown);
 * - `timerCounter`: how many clock callbacks ran (work done), for "bounded, no loop" assertions;
 * - `hostileSetup`: a connected single-queue guest in a chosen strategy.
 *
 * - `netfrontGuest`: a well-behaved guest in a domain of its own (the real netfront), the bystander whose
 *   service must not suffer from the hostile one (the hand-written guest is always dom1; two of them on one
 *   domain would share frames).
 *
 * Every test ends with the suite's `teardown`: the stack's sk_buffs freed, the guest closed (each of its
 * grants must end, so none is still mapped), the backend removed, the hypervisor and sk_buff audits clean.
 */
import * as assert from 'uvu/assert';
import type { ManualClock } from '../../../src/hv/clock.ts';
import type { Domain } from '../../../src/hv/domain.ts';
import { xenbusCreateDevice } from '../../../src/hv/xenbus.ts';
import { FlatPageAllocator } from '../../../src/mm/page-allocator.ts';
import { SkbAudit, SkbEnv, allocSkb, kfreeSkb, skbPutData, skbReserve, skbToBytes, type SkBuff } from '../../../src/skb/index.ts';
import { NetfrontInfo } from '../../../src/drivers/netfront/index.ts';
import type { BackendInfo } from '../../../src/drivers/netback/xenbus.ts';
import type { TxStrategy } from '../../../src/drivers/netback/index.ts';
import { nbWorld, TestGuest, run, frame, teardown, type NbWorld, type WorldOptions, type GuestOptions } from '../../drivers/netback/support.ts';

export { nbWorld, TestGuest, run, frame, teardown, type NbWorld };

/** The strategies whose slots are answered once and never while mapped (plain-ref is wrong on purpose). */
export const SOUND_STRATEGIES: readonly TxStrategy[] = ['copy', 'map', 'hybrid', 'zerocopy'];

export function hostileSetup(
  strategy: TxStrategy = 'hybrid', world: WorldOptions = {}, guest: GuestOptions = {},
): { w: NbWorld; g: TestGuest } {
  const w = nbWorld({ strategy, hold: false, ...world });
  const g = new TestGuest(w, guest);
  g.connect();
  return { w, g };
}

/** A dom0 sk_buff of `len` linear bytes (a frame, TCP when it fits) for the guest-RX path. */
export function stackSkb(w: NbWorld, len: number, seed = 1): SkBuff {
  const skb = allocSkb(w.env, len + 64)!;
  skbReserve(skb, 64);
  skbPutData(skb, frame(len, seed, { tcp: len >= 54 }));
  return skb;
}

/** Response statuses the guest has not read yet, in ring order. */
export function statuses(g: TestGuest, qi = 0): number[] {
  return g.txResponses(qi).map((r) => r.status);
}

/**
 * The vif is disabled with a reason matching `re`; no response was written; a later valid packet and a
 * storm of kicks change nothing; the carrier went off (from the guest-RX thread of queue 0, XSA-90).
 */
export function expectDisabled(w: NbWorld, g: TestGuest, re: RegExp): void {
  assert.ok(g.vif.disabled, 'vif disabled');
  assert.match(g.vif.fatalReason ?? '', re);
  assert.equal(g.txResponses(), [], 'nothing answered after a fatal error');
  const delivered = w.frames.length;
  g.sendPacket(frame(100, 9));
  for (let i = 0; i < 50; i++) w.t.hv.evtchn.evtchnSend(g.dom, g.txPort[0]!);
  run(w);
  assert.equal(g.txResponses(), [], 'later requests are ignored');
  assert.is(w.frames.length, delivered, 'nothing more reaches the stack');
  assert.is(g.vif.up, false, 'carrier off');
  assert.is(g.vif.connected, false);
}

/** Count the clock callbacks that run from now on (wraps the clock's setTimer). */
export function timerCounter(clock: ManualClock): { readonly fired: number; reset(): void } {
  const state = { fired: 0 };
  const set = clock.setTimer.bind(clock);
  clock.setTimer = (delay: number, fn: () => void) => set(delay, () => {
    state.fired++;
    fn();
  });
  return {
    get fired() {
      return state.fired;
    },
    reset() {
      state.fired = 0;
    },
  };
}

/** Rewrite field bytes of the TX slot at ring index `idx` of queue `qi` (the guest scribbling its ring). */
export function pokeTxSlot(g: TestGuest, idx: number, field: 'gref' | 'offset' | 'flags' | 'id' | 'size', value: number, qi = 0): void {
  const tx = g.tx[qi]!;
  const at = tx.entries + (idx & (tx.nrEnts - 1)) * tx.entrySize;
  const v = tx.page.view;
  switch (field) {
    case 'gref':
      v.setUint32(at, value >>> 0, true);
      break;
    case 'offset':
      v.setUint16(at + 4, value, true);
      break;
    case 'flags':
      v.setUint16(at + 6, value, true);
      break;
    case 'id':
      v.setUint16(at + 8, value, true);
      break;
    default:
      v.setUint16(at + 10, value, true);
  }
}

/** A well-behaved guest: its own domain, kernel (SkbEnv) and the real netfront, on vif `domid`.0. */
export interface GoodGuest {
  readonly dom: Domain;
  readonly env: SkbEnv;
  readonly nf: NetfrontInfo;
  readonly be: BackendInfo;
  /** Bytes of every packet the guest received, in order. */
  readonly received: Uint8Array[];
  /** Transmit one frame; true if netfront took it. */
  send(bytes: Uint8Array): boolean;
  /** Close and remove the frontend, destroy the domain, check the guest's sk_buff audit. */
  remove(): void;
  /** remove() in two halves, for when other backends may still hold this guest's pages: close the frontend... */
  close(): void;
  /** ...and, once every backend let go (deferred end-access timers run), audit and destroy the domain. */
  finish(): void;
}

export function netfrontGuest(w: NbWorld, domid: number, opts: { strategy?: TxStrategy; frames?: number } = {}): GoodGuest {
  const hv = w.t.hv;
  const dom = hv.createDomain({ domid, frames: opts.frames ?? 400 });
  const env = new SkbEnv(new FlatPageAllocator(hv.mem, domid, dom.frames));
  const audit = new SkbAudit(env);
  const mac = `00:16:3e:00:01:${domid.toString(16).padStart(2, '0')}`;
  assert.is(xenbusCreateDevice(hv.xs, 0, {
    type: 'vif', frontendId: domid, backendId: 0, devid: 0, backendKeys: { mac }, frontendKeys: { mac },
  }), 0);
  const be = opts.strategy !== undefined ? w.nb.probe(domid, 0, opts.strategy) : w.nb.probe(domid, 0);
  const received: Uint8Array[] = [];
  const nf = new NetfrontInfo({
    hv, irq: w.irq, dom, env,
    receive: (skb) => {
      received.push(skbToBytes(skb));
      kfreeSkb(skb);
    },
  });
  run(w, 2_000_000);
  return {
    dom, env, nf, be, received,
    send(bytes) {
      const skb = allocSkb(env, bytes.length + 64);
      if (skb === null) return false;
      skbReserve(skb, 64);
      skbPutData(skb, bytes);
      return nf.ndoStartXmit(skb) === 0;
    },
    remove() {
      this.close();
      this.finish();
    },
    close() {
      let done = false;
      nf.remove(() => {
        done = true;
      });
      for (let i = 0; i < 100 && !done; i++) run(w, 1_000_000);
      assert.ok(done, `dom${domid}: netfront closed`);
    },
    finish() {
      for (let i = 0; i < 30 && dom.gnttab.deferredCount > 0; i++) run(w, 200_000_000);
      // The sk_buff audit compares every frame's page count; other guests' frames are theirs to answer for.
      const mine = new Set(dom.frames);
      const findings = audit.findings().filter((f) => {
        const m = /^frame (\d+):/.exec(f);
        return m === null || mine.has(Number(m[1]));
      });
      assert.equal(findings, [], `dom${domid}: sk_buff audit`);
      hv.destroyDomain(dom);
    },
  };
}
