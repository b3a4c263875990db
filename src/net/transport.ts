/**
 * RtEndpoint: a small reliable transport between two endpoints, over UDP-framed or TCP-framed segments, with
 * the one property the NFS retransmit scenario needs from TCP (REFERENCE §10): each sent segment stays on a
 * retransmit queue **as an skb clone** until it is acknowledged, and a retransmission is another clone of it.
 * A segment whose payload is paged frags pointing at somebody else's pages (a guest page, an RPC's page) is
 * therefore referenced by the retransmit queue while the original sits in a device queue, exactly like TCP's
 * write queue.
 *
 * ```
 *   segment   eth | ipv4 | udp | rt header (12: flags u8, pad u8, pad u16, seq u32, ack u32) | payload
 *             eth | ipv4 | tcp (seq = segment number, ack = next expected, PSH = data, ACK = ack valid) | payload
 *   sender    sndUna ... sndNxt in flight (≤ maxInFlight); their clones on rtxQueue in order; more data waits
 *             on sndQueue (≤ sndQueueMax, then rtSendSkb refuses). A cumulative ack frees the clones it covers
 *             (consumeSkb). The RTO timer retransmits the oldest unacknowledged segment (a fresh clone) and
 *             doubles (up to rtoMaxNs); progress resets it; maxRetries expirations in a row abort.
 *   receiver  in-order segments are delivered (onDeliver owns the skb, data at the payload); segments ahead
 *             of rcvNxt within rcvWindow wait in a ring; older ones are duplicates. Acks are cumulative,
 *             delayed by ackDelayNs or sent at once after ackEvery segments, at once for a duplicate or a
 *             segment out of order. Every segment also carries the sender's current cumulative ack.
 * ```
 *
 * Sequence numbers count segments, modulo 2^32 (`isn` lets a test start next to the wrap). Checksums are left
 * to the device (CHECKSUM_PARTIAL): a DevQueue finishes them on the bytes it actually sends. All time is the
 * stack's clock. Owns: its socket, the skbs on rtxQueue, sndQueue and the reorder ring, its timers; all are
 * released by rtClose (or an abort). Deviations from TCP, on purpose: segment-numbered sequence space, no
 * congestion control, no fast retransmit, no handshake; only the reference behaviour of the queues is TCP's.
 */

import { InvalidArgument } from '../errors.ts';
import { allocSkb, skbPush, skbPutData, skbReserve } from '../skb/alloc.ts';
import { skbCopyBits, skbStoreBits } from '../skb/bytes.ts';
import { skbClone } from '../skb/clone.ts';
import { CHECKSUM_PARTIAL } from '../skb/constants.ts';
import { skbCowHead } from '../skb/expand.ts';
import { consumeSkb, kfreeSkb } from '../skb/free.ts';
import { pskbPull } from '../skb/pull.ts';
import { SkBuffHead, skbDequeue, skbQueuePurge, skbQueueTail } from '../skb/queue.ts';
import type { SkBuff } from '../skb/skbuff.ts';
import { devQueueXmit } from './devqueue.ts';
import type { NetDevice } from './netdevice.ts';
import { SOCK_DGRAM, SOCK_STREAM, skGfpAtomic, skSetMemalloc, sockClose, sockCreate, sockRecv, type Sock } from './sock.ts';
import type { NetStack } from './stack.ts';
import {
  emitEth,
  emitIpv4,
  emitTcpPartial,
  emitUdpPartial,
  ETH_HLEN,
  ETH_P_IP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPV4_HLEN,
  newEthHdr,
  newIpv4Hdr,
  newL4Hdr,
  TCP_ACK,
  TCP_HLEN,
  TCP_PSH,
  UDP_HLEN,
  readU32Be,
  writeU32Be,
} from './wire.ts';

export const RT_FRAMING_UDP = 0;
export const RT_FRAMING_TCP = 1;
/** The UDP framing's own header. */
export const RT_HLEN = 12;
/** RT header flag bits. */
export const RT_F_DATA = 0x01;
export const RT_F_ACK = 0x02;
/** Bytes of headers in front of the payload (both framings: 14 + 20 + 20). */
export const RT_MAX_HEADER = ETH_HLEN + IPV4_HLEN + Math.max(UDP_HLEN + RT_HLEN, TCP_HLEN);
/** Headroom rtAllocSkb leaves. */
export const RT_HEADROOM = 128;
/** Largest payload one segment carries (IPv4 total length limit). */
export const RT_MAX_PAYLOAD = 0xffff - IPV4_HLEN - Math.max(UDP_HLEN + RT_HLEN, TCP_HLEN);

