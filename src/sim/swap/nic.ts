/**
 * SwapNic: the client's network card, a NetDevice with one RX queue per CPU and the driver's receive loop.
 *
 * ```
 *   wire ──▶ steer: UDP from the storage port ─▶ queue 1 (CPU 1)      (ethtool ntuple rule)
 *                   everything else            ─▶ queue 0 (CPU 0)      (RSS indirection table: one entry)
 *   queue q: ring of `ringSize` descriptors, each a 2 KiB page fragment from CPU q's netdev frag cache
 *            [ntc ............ hw ............ ntu)      ntc: next to clean (NAPI)
 *              filled by DMA    posted, empty             hw: next the hardware fills; ntu: next to refill
 *   a frame arriving when hw == ntu (no empty buffer) is dropped in hardware (rx_missed_errors).
 *   NAPI poll (≤ B frames; net_rx_action loops polls up to netdev_budget per CPU and step):
 *     len ≤ rx_copybreak: copy into a small skb from CPU q's napi frag cache, repost the buffer in place
 *     otherwise:          build_skb around the buffer (the skb takes its page reference)
 *     eth_type_trans, CHECKSUM_UNNECESSARY (RX checksum offload), netif_receive_skb
 *   refill after each poll: GFP_ATOMIC | the stack's __GFP_MEMALLOC switch; a failed refill leaves the
 *   descriptor empty, so the next frame for it is lost in hardware.
 * ```
 *
 * Transmit (ndo_start_xmit) copies the headers the block server reads (TX_PEEK bytes; the page payload is not
 * copied, nothing downstream reads it), completes the skb at once (TX completion) and hands the bytes to the
 * wire. Received payload bytes beyond what the sender wrote are whatever the buffer held: the flood writes its
 * 42 header bytes only.
 *
 * Owns: its rings (one page reference per posted buffer) and, through its caches, their current pages.
 * Referenced by: the stack (as the device skbs arrive on and leave through), the flood source and the server
 * (which put frames on the wire), the softirq driver (netRxAction). Dies: `teardown()` returns every buffer.
 */

import { InvalidArgument } from '../../errors.ts';
import { GFP_ATOMIC, GFP_KERNEL } from '../../mm/gfp.ts';
import { ethTypeTrans } from '../../net/eth.ts';
import { NETDEV_TX_OK, NetDeviceBase } from '../../net/netdevice.ts';
import { netifReceiveSkb } from '../../net/receive.ts';
import type { NetStack } from '../../net/stack.ts';
import { ETH_P_IP, IPPROTO_UDP } from '../../net/wire.ts';
import { buildSkb, skbPut, skbReserve } from '../../skb/alloc.ts';
import { skbCopyBits } from '../../skb/bytes.ts';
import { CHECKSUM_UNNECESSARY, NET_SKB_PAD, skbDataAlign } from '../../skb/constants.ts';
import { consumeSkb, kfreeSkb } from '../../skb/free.ts';
import type { SkBuff } from '../../skb/skbuff.ts';
import { PageFragCache } from './page-frag.ts';

/** Queue 0 carries everything but the storage flow. */
export const NIC_QUEUE_DEFAULT = 0;
/** Queue 1 carries the storage flow. */
export const NIC_QUEUE_STORAGE = 1;
/** Bytes of each transmitted frame the wire gets (headers and the RPC header). */
export const TX_PEEK = 512;

/** What the NIC reports to the scenario's invariant checker as frames go up the stack. */
export interface RxObserver {
  /** An skb was built; its head fragment was taken from `cache` at `epoch`; `pageTagged`: that page's tag. */
  onRxSkb(skb: SkBuff, cache: PageFragCache, epoch: number, pageTagged: boolean): void;
  /** eth_type_trans ran: the protocol is known, netif_receive_skb is next. */
  onRxProtocol(skb: SkBuff): void;
  /** PF_MEMALLOC of `current` before and after netif_receive_skb. */
  onRxFlags(before: number, after: number): void;
}

