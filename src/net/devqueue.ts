/**
 * Transmit side: dev_queue_xmit (with the taps' copy, dev_queue_xmit_nit), and three devices: a slow NIC with a
 * FIFO queue (DevQueue), a device that swallows everything (NullDevice) and loopback (LoopbackDevice).
 *
 * DevQueue is a qdisc and a NIC in one. It owns the skbs on its queue (one reference each) and with them every
 * frag reference they carry: a guest page lent by netback, an RPC's page. A packet leaves the wire at
 *
 * ```
 *   start  = max(enqueue time + delayNs, previous departure)     (FIFO: one packet on the wire at a time)
 *   depart = start + len × 8 / rateBps                          (serialization; rateBps 0 = instant)
 * ```
 *
 * and only then are its bytes read (skbCopyBits into the device's buffer: whatever the pages hold *at
 * departure* goes out, which is what the NFS retransmit corruption needs, REFERENCE §10), a CHECKSUM_PARTIAL
 * checksum is finished on those bytes (checksum offload: a checksum computed by the NIC covers rewritten bytes
 * too), the observer sees them (pcap, corruption injection; it may rewrite them), the skb is freed
 * (consumeSkb: TX completion), and a linked peer device receives a new skb built from the bytes on its own
 * stack. A full queue (txqueuelen) drops at enqueue. Departures run on the clock, in order, one timer at a time.
 *
 * Deviations: no link-layer overhead (preamble, gap) in the rate; no TSO: a GSO skb leaves as one large frame;
 * NETDEV_TX_BUSY from a driver is not requeued but dropped and counted (txDropped).
 */

import type { Clock } from '../hv/clock.ts';
import { softirqEnter, softirqExit } from '../mm/task.ts';
import { GFP_ATOMIC } from '../mm/gfp.ts';
import { skbPutData } from '../skb/alloc.ts';
import { skbCopyBits } from '../skb/bytes.ts';
import { skbClone } from '../skb/clone.ts';
import { CHECKSUM_PARTIAL } from '../skb/constants.ts';
import { consumeSkb, kfreeSkb } from '../skb/free.ts';
import { SkBuffHead, skbDequeue, skbQueuePurge, skbQueueTail } from '../skb/queue.ts';
import { skbResetMacHeader, type SkBuff } from '../skb/skbuff.ts';
import { skbOrphanFragsRx } from '../skb/ubuf.ts';
import { ethTypeTrans } from './eth.ts';
import {
  NET_XMIT_DROP,
  NET_XMIT_SUCCESS,
  NetDeviceBase,
  NETDEV_TX_BUSY,
  NETDEV_TX_OK,
  type NetDevice,
  type PacketType,
} from './netdevice.ts';
import { deliverSkb, netdevAllocSkbRx, netifReceiveSkb, netifRx } from './receive.ts';
import { skbOrphan } from './sock.ts';
import { NET_SCRATCH_BYTES } from './constants.ts';
import type { NetStack } from './stack.ts';
import { TimeFifo } from './time-fifo.ts';
import { csumFinishPartial } from './wire.ts';

/** Default txqueuelen. */
export const DEFAULT_TX_QUEUE_LEN = 1000;

/**
 * Sees each frame as it leaves the wire: `frame[0, len)` is the device's buffer (copy what you keep; you may
 * rewrite bytes, the peer receives what is there after you return).
 */
export type WireObserver = (frame: Uint8Array, len: number, timeNs: number, dev: NetDevice) => void;

/** The receiving end of a link: a device on another stack. */
export interface WirePeer {
  readonly stack: NetStack;
  readonly dev: NetDevice;
}

/** dev_queue_xmit_nit: one clone for all taps of the transmitting device, delivered Linux's pt_prev way. */
export function devQueueXmitNit(stack: NetStack, skb: SkBuff, dev: NetDevice): void {
  const all = stack.ptypeAll;
  let ptPrev: PacketType | null = null;
  let skb2: SkBuff | null = null;
  for (let i = 0; i < all.length; i++) {
    const pt = all[i]!;
    if (pt.dev !== null && pt.dev !== dev) continue;
    if (skb2 === null) {
      skb2 = skbClone(skb, GFP_ATOMIC);
      if (skb2 === null) return;
      skbResetMacHeader(skb2);
    }
    if (ptPrev !== null) deliverSkb(stack, skb2, ptPrev, dev, dev);
    ptPrev = pt;
  }
  if (ptPrev === null || skb2 === null) return;
  if (skbOrphanFragsRx(skb2, GFP_ATOMIC) !== 0) {
    kfreeSkb(skb2);
    return;
  }
  stack.stats.tapDeliveries++;
  ptPrev.func(skb2, dev, ptPrev, dev);
}