export interface RtEndpointOptions {
  readonly stack: NetStack;
  /** Where segments are sent (a NIC, a bridge device, a DropInjector, loopback). */
  readonly dev: NetDevice;
  readonly framing: number;
  readonly localMac: number;
  readonly localAddr: number;
  readonly localPort: number;
  readonly peerMac: number;
  readonly peerAddr: number;
  readonly peerPort: number;
  readonly maxInFlight?: number;
  readonly sndQueueMax?: number;
  /** Reorder window of the receiver, a power of two (default 64). */
  readonly rcvWindow?: number;
  readonly rtoNs?: number;
  readonly rtoMaxNs?: number;
  readonly ackDelayNs?: number;
  readonly ackEvery?: number;
  readonly maxRetries?: number;
  /** First sequence number this endpoint sends, and expects (default 0). */
  readonly isn?: number;
  readonly peerIsn?: number;
  /** Mark the socket SOCK_MEMALLOC (the swap transport). */
  readonly memalloc?: boolean;
  readonly rcvbuf?: number;
  /** Takes ownership of each delivered payload, in order (default: consumed). */
  readonly onDeliver?: (skb: SkBuff, seq: number) => void;
  readonly onAcked?: (seq: number) => void;
  readonly onAbort?: () => void;
}

export class RtStats {
  /** Segments sent for the first time, and sent again. */
  sent = 0;
  retransmitted = 0;
  /** Segments acknowledged (their clones freed). */
  acked = 0;
  /** Segments received again after delivery, or twice while waiting. */
  duplicates = 0;
  /** Segments received ahead of a gap (held), and beyond the window (dropped). */
  outOfOrder = 0;
  outsideWindow = 0;
  delivered = 0;
  acksSent = 0;
  acksReceived = 0;
  timeouts = 0;
  /** rtSendSkb refused (send queue full or no headroom). */
  rejected = 0;
  cloneFailures = 0;
  allocFailures = 0;
  /** Received segments too short to carry a header, or acking what was never sent. */
  badSegments = 0;
  aborted = 0;
}

export class RtEndpoint {
  readonly stack: NetStack;
  readonly sk: Sock;
  readonly dev: NetDevice;
  readonly framing: number;
  readonly opts: RtEndpointOptions;
  readonly maxInFlight: number;
  readonly sndQueueMax: number;
  readonly rcvWindow: number;
  readonly rtoBaseNs: number;
  readonly rtoMaxNs: number;
  readonly ackDelayNs: number;
  readonly ackEvery: number;
  readonly maxRetries: number;
  readonly stats = new RtStats();

  sndUna: number;
  sndNxt: number;
  /** Clones of the segments in flight, oldest (sndUna) first. */
  readonly rtxQueue = new SkBuffHead();
  /** Payloads waiting for the window to open. */
  readonly sndQueue = new SkBuffHead();
  rcvNxt: number;
  readonly ooo: (SkBuff | null)[];
  readonly oooSeq: Uint32Array;
  rto: number;
  retries = 0;
  rtoTimer = 0;
  ackTimer = 0;
  segsSinceAck = 0;
  ipId = 0;
  closed = false;

  readonly hdr = new Uint8Array(64);
  readonly eth = newEthHdr();
  readonly ip = newIpv4Hdr();
  readonly l4 = newL4Hdr();
  readonly onRto: () => void;
  readonly onAckTimer: () => void;

  constructor(opts: RtEndpointOptions) {
    if (opts.framing !== RT_FRAMING_UDP && opts.framing !== RT_FRAMING_TCP) throw new InvalidArgument(`rt: bad framing ${opts.framing}`);
    const w = opts.rcvWindow ?? 64;
    if (!(w > 0 && (w & (w - 1)) === 0)) throw new InvalidArgument(`rt: rcvWindow ${w} is not a power of two`);
    this.stack = opts.stack;
    this.dev = opts.dev;
    this.framing = opts.framing;
    this.opts = opts;
    this.maxInFlight = opts.maxInFlight ?? 8;
    this.sndQueueMax = opts.sndQueueMax ?? 64;
    this.rcvWindow = w;
    this.rtoBaseNs = opts.rtoNs ?? 200_000_000;
    this.rtoMaxNs = opts.rtoMaxNs ?? 60_000_000_000;
    this.ackDelayNs = opts.ackDelayNs ?? 40_000_000;
    this.ackEvery = opts.ackEvery ?? 2;
    this.maxRetries = opts.maxRetries ?? 15;
    this.sndUna = this.sndNxt = (opts.isn ?? 0) >>> 0;
    this.rcvNxt = (opts.peerIsn ?? 0) >>> 0;
    this.ooo = new Array<SkBuff | null>(w).fill(null);
    this.oooSeq = new Uint32Array(w);
    this.rto = this.rtoBaseNs;
    this.sk = sockCreate(opts.stack, opts.framing === RT_FRAMING_UDP ? SOCK_DGRAM : SOCK_STREAM, opts.localPort, {
      ...(opts.rcvbuf !== undefined ? { rcvbuf: opts.rcvbuf } : {}),
      dataReady: () => rtDataReady(this),
    });
    if (opts.memalloc === true) skSetMemalloc(this.sk);
    this.onRto = () => {
      this.rtoTimer = 0;
      rtRetransmitTimer(this);
    };
    this.onAckTimer = () => {
      this.ackTimer = 0;
      rtSendAck(this);
    };
  }

