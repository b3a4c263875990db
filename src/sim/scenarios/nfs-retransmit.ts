/**
 * Scenario `nfs-retransmit`: REFERENCE.md §10 end to end, through netback. A guest's NFS-style write lends
 * its data page; dom0 carries it on over a reliable transport whose retransmit queue holds clones; the
 * transport retransmits while the first copy still waits in a slow device queue, the reply to the first copy
 * arrives before the retransmission leaves, and the guest rewrites its buffer as soon as its TX response
 * arrives. Whatever then leaves the wire must still be what the guest wrote at send time.
 *
 * ```
 *   guest: write(xid) ── UDP to the server, 16-byte RPC header in the head, data = one app page (a frag)
 *     └▶ vif ▶ br0 ▶ dom0 IPv4: not local ▶ forward hook (the RPC relay): pull IP+UDP, rtSendSkb
 *          rt endpoint (TCP-framed): clone kept on the retransmit queue, original ▶ eth1 (DevQueue, `delay` ms)
 *          t0 + rto:            RTO: a second clone of the segment ▶ eth1, behind the original
 *          t0 + delay:          the original leaves the wire ▶ server ▶ ack ▶ dom0: the first clone is freed
 *          t0 + rto + delay:    the retransmission leaves the wire: its bytes are read from the page *now*
 *   guest: on its TX response for the data slot, rewrites the page (no questions asked)
 * ```
 *
 * `corruptBytesOnWire` counts data bytes leaving eth1 (seen by the DevQueue's wire observer) that differ from
 * what the guest wrote at send time. The guest here trusts its responses: its rewrite goes through the world's
 * lent-page guard with `force`, so the guard records a fault (`guardFaults`) but the store happens, as it would
 * in a guest without the check.
 *
 * Modes: copy, map, hybrid and zerocopy must put 0 corrupt bytes on the wire (copy and zerocopy by answering
 * early from a private copy; map and hybrid by answering only after the retransmission left); `plain-ref`
 * (completion on the first free, page references only) reproduces the corruption. `ok` is true when the mode
 * behaves as expected, so the run shows the bug and its cure side by side.
 */

import {
  rtClose, rtEndpointOpen, rtSendSkb, readU32Be, ETH_HLEN, IPPROTO_UDP, IPV4_HLEN, RT_FRAMING_TCP, TCP_HLEN, UDP_HLEN,
} from '../../net/index.ts';
import { consumeSkb, kfreeSkb, pskbPull, skbCopyBits } from '../../skb/index.ts';
import { DOM0_ADDR, DOM0_MAC } from '../world.ts';
import { knob, lifecycleChecks, LIFECYCLE_MODES, scenarioWorld, worldCounters } from '../world/scenario-kit.ts';
import { headerLen, payloadByte } from '../world/frames.ts';
import type { TxSlot } from '../world/lifecycle.ts';
import { check, scenarioResult, type Scenario } from './registry.ts';

/** The RPC header in front of the data: xid (the tag), offset, count, pad. */
const RPC_HLEN = 16;
const DATA_LEN = 4096;
const NFS_PORT = 2049;
const RELAY_PORT = 800;
/** Ethernet + IPv4 + TCP in front of the RPC header on eth1. */
const WIRE_HLEN = ETH_HLEN + IPV4_HLEN + TCP_HLEN;