/**
 * dev_queue_xmit: send `skb` (data at the Ethernet header) out of `dev`; ownership passes. The taps of `stack`
 * get their copy first. NET_XMIT_DROP if the device is down or refused it.
 */
export function devQueueXmit(stack: NetStack, dev: NetDevice, skb: SkBuff): number {
  if (!dev.up) {
    dev.stats.txDropped++;
    kfreeSkb(skb);
    return NET_XMIT_DROP;
  }
  if (stack.ptypeAll.length !== 0) devQueueXmitNit(stack, skb, dev);
  if (dev.ndoStartXmit(skb) === NETDEV_TX_BUSY) {
    dev.stats.txDropped++;
    kfreeSkb(skb);
    return NET_XMIT_DROP;
  }
  return NET_XMIT_SUCCESS;
}

/** Put the `len` bytes of `frame` on `peer`'s device as a received frame (its NAPI poll, in softirq). */
export function wireDeliver(peer: WirePeer, frame: Uint8Array, len: number): void {
  const { stack, dev } = peer;
  if (!dev.up) {
    dev.stats.rxDropped++;
    return;
  }
  const saved = softirqEnter(stack.ctx);
  try {
    const skb = netdevAllocSkbRx(stack, len);
    if (skb === null) {
      dev.stats.rxDropped++; // no RX buffer: the frame is lost in hardware
      return;
    }
    skbPutData(skb, frame, 0, len);
    dev.stats.rxPackets++;
    dev.stats.rxBytes += len;
    if (ethTypeTrans(skb) < 0) {
      stack.stats.dropMalformed++;
      dev.stats.rxDropped++;
      kfreeSkb(skb);
      return;
    }
    netifReceiveSkb(stack, dev, skb);
  } finally {
    softirqExit(stack.ctx, saved);
  }
}

export interface DevQueueOptions {
  readonly name: string;
  readonly ifindex: number;
  readonly mac: number;
  readonly clock: Clock;
  readonly mtu?: number;
  readonly txqueuelen?: number;
  /** Time each packet spends in the device before it can start on the wire, in ns. */
  readonly delayNs?: number;
  /** Wire rate in bits per second; 0 (default) = no serialization time. */
  readonly rateBps?: number;
  readonly observer?: WireObserver | null;
  /** Finish CHECKSUM_PARTIAL checksums on the wire bytes (default true). */
  readonly csumOffload?: boolean;
}

/** The slow NIC: see the file header. */
export class DevQueue extends NetDeviceBase {
  readonly clock: Clock;
  txqueuelen: number;
  delayNs: number;
  rateBps: number;
  csumOffload: boolean;
  observer: WireObserver | null;
  peer: WirePeer | null = null;

  /** The packets not yet departed, and their departure times. */
  readonly queue = new SkBuffHead();
  readonly departs = new TimeFifo();
  lastDepart = 0;
  /** Packets dropped because the queue was full. */
  qdiscDrops = 0;
  private timer = 0;
  private readonly onTimer: () => void;
  /** The wire: the bytes of the departing frame. */
  readonly frame = new Uint8Array(NET_SCRATCH_BYTES);

  constructor(opts: DevQueueOptions) {
    super(opts.name, opts.ifindex, opts.mac);
    this.clock = opts.clock;
    this.mtu = opts.mtu ?? 1500;
    this.txqueuelen = opts.txqueuelen ?? DEFAULT_TX_QUEUE_LEN;
    this.delayNs = opts.delayNs ?? 0;
    this.rateBps = opts.rateBps ?? 0;
    this.csumOffload = opts.csumOffload ?? true;
    this.observer = opts.observer ?? null;
    this.onTimer = () => {
      this.timer = 0;
      devQueueDepart(this);
    };
  }

  override ndoStartXmit(skb: SkBuff): number {
    return devQueueEnqueue(this, skb);
  }

  /** @internal arm the departure timer for the queue head. */
  arm(): void {
    if (this.timer !== 0 || this.departs.count === 0) return;
    this.timer = this.clock.setTimer(Math.max(0, this.departs.peek() - this.clock.now()), this.onTimer);
  }

