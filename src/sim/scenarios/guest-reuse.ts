/**
 * Scenario `guest-reuse`: a guest reuses every buffer as soon as it may, and pvnet's guest-side check catches
 * any reuse that comes too early.
 *
 * The guest application owns `pages` buffer pages and sends `packets` datagrams to the other guest, each with
 * its payload in one of those pages (the page is a frag of the skb, lent to the backend through netfront's
 * grant). The moment the guest ends the grant of a page's slot successfully (its TX response came and the
 * backend no longer maps it), the application writes the next datagram into that page and sends it. dom0 has
 * a tap that holds every clone for `hold` µs, so in the map strategies a page stays lent that long.
 *
 * The check (the world's lent-page guard, world.ts): a guest frame is write-protected while a read-only TX
 * grant of it is not ended or while another domain maps it; a store into it is a PageFault, recorded and not
 * performed. Every byte the application writes goes through it. A correct run has 0 faults and every datagram
 * arrives intact. With `earlyReuse=1` the application also tries to reuse each page early: once right after
 * posting it (before any response), and once more when netback maps it (map strategies): every one of those
 * stores must fault, and still nothing arrives damaged, because the faulting store never happens. Without the
 * guard the early stores would change bytes the backend still reads: the receiver's comparison would fail,
 * and in the map strategies the backend would send them (REFERENCE.md §4.6: after a failed end-access the
 * page must not be reused; §10).
 *
 * `ok` is true when the mode behaves as expected: no fault in a normal run; with earlyReuse, every early store
 * caught.
 */

import { packetSocketClose, packetSocketOpen } from '../../net/index.ts';
import { Prng } from '../prng.ts';
import { knob, lifecycleChecks, LIFECYCLE_MODES, scenarioWorld, worldCounters } from '../world/scenario-kit.ts';
import { headerLen, parseFrameSpec, sameBytes } from '../world/frames.ts';
import type { TxSlot } from '../world/lifecycle.ts';
import { check, scenarioResult, type Scenario } from './registry.ts';

export const guestReuseScenario: Scenario = {
  name: 'guest-reuse',
  summary: 'the guest reuses each buffer the moment its grant ends; a lent-page guard faults any earlier reuse',
  modes: LIFECYCLE_MODES,
  defaultMode: 'map',
  knobs: {
    packets: 'datagrams sent (default 40, at most 5000)',
    pages: 'buffer pages the guest application cycles through (default 4, at most 64)',
    hold: 'how long the dom0 tap holds each clone, µs (default 300)',
    earlyReuse: '1: also try to reuse each page before its response (every such store must fault)',
  },
  run(opts) {
    const prng = new Prng(opts.seed).fork('guest-reuse');
    const n = knob(opts, 'packets', 40, 1, 5000);
    const nPages = knob(opts, 'pages', 4, 1, 64);
    const holdNs = knob(opts, 'hold', 300, 1) * 1000;
    const early = knob(opts, 'earlyReuse', 0, 0, 1) !== 0;
    const w = scenarioWorld(opts, { guests: 2 });
    const [a, b] = [w.guests[0]!, w.guests[1]!];
    const tap = packetSocketOpen(w.dom0.stack, { holdNs, rcvbuf: 1 << 30 });
    w.onTeardown(() => packetSocketClose(tap));

    const pages = Array.from({ length: nPages }, () => w.guestAllocPage(a));
    w.onTeardown(() => pages.forEach((f) => w.guestPutPage(a, f)));
    /** Frames in flight by tag (rebuilt from the tag when they arrive: nothing is copied). */
    const sentLen = new Map<number, number>();
    let intact = 0;
    b.keepReceived = false;
    b.onReceive = (f) => {
      const tag = parseFrameSpec(f, f.length)?.tag ?? -1;
      const len = sentLen.get(tag);
      if (len === undefined) return;
      sentLen.delete(tag);
      const want = w.frame(a, b, len, { tag });
      if (sameBytes(want, f)) intact++;
    };
    /** The slot currently lending each page, and when the page was lent. */
    const lending = new Map<number, { slot: TxSlot; since: number }>();
    const junk = new Uint8Array(64).fill(0xee);
    let next = 1;
    let reuses = 0;
    let earlyAttempts = 0;
    let earlyWhileMapped = 0;
    let lentNsTotal = 0;
    let lentNsMax = 0;
    let lentCount = 0;
    const used = new Set<number>();

    /** Write the next datagram into `page` (through the guard, inside sendFrame) and send it. */
    const use = (page: number) => {
      if (next > n) return;
      const tag = next++;
      const len = headerLen('udp') + prng.int(64, 4096);
      const frame = w.frame(a, b, len, { tag });
      if (used.has(page)) reuses++;
      used.add(page);
      w.waitTxRoom(a);
      const p = w.sendFrame(a, frame, { tag, headLen: headerLen('udp'), pages: [page] });
      const slot = p?.slots.find((s) => s.frame === page);
      if (slot === undefined) return;
      sentLen.set(tag, len);
      lending.set(page, { slot, since: w.sched.now() });
      if (early) {
        earlyAttempts++;
        w.guestWrite(a, page, 0, junk); // before any response: must fault
      }
    };
    // Reuse as soon as the guest's end-access of the page's slot succeeded (after netfront's completion
    // returns: the application runs next, at the same instant).
    w.life.onSlotEnded((s) => {
      const l = lending.get(s.frame);
      if (l === undefined || l.slot !== s || !s.endOk) return;
      lending.delete(s.frame);
      const lent = w.sched.now() - l.since;
      lentNsTotal += lent;
      lentNsMax = Math.max(lentNsMax, lent);
      lentCount++;
      w.sched.defer(() => use(s.frame));
    });
    if (early) {
      // And once more while netback maps the page (the map strategies): must fault too.
      w.life.onSlotEvent((kind, s) => {
        if (kind !== 'mapped' || lending.get(s.frame)?.slot !== s) return;
        earlyAttempts++;
        earlyWhileMapped++;
        w.guestWrite(a, s.frame, 0, junk);
      });
    }
    for (const page of pages) use(page);
    w.runUntilIdle();

    const faults = w.faults.length;
    const faultsWhileMapped = w.faults.filter((f) => /maps it/.test(f.message)).length;
    const report = w.teardown();
    return scenarioResult(this, opts, {
      ...worldCounters(w, report), reuses, faults, faultsWhileMapped, earlyAttempts, framesReceived: b.rxFrames, intact,
      lentNsMean: lentCount > 0 ? Math.round(lentNsTotal / lentCount) : 0, lentNsMax,
    }, [
      check('every datagram sent, each page reused as soon as its grant ended', next > n && reuses === n - nPages,
        `${next - 1} sent, ${reuses} reuses`),
      check('every datagram arrives intact', intact === n && b.rxFrames === n, `${intact} intact of ${n}`),
      early
        ? check('every early reuse faults (the guard catches it)', earlyAttempts > 0 && faults === earlyAttempts,
          `${faults} faults of ${earlyAttempts} early stores, ${faultsWhileMapped} while mapped`)
        : check('no reuse fault', faults === 0, `${faults} faults`),
      ...lifecycleChecks(w, report, opts.mode),
    ]);
  },
};
