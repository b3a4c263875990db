/**
 * Scenario `clone-storm`: every packet a guest sends is cloned, by two taps on dom0 and by the bridge's
 * flooding, and forwarded; one tap (a tcpdump whose reader is slow) holds its clones for a long time.
 *
 * ```
 *   guest i ──▶ vif i ──▶ receive path ──▶ tap "fast"  (clone, read after fastHold)
 *                              │       └─▶ tap "slow"  (clone, read by the scenario after `hold`)
 *                              └─▶ br0: unicast forward, or flood (a clone per port, and the host for broadcast)
 *                                        ──▶ vif j ──▶ guest j (grant copy into its RX buffers)
 * ```
 *
 * Three guests send to each other (unicast, unknown unicast and broadcast, sizes from the seed), one packet
 * every `gap` µs, so many packets are held at once. The slow tap's clone is the last reference to each
 * packet. What each strategy must do (REFERENCE.md §5.5, §5.8, §9.2):
 *
 * - map, hybrid: a clone shares the frags and their destructors: every mapped slot stays mapped, with
 *   GTF_reading set in the guest's grant entry, until the slow tap releases its clone, and its response comes
 *   only after that (checked at each release, slot by slot);
 * - zerocopy: the receive path copies the frags aside before the first tap sees them (skb_orphan_frags_rx) and
 *   completes early: every response arrives before the tap releases;
 * - copy: the packet was copied at once: answered before it reached the stack.
 *
 * All modes: nothing leaks, no unmap while a reference remains (checked at each unmap and from the trace).
 */

import { GTF_reading } from '../../abi/grant_table.ts';
import { ETH_BROADCAST, packetSocketClose, packetSocketOpen, tapRecv } from '../../net/index.ts';
import { consumeSkb, skbPeekTail } from '../../skb/index.ts';
import { Prng } from '../prng.ts';
import { skbTag, type WorldGuest } from '../world.ts';
import { knob, lifecycleChecks, LIFECYCLE_MODES, scenarioWorld, worldCounters } from '../world/scenario-kit.ts';
import { MAX_FRAME, parseFrameSpec } from '../world/frames.ts';
import type { TxPacket } from '../world/lifecycle.ts';
import { check, scenarioResult, type Scenario } from './registry.ts';

