/**
 * PacketSocket: an AF_PACKET tap (tcpdump) on ptype_all. It sees every packet the stack receives on its device
 * (or on every device), and every packet sent through devQueueXmit, and keeps what it sees on its receive queue
 * until its reader takes it.
 *
 * What it holds: the receive path hands a tap its own reference to the skb (deliver_skb); the tap, finding the
 * skb shared, clones it and drops that reference (af_packet's packet_rcv). So a tap holds **clones**: they
 * share the original's frags, and a frag destructor or a grant mapping stays alive until the tap lets go
 * (REFERENCE §5.8; in zerocopy mode the receive path has already copied the frags aside, and the guest's pages
 * were released early). When the tap happens to be the last handler it gets the original, unshared, and keeps
 * it without cloning, as Linux does.
 *
 * The reader: `holdNs` finite means each packet is read (and freed) that long after it arrived, in order; a
 * reader that never reads (holdNs Infinity, the default) leaves everything queued until the receive buffer is
 * full (sk_rcvbuf, by truesize; later packets are dropped and counted) or the tap is closed. tapRecv takes
 * packets explicitly. An optional PcapWriter records every packet the tap accepts, link header included, at
 * virtual time.
 *
 * Owns its Sock (receive queue and charges) and its PacketType registration. Dies at packetSocketClose:
 * unregistered, queue purged, timer cancelled.
 */

import type { PcapWriter } from '../report/pcap.ts';
import { GFP_ATOMIC } from '../mm/gfp.ts';
import { skbCopyBits } from '../skb/bytes.ts';
import { skbClone } from '../skb/clone.ts';
import { consumeSkb, kfreeSkb } from '../skb/free.ts';
import { skbDequeue, skbQueueTail } from '../skb/queue.ts';
import { skbShared, type SkBuff } from '../skb/skbuff.ts';
import { skbMacOffset } from './eth.ts';
import { NET_RX_DROP, NET_RX_SUCCESS, PacketType, type NetDevice } from './netdevice.ts';
import { devAddPack, devRemovePack } from './receive.ts';
import { SK_RMEM_DEFAULT, SOCK_RAW, Sock, skbSetOwnerR } from './sock.ts';
import type { NetStack } from './stack.ts';
import { TimeFifo } from './time-fifo.ts';
import { ETH_P_ALL } from './wire.ts';

export interface PacketSocketOptions {
  /** Only packets on this device (dev_add_pack with a device), or every device (null, the default). */
  readonly dev?: NetDevice | null;
  /** sk_rcvbuf in bytes of truesize (default net.core.rmem_default). */
  readonly rcvbuf?: number;
  /** How long the reader takes to read each packet, in ns; Infinity (default) = never reads. */
  readonly holdNs?: number;
  /** Record what the tap accepts. */
  readonly pcap?: PcapWriter | null;
}

export class PacketSocketStats {
  /** Packets handed to the tap. */
  seen = 0;
  /** Packets kept on the queue. */
  queued = 0;
  /** Kept as a clone (the original was shared). */
  cloned = 0;
  /** Dropped: receive buffer full (tp_drops). */
  drops = 0;
  /** Dropped: the clone failed. */
  cloneFailures = 0;
  /** Read and freed by the reader (hold time or tapRecv). */
  read = 0;
}

export class PacketSocket {
  readonly stack: NetStack;
  readonly sk: Sock;
  readonly pt: PacketType;
  holdNs: number;
  pcap: PcapWriter | null;
  readonly stats = new PacketSocketStats();
  /** When the reader will read each queued packet (arrival + holdNs), parallel to the queue. */
  readonly due = new TimeFifo();
  timer = 0;
  readonly onTimer: () => void;
  closed = false;

  constructor(stack: NetStack, opts: PacketSocketOptions = {}) {
    this.stack = stack;
    this.sk = new Sock(stack, SOCK_RAW, 0, { rcvbuf: opts.rcvbuf ?? SK_RMEM_DEFAULT });
    this.holdNs = opts.holdNs ?? Infinity;
    this.pcap = opts.pcap ?? null;
    this.pt = new PacketType(ETH_P_ALL, opts.dev ?? null, (skb) => packetRcv(this, skb), this);
    this.onTimer = () => {
      this.timer = 0;
      releaseDue(this);
    };
  }

