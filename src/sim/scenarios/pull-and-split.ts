/**
 * Scenario `pull-and-split`: dom0 reshapes every packet a guest sends before forwarding it to the other
 * guest: headers pulled into the linear area, datagrams split in two, GSO packets segmented, and the pieces
 * held for different times. The frag destructors (or the zerocopy completion) travel with every piece.
 *
 * ```
 *   guest 1 ──▶ vif1 ──▶ rx_handler (a forwarding hook in dom0's receive path, in place of the bridge):
 *                          pskbPullTail  headers + up to `pull` seeded bytes into the head (frags eaten whole
 *                                        go at once: their slots may be answered while the rest is held)
 *                          GSO TCP       skb_segment (SG: each segment takes a reference on the frags it spans),
 *                                        headers fixed per segment (IP length/id, TCP seq), each segment
 *                                        sent to vif2 after its own seeded delay
 *                          UDP, long     skb_split at a seeded byte (a straddled frag is referenced by both
 *                                        halves): the head half (IP/UDP lengths fixed, checksum off) to vif2
 *                                        after a delay, the tail half to a reassembly sink that holds it
 *                          otherwise     forwarded whole after a delay
 *               vif2 ──▶ guest 2
 * ```
 *
 * Checks: every payload byte arrives once and intact, at guest 2 or in the sink (counted by tag and offset);
 * the common lifecycle invariants, in particular no unmap while a piece still references the page.
 * Counters show the shapes: pulls, frags eaten by a pull, splits, segments, and slots answered before the
 * rest of their packet (per-slot destructors let a slot go as soon as its last reference does).
 */

import { devQueueXmit, readU32Be, RX_HANDLER_CONSUMED, ETH_HLEN, IPV4_HLEN, TCP_HLEN, UDP_HLEN } from '../../net/index.ts';
import {
  allocSkb, kfreeSkb, pskbMayPull, pskbPull, skbCopyBits, skbHeadlen, skbPush, skbSegment, skbSplit, skbStoreBits,
  NETIF_F_HW_CSUM, NETIF_F_SG, type SkBuff,
} from '../../skb/index.ts';
import { Prng } from '../prng.ts';
import type { World } from '../world.ts';
import { knob, lifecycleChecks, LIFECYCLE_MODES, scenarioWorld, worldCounters } from '../world/scenario-kit.ts';
import {
  headerLen, MAX_FRAME, parseFrameSpec, payloadByte, payloadMismatches, writeHeaders, type HeaderSpec,
} from '../world/frames.ts';
import { check, scenarioResult, type Scenario } from './registry.ts';