  /** Segments sent and not yet acknowledged. */
  get inFlight(): number {
    return (this.sndNxt - this.sndUna) >>> 0;
  }
}

/** Open an endpoint: binds its socket on the stack. */
export function rtEndpointOpen(opts: RtEndpointOptions): RtEndpoint {
  return new RtEndpoint(opts);
}

/** An skb for a linear payload, with room for the headers, allocated as the socket allocates. */
export function rtAllocSkb(ep: RtEndpoint, payload: Uint8Array): SkBuff | null {
  const skb = allocSkb(ep.stack.env, RT_HEADROOM + payload.length, skGfpAtomic(ep.sk));
  if (skb === null) return null;
  skbReserve(skb, RT_HEADROOM);
  if (payload.length > 0) skbPutData(skb, payload);
  return skb;
}

/**
 * Send `skb` (data = the payload: linear bytes and/or paged frags) reliably. True: the endpoint owns it now
 * (sent, or queued until the window opens). False: refused (send queue full, or no headroom could be made);
 * the caller still owns it.
 */
export function rtSendSkb(ep: RtEndpoint, skb: SkBuff): boolean {
  if (ep.closed) throw new InvalidArgument('rt: send on a closed endpoint');
  if (skb.len > RT_MAX_PAYLOAD) throw new InvalidArgument(`rt: payload ${skb.len} exceeds ${RT_MAX_PAYLOAD}`);
  if (ep.sndQueue.qlen === 0 && ep.inFlight < ep.maxInFlight) {
    if (skbCowHead(skb, RT_MAX_HEADER) !== 0) {
      ep.stats.rejected++;
      return false;
    }
    transmitNew(ep, skb);
    return true;
  }
  if (ep.sndQueue.qlen >= ep.sndQueueMax || skbCowHead(skb, RT_MAX_HEADER) !== 0) {
    ep.stats.rejected++;
    return false;
  }
  skbQueueTail(ep.sndQueue, skb);
  return true;
}

/** Give the next sequence number to `skb`, keep a clone on the retransmit queue, send the original. */
function transmitNew(ep: RtEndpoint, skb: SkBuff): void {
  const seq = ep.sndNxt;
  ep.sndNxt = (seq + 1) >>> 0;
  pushHeaders(ep, skb, seq, true);
  const keep = skbClone(skb);
  if (keep === null) {
    // The frags could not be copied aside for a clone: keep the original; the RTO sends clones of it.
    ep.stats.cloneFailures++;
    skbQueueTail(ep.rtxQueue, skb);
  } else {
    skbQueueTail(ep.rtxQueue, keep);
    ep.stats.sent++;
    devQueueXmit(ep.stack, ep.dev, skb);
  }
  if (ep.rtoTimer === 0) ep.rtoTimer = ep.stack.clock.setTimer(ep.rto, ep.onRto);
}

