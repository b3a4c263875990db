/**
 * SwapClient: the swap device over the network (REFERENCE §12.1 item 7, §11.9): an NFS/NBD-like client that
 * writes anonymous pages to the block server as RPCs over UDP.
 *
 * ```
 *   reclaim ── queuePage(frame) ──▶ queue (≤ swapQueueMax, nr_requests)          the page's reference moves here
 *   pump(t), as "rpciod" on the storage CPU, PF_MEMALLOC set (nbd's sock_xmit, an RPC_TASK_SWAPPER task):
 *     drain swapSock: each reply completes its request: free the kept clone and the rpc buffer, hand the page
 *       back to reclaim as written (end_page_writeback)
 *     retransmit every request older than T_rto (a clone of the kept skb)
 *     while in flight < M: rpc buffer = kmalloc(GFP_NOWAIT | __GFP_MEMALLOC)       (rpc_malloc)
 *                          skb = alloc_skb(hdr, sk_allocation = GFP_NOIO | __GFP_MEMALLOC), RPC header linear,
 *                                the page attached as frag 0 (kernel_sendpage: no copy, one page reference)
 *                          keep a clone (the retransmit copy), dev_queue_xmit the original
 *     idle for pingIdle steps: a NULL RPC (no page), so replies keep arriving when nothing is written
 * ```
 *
 * Replies are read in process context, as sunrpc's receive worker and nbd's recv_work read them: the softirq
 * only queues them on swapSock (SOCK_MEMALLOC, drained every step). So the memory a completion returns comes
 * back in process context, where the next NAPI refill on the flooded CPU may take it first; that race is the
 * deadlock of §11.13 (the few buffers that still fit are taken by unimportant traffic).
 *
 * In `groups` mode the skb is allocated with the TX reservation group current and the rpc buffer through
 * kmallocReserve on the RPC group (v20's charging); in `off` and `nta` the socket is not SOCK_MEMALLOC (no such
 * flag before 2012; NTA has its own pool) and the entitlement comes from PF_MEMALLOC alone.
 *
 * Owns: swapSock, the queued and in-flight pages' references, the kept clones, the rpc buffers. Referenced by
 * reclaim (queuePage), the step loop (pump) and the watchdog (counters). Dies at `teardown()`.
 */

import { __GFP_MEMALLOC, GFP_NOIO, GFP_NOWAIT } from '../../mm/gfp.ts';
import { kfree, kmalloc } from '../../mm/kmalloc.ts';
import { kfreeReserve, kmallocReserve, type MemReserve } from '../../mm/reserve.ts';
import type { KmemAllocator } from '../../mm/slab.ts';
import { memallocNoreclaimRestore, memallocNoreclaimSave, type ExecContext, type TaskStruct } from '../../mm/task.ts';
import { devQueueXmit } from '../../net/devqueue.ts';
import { SOCK_DGRAM, skSetMemalloc, sockClose, sockCreate, sockRecv, type Sock } from '../../net/sock.ts';
import type { NetStack } from '../../net/stack.ts';
import { ETH_HLEN, ETH_P_IP, IPV4_HLEN, readU32Be, writeU32Be } from '../../net/wire.ts';
import { allocSkb, skbPush, skbPutData, skbReserve } from '../../skb/alloc.ts';
import { skbCopyBits, skbStoreBits } from '../../skb/bytes.ts';
import { skbClone } from '../../skb/clone.ts';
import { skbFillPageDesc } from '../../skb/frag.ts';
import { consumeSkb } from '../../skb/free.ts';
import type { SkBuff } from '../../skb/skbuff.ts';
import { FrameFifo } from './frame-fifo.ts';
import { CLIENT_TO_SERVER, UDP_HDRS, UdpHeaderWriter } from './frames.ts';
import { CLIENT_PORT, RPC_OP, RPC_OP_NULL, RPC_OP_WRITE, RPC_SLOT, RPC_XID } from './hosts.ts';
import type { SwapNic } from './nic.ts';

