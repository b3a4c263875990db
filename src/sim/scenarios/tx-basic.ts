/**
 * Scenario `tx-basic`: the central path end to end, guest → netback → br0 → netback → guest, for every frame
 * size a vif carries (60 B .. 64 KiB), linear and paged, with and without GSO, in both directions.
 *
 * Every frame is a real Ethernet/IPv4/UDP or TCP frame whose payload starts with its tag (world/frames.ts);
 * GSO frames are TCP with CHECKSUM_PARTIAL and a gso_size of 1448 (or a seeded one), sent as one request
 * chain with a GSO extra and received by the other guest as one GSO packet. The fixed size list crosses
 * every boundary that matters (the 128-byte copied header, a page, the 17-frag limit); `packets` adds sizes
 * drawn from the seed, with seeded layouts (head length, offset of the first frag). Sends go out in bursts
 * of at most 256 KiB (under netback's 512 KiB guest-RX queue cap), each burst run until idle.
 *
 * Checks: every frame arrives at the other guest byte for byte (so bytes received equal bytes sent), nothing
 * dropped, and the common lifecycle invariants with the teardown audit.
 */

import { Prng } from '../prng.ts';
import { knob, lifecycleChecks, LIFECYCLE_MODES, scenarioWorld, worldCounters } from '../world/scenario-kit.ts';
import { headerLen, MAX_FRAME, parseFrameSpec, sameBytes } from '../world/frames.ts';
import { check, scenarioResult, type Scenario } from './registry.ts';

const FIXED_SIZES = [60, 61, 127, 128, 129, 1514, 4095, 4096, 4097, 9000, 32768, MAX_FRAME];
const BURST_BYTES = 256 * 1024;

export const txBasicScenario: Scenario = {
  name: 'tx-basic',
  summary: 'guest to guest through netback and the bridge, 60 B .. 64 KiB, with and without GSO: every byte arrives',
  modes: LIFECYCLE_MODES,
  defaultMode: 'hybrid',
  knobs: {
    packets: 'seeded random-size packets on top of the fixed size list (default 16, at most 5000)',
    gso: 'percent of the random packets sent as GSO (default 50)',
  },
  run(opts) {
    const prng = new Prng(opts.seed).fork('tx-basic');
    const extra = knob(opts, 'packets', 16, 0, 5000);
    const gsoPct = knob(opts, 'gso', 50, 0, 100);
    const w = scenarioWorld(opts);
    const [a, b] = [w.guests[0]!, w.guests[1]!];

    // The plan: each fixed size plain and as GSO (when it holds more than one segment), then the random ones.
    const plan: { len: number; gso: number }[] = [];
    for (const len of FIXED_SIZES) {
      plan.push({ len, gso: 0 });
      if (len - headerLen('tcp') > 1448) plan.push({ len, gso: 1448 });
    }
    for (let i = 0; i < extra; i++) {
      const len = prng.chance(0.3) ? prng.int(60, 1514) : prng.int(60, MAX_FRAME);
      const gso = len - headerLen('tcp') > 536 && prng.int(1, 100) <= gsoPct ? prng.pick([536, 1448, 1460, 4000, 8960]) : 0;
      plan.push({ len, gso: gso < len - headerLen('tcp') ? gso : 0 });
    }

    // Each frame is checked as it arrives, against the same frame rebuilt from its tag (no copy is kept).
    const sent = new Map<number, { to: number; rebuild: () => Uint8Array }>();
    let intact = 0;
    let bytesReceived = 0;
    let bytesSent = 0;
    let framesReceived = 0;
    for (const g of [a, b]) {
      g.keepReceived = false;
      g.onReceive = (f) => {
        framesReceived++;
        bytesReceived += f.length;
        const tag = parseFrameSpec(f, f.length)?.tag ?? -1;
        const want = sent.get(tag);
        if (want === undefined || want.to !== g.domid) return;
        sent.delete(tag);
        const expect = want.rebuild();
        if (sameBytes(expect, f)) intact++;
      };
    }
    let gsoPackets = 0;
    let burst = 0;
    plan.forEach((p, i) => {
      const [from, to] = i % 2 === 0 ? [a, b] : [b, a];
      const proto = p.gso !== 0 || prng.chance(0.5) ? 'tcp' : 'udp';
      const tag = i + 1;
      const rebuild = () => w.frame(from, to, p.len, { proto, tag, partial: p.gso !== 0 });
      const headLen = p.len <= 1514 && prng.chance(0.7) ? p.len : prng.int(headerLen(proto), Math.min(p.len, 256));
      if (burst + p.len > BURST_BYTES) {
        w.runUntilIdle();
        burst = 0;
      }
      w.waitTxRoom(from);
      sent.set(tag, { to: to.domid, rebuild });
      const pkt = w.sendFrame(from, rebuild(), {
        tag, headLen, fragOff: prng.chance(0.5) ? 0 : prng.int(1, 4095), ...(p.gso !== 0 ? { gso: { size: p.gso } } : {}),
      });
      if (pkt !== null && pkt.slots.length > 0) bytesSent += p.len;
      if (p.gso !== 0) gsoPackets++;
      burst += p.len;
    });
    w.runUntilIdle();

    const dropped = a.txDropped + b.txDropped + a.txBusy + b.txBusy;
    const rxDropped = a.vif.queueStats.rxDropped + b.vif.queueStats.rxDropped;
    const report = w.teardown();
    return scenarioResult(this, opts, {
      ...worldCounters(w, report), gsoPackets, framesReceived, bytesReceived, intact, dropped: dropped + rxDropped,
    }, [
      check('bytes received equal bytes sent', bytesReceived === bytesSent && bytesSent > 0, `${bytesReceived} / ${bytesSent}`),
      check('every frame arrives at the guest it was for, byte for byte', intact === plan.length && framesReceived === plan.length,
        `${intact} intact of ${plan.length} sent, ${framesReceived} received`),
      check('nothing dropped', dropped === 0 && rxDropped === 0, `${dropped} at netfront, ${rxDropped} at guest RX`),
      ...lifecycleChecks(w, report, opts.mode),
    ]);
  },
};