  /** Packets waiting on the queue. */
  get queued(): number {
    return this.sk.receiveQueue.qlen;
  }
}

/** Arm the hold timer for the oldest queued packet, if it has a finite read time and none is armed. */
function armHold(tap: PacketSocket): void {
  if (tap.timer !== 0 || tap.due.count === 0) return;
  const t = tap.due.peek();
  if (!Number.isFinite(t)) return;
  const clock = tap.stack.clock;
  tap.timer = clock.setTimer(Math.max(0, t - clock.now()), tap.onTimer);
}

/** Open a tap on `stack` (socket(AF_PACKET) + dev_add_pack). */
export function packetSocketOpen(stack: NetStack, opts: PacketSocketOptions = {}): PacketSocket {
  const tap = new PacketSocket(stack, opts);
  devAddPack(stack, tap.pt);
  return tap;
}

/**
 * packet_rcv: the receive buffer check, then clone if shared, charge to the tap, record, queue. Takes the
 * reference it is given.
 */
export function packetRcv(tap: PacketSocket, skb: SkBuff): number {
  tap.stats.seen++;
  const sk = tap.sk;
  if (tap.closed || sk.rmemAlloc >= sk.skRcvbuf) {
    tap.stats.drops++;
    sk.stats.drops++;
    sk.stats.rcvbufDrops++;
    kfreeSkb(skb);
    return NET_RX_DROP;
  }
  if (skbShared(skb)) {
    const n = skbClone(skb, GFP_ATOMIC);
    if (n === null) {
      tap.stats.cloneFailures++;
      kfreeSkb(skb);
      return NET_RX_DROP;
    }
    consumeSkb(skb);
    skb = n;
    tap.stats.cloned++;
  }
  if (tap.pcap !== null) tapCapture(tap, skb);
  skbSetOwnerR(skb, sk);
  skbQueueTail(sk.receiveQueue, skb);
  tap.stats.queued++;
  sk.stats.queued++;
  tap.due.push(tap.stack.clock.now() + tap.holdNs);
  armHold(tap);
  return NET_RX_SUCCESS;
}

/** Record the frame, from its link header, at the current virtual time. */
function tapCapture(tap: PacketSocket, skb: SkBuff): void {
  const off = skbMacOffset(skb);
  const len = skb.len - off;
  const buf = tap.stack.pktScratch;
  if (len > buf.length || skbCopyBits(skb, off, buf, 0, len) !== 0) return;
  tap.pcap!.record(tap.stack.clock.now(), buf, 0, len);
}

/** The hold timer: read and free every packet whose time has come. */
function releaseDue(tap: PacketSocket): void {
  const now = tap.stack.clock.now();
  const q = tap.sk.receiveQueue;
  while (q.qlen > 0 && tap.due.peek() <= now) {
    tap.due.shift();
    consumeSkb(skbDequeue(q));
    tap.stats.read++;
  }
  armHold(tap);
}

/** The reader takes the oldest packet now (recvmsg); the caller owns it. Null if none. */
export function tapRecv(tap: PacketSocket): SkBuff | null {
  const skb = skbDequeue(tap.sk.receiveQueue);
  if (skb === null) return null;
  tap.due.shift();
  tap.stats.read++;
  return skb;
}

/** Close: unregister, free everything queued, stop the timer. Closing twice is a no-op. */
export function packetSocketClose(tap: PacketSocket): void {
  if (tap.closed) return;
  tap.closed = true;
  devRemovePack(tap.stack, tap.pt);
  if (tap.timer !== 0) tap.stack.clock.cancel(tap.timer);
  tap.timer = 0;
  tap.due.clear();
  for (let skb = skbDequeue(tap.sk.receiveQueue); skb !== null; skb = skbDequeue(tap.sk.receiveQueue)) consumeSkb(skb);
}