/** Headroom of a request skb (MAX_TCP_HEADER-like; only the 42 header bytes are used). */
const HEADROOM = 128;
const SLOT_FREE = 0;
const SLOT_WRITE = 1;
const SLOT_PING = 2;

/** What the client reports to the invariant checker about the buffers it makes. */
export interface TxObserver {
  /** A slab object was handed to this caller with `gfp` (invariant 7). */
  onSlabObject(kmem: KmemAllocator, handle: number, gfp: number): void;
  /** `frame` was attached to `skb` as a frag (invariant 6). */
  onFragAttach(skb: SkBuff, frame: number): void;
  /** `derived` was cloned from `orig` (invariant 6). */
  onDerived(orig: SkBuff, derived: SkBuff): void;
}

export interface SwapClientOptions {
  readonly stack: NetStack;
  readonly nic: SwapNic;
  readonly kmem: KmemAllocator;
  /** The rpciod / nbd kernel thread the client sends from. */
  readonly task: TaskStruct;
  /** The CPU it runs on (the storage queue's). */
  readonly cpu: number;
  readonly maxInFlight: number;
  readonly queueMax: number;
  readonly rto: number;
  readonly pingIdle: number;
  readonly rpcHdrBytes: number;
  readonly rpcBufBytes: number;
  /** sk_set_memalloc on swapSock (xs_set_memalloc) and __GFP_MEMALLOC on the rpc buffers. */
  readonly memalloc: boolean;
  /** v20 groups: the TX group skbs are charged to and the RPC group rpc buffers are charged to. */
  readonly groups: { readonly tx: MemReserve; readonly rpc: MemReserve } | null;
  /** A written page goes back to reclaim (its reference with it). */
  readonly onWritten: (frame: number) => void;
}

export class SwapClientStats {
  /** Write requests sent for the first time; NULL pings sent. */
  writes = 0;
  pings = 0;
  retransmits = 0;
  /** Writes completed by a reply (swap completions); pings answered. */
  completions = 0;
  pingReplies = 0;
  /** Replies for a request no longer in flight (answers to retransmissions). */
  staleReplies = 0;
  /** Sends put off because the rpc buffer or the skb could not be allocated. */
  rpcAllocFailures = 0;
  skbAllocFailures = 0;
  /** Tagged request skbs (their head came from the reserve). */
  taggedTx = 0;
  /** Queued pages dropped because their owner exited before they were sent. */
  cancelled = 0;
}

export class SwapClient {
  readonly sock: Sock;
  readonly stack: NetStack;
  readonly ctx: ExecContext;
  readonly o: SwapClientOptions;
  readonly queue: FrameFifo;
  readonly stats = new SwapClientStats();
  observer: TxObserver | null = null;
  /** The current step, set by the step loop (completions are stamped with it). */
  now = 0;
  /** Step of the last write completion. */
  lastCompletion = 0;
  /** Step of the last request sent (for the idle ping). */
  lastSend = 0;
  inFlight = 0;
  writesInFlight = 0;

  private readonly slotState: Uint8Array;
  private readonly slotXid: Uint32Array;
  private readonly slotFrame: Int32Array;
  private readonly slotRpc: Float64Array;
  private readonly slotSent: Int32Array;
  private readonly slotKept: (SkBuff | null)[];
  private seq = 0;
  private readonly hdr: Uint8Array;
  private readonly rx = new Uint8Array(16);
  private readonly writer = new UdpHeaderWriter();

  constructor(o: SwapClientOptions) {
    this.o = o;
    this.stack = o.stack;
    this.ctx = o.stack.ctx;
    this.queue = new FrameFifo(o.queueMax);
    const m = o.maxInFlight;
    this.slotState = new Uint8Array(m);
    this.slotXid = new Uint32Array(m);
    this.slotFrame = new Int32Array(m).fill(-1);
    this.slotRpc = new Float64Array(m).fill(-1);
    this.slotSent = new Int32Array(m);
    this.slotKept = new Array<SkBuff | null>(m).fill(null);
    this.hdr = new Uint8Array(Math.max(UDP_HDRS, o.rpcHdrBytes));
    this.sock = sockCreate(o.stack, SOCK_DGRAM, CLIENT_PORT, { allocation: GFP_NOIO });
    if (o.memalloc) skSetMemalloc(this.sock);
  }