/** Write eth, IPv4, L4 (and the RT header) in front of the payload; checksum left to the device. */
function pushHeaders(ep: RtEndpoint, skb: SkBuff, seq: number, data: boolean): void {
  const b = ep.hdr;
  const o = ep.opts;
  const ip = ep.ip;
  const l4 = ep.l4;
  const payload = skb.len;
  const udp = ep.framing === RT_FRAMING_UDP;
  const l4h = udp ? UDP_HLEN + RT_HLEN : TCP_HLEN;
  const hlen = ETH_HLEN + IPV4_HLEN + l4h;
  const l4off = ETH_HLEN + IPV4_HLEN;
  ip.totLen = IPV4_HLEN + l4h + payload;
  ip.id = ep.ipId = (ep.ipId + 1) & 0xffff;
  ip.protocol = udp ? IPPROTO_UDP : IPPROTO_TCP;
  ip.saddr = o.localAddr;
  ip.daddr = o.peerAddr;
  l4.sport = o.localPort;
  l4.dport = o.peerPort;
  if (udp) {
    const r = l4off + UDP_HLEN;
    b[r] = (data ? RT_F_DATA : 0) | RT_F_ACK;
    b[r + 1] = 0;
    b[r + 2] = 0;
    b[r + 3] = 0;
    writeU32Be(b, r + 4, seq);
    writeU32Be(b, r + 8, ep.rcvNxt);
    emitUdpPartial(b, l4off, ip, l4, RT_HLEN + payload);
  } else {
    l4.seq = seq;
    l4.ack = ep.rcvNxt;
    l4.flags = (data ? TCP_PSH : 0) | TCP_ACK;
    l4.window = ep.rcvWindow;
    emitTcpPartial(b, l4off, ip, l4, payload);
  }
  emitIpv4(b, ETH_HLEN, ip);
  const eth = ep.eth;
  eth.dst = o.peerMac;
  eth.src = o.localMac;
  eth.proto = ETH_P_IP;
  emitEth(b, 0, eth);
  skbPush(skb, hlen);
  skbStoreBits(skb, 0, b, 0, hlen);
  skb.macHeader = skb.data;
  skb.networkHeader = skb.data + ETH_HLEN;
  skb.transportHeader = skb.data + l4off;
  skb.protocol = ETH_P_IP;
  skb.ipSummed = CHECKSUM_PARTIAL;
  skb.csumStart = skb.transportHeader;
  skb.csumOffset = udp ? 6 : 16;
}

/** Send a pure ack for everything received in order so far. */
export function rtSendAck(ep: RtEndpoint): void {
  if (ep.ackTimer !== 0) {
    ep.stack.clock.cancel(ep.ackTimer);
    ep.ackTimer = 0;
  }
  ep.segsSinceAck = 0;
  if (ep.closed) return;
  const skb = allocSkb(ep.stack.env, RT_HEADROOM, skGfpAtomic(ep.sk));
  if (skb === null) {
    ep.stats.allocFailures++;
    return;
  }
  skbReserve(skb, RT_HEADROOM);
  pushHeaders(ep, skb, ep.sndNxt, false);
  ep.stats.acksSent++;
  devQueueXmit(ep.stack, ep.dev, skb);
}

function scheduleAck(ep: RtEndpoint): void {
  ep.segsSinceAck++;
  if (ep.ackDelayNs === 0 || ep.segsSinceAck >= ep.ackEvery) rtSendAck(ep);
  else if (ep.ackTimer === 0) ep.ackTimer = ep.stack.clock.setTimer(ep.ackDelayNs, ep.onAckTimer);
}

/** sk_data_ready of the endpoint's socket: read every queued segment. */
function rtDataReady(ep: RtEndpoint): void {
  for (let skb = sockRecv(ep.sk); skb !== null; skb = sockRecv(ep.sk)) rtRcv(ep, skb);
}

/** One received segment (data at the L4 payload). */
function rtRcv(ep: RtEndpoint, skb: SkBuff): void {
  const b = ep.hdr;
  let flags: number;
  let seq: number;
  let ack: number;
  if (ep.framing === RT_FRAMING_UDP) {
    if (skb.len < RT_HLEN || skbCopyBits(skb, 0, b, 0, RT_HLEN) !== 0 || !pskbPull(skb, RT_HLEN)) {
      ep.stats.badSegments++;
      kfreeSkb(skb);
      return;
    }
    flags = b[0]!;
    seq = readU32Be(b, 4);
    ack = readU32Be(b, 8);
  } else {
    if (skbCopyBits(skb, skb.transportHeader - skb.data, b, 0, TCP_HLEN) !== 0) {
      ep.stats.badSegments++;
      kfreeSkb(skb);
      return;
    }
    seq = readU32Be(b, 4);
    ack = readU32Be(b, 8);
    const tf = b[13]!;
    flags = ((tf & TCP_PSH) !== 0 ? RT_F_DATA : 0) | ((tf & TCP_ACK) !== 0 ? RT_F_ACK : 0);
  }
  if ((flags & RT_F_ACK) !== 0) rtAckRcv(ep, ack);
  if ((flags & RT_F_DATA) !== 0 && !ep.closed) rtDataRcv(ep, seq, skb);
  else consumeSkb(skb);
}

function deliver(ep: RtEndpoint, skb: SkBuff, seq: number): void {
  ep.stats.delivered++;
  const cb = ep.opts.onDeliver;
  if (cb !== undefined) cb(skb, seq);
  else consumeSkb(skb);
}

