/**
 * The guest-TX workload every benchmark and both runtimes share: a guest that sends TCP frames of one size
 * through the real netfront, and a dom0 stack that receives them from the real netback (optionally with a
 * packet tap that clones every packet, as tcpdump does).
 *
 * The same three objects run unchanged in the deterministic single-thread machine (machine.ts) and in the
 * worker-thread runtime (sim/threaded/): `TxGenerator` lives with netfront in the guest, `TxSink` with
 * netback in dom0, `TxResponseLog` beside netfront.
 *
 * Frames (every multi-byte header field big-endian, checksums left to the backend: CHECKSUM_PARTIAL):
 *
 * ```
 *   size ≤ 1514: one linear head        | eth 14 | ipv4 20 | tcp 20 | payload (size − 54) |
 *   size > 1514: GSO TCPv4, MSS 1448    | eth | ipv4 | tcp |  head (54 B)  +  frags: payload pages, 4096 B each
 * ```
 *
 * Packet `seq` carries `seq` in its TCP sequence number; everything else is a function of the size alone, so
 * `expectedFrame(spec, seq)` rebuilds any frame. Payload of a GSO packet lives in a pool of pre-filled guest
 * pages (a page cache sending with sendfile: the guest copies nothing), packet `seq` taking pool pages
 * `seq × 16 + j` modulo the pool; a linear packet is written from a template (the guest's one copy).
 *
 * What is compared between runs: the frames dom0's stack received (in order), and for each packet the
 * statuses of the TX responses the guest read for its slots (`TxResponseLog`), which do not depend on how
 * the backend batched or when it answered.
 */

import {
  NETIF_RSP_NULL, NETIF_TX_REQUEST, NETIF_TX_RESPONSE, NETTXF_extra_info, type NetifTxFrontRing,
} from '../../abi/netif.ts';
import { XEN_PAGE_SIZE } from '../../abi/page.ts';
import { ringGetRequest, type RingIdx } from '../../abi/ring.ts';
import type { NetfrontInfo } from '../../drivers/netfront/netfront.ts';
import type { NetfrontQueue } from '../../drivers/netfront/queue.ts';
import { GFP_ATOMIC } from '../../mm/gfp.ts';
import type { PageAllocator } from '../../mm/page-allocator.ts';
import { NETDEV_TX_OK, type NetDevice } from '../../net/netdevice.ts';
import { netifReceiveSkb } from '../../net/receive.ts';
import type { NetStack } from '../../net/stack.ts';
import { packetSocketOpen, tapRecv, type PacketSocket } from '../../net/tap.ts';
import {
  ETH_HLEN, ETH_P_IP, IPPROTO_TCP, IPV4_HLEN, TCP_ACK, TCP_HLEN, emitEth, emitIpv4, emitTcpPartial, newEthHdr,
  newIpv4Hdr, newL4Hdr,
} from '../../net/wire.ts';
import { allocSkb, skbPutData, skbReserve } from '../../skb/alloc.ts';
import { skbCopyBits } from '../../skb/bytes.ts';
import { CHECKSUM_PARTIAL } from '../../skb/constants.ts';
import type { SkbEnv } from '../../skb/env.ts';
import { SKB_GSO_TCPV4 } from '../../skb/features.ts';
import { skbAddRxFrag } from '../../skb/frag.ts';
import { consumeSkb } from '../../skb/free.ts';
import { headWrite } from '../../skb/head.ts';
import type { SkBuff, SkbDestructorFn } from '../../skb/skbuff.ts';
import { InvalidArgument } from '../../errors.ts';
import type { TxStrategy } from '../../drivers/netback/netback.ts';

/** The sizes the benchmarks sweep (frame bytes; 65535 is the largest frame netif carries, "64 KiB GSO"). */
export const BENCH_SIZES: readonly number[] = [64, 256, 1500, 4096, 16384, 65535];
/** The TX strategies compared (plain-ref is a deliberate bug, not a contender). */
export const BENCH_STRATEGIES: readonly TxStrategy[] = ['copy', 'map', 'hybrid', 'zerocopy'];

/** Headers in every frame: Ethernet, IPv4 without options, TCP without options. */
export const TX_HDR_LEN = ETH_HLEN + IPV4_HLEN + TCP_HLEN;
/** Smallest and largest frame. */
export const TX_MIN_SIZE = 60;
export const TX_MAX_SIZE = 0xffff;
/** Frames above this are GSO (the Ethernet MTU frame). */
export const TX_LINEAR_MAX = 1514;
/** MSS of the GSO frames. */
export const TX_GSO_MSS = 1448;
/** Offset of the TCP sequence number: where a frame's `seq` is written. */
export const TX_SEQ_OFFSET = ETH_HLEN + IPV4_HLEN + 4;
/** Pages of pre-filled payload the guest sends GSO frames from. */
export const TX_POOL_PAGES = 64;
/** Headroom the guest reserves in front of a frame. */
const TX_HEADROOM = 64;
/** Pool pages a packet advances by, whatever its size (so any packet's pages follow from its seq). */
const POOL_STRIDE = 16;