  /** Reclaim submits a dirty page (its reference comes along). False: the device queue is full. */
  queuePage(frame: number): boolean {
    if (this.queue.full) return false;
    this.queue.push(frame);
    return true;
  }

  /** Outstanding work: requests in flight or waiting. */
  get outstanding(): number {
    return this.writesInFlight + this.queue.count;
  }

  /** Step `t` of rpciod: replies, retransmissions, new requests up to M, an idle ping. */
  pump(t: number): void {
    const ctx = this.ctx;
    const prevTask = ctx.switchTo(this.o.task);
    const prevCpu = ctx.cpu;
    ctx.cpu = this.o.cpu;
    const saved = memallocNoreclaimSave(ctx);
    try {
      this.drain();
      this.retransmit(t);
      while (this.inFlight < this.o.maxInFlight && this.queue.count > 0) {
        if (!this.send(RPC_OP_WRITE, this.queue.peek(), t)) break;
        this.queue.shift();
      }
      if (this.inFlight === 0 && this.queue.count === 0 && t - this.lastSend >= this.o.pingIdle) this.send(RPC_OP_NULL, -1, t);
    } finally {
      memallocNoreclaimRestore(ctx, saved);
      ctx.cpu = prevCpu;
      ctx.switchTo(prevTask);
    }
  }

  /** The owner of the queued pages exited: they are freed without being written. Returns how many. */
  cancelQueued(): number {
    let n = 0;
    while (this.queue.count > 0) {
      this.stack.env.pages.putPage(this.queue.shift());
      n++;
    }
    this.stats.cancelled += n;
    return n;
  }

  /** swapoff at teardown: forget every request, give back pages, buffers and clones, close the socket. */
  teardown(): void {
    this.cancelQueued();
    for (let s = 0; s < this.o.maxInFlight; s++) {
      if (this.slotState[s] === SLOT_FREE) continue;
      const frame = this.slotFrame[s]!;
      this.release(s);
      if (frame >= 0) this.stack.env.pages.putPage(frame);
    }
    sockClose(this.sock);
  }

  private retransmit(t: number): void {
    for (let s = 0; s < this.o.maxInFlight; s++) {
      if (this.slotState[s] === SLOT_FREE || t - this.slotSent[s]! < this.o.rto) continue;
      const kept = this.slotKept[s]!;
      const n = skbClone(kept);
      this.slotSent[s] = t;
      if (n === null) continue;
      this.observer?.onDerived(kept, n);
      this.stats.retransmits++;
      devQueueXmit(this.stack, this.o.nic, n);
    }
  }

  private freeSlot(): number {
    for (let s = 0; s < this.o.maxInFlight; s++) if (this.slotState[s] === SLOT_FREE) return s;
    return -1;
  }