function rtDataRcv(ep: RtEndpoint, seq: number, skb: SkBuff): void {
  const d = (seq - ep.rcvNxt) | 0;
  if (d < 0) {
    ep.stats.duplicates++;
    consumeSkb(skb);
    rtSendAck(ep);
    return;
  }
  if (d >= ep.rcvWindow) {
    ep.stats.outsideWindow++;
    kfreeSkb(skb);
    rtSendAck(ep);
    return;
  }
  const mask = ep.rcvWindow - 1;
  if (d > 0) {
    const slot = seq & mask;
    if (ep.ooo[slot] !== null) {
      ep.stats.duplicates++;
      consumeSkb(skb);
    } else {
      ep.ooo[slot] = skb;
      ep.oooSeq[slot] = seq;
      ep.stats.outOfOrder++;
    }
    rtSendAck(ep);
    return;
  }
  deliver(ep, skb, seq);
  ep.rcvNxt = (ep.rcvNxt + 1) >>> 0;
  for (let i = 1; i < ep.rcvWindow; i++) {
    const slot = ep.rcvNxt & mask;
    const held = ep.ooo[slot]!;
    if (held === null || ep.oooSeq[slot] !== ep.rcvNxt) break;
    ep.ooo[slot] = null;
    deliver(ep, held, ep.rcvNxt);
    ep.rcvNxt = (ep.rcvNxt + 1) >>> 0;
  }
  scheduleAck(ep);
}

/** A cumulative ack: free the clones it covers, reset the timer, let waiting data into the window. */
function rtAckRcv(ep: RtEndpoint, ack: number): void {
  ep.stats.acksReceived++;
  const adv = (ack - ep.sndUna) | 0;
  if (adv <= 0) return;
  if (adv > ep.inFlight) {
    ep.stats.badSegments++;
    return;
  }
  for (let i = 0; i < adv; i++) {
    consumeSkb(skbDequeue(ep.rtxQueue));
    ep.stats.acked++;
    const seq = ep.sndUna;
    ep.sndUna = (seq + 1) >>> 0;
    if (ep.opts.onAcked !== undefined) ep.opts.onAcked(seq);
  }
  ep.retries = 0;
  ep.rto = ep.rtoBaseNs;
  if (ep.rtoTimer !== 0) ep.stack.clock.cancel(ep.rtoTimer);
  ep.rtoTimer = 0;
  while (!ep.closed && ep.sndQueue.qlen > 0 && ep.inFlight < ep.maxInFlight) transmitNew(ep, skbDequeue(ep.sndQueue)!);
  if (!ep.closed && ep.rtxQueue.qlen > 0 && ep.rtoTimer === 0) ep.rtoTimer = ep.stack.clock.setTimer(ep.rto, ep.onRto);
}

/** The RTO expired: retransmit the oldest segment (a new clone), back off, or abort after maxRetries. */
function rtRetransmitTimer(ep: RtEndpoint): void {
  const head = ep.rtxQueue.first;
  if (ep.closed || head === null) return;
  if (ep.retries >= ep.maxRetries) {
    rtAbort(ep);
    return;
  }
  ep.retries++;
  ep.stats.timeouts++;
  const n = skbClone(head);
  if (n === null) ep.stats.cloneFailures++;
  else {
    ep.stats.retransmitted++;
    devQueueXmit(ep.stack, ep.dev, n);
  }
  ep.rto = Math.min(ep.rto * 2, ep.rtoMaxNs);
  ep.rtoTimer = ep.stack.clock.setTimer(ep.rto, ep.onRto);
}

function releaseAll(ep: RtEndpoint): void {
  const clock = ep.stack.clock;
  if (ep.rtoTimer !== 0) clock.cancel(ep.rtoTimer);
  if (ep.ackTimer !== 0) clock.cancel(ep.ackTimer);
  ep.rtoTimer = 0;
  ep.ackTimer = 0;
  skbQueuePurge(ep.rtxQueue);
  skbQueuePurge(ep.sndQueue);
  for (let i = 0; i < ep.ooo.length; i++) {
    const s = ep.ooo[i]!;
    if (s !== null) {
      ep.ooo[i] = null;
      kfreeSkb(s);
    }
  }
}

/** Give up (a reset): the endpoint is closed, everything unacknowledged freed, and onAbort told. */
function rtAbort(ep: RtEndpoint): void {
  ep.stats.aborted++;
  rtClose(ep);
  if (ep.opts.onAbort !== undefined) ep.opts.onAbort();
}

/** Close: free every queue and the reorder ring, stop the timers, close the socket. Twice is a no-op. */
export function rtClose(ep: RtEndpoint): void {
  if (ep.closed) return;
  ep.closed = true;
  releaseAll(ep);
  sockClose(ep.sk);
}