export const GUEST_MAC = 0x00163e000001;
export const DOM0_MAC = 0x00163e000002;

export interface TxWorkloadSpec {
  readonly strategy: TxStrategy;
  /** Frame size in bytes, TX_MIN_SIZE..TX_MAX_SIZE. */
  readonly size: number;
  /** A packet tap on dom0's stack clones every packet (read and freed right after delivery). */
  readonly tap: boolean;
  /** Record what is compared between runs (per-packet frame digests, response statuses). Costs time. */
  readonly verify: boolean;
}

export function checkSpec(spec: TxWorkloadSpec): void {
  if (!Number.isInteger(spec.size) || spec.size < TX_MIN_SIZE || spec.size > TX_MAX_SIZE) {
    throw new InvalidArgument(`workload: frame size must be an integer in ${TX_MIN_SIZE}..${TX_MAX_SIZE}, got ${spec.size}`);
  }
}

export function isGso(size: number): boolean {
  return size > TX_LINEAR_MAX;
}

/** Byte `i` of payload pool page `p`. */
function poolByte(p: number, i: number): number {
  return (p * 131 + i * 7 + 1) & 0xff;
}

/** The frame without its sequence number: headers, and for a linear frame its payload. */
export function frameTemplate(size: number): Uint8Array {
  const gso = isGso(size);
  const b = new Uint8Array(gso ? TX_HDR_LEN : size);
  for (let i = TX_HDR_LEN; i < b.length; i++) b[i] = (i * 13 + size) & 0xff;
  const eth = newEthHdr();
  eth.dst = DOM0_MAC;
  eth.src = GUEST_MAC;
  eth.proto = ETH_P_IP;
  const ip = newIpv4Hdr();
  ip.totLen = size - ETH_HLEN;
  ip.protocol = IPPROTO_TCP;
  ip.saddr = 0x0a000001;
  ip.daddr = 0x0a000002;
  const tcp = newL4Hdr();
  tcp.sport = 40000;
  tcp.dport = 5001;
  tcp.flags = TCP_ACK;
  tcp.window = 65535;
  emitEth(b, 0, eth);
  emitIpv4(b, ETH_HLEN, ip);
  emitTcpPartial(b, ETH_HLEN + IPV4_HLEN, ip, tcp, size - TX_HDR_LEN);
  return b;
}

function putSeq(b: Uint8Array, off: number, seq: number): void {
  b[off] = seq >>> 24;
  b[off + 1] = (seq >>> 16) & 0xff;
  b[off + 2] = (seq >>> 8) & 0xff;
  b[off + 3] = seq & 0xff;
}

/** The whole frame packet `seq` carries: what dom0 must receive. */
export function expectedFrame(size: number, seq: number, out: Uint8Array = new Uint8Array(size)): Uint8Array {
  const t = frameTemplate(size);
  out.set(t);
  putSeq(out, TX_SEQ_OFFSET, seq);
  if (isGso(size)) {
    for (let at = TX_HDR_LEN, j = 0; at < size; j++) {
      const p = (seq * POOL_STRIDE + j) % TX_POOL_PAGES;
      const n = Math.min(XEN_PAGE_SIZE, size - at);
      for (let i = 0; i < n; i++) out[at + i] = poolByte(p, i);
      at += n;
    }
  }
  return out;
}

/** FNV-1a over bytes [0, len). */
export function fnv1a(b: Uint8Array, len: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < len; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h >>> 0;
}

// ---- the guest side -----------------------------------------------------------------------------------------

/**
 * The guest's sender. `allow(n)` lets it send n more packets; `pump()` sends while allowed and the queue is
 * not stopped (call it again when netfront wakes the queue: netfront's `onTxWake`). A packet is complete when
 * netfront frees its sk_buff, i.e. when every slot of it was answered and its grants ended.
 *
 * Owns the payload pool pages (one page reference each, dropped by `release`). Per packet it allocates one
 * sk_buff from the guest's SkbEnv pool and takes one page reference per frag; nothing else.
 */