  /** One RPC: rpc buffer, skb with the header (and the page), a kept clone, transmit. False if memory failed. */
  private send(op: number, frame: number, t: number): boolean {
    const slot = this.freeSlot();
    if (slot < 0) return false;
    const o = this.o;
    const ctx = this.ctx;
    const gfpRpc = GFP_NOWAIT | (o.memalloc ? __GFP_MEMALLOC : 0);
    const rpc = o.groups !== null ? kmallocReserve(o.kmem, o.rpcBufBytes, gfpRpc, o.groups.rpc) : kmalloc(o.kmem, o.rpcBufBytes, gfpRpc);
    if (rpc < 0) {
      this.stats.rpcAllocFailures++;
      return false;
    }
    this.observer?.onSlabObject(o.kmem, rpc, gfpRpc);
    const savedRes = ctx.reserve;
    if (o.groups !== null) ctx.reserve = o.groups.tx;
    const skb = allocSkb(this.stack.env, HEADROOM + o.rpcHdrBytes, this.sock.skAllocation);
    ctx.reserve = savedRes;
    if (skb === null) {
      this.freeRpc(rpc);
      this.stats.skbAllocFailures++;
      return false;
    }
    const xid = (++this.seq * o.maxInFlight + slot) >>> 0;
    this.marshal(skb, rpc, xid, op, slot);
    if (frame >= 0) {
      this.stack.env.pages.getPage(frame);
      skbFillPageDesc(skb, 0, frame, 0, 4096);
      skb.len += 4096;
      skb.dataLen += 4096;
      skb.truesize += 4096;
      this.observer?.onFragAttach(skb, frame);
    }
    this.pushHeaders(skb);
    const kept = skbClone(skb)!;
    this.observer?.onDerived(skb, kept);
    if (skb.pfmemalloc) this.stats.taggedTx++;
    this.slotState[slot] = op === RPC_OP_WRITE ? SLOT_WRITE : SLOT_PING;
    this.slotXid[slot] = xid;
    this.slotFrame[slot] = frame;
    this.slotRpc[slot] = rpc;
    this.slotSent[slot] = t;
    this.slotKept[slot] = kept;
    this.inFlight++;
    if (op === RPC_OP_WRITE) {
      this.writesInFlight++;
      this.stats.writes++;
    } else this.stats.pings++;
    this.lastSend = t;
    devQueueXmit(this.stack, o.nic, skb);
    return true;
  }

  /** The call header: into the rpc buffer (marshalled call) and the skb's linear part. */
  private marshal(skb: SkBuff, rpc: number, xid: number, op: number, slot: number): void {
    const h = this.hdr;
    const n = this.o.rpcHdrBytes;
    h.fill(0, 0, n);
    writeU32Be(h, RPC_XID, xid);
    writeU32Be(h, RPC_OP, op);
    writeU32Be(h, RPC_SLOT, slot);
    const bytes = this.stack.env.mem.bytes;
    for (let k = 0; k < 16; k++) bytes[rpc + k] = h[k]!;
    skbReserve(skb, HEADROOM);
    skbPutData(skb, h, 0, n);
  }

  private pushHeaders(skb: SkBuff): void {
    const h = this.hdr;
    this.writer.write(h, CLIENT_TO_SERVER, skb.len);
    skbPush(skb, UDP_HDRS);
    skbStoreBits(skb, 0, h, 0, UDP_HDRS);
    skb.protocol = ETH_P_IP;
    skb.macHeader = skb.data;
    skb.networkHeader = skb.data + ETH_HLEN;
    skb.transportHeader = skb.data + ETH_HLEN + IPV4_HLEN;
  }

  /** Read every reply queued on swapSock (the receive worker). */
  private drain(): void {
    const sk = this.sock;
    for (let skb = sockRecv(sk); skb !== null; skb = sockRecv(sk)) {
      if (skb.len >= 16 && skbCopyBits(skb, 0, this.rx, 0, 16) === 0) this.reply(readU32Be(this.rx, RPC_XID));
      consumeSkb(skb);
    }
  }

  private reply(xid: number): void {
    const s = xid % this.o.maxInFlight;
    const state = this.slotState[s]!;
    if (state === SLOT_FREE || this.slotXid[s] !== xid) {
      this.stats.staleReplies++;
      return;
    }
    const frame = this.slotFrame[s]!;
    this.release(s);
    if (state === SLOT_WRITE) {
      this.stats.completions++;
      this.lastCompletion = this.now;
      this.o.onWritten(frame);
    } else this.stats.pingReplies++;
  }

  /** Free a slot's clone and rpc buffer; the page (if any) is the caller's to pass on. */
  private release(s: number): void {
    if (this.slotState[s] === SLOT_WRITE) this.writesInFlight--;
    consumeSkb(this.slotKept[s]!);
    this.freeRpc(this.slotRpc[s]!);
    this.slotKept[s] = null;
    this.slotRpc[s] = -1;
    this.slotFrame[s] = -1;
    this.slotState[s] = SLOT_FREE;
    this.inFlight--;
  }

  private freeRpc(rpc: number): void {
    const g = this.o.groups;
    if (g !== null) kfreeReserve(this.o.kmem, rpc, g.rpc);
    else kfree(this.o.kmem, rpc);
  }
}