/** One receive queue: its descriptor ring and counters. */
export class RxQueue {
  readonly index: number;
  readonly size: number;
  readonly frame: Int32Array;
  readonly off: Int32Array;
  readonly len: Int32Array;
  /** The netdev cache's epoch when the buffer was taken (invariant 10). */
  readonly epoch: Int32Array;
  readonly cache: PageFragCache;
  ntc = 0;
  hw = 0;
  ntu = 0;
  /** Frames the hardware took (DMA'd into a buffer). */
  packets = 0;
  /** Frames lost for want of a posted buffer (rx_missed_errors). */
  missed = 0;
  /** Refill allocations that failed. */
  refillFailures = 0;
  /** Frames copied into a small skb; and those lost because that skb could not be allocated. */
  copybreak = 0;
  copybreakFailures = 0;
  /** Frames too long for a buffer (never sent by the scenario's hosts). */
  oversize = 0;

  constructor(index: number, size: number, cache: PageFragCache) {
    this.index = index;
    this.size = size;
    this.frame = new Int32Array(size);
    this.off = new Int32Array(size);
    this.len = new Int32Array(size);
    this.epoch = new Int32Array(size);
    this.cache = cache;
  }

  /** Posted buffers no frame has landed in yet. */
  get room(): number {
    return this.ntu - this.hw;
  }

  /** Buffers holding a frame NAPI has not processed. */
  get filled(): number {
    return this.hw - this.ntc;
  }

  /** Buffers posted (filled or not). */
  get posted(): number {
    return this.ntu - this.ntc;
  }
}

export interface SwapNicOptions {
  readonly stack: NetStack;
  readonly name: string;
  readonly ifindex: number;
  readonly mac: number;
  readonly cpus: number;
  readonly ringSize: number;
  readonly fragSize: number;
  readonly rxCopybreak: number;
  readonly napiBudget: number;
  readonly netdevBudget: number;
  /** UDP frames from this source port go to NIC_QUEUE_STORAGE. */
  readonly storageSport: number;
  readonly stickyFrag: boolean;
}

export class SwapNic extends NetDeviceBase {
  readonly stack: NetStack;
  readonly queues: RxQueue[] = [];
  /** Per CPU: the cache RX buffers are refilled from (netdev_alloc_cache). */
  readonly netdevCaches: PageFragCache[] = [];
  /** Per CPU: the cache copybreak skbs come from (napi_alloc_cache). */
  readonly napiCaches: PageFragCache[] = [];
  readonly fragSize: number;
  readonly rxCopybreak: number;
  readonly napiBudget: number;
  readonly netdevBudget: number;
  readonly storageSport: number;
  observer: RxObserver | null = null;
  /** Where transmitted frames go: `len` bytes of `frame` are valid, `wireLen` is the frame's real length. */
  wire: ((frame: Uint8Array, len: number, wireLen: number) => void) | null = null;
  readonly txBuf = new Uint8Array(TX_PEEK);
  /** Copybreak frames dropped because their small skb could not be allocated (also in rxDropped). */
  rxAllocDrops = 0;

  constructor(o: SwapNicOptions) {
    super(o.name, o.ifindex, o.mac);
    if (!(o.cpus >= 2)) throw new InvalidArgument('SwapNic: the storage queue needs a second CPU');
    if (o.fragSize - o.stack.env.shinfoSize - NET_SKB_PAD < 64) throw new InvalidArgument(`SwapNic: fragment ${o.fragSize} too small`);
    this.stack = o.stack;
    this.mtu = 9000;
    this.fragSize = o.fragSize;
    this.rxCopybreak = o.rxCopybreak;
    this.napiBudget = o.napiBudget;
    this.netdevBudget = o.netdevBudget;
    this.storageSport = o.storageSport;
    const pages = o.stack.env.pages;
    for (let c = 0; c < o.cpus; c++) {
      this.netdevCaches.push(new PageFragCache(`netdev_alloc_cache/${c}`, pages, o.stickyFrag));
      this.napiCaches.push(new PageFragCache(`napi_alloc_cache/${c}`, pages, o.stickyFrag));
      this.queues.push(new RxQueue(c, o.ringSize, this.netdevCaches[c]!));
    }
  }