export const cloneStormScenario: Scenario = {
  name: 'clone-storm',
  summary: 'every packet cloned to two taps and flooded or forwarded; a slow tap holds its clones: the grant waits for the last one',
  modes: LIFECYCLE_MODES,
  defaultMode: 'map',
  knobs: {
    packets: 'packets sent (default 30, at most 3000)',
    hold: 'how long the slow tap holds each clone, µs (default 2000)',
    gap: 'time between two sends, µs (default 50)',
  },
  run(opts) {
    const prng = new Prng(opts.seed).fork('clone-storm');
    const n = knob(opts, 'packets', 30, 1, 3000);
    const holdNs = knob(opts, 'hold', 2000, 1) * 1000;
    const gapNs = knob(opts, 'gap', 50, 1) * 1000;
    const w = scenarioWorld(opts, { guests: 3 });
    const stack = w.dom0.stack;
    const fast = packetSocketOpen(stack, { holdNs: 20_000, rcvbuf: 1 << 30 });
    const slow = packetSocketOpen(stack, { holdNs: Infinity, rcvbuf: 1 << 30 });
    w.onTeardown(() => {
      packetSocketClose(fast);
      packetSocketClose(slow);
    });

    const byTag = new Map<number, TxPacket>();
    /** Clones of each packet the slow tap holds now, and when it let go of the last one. */
    const heldClones = new Map<number, number>();
    const releasedAt = new Map<number, number>();
    let slotChecks = 0;
    let pinnedWhileHeld = 0;
    let mappedAnsweredBeforeRelease = 0;
    let packetsAnsweredBeforeRelease = 0;
    let maxHeld = 0;

    // The slow reader: each clone is read `hold` after it arrived, oldest first. At every read, each mapped
    // slot of its packet that is still unanswered must still be pinned (GTF_reading); after the last clone
    // of a packet goes, the packet's responses may come.
    let queuedSeen = 0;
    const release = () => {
      const skb = tapRecv(slow);
      if (skb === null) return;
      const tag = skbTag(skb);
      const p = byTag.get(tag);
      if (p !== undefined) {
        if (!releasedAt.has(tag) && heldClones.get(tag) === heldClones.get(-tag)) {
          // The first clone of this packet to go: has anything been answered already?
          if (p.answeredAt >= 0) packetsAnsweredBeforeRelease++;
          for (const s of p.slots) if (s.mapped && s.answeredAt >= 0) mappedAnsweredBeforeRelease++;
        }
        const gt = w.guestByDomid(p.domid)!.dom.grantTable;
        for (const s of p.slots) {
          if (!s.mapped || s.answeredAt >= 0) continue;
          slotChecks++;
          if ((gt.flagsOf(s.ref) & GTF_reading) !== 0) pinnedWhileHeld++;
        }
      }
      consumeSkb(skb);
      const left = (heldClones.get(tag) ?? 1) - 1;
      heldClones.set(tag, left);
      if (left === 0 && p !== undefined) {
        releasedAt.set(tag, w.sched.now());
        w.life.record('tap-released', { tag, pages: p.slots.map((s) => s.page) });
      }
    };
    // After each delivery: the clones the slow tap queued meanwhile (it also sees every transmit, the
    // bridge's forwards included), counted per packet, each read `hold` later.
    w.onDelivered = () => {
      maxHeld = Math.max(maxHeld, slow.queued);
      let skb = skbPeekTail(slow.sk.receiveQueue);
      for (let k = slow.stats.queued - queuedSeen; k > 0 && skb !== null; k--, skb = skb.prev) {
        const tag = skbTag(skb);
        heldClones.set(tag, (heldClones.get(tag) ?? 0) + 1);
        heldClones.set(-tag, (heldClones.get(-tag) ?? 0) + 1);
        w.sched.setTimer(holdNs, release);
      }
      queuedSeen = slow.stats.queued;
    };

    // The storm: one packet every `gap`, from a seeded guest to a seeded destination.
    const guests = w.guests;
    const got = guests.map(() => new Set<number>());
    for (const g of guests) {
      g.keepReceived = false;
      g.onReceive = (f) => got[g.index]!.add(parseFrameSpec(f, f.length)?.tag ?? -1);
    }
    let sent = 0;
    const wanted = new Map<number, number[]>();
    const sendOne = () => {
      const from = prng.pick(guests);
      const others = guests.filter((g) => g !== from);
      const r = prng.next();
      const to: WorldGuest | { mac: number; addr: number } = r < 0.2 ? { mac: ETH_BROADCAST, addr: 0xffffffff }
        : r < 0.3 ? { mac: 0x00163e00ee00 + sent, addr: 0x0a0000ee } : prng.pick(others);
      const len = prng.chance(0.4) ? prng.int(60, 1514) : prng.int(1515, MAX_FRAME);
      const tag = sent + 1;
      w.waitTxRoom(from);
      // At most 17 slots (head + 16 frags): an 18th would take netback's frag_list path (REFERENCE.md §5.7),
      // which copies the packet and completes it early by design, whatever the clones.
      const fragOff = Math.min(prng.int(0, 3) * 1024, 16 * 4096 + 128 - len);
      const p = w.sendFrame(from, w.frame(from, to, len, { tag }), { tag, fragOff });
      if (p !== null) byTag.set(tag, p);
      wanted.set(tag, 'domid' in to ? [to.domid] : others.map((g) => g.domid));
      if (++sent < n) w.sched.setTimer(gapNs, sendOne);
    };
    sendOne();
    w.runUntilIdle();

    // Who got what: every packet reaches its unicast destination, or both other guests when flooded.
    let received = 0;
    let missing = 0;
    for (const [tag, p] of byTag) {
      const dests = wanted.get(tag) ?? [];
      for (const d of dests) if (!got[d - 1]!.has(tag)) missing++;
      received += p.slots.length > 0 ? 1 : 0;
    }
    const mode = opts.mode;
    // plain-ref is not offered, but a test runs it to show these checks fail when responses come too early.
    const mapModes = mode === 'map' || mode === 'hybrid' || mode === 'plain-ref';
    const releases = releasedAt.size;
    const tapStats = { fastClones: fast.stats.cloned, slowClones: slow.stats.cloned, bridgeClones: w.dom0.br.stats.clones };
    const report = w.teardown();
    const checks = [
      check('every packet was held by the slow tap and released', releases === n && byTag.size === n, `${releases} released of ${n}`),
      check('every packet reached the guests it was for', missing === 0 && received === n, `${missing} missing`),
    ];
    if (mapModes) {
      checks.push(
        check('no response before the tap released its clones', mappedAnsweredBeforeRelease === 0 && slotChecks > 0,
          `${mappedAnsweredBeforeRelease} mapped slot(s) answered early, ${slotChecks} slot checks while held`),
        check('GTF_reading still set while the tap holds a clone', pinnedWhileHeld === slotChecks,
          `${pinnedWhileHeld} of ${slotChecks} held slots pinned`),
      );
    } else {
      checks.push(check('every response before the tap releases (the grant is not held by clones)',
        packetsAnsweredBeforeRelease === n && slotChecks === 0, `${packetsAnsweredBeforeRelease} of ${n} answered first, ${slotChecks} slot(s) still lent`));
    }
    if (mode === 'copy') {
      // Copy answers at once: each slot in the same instant as its grant copy, before the stack sees the packet.
      const late = w.life.slots.filter((s) => s.mapped || s.answeredAt !== s.copiedAt).length;
      checks.push(check('copy answers every slot at once, right after its grant copy', late === 0, `${late} slot(s) answered later`));
    }
    checks.push(...lifecycleChecks(w, report, mode));
    return scenarioResult(this, opts, {
      ...worldCounters(w, report), ...tapStats, maxTapHeld: maxHeld, slotChecks, pinnedWhileHeld,
      answeredBeforeTapRelease: packetsAnsweredBeforeRelease, framesReceived: guests.reduce((a, g) => a + g.rxFrames, 0),
    }, checks);
  },
};