export const pullAndSplitScenario: Scenario = {
  name: 'pull-and-split',
  summary: 'dom0 pulls headers, splits datagrams and segments GSO packets on the way: the destructors follow every piece',
  modes: LIFECYCLE_MODES,
  defaultMode: 'map',
  knobs: {
    packets: 'packets sent (default 24, at most 3000)',
    pull: 'most bytes pulled beyond the headers (default 400)',
    hold: 'longest delay of a piece in dom0, µs (default 500)',
  },
  run(opts) {
    const prng = new Prng(opts.seed).fork('pull-and-split');
    const n = knob(opts, 'packets', 24, 1, 3000);
    const pullMax = knob(opts, 'pull', 400, 0);
    const holdNs = knob(opts, 'hold', 500, 1) * 1000;
    const w = scenarioWorld(opts, { guests: 2, bridge: false });
    const [a, b] = [w.guests[0]!, w.guests[1]!];
    const stack = w.dom0.stack;
    const out = b.vif;
    const st = { pulls: 0, fragsEaten: 0, splits: 0, segmented: 0, segments: 0, forwarded: 0, sinkBytes: 0, sinkBad: 0, dropped: 0 };
    const hdr = new Uint8Array(64);
    const later = (fn: () => void) => w.sched.setTimer(prng.int(0, holdNs), fn);
    const send = (skb: SkBuff) => later(() => devQueueXmit(stack, out, skb));
    let sinkHeld = 0;
    // What arrives at guest 2: each frame's payload checked against its tag, at its offset in the packet.
    let payloadOk = 0;
    let payloadBad = 0;
    b.keepReceived = false;
    b.onReceive = (f) => {
      const spec = parseFrameSpec(f, f.length);
      if (spec === null) {
        payloadBad += f.length;
        return;
      }
      const h = headerLen(spec.proto);
      const at = spec.proto === 'tcp' ? readU32Be(f, ETH_HLEN + IPV4_HLEN + 4) & 0xffff : 0;
      const bad = payloadMismatches(f, h, f.length - h, spec.tag, at);
      payloadBad += bad;
      payloadOk += f.length - h - bad;
    };

    // The forwarding hook. `skb` arrives with data at the IPv4 header, its Ethernet header in front.
    a.vif.rxHandler = (skb) => {
      const spec = readSpec(skb, hdr);
      if (spec === null) {
        st.dropped++;
        kfreeSkb(skb);
        return RX_HANDLER_CONSUMED;
      }
      const l3l4 = IPV4_HLEN + (spec.proto === 'udp' ? UDP_HLEN : TCP_HLEN);
      const want = Math.min(skb.len, l3l4 + prng.int(0, pullMax));
      if (skbHeadlen(skb) < want) {
        const frags = skb.shinfo.nrFrags;
        if (!pskbMayPull(skb, want)) {
          st.dropped++;
          kfreeSkb(skb);
          return RX_HANDLER_CONSUMED;
        }
        st.pulls++;
        st.fragsEaten += frags - skb.shinfo.nrFrags;
      }
      if (skb.shinfo.gsoSize !== 0) segment(skb, spec, l3l4);
      else if (spec.proto === 'udp' && skb.len > l3l4 + 64 && prng.chance(0.7)) split(skb, spec, l3l4);
      else {
        st.forwarded++;
        skbPush(skb, ETH_HLEN);
        send(skb);
      }
      return RX_HANDLER_CONSUMED;
    };

    /** tcp_gso_segment's part: segment at the payload, then fix each segment's headers. */
    const segment = (skb: SkBuff, spec: HeaderSpec, l3l4: number) => {
      const mss = skb.shinfo.gsoSize;
      pskbPull(skb, l3l4);
      const segs = skbSegment(skb, NETIF_F_SG | NETIF_F_HW_CSUM);
      kfreeSkb(skb);
      if (typeof segs === 'number') {
        st.dropped++;
        return;
      }
      st.segmented++;
      let i = 0;
      for (let s: SkBuff | null = segs; s !== null; i++) {
        const next: SkBuff | null = s.next;
        s.next = s.prev = null;
        writeHeaders(hdr, spec, s.len - headerLen('tcp'), { csum: 'partial', seqOff: i * mss, idOff: i });
        skbStoreBits(s, 0, hdr, 0, headerLen('tcp'));
        st.segments++;
        send(s);
        s = next;
      }
    };

    /** skb_split at a seeded byte of the payload: the head half goes on, the tail half to the sink. */
    const split = (skb: SkBuff, spec: HeaderSpec, l3l4: number) => {
      const at = prng.int(l3l4 + 1, skb.len - 1);
      const tail = allocSkb(w.dom0.env, Math.max(0, skbHeadlen(skb) - at)); // tcp_fragment's nsize
      if (tail === null) {
        st.dropped++;
        kfreeSkb(skb);
        return;
      }
      skbSplit(skb, tail, at);
      st.splits++;
      writeHeaders(hdr, spec, at - l3l4, { csum: 'none' });
      skbPush(skb, ETH_HLEN);
      skbStoreBits(skb, 0, hdr, 0, headerLen('udp'));
      send(skb);
      const from = at - l3l4;
      sinkHeld++;
      later(() => {
        const bytes = new Uint8Array(tail.len);
        skbCopyBits(tail, 0, bytes, 0, bytes.length);
        for (let k = 0; k < bytes.length; k++) if (bytes[k] !== payloadByte(spec.tag, from + k)) st.sinkBad++;
        st.sinkBytes += bytes.length;
        sinkHeld--;
        kfreeSkb(tail);
      });
    };

    // Guest 1 sends: GSO TCP (segmented), long UDP (mostly split), short frames (forwarded whole).
    let payloadSent = 0;
    for (let i = 0; i < n; i++) {
      const tag = i + 1;
      const kind = prng.pick(['gso', 'udp', 'udp', 'short'] as const);
      const len = kind === 'short' ? prng.int(60, 1514) : prng.int(2000, MAX_FRAME);
      const proto = kind === 'gso' ? 'tcp' : kind === 'short' && prng.chance(0.5) ? 'tcp' : 'udp';
      const frame = w.frame(a, b, len, { tag, proto, partial: kind === 'gso' });
      const headLen = prng.chance(0.5) ? headerLen(proto) : prng.int(headerLen(proto), Math.min(len, 300));
      w.waitTxRoom(a);
      const p = w.sendFrame(a, frame, {
        tag, headLen, fragOff: prng.int(0, 7) * 512, ...(kind === 'gso' ? { gso: { size: prng.pick([536, 1448, 4000]) } } : {}),
      });
      if (p !== null && p.slots.length > 0) payloadSent += len - headerLen(proto);
      if (i % 4 === 3) w.run(prng.int(0, holdNs));
    }
    w.runUntilIdle();

    payloadOk += st.sinkBytes - st.sinkBad;
    payloadBad += st.sinkBad;
    const early = earlySlots(w);
    const rxDropped = b.vif.queueStats.rxDropped;
    const report = w.teardown();
    return scenarioResult(this, opts, {
      ...worldCounters(w, report), ...st, framesReceived: b.rxFrames, payloadSent, payloadOk, payloadBad,
      slotsAnsweredBeforeTheirPacket: early,
    }, [
      check('every payload byte arrives once and intact', payloadOk === payloadSent && payloadBad === 0,
        `${payloadOk} of ${payloadSent} bytes, ${payloadBad} wrong`),
      check('nothing dropped', st.dropped === 0 && rxDropped === 0 && sinkHeld === 0, `${st.dropped} in dom0, ${rxDropped} at guest RX`),
      // In copy mode netback hands over linear packets: there is nothing to pull.
      check('the stack really pulled, split and segmented',
        (st.pulls > 0 || opts.mode === 'copy') && st.splits > 0 && st.segments > st.segmented,
        `${st.pulls} pulls, ${st.splits} splits, ${st.segments} segments`),
      ...lifecycleChecks(w, report, opts.mode),
    ]);
  },
};

/** The header spec of `skb` (data at the IPv4 header, the Ethernet header in front), or null. */
function readSpec(skb: SkBuff, hdr: Uint8Array): HeaderSpec | null {
  const len = Math.min(hdr.length, skb.len + ETH_HLEN);
  if (skbCopyBits(skb, -ETH_HLEN, hdr, 0, len) !== 0) return null;
  return parseFrameSpec(hdr, len);
}

/** Mapped slots answered before the last slot of their packet: a slot let go as soon as its last reference did. */
function earlySlots(w: World): number {
  let n = 0;
  for (const p of w.life.packets) {
    for (const s of p.slots) if (s.mapped && s.answeredAt >= 0 && s.answeredAt < p.answeredAt) n++;
  }
  return n;
}