export const nfsRetransmitScenario: Scenario = {
  name: 'nfs-retransmit',
  summary: 'a guest write retransmitted from a slow device queue and acked early: corrupt bytes on the wire unless the response waits (plain-ref shows the bug)',
  modes: [...LIFECYCLE_MODES, 'plain-ref'],
  defaultMode: 'hybrid',
  knobs: {
    writes: 'writes in flight at once (default 1, at most 8); the first is the one retransmitted',
    delay: "eth1's delay before the wire, ms (default 50)",
    rto: 'the transport\'s retransmission timeout, ms (default 20; must be below delay for the race)',
  },
  run(opts) {
    const writes = knob(opts, 'writes', 1, 1, 8);
    const delayNs = knob(opts, 'delay', 50, 1) * 1_000_000;
    const rtoNs = knob(opts, 'rto', 20, 1) * 1_000_000;
    const written = new Map<number, Uint8Array>();
    const departures = new Map<number, number[]>();
    let corruptBytesOnWire = 0;
    let dataFrames = 0;
    const w = scenarioWorld(opts, {
      guests: 1,
      hosts: [{
        name: 'server', delayNs, rateBps: 1e9, hostDelayNs: 100_000,
        // eth1's wire: compare each data segment's bytes with what the guest wrote at send time.
        observer: (frame, len, t) => {
          if (len < WIRE_HLEN + RPC_HLEN) return;
          const seq = readU32Be(frame, ETH_HLEN + IPV4_HLEN + 4);
          const want = written.get(readU32Be(frame, WIRE_HLEN));
          if (want === undefined) return;
          dataFrames++;
          (departures.get(seq) ?? departures.set(seq, []).get(seq)!).push(t);
          for (let i = 0; i < want.length && WIRE_HLEN + RPC_HLEN + i < len; i++) {
            if (frame[WIRE_HLEN + RPC_HLEN + i] !== want[i]) corruptBytesOnWire++;
          }
          w.life.record('wire', { seq, xid: readU32Be(frame, WIRE_HLEN), bytes: len });
        },
      }],
    });
    const g = w.guests[0]!;
    const server = w.hosts[0]!;
    const stack = w.dom0.stack;

    // The server acks at once and keeps nothing; the relay's endpoint records when each segment is acked.
    const ackedAt = new Map<number, number>();
    const srv = rtEndpointOpen({
      stack: server.stack, dev: server.nic, framing: RT_FRAMING_TCP, localMac: server.mac, localAddr: server.addr,
      localPort: NFS_PORT, peerMac: DOM0_MAC, peerAddr: DOM0_ADDR, peerPort: RELAY_PORT, ackDelayNs: 0,
      onDeliver: (skb) => consumeSkb(skb),
    });
    const relay = rtEndpointOpen({
      stack, dev: server.dom0Nic, framing: RT_FRAMING_TCP, localMac: DOM0_MAC, localAddr: DOM0_ADDR, localPort: RELAY_PORT,
      peerMac: server.mac, peerAddr: server.addr, peerPort: NFS_PORT, rtoNs, ackDelayNs: 0,
      onAcked: (seq) => ackedAt.set(seq, w.sched.now()),
    });
    w.onTeardown(() => {
      rtClose(relay);
      rtClose(srv);
    });
    // dom0 routes the guest's RPC datagrams into the relay: the payload (header + the guest's page) goes on
    // by reference, exactly as netback delivered it.
    const ipHdr = new Uint8Array(IPV4_HLEN);
    let relayed = 0;
    stack.ipForward = (skb) => {
      skbCopyBits(skb, 0, ipHdr, 0, IPV4_HLEN);
      if (ipHdr[9] !== IPPROTO_UDP || !pskbPull(skb, (ipHdr[0]! & 0x0f) * 4 + UDP_HLEN) || !rtSendSkb(relay, skb)) {
        kfreeSkb(skb);
        return;
      }
      relayed++;
    };

    // The guest: each write's data in its own app page; rewritten as soon as the data slot's response came.
    const pages: number[] = [];
    const dataSlots = new Map<number, TxSlot>();
    let rewrites = 0;
    w.life.onSlotEnded((s) => {
      const xid = [...dataSlots].find(([, d]) => d === s)?.[0];
      if (xid === undefined) return;
      dataSlots.delete(xid);
      const fresh = new Uint8Array(DATA_LEN);
      for (let i = 0; i < DATA_LEN; i++) fresh[i] = payloadByte(xid, RPC_HLEN + i) ^ 0xff;
      w.guestWrite(g, s.frame, 0, fresh, 0, DATA_LEN, true);
      rewrites++;
    });
    for (let k = 0; k < writes; k++) {
      const xid = 0x1000 + k;
      const frame = w.frame(g, { mac: DOM0_MAC, addr: server.addr }, headerLen('udp') + RPC_HLEN + DATA_LEN, { tag: xid, dport: NFS_PORT });
      written.set(xid, frame.slice(headerLen('udp') + RPC_HLEN));
      const page = w.guestAllocPage(g);
      pages.push(page);
      const p = w.sendFrame(g, frame, { tag: xid, headLen: headerLen('udp') + RPC_HLEN, pages: [page] });
      const data = p?.slots.find((s) => s.frame === page);
      if (data !== undefined) dataSlots.set(xid, data);
    }
    const dataSlot = w.life.slots.find((s) => s.frame === pages[0]) ?? null;
    w.runUntilIdle();
    w.onTeardown(() => pages.forEach((f) => w.guestPutPage(g, f)));

    const d = departures.get(0) ?? [];
    const [first, again] = [d[0] ?? -1, d[1] ?? -1];
    const ack = ackedAt.get(0) ?? -1;
    const answered = dataSlot?.answeredAt ?? -1;
    const rt = { retransmitted: relay.stats.retransmitted, acked: relay.stats.acked, relayed, dataFrames };
    const broken = g.nf.broken;
    const report = w.teardown();
    const plainRef = opts.mode === 'plain-ref';
    const early = opts.mode === 'copy' || opts.mode === 'zerocopy';
    return scenarioResult(this, opts, {
      ...worldCounters(w, report), corruptBytesOnWire, guardFaults: w.faults.length, rewrites, ...rt,
      firstDepartNs: first, ackNs: ack, retransmitDepartNs: again, dataAnsweredNs: answered, netfrontBroken: broken,
    }, [
      check('the write was retransmitted while the first copy was still in the device queue',
        rt.retransmitted >= 1 && first >= 0 && again > first && again - first < delayNs, `departures ${d.join(', ')}`),
      check('the first copy was acknowledged before the retransmission left', first < ack && ack < again, `ack at ${ack}`),
      check('the guest rewrote every buffer once its response came', rewrites === writes, `${rewrites} of ${writes}`),
      plainRef
        ? check('plain-ref: the corruption reproduces (bytes on the wire differ from what the guest wrote)', corruptBytesOnWire > 0,
          `${corruptBytesOnWire} corrupt bytes`)
        : check('no corrupt byte leaves the wire', corruptBytesOnWire === 0, `${corruptBytesOnWire} corrupt bytes`),
      plainRef
        ? check('plain-ref: the response came after the first free, before the retransmission left', first <= answered && answered < again, `answered at ${answered}`)
        : early
          ? check('answered early, from a private copy', answered >= 0 && answered < first, `answered at ${answered}`)
          : check('answered only after the retransmission left the wire', answered > again, `answered at ${answered}`),
      ...lifecycleChecks(w, report, opts.mode),
    ]);
  },
};