  /** Largest frame a buffer takes. */
  get maxRxFrame(): number {
    return this.fragSize - this.stack.env.shinfoSize - NET_SKB_PAD;
  }

  /** The queue a frame is steered to: the ntuple rule for the storage flow, else queue 0. */
  steer(b: Uint8Array): number {
    if (b.length >= 36 && ((b[12]! << 8) | b[13]!) === ETH_P_IP && b[23] === IPPROTO_UDP) {
      const ihl = (b[14]! & 0x0f) * 4;
      const sport = (b[14 + ihl]! << 8) | b[15 + ihl]!;
      if (sport === this.storageSport) return NIC_QUEUE_STORAGE;
    }
    return NIC_QUEUE_DEFAULT;
  }

  /**
   * A frame arrives: `copyLen` bytes of `src` are the frame's start (at least its headers), `frameLen` its
   * length. DMA into the next posted buffer of its queue, or drop in hardware. True if the NIC took it.
   */
  rx(src: Uint8Array, copyLen: number, frameLen: number): boolean {
    return this.rxDma(this.queues[this.steer(src)]!, src, copyLen, frameLen);
  }

  rxDma(q: RxQueue, src: Uint8Array, copyLen: number, frameLen: number): boolean {
    if (frameLen > this.maxRxFrame) {
      q.oversize++;
      this.stats.rxDropped++;
      return false;
    }
    if (q.hw === q.ntu) {
      q.missed++;
      this.stats.rxDropped++;
      return false;
    }
    const i = q.hw % q.size;
    const base = q.frame[i]! * 4096 + q.off[i]! + NET_SKB_PAD;
    const bytes = this.stack.env.mem.bytes;
    const n = Math.min(copyLen, frameLen);
    if (n === src.length) bytes.set(src, base);
    else for (let k = 0; k < n; k++) bytes[base + k] = src[k]!;
    q.len[i] = frameLen;
    q.hw++;
    q.packets++;
    return true;
  }

  /** Post buffers until every ring is full (at ifup, with `gfp` = GFP_KERNEL). False if memory ran out. */
  fill(gfp: number = GFP_KERNEL): boolean {
    const ctx = this.stack.ctx;
    const saved = ctx.cpu;
    let ok = true;
    for (const q of this.queues) {
      ctx.cpu = q.index;
      if (this.refill(q, gfp) !== 0) ok = false;
    }
    ctx.cpu = saved;
    return ok;
  }

  /**
   * net_rx_action for `cpu` (the caller is in softirq context on that CPU): NAPI polls of its queue until the
   * queue has no frame or netdev_budget frames were processed; the ring is refilled after each poll.
   * Returns the frames processed.
   */
  netRxAction(cpu: number): number {
    const q = this.queues[cpu];
    if (q === undefined) return 0;
    let done = 0;
    while (done < this.netdevBudget) {
      const n = this.napiPoll(q, Math.min(this.napiBudget, this.netdevBudget - done));
      done += n;
      this.refill(q, GFP_ATOMIC | this.stack.rxMemallocGfp());
      if (n < this.napiBudget || q.filled === 0) break;
    }
    return done;
  }

  /** One NAPI poll of `q`: up to `budget` filled descriptors go up the stack. */
  napiPoll(q: RxQueue, budget: number): number {
    let n = 0;
    while (n < budget && q.ntc < q.hw) {
      const i = q.ntc % q.size;
      const frame = q.frame[i]!;
      const off = q.off[i]!;
      const len = q.len[i]!;
      const epoch = q.epoch[i]!;
      q.ntc++;
      n++;
      const skb = len <= this.rxCopybreak ? this.copybreak(q, frame, off, len, epoch) : this.buildRx(q, frame, off, len, epoch);
      if (skb !== null) this.receive(skb);
    }
    return n;
  }