export class TxGenerator {
  readonly size: number;
  readonly env: SkbEnv;
  readonly gso: boolean;
  /** Packets handed to netfront (the next packet's seq). */
  sent = 0;
  /** Packets whose sk_buff netfront has freed. */
  completed = 0;
  /** Packets `pump` may send in all. */
  target = 0;
  /** netfront refused a packet with NETDEV_TX_BUSY (it is kept and sent again). */
  busy = 0;
  log: TxResponseLog | null = null;
  private nf: NetfrontInfo | null = null;
  private readonly template: Uint8Array;
  private readonly pool: Int32Array;
  private readonly pages: PageAllocator;
  private held: SkBuff | null = null;
  private readonly onFree: SkbDestructorFn = () => {
    this.completed++;
  };

  constructor(env: SkbEnv, size: number, verify: boolean) {
    this.env = env;
    this.size = size;
    this.gso = isGso(size);
    this.template = frameTemplate(size);
    this.pages = env.pages;
    this.pool = new Int32Array(this.gso ? TX_POOL_PAGES : 0);
    for (let p = 0; p < this.pool.length; p++) {
      const f = this.pages.allocPage(GFP_ATOMIC);
      if (f < 0) throw new InvalidArgument('workload: the guest has no page for the payload pool');
      this.pool[p] = f;
      const base = f * XEN_PAGE_SIZE;
      const bytes = env.mem.bytes;
      for (let i = 0; i < XEN_PAGE_SIZE; i++) bytes[base + i] = poolByte(p, i);
    }
    if (verify) this.log = new TxResponseLog();
  }

  attach(nf: NetfrontInfo): void {
    this.nf = nf;
  }

  /** Let `n` more packets go. */
  allow(n: number): void {
    this.target += n;
  }

  /** Every packet allowed has been sent and completed. */
  get drained(): boolean {
    return this.sent === this.target && this.completed === this.sent && this.held === null;
  }

  /** Send while allowed and the queue takes packets. Returns the packets sent. */
  readonly pump = (): number => {
    const nf = this.nf;
    if (nf === null || !nf.up || nf.queues.length === 0) return 0;
    const q = nf.queues[0]!;
    this.log?.scan(q);
    let n = 0;
    while (this.sent < this.target && !q.txStopped) {
      const skb = this.held ?? this.build(this.sent);
      this.held = null;
      if (skb === null) break;
      const from = q.tx.reqProdPvt;
      if (nf.ndoStartXmit(skb) !== NETDEV_TX_OK) {
        this.held = skb;
        this.busy++;
        break;
      }
      this.log?.noteSent(q.tx, this.sent, from);
      this.sent++;
      n++;
    }
    return n;
  };

  /** Packet `seq` as a guest sk_buff, or null if the guest is out of memory. */
  private build(seq: number): SkBuff | null {
    const t = this.template;
    const skb = allocSkb(this.env, t.length + TX_HEADROOM, GFP_ATOMIC);
    if (skb === null) return null;
    skbReserve(skb, TX_HEADROOM);
    const at = skbPutData(skb, t);
    const sh = skb.shinfo;
    headWrite(sh, skb.data + at + TX_SEQ_OFFSET, seqBytes(seq), 0, 4);
    skb.ipSummed = CHECKSUM_PARTIAL;
    skb.destructor = this.onFree;
    if (this.gso) {
      sh.gsoSize = TX_GSO_MSS;
      sh.gsoType = SKB_GSO_TCPV4;
      let left = this.size - TX_HDR_LEN;
      for (let j = 0; left > 0; j++) {
        const f = this.pool[(seq * POOL_STRIDE + j) % TX_POOL_PAGES]!;
        const n = left < XEN_PAGE_SIZE ? left : XEN_PAGE_SIZE;
        this.pages.getPage(f);
        skbAddRxFrag(skb, j, f, 0, n, XEN_PAGE_SIZE);
        left -= n;
      }
    }
    return skb;
  }

  /** Give the pool pages back (the frags that still use them hold their own references). */
  release(): void {
    for (let p = 0; p < this.pool.length; p++) this.pages.putPage(this.pool[p]!);
    this.pool.fill(-1);
  }
}

const seqScratch = new Uint8Array(4);
function seqBytes(seq: number): Uint8Array {
  putSeq(seqScratch, 0, seq);
  return seqScratch;
}

/**
 * What the guest read back for each packet, from the TX ring itself: netfront is not asked. When a packet
 * goes out, the ids of its data slots are read from the request slots the guest just wrote; when netfront has
 * consumed responses (its rsp_cons moved), their slots are read before the guest writes new requests there.
 * Packet record: the status of each data slot in slot order, then `+N` for N NULL slots (its extras).
 */
export class TxResponseLog {
  private readonly idSeq = new Int32Array(256).fill(-1);
  private readonly idSlot = new Int32Array(256);
  private readonly statuses: number[][] = [];
  private readonly nulls: number[] = [];
  private cons: RingIdx = -1;
  private lastSeq = -1;
  /** Responses naming an id no packet of this log used. */
  strays = 0;