  /** @internal */
  disarm(): void {
    if (this.timer !== 0) this.clock.cancel(this.timer);
    this.timer = 0;
  }
}

/** Serialization time of `len` bytes at `rateBps`. */
function serializationNs(len: number, rateBps: number): number {
  return rateBps > 0 ? Math.ceil((len * 8 * 1e9) / rateBps) : 0;
}

function devQueueEnqueue(dq: DevQueue, skb: SkBuff): number {
  if (!dq.up || dq.queue.qlen >= dq.txqueuelen) {
    if (dq.up) dq.qdiscDrops++;
    dq.stats.txDropped++;
    kfreeSkb(skb);
    return NETDEV_TX_OK;
  }
  const now = dq.clock.now();
  const start = Math.max(now + dq.delayNs, dq.lastDepart);
  const depart = start + serializationNs(skb.len, dq.rateBps);
  dq.lastDepart = depart;
  skbQueueTail(dq.queue, skb);
  dq.departs.push(depart);
  dq.arm();
  return NETDEV_TX_OK;
}

/** Send every packet whose departure time has come, in order; re-arm for the next. */
export function devQueueDepart(dq: DevQueue): number {
  const now = dq.clock.now();
  let n = 0;
  while (dq.departs.count > 0 && dq.departs.peek() <= now) {
    dq.departs.shift();
    const skb = skbDequeue(dq.queue)!;
    n++;
    const len = skb.len;
    if (len > dq.frame.length || skbCopyBits(skb, 0, dq.frame, 0, len) !== 0) {
      dq.stats.txDropped++;
      kfreeSkb(skb);
      continue;
    }
    if (dq.csumOffload && skb.ipSummed === CHECKSUM_PARTIAL) {
      const start = skb.csumStart - skb.data;
      // csum_offset 6 is UDP's field (a zero result is sent as 0xffff); TCP's is 16.
      if (start >= 0 && start + skb.csumOffset + 2 <= len) csumFinishPartial(dq.frame, start, len, skb.csumOffset, skb.csumOffset === 6);
    }
    dq.stats.txPackets++;
    dq.stats.txBytes += len;
    if (dq.observer !== null) dq.observer(dq.frame, len, now, dq);
    consumeSkb(skb);
    if (dq.peer !== null) wireDeliver(dq.peer, dq.frame, len);
  }
  dq.arm();
  return n;
}

/** Take a device down and free everything still queued (ifdown; teardown). */
export function devQueuePurge(dq: DevQueue): void {
  dq.disarm();
  dq.departs.clear();
  skbQueuePurge(dq.queue);
  dq.lastDepart = 0;
}

/** Connect two devices back to back: what leaves one is received by the other, on the other's stack. */
export function wireLink(a: DevQueue, stackA: NetStack, b: DevQueue, stackB: NetStack): void {
  a.peer = { stack: stackB, dev: b };
  b.peer = { stack: stackA, dev: a };
}

/** A device that takes every packet and frees it at once (counted as sent). */
export class NullDevice extends NetDeviceBase {
  constructor(name: string, ifindex: number, mac = 0) {
    super(name, ifindex, mac);
  }

  override ndoStartXmit(skb: SkBuff): number {
    this.stats.txPackets++;
    this.stats.txBytes += skb.len;
    consumeSkb(skb);
    return NETDEV_TX_OK;
  }
}

/**
 * loopback: what is sent is received by the same stack, through the backlog (netif_rx). The sender's owner
 * hook runs first (skb_orphan). A CHECKSUM_PARTIAL skb is received as it is: the receive path trusts it.
 */
export class LoopbackDevice extends NetDeviceBase {
  readonly stack: NetStack;

  constructor(stack: NetStack, name = 'lo', ifindex = 1) {
    super(name, ifindex, 0);
    this.stack = stack;
    this.mtu = 65536;
  }

  override ndoStartXmit(skb: SkBuff): number {
    const len = skb.len;
    skbOrphan(skb);
    if (ethTypeTrans(skb) < 0) {
      this.stats.txDropped++;
      this.stack.stats.dropMalformed++;
      kfreeSkb(skb);
      return NETDEV_TX_OK;
    }
    this.stats.txPackets++;
    this.stats.txBytes += len;
    this.stats.rxPackets++;
    this.stats.rxBytes += len;
    netifRx(this.stack, this, skb);
    return NETDEV_TX_OK;
  }
}