  /** Refill `q` from its CPU's netdev cache until full or an allocation fails. Returns descriptors left empty. */
  refill(q: RxQueue, gfp: number): number {
    const c = q.cache;
    while (q.posted < q.size) {
      if (!c.alloc(this.fragSize, gfp)) {
        q.refillFailures++;
        break;
      }
      this.post(q, c.frame, c.off, c.epoch);
    }
    return q.size - q.posted;
  }

  override ndoStartXmit(skb: SkBuff): number {
    const len = skb.len;
    const n = Math.min(len, TX_PEEK);
    const copied = skbCopyBits(skb, 0, this.txBuf, 0, n) === 0;
    this.stats.txPackets++;
    this.stats.txBytes += len;
    consumeSkb(skb);
    if (copied && this.wire !== null) this.wire(this.txBuf, n, len);
    return NETDEV_TX_OK;
  }

  /** ifdown: give back every posted buffer and the caches' pages. */
  teardown(): void {
    const pages = this.stack.env.pages;
    for (const q of this.queues) {
      for (let k = q.ntc; k < q.ntu; k++) pages.putPage(q.frame[k % q.size]!);
      q.ntc = q.hw = q.ntu = 0;
    }
    for (const c of this.netdevCaches) c.release();
    for (const c of this.napiCaches) c.release();
  }

  private post(q: RxQueue, frame: number, off: number, epoch: number): void {
    const i = q.ntu % q.size;
    q.frame[i] = frame;
    q.off[i] = off;
    q.len[i] = 0;
    q.epoch[i] = epoch;
    q.ntu++;
  }

  /** build_skb around the buffer: the skb takes over the buffer's page reference. */
  private buildRx(q: RxQueue, frame: number, off: number, len: number, epoch: number): SkBuff {
    const env = this.stack.env;
    const skb = buildSkb(env, frame, off, this.fragSize);
    skbReserve(skb, NET_SKB_PAD);
    skbPut(skb, len);
    this.observer?.onRxSkb(skb, q.cache, epoch, env.pages.isPfmemalloc(frame));
    return skb;
  }

  /** rx_copybreak: copy the frame into a small skb from the CPU's napi cache; the buffer is posted again. */
  private copybreak(q: RxQueue, frame: number, off: number, len: number, epoch: number): SkBuff | null {
    const env = this.stack.env;
    const cache = this.napiCaches[q.index]!;
    const fragsz = skbDataAlign(NET_SKB_PAD + len) + env.shinfoSize;
    q.copybreak++;
    const got = cache.alloc(fragsz, GFP_ATOMIC | this.stack.rxMemallocGfp());
    this.post(q, frame, off, epoch);
    if (!got) {
      q.copybreakFailures++;
      this.rxAllocDrops++;
      this.stats.rxDropped++;
      return null;
    }
    const skb = buildSkb(env, cache.frame, cache.off, fragsz);
    skbReserve(skb, NET_SKB_PAD);
    skbPut(skb, len);
    const src = frame * 4096 + off + NET_SKB_PAD;
    env.mem.bytes.copyWithin(cache.frame * 4096 + cache.off + NET_SKB_PAD, src, src + len);
    this.observer?.onRxSkb(skb, cache, cache.epoch, env.pages.isPfmemalloc(cache.frame));
    return skb;
  }

  /** eth_type_trans and netif_receive_skb, with the observer's checks around them. */
  private receive(skb: SkBuff): void {
    const stack = this.stack;
    skb.ipSummed = CHECKSUM_UNNECESSARY;
    this.stats.rxPackets++;
    this.stats.rxBytes += skb.len;
    if (ethTypeTrans(skb) < 0) {
      stack.stats.dropMalformed++;
      this.stats.rxDropped++;
      kfreeSkb(skb);
      return;
    }
    const obs = this.observer;
    if (obs === null) {
      netifReceiveSkb(stack, this, skb);
      return;
    }
    obs.onRxProtocol(skb);
    const task = stack.ctx.current;
    const before = task.flags;
    netifReceiveSkb(stack, this, skb);
    obs.onRxFlags(before, task.flags);
  }
}