  /** Packet `seq` was written into request slots [from, tx.reqProdPvt). */
  noteSent(tx: NetifTxFrontRing, seq: number, from: RingIdx): void {
    if (this.cons < 0) this.cons = from;
    const view = tx.page.view;
    const slots: number[] = [];
    let extra = false;
    for (let idx = from; idx !== tx.reqProdPvt; idx = (idx + 1) >>> 0) {
      if (extra) {
        extra = false;
        continue;
      }
      const at = ringGetRequest(tx, idx);
      const id = view.getUint16(at + NETIF_TX_REQUEST.id.offset, true);
      if (slots.length === 0) extra = (view.getUint16(at + NETIF_TX_REQUEST.flags.offset, true) & NETTXF_extra_info) !== 0;
      this.idSeq[id] = seq;
      this.idSlot[id] = slots.length;
      slots.push(NaN);
    }
    this.statuses[seq] = slots;
    this.nulls[seq] = 0;
  }

  /** Read the responses netfront consumed since the last scan. */
  scan(q: NetfrontQueue): void {
    const tx = q.tx;
    if (this.cons < 0) return;
    const view = tx.page.view;
    for (; this.cons !== tx.rspCons; this.cons = (this.cons + 1) >>> 0) {
      const at = tx.entries + (this.cons & (tx.nrEnts - 1)) * tx.entrySize;
      const status = view.getInt16(at + NETIF_TX_RESPONSE.status.offset, true);
      if (status === NETIF_RSP_NULL) {
        if (this.lastSeq >= 0) this.nulls[this.lastSeq]!++;
        continue;
      }
      const id = view.getUint16(at + NETIF_TX_RESPONSE.id.offset, true);
      const seq = this.idSeq[id]!;
      if (seq < 0) {
        this.strays++;
        continue;
      }
      this.statuses[seq]![this.idSlot[id]!] = status;
      this.idSeq[id] = -1;
      this.lastSeq = seq;
    }
  }

  /** One line per packet: slot statuses, then `+N` NULL slots. */
  records(): string[] {
    return this.statuses.map((s, seq) => `${s.join(',')}+${this.nulls[seq]}`);
  }
}

// ---- the backend side ---------------------------------------------------------------------------------------

/**
 * dom0's consumer: netback's `deliver` hook. Each packet enters dom0's stack (netif_receive_skb); with a
 * tap, the tap's clone is read and freed right after. In verify mode each frame is checked against
 * `expectedFrame` (by its own seq) and its digest recorded, in arrival order.
 */
export class TxSink {
  readonly stack: NetStack;
  readonly size: number;
  readonly tap: PacketSocket | null;
  delivered = 0;
  /** Frames whose bytes differ from what the guest sent (verify mode). */
  mismatches = 0;
  readonly seqs: number[] | null;
  readonly digests: number[] | null;
  private readonly scratch: Uint8Array | null;
  private readonly expect: Uint8Array | null;

  constructor(stack: NetStack, size: number, tap: boolean, verify: boolean) {
    this.stack = stack;
    this.size = size;
    this.tap = tap ? packetSocketOpen(stack, { rcvbuf: Number.MAX_SAFE_INTEGER }) : null;
    this.seqs = verify ? [] : null;
    this.digests = verify ? [] : null;
    this.scratch = verify ? new Uint8Array(TX_MAX_SIZE) : null;
    this.expect = verify ? new Uint8Array(TX_MAX_SIZE) : null;
  }

  readonly deliver = (skb: SkBuff, dev: NetDevice): void => {
    this.delivered++;
    if (this.scratch !== null) this.check(skb);
    netifReceiveSkb(this.stack, dev, skb);
    const tap = this.tap;
    if (tap !== null) {
      for (let c = tapRecv(tap); c !== null; c = tapRecv(tap)) consumeSkb(c);
    }
  };

  private check(skb: SkBuff): void {
    const b = this.scratch!;
    const back = skb.data - skb.macHeader;
    const len = skb.len + back;
    if (skbCopyBits(skb, -back, b, 0, len) !== 0) {
      this.mismatches++;
      return;
    }
    const seq = ((b[TX_SEQ_OFFSET]! << 24) | (b[TX_SEQ_OFFSET + 1]! << 16) | (b[TX_SEQ_OFFSET + 2]! << 8) | b[TX_SEQ_OFFSET + 3]!) >>> 0;
    const e = expectedFrame(this.size, seq, this.expect!);
    let same = len === this.size;
    for (let i = 0; same && i < len; i++) same = b[i] === e[i];
    if (!same) this.mismatches++;
    this.seqs!.push(seq);
    this.digests!.push(fnv1a(b, len));
  }
}
