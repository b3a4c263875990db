/**
 * The showcase's mixed workload: one seeded traffic pattern run under each TX strategy on the standard World,
 * so packets, modelled hypervisor cost and measured wall time sit side by side.
 *
 * ```
 *   guest 1 ──▶ vif1 ──▶ dom0 receive path ──▶ tap (AF_PACKET, clones every frame, reads it `tapHoldUs` later)
 *   guest 2 ──▶ vif2 ─┘        ├─▶ br0 forward ──▶ the other guest (RX grant copy)
 *                              └─▶ dom0 IPv4 local delivery ──▶ UDP socket :7000 (read `sockHoldUs` later)
 * ```
 *
 * For each frame size (60 B .. 64 KiB) `perSize` frames are sent, cycling through three destinations: guest 1
 * → guest 2 (forwarded), guest 1 → dom0 (local delivery), guest 2 → guest 1 (forwarded); the tap clones all of
 * them. Each size runs until idle, and its modelled hypervisor ns (the hypervisor's counters, hv/cost.ts) and
 * its wall time (performance.now(), measured, not modelled) are recorded. The World's teardown audit and the
 * lifecycle checks close the run; the simulation numbers depend only on the seed.
 */

import { packetSocketClose, packetSocketOpen, sockClose, sockCreate, sockRecv, SOCK_DGRAM } from '../net/index.ts';
import { consumeSkb } from '../skb/index.ts';
import type { TxStrategy } from '../drivers/netback/index.ts';
import { lifecycleChecks } from '../sim/world/scenario-kit.ts';
import { DOM0_ADDR, DOM0_MAC, World, type PcapSink } from '../sim/world.ts';
import type { InvariantCheck, TraceEvent } from '../sim/scenarios/registry.ts';
import { check } from '../sim/scenarios/registry.ts';

export const WORKLOAD_SIZES = [60, 128, 512, 1514, 4096, 9000, 16384, 32768, 65535] as const;
const LOCAL_PORT = 7000;
const BURST_BYTES = 256 * 1024;

export interface WorkloadOptions {
  seed?: number;
  sizes?: readonly number[];
  /** Frames per size (default 24). */
  perSize?: number;
  tapHoldUs?: number;
  sockHoldUs?: number;
  trace?: (e: TraceEvent) => void;
  pcap?: PcapSink;
}

export interface SizeRow {
  strategy: TxStrategy;
  size: number;
  packets: number;
  /** Modelled hypervisor ns for this size's frames, and per frame. */
  modelledNs: number;
  modelledNsPerPacket: number;
  /** Measured wall time, ms. */
  wallMs: number;
}

export interface WorkloadResult {
  strategy: TxStrategy;
  packets: number;
  bytes: number;
  forwarded: number;
  local: number;
  tapClones: number;
  grantMaps: number;
  grantCopies: number;
  /** Bytes the hypervisor grant-copied (TX and RX). */
  copyBytes: number;
  maxGrantsMapped: number;
  /** Mean and longest time a TX grant stayed mapped (virtual ns; 0 when nothing was mapped). */
  meanMappedNs: number;
  maxMappedNs: number;
  modelledNs: number;
  wallMs: number;
  virtualNs: number;
  bySize: SizeRow[];
  checks: InvariantCheck[];
  ok: boolean;
}

export function runWorkload(strategy: TxStrategy, opts: WorkloadOptions = {}): WorkloadResult {
  const sizes = opts.sizes ?? WORKLOAD_SIZES;
  const perSize = opts.perSize ?? 24;
  const w = new World({
    guests: 2, strategy, seed: opts.seed ?? 1,
    ...(opts.trace !== undefined ? { trace: opts.trace } : {}), ...(opts.pcap !== undefined ? { pcap: opts.pcap } : {}),
  });
  const stack = w.dom0.stack;
  const [a, b] = [w.guests[0]!, w.guests[1]!];
  const tap = packetSocketOpen(stack, { holdNs: (opts.tapHoldUs ?? 20) * 1000, rcvbuf: 1 << 30 });
  const sockHoldNs = (opts.sockHoldUs ?? 10) * 1000;
  let localRead = 0;
  const sk = sockCreate(stack, SOCK_DGRAM, LOCAL_PORT, {
    rcvbuf: 1 << 30,
    dataReady: (s) => {
      w.sched.setTimer(sockHoldNs, () => {
        const skb = sockRecv(s);
        if (skb !== null) {
          localRead++;
          consumeSkb(skb);
        }
      });
    },
  });
  w.onTeardown(() => {
    packetSocketClose(tap);
    sockClose(sk);
  });
  for (const g of [a, b]) g.keepReceived = false;
  const dom0 = { mac: DOM0_MAC, addr: DOM0_ADDR };

  const bySize: SizeRow[] = [];
  let forwarded = 0;
  let local = 0;
  let tag = 1;
  for (const size of sizes) {
    const ns0 = w.hv.totalModelledNs();
    const t0 = performance.now();
    let burst = 0;
    for (let i = 0; i < perSize; i++) {
      const kind = i % 3;
      const [from, to] = kind === 2 ? [b, a] : [a, kind === 1 ? dom0 : b];
      if (burst + size > BURST_BYTES) {
        w.runUntilIdle();
        burst = 0;
      }
      w.waitTxRoom(from);
      const frame = w.frame(from, to, size, kind === 1 ? { tag, dport: LOCAL_PORT } : { tag });
      const p = w.sendFrame(from, frame, { tag });
      tag++;
      burst += size;
      if (p !== null && p.slots.length > 0) {
        if (kind === 1) local++;
        else forwarded++;
      }
    }
    w.runUntilIdle();
    const wallMs = performance.now() - t0;
    const modelledNs = w.hv.totalModelledNs() - ns0;
    bySize.push({ strategy, size, packets: perSize, modelledNs: Math.round(modelledNs), modelledNsPerPacket: Math.round(modelledNs / perSize), wallMs });
  }
  const tapClones = tap.stats.cloned;
  let copyBytes = 0;
  for (const d of [w.dom0.dom, a.dom, b.dom]) copyBytes += d.cost.copyBytes;
  const held = w.life.slots.filter((s) => s.mappedAt >= 0 && s.unmappedAt >= 0).map((s) => s.unmappedAt - s.mappedAt);
  const received = a.rxFrames + b.rxFrames;
  const report = w.teardown();
  const c = w.counters();
  const checks = [
    check('every forwarded frame reached the other guest', received === forwarded, `${received} of ${forwarded}`),
    check('every local frame was read by the dom0 socket', localRead === local, `${localRead} of ${local}`),
    ...lifecycleChecks(w, report, strategy),
  ];
  return {
    strategy, packets: c.packets, bytes: c.bytes, forwarded, local, tapClones,
    grantMaps: c.grantMaps, grantCopies: c.grantCopies, copyBytes, maxGrantsMapped: c.maxGrantsMapped,
    meanMappedNs: held.length > 0 ? Math.round(held.reduce((x, y) => x + y, 0) / held.length) : 0,
    maxMappedNs: held.length > 0 ? Math.max(...held) : 0,
    modelledNs: c.modelledNs, wallMs: bySize.reduce((x, r) => x + r.wallMs, 0), virtualNs: c.virtualNs,
    bySize, checks, ok: checks.every((x) => x.ok),
  };
}
