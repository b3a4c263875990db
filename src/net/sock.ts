/**
 * Sockets: the receive side of struct sock, enough for datagram (UDP) and stream (TCP-ish) endpoints, for
 * packet sockets (taps, src/net/tap.ts) and for the reserve rules of REFERENCE §11.6-11.7.
 *
 * Sock owns its receive queue (sk_receive_queue) and every skb on it. A queued skb is charged to the socket:
 * skbSetOwnerR sets `skb.sk` and the destructor sockRfree, and adds `truesize` to `rmemAlloc` (and to the
 * protocol's memory); the charge is released when the skb is finally freed, whoever frees it (the reader, a
 * purge at close). Referenced by: the stack's port table (until sockClose), the skbs it owns (`skb.sk`), and
 * the code that created it. Dies at sockClose: unbound, SOCK_MEMALLOC cleared, queue purged, SOCK_DEAD set.
 *
 * Receive order (modern sock_queue_rcv_skb): sk_filter first (a tagged skb at a socket without SOCK_MEMALLOC
 * is refused, LINUX_MIB_PFMEMALLOCDROP), then the receive-buffer check (`rmemAlloc >= skRcvbuf`), then
 * sk_rmem_schedule against the protocol memory limit, which a tagged skb passes even over the limit: that is
 * how memalloc sockets "run past their rmem limits". The per-socket sk_rcvbuf check is not exempt, in Linux or
 * here; a SOCK_MEMALLOC socket stays within its rcvbuf because its kernel consumer drains it. A refusal is
 * counted where it is decided (socket and stack counters) and the caller frees the skb.
 *
 * Deviations: no sk_forward_alloc quantum and no memory-pressure state: the protocol memory is charged by
 * truesize, exactly, and compared with one limit (sysctl_*_mem[2]); a tagged skb accepted over that limit is
 * charged too, so `allocated` shows what the reserve traffic really holds. No socket lock, so no socket backlog:
 * every packet goes straight to the receive queue.
 */

import { InvalidArgument } from '../errors.ts';
import { __GFP_MEMALLOC, GFP_ATOMIC, GFP_KERNEL } from '../mm/gfp.ts';
import { ENOBUFS, ENOMEM } from './errno.ts';
import { consumeSkb, skbReleaseHeadState } from '../skb/free.ts';
import { SkBuffHead, skbDequeue, skbQueuePurge, skbQueueTail } from '../skb/queue.ts';
import type { SkBuff } from '../skb/skbuff.ts';
import { RX_RESERVE_AWARE } from './constants.ts';
import type { NetStack, ProtoMem } from './stack.ts';
import { IPPROTO_TCP, IPPROTO_UDP } from './wire.ts';

export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;

/** enum sock_flags bit numbers (include/net/sock.h). */
export const SOCK_DEAD = 0;
export const SOCK_MEMALLOC = 14;

/** net.core.rmem_default. */
export const SK_RMEM_DEFAULT = 212992;

export class SockStats {
  /** skbs queued on the receive queue. */
  queued = 0;
  /** skbs taken by the reader. */
  read = 0;
  /** sk_drops: every refusal below. */
  drops = 0;
  pfmemallocDrops = 0;
  rcvbufDrops = 0;
  memDrops = 0;
}

export interface SockOptions {
  /** sk_rcvbuf in bytes of truesize (default net.core.rmem_default). */
  readonly rcvbuf?: number;
  /** The reader never drains (a blocked user task: the flood case). */
  readonly readerBlocked?: boolean;
  /** sk_data_ready: called after each skb is queued (kernel consumers read from here). */
  readonly dataReady?: (sk: Sock) => void;
  /** sk_allocation (default GFP_KERNEL). */
  readonly allocation?: number;
}

export class Sock {
  readonly stack: NetStack;
  readonly type: number;
  /** IPPROTO_UDP, IPPROTO_TCP, or 0 for a packet socket. */
  readonly protocol: number;
  /** Bound local port, 0 when unbound. */
  port = 0;
  /** sock_flags bits (1 << SOCK_*). */
  skFlags = 0;
  /** sk_allocation: the gfp mask of the socket's own allocations. */
  skAllocation: number;
  skRcvbuf: number;
  /** sk_rmem_alloc: truesize of the skbs charged to this socket. */
  rmemAlloc = 0;
  readonly receiveQueue = new SkBuffHead();
  readerBlocked: boolean;
  dataReady: ((sk: Sock) => void) | null;
  /** The protocol memory this socket charges (null for packet sockets: sk_has_account is false). */
  readonly mem: ProtoMem | null;
  readonly stats = new SockStats();

  constructor(stack: NetStack, type: number, protocol: number, opts: SockOptions = {}) {
    this.stack = stack;
    this.type = type;
    this.protocol = protocol;
    this.skAllocation = opts.allocation ?? GFP_KERNEL;
    this.skRcvbuf = opts.rcvbuf ?? SK_RMEM_DEFAULT;
    this.readerBlocked = opts.readerBlocked ?? false;
    this.dataReady = opts.dataReady ?? null;
    this.mem = protocol === IPPROTO_UDP ? stack.udpMem : protocol === IPPROTO_TCP ? stack.tcpMem : null;
  }
}

export function sockFlag(sk: Sock, flag: number): boolean {
  return (sk.skFlags & (1 << flag)) !== 0;
}

function portTable(sk: Sock): Map<number, Sock> {
  return sk.protocol === IPPROTO_TCP ? sk.stack.tcpTable : sk.stack.udpTable;
}

/**
 * A UDP (SOCK_DGRAM) or TCP-ish (SOCK_STREAM) socket bound to `port` on `stack`. A port already bound is the
 * caller's mistake (EADDRINUSE): InvalidArgument.
 */
export function sockCreate(stack: NetStack, type: number, port: number, opts: SockOptions = {}): Sock {
  if (type !== SOCK_DGRAM && type !== SOCK_STREAM) throw new InvalidArgument(`sockCreate: type ${type} is not SOCK_DGRAM or SOCK_STREAM`);
  if (!Number.isInteger(port) || port < 1 || port > 0xffff) throw new InvalidArgument(`sockCreate: bad port ${port}`);
  const sk = new Sock(stack, type, type === SOCK_DGRAM ? IPPROTO_UDP : IPPROTO_TCP, opts);
  const table = portTable(sk);
  if (table.has(port)) throw new InvalidArgument(`sockCreate: port ${port} is already bound (EADDRINUSE)`);
  sk.port = port;
  table.set(port, sk);
  return sk;
}

/** Close: unbind, clear SOCK_MEMALLOC, free everything queued, mark SOCK_DEAD. Closing twice is a no-op. */
export function sockClose(sk: Sock): void {
  if (sockFlag(sk, SOCK_DEAD)) return;
  if (sk.port !== 0 && portTable(sk).get(sk.port) === sk) portTable(sk).delete(sk.port);
  sk.port = 0;
  if (sockFlag(sk, SOCK_MEMALLOC)) skClearMemalloc(sk);
  sk.skFlags |= 1 << SOCK_DEAD;
  skbQueuePurge(sk.receiveQueue);
}

/**
 * sk_set_memalloc: the VM depends on this socket (swap over NFS / NBD). Sets SOCK_MEMALLOC, ORs
 * __GFP_MEMALLOC into sk_allocation and counts the socket in sk_memalloc_socks. Setting it twice is misuse.
 */
export function skSetMemalloc(sk: Sock): void {
  if (sockFlag(sk, SOCK_MEMALLOC)) throw new InvalidArgument('sk_set_memalloc: SOCK_MEMALLOC is already set');
  if (sockFlag(sk, SOCK_DEAD)) throw new InvalidArgument('sk_set_memalloc on a closed socket');
  sk.skFlags |= 1 << SOCK_MEMALLOC;
  sk.skAllocation |= __GFP_MEMALLOC;
  sk.stack.memallocSocks++;
}

/** sk_clear_memalloc: the reverse of skSetMemalloc (there is no sk_forward_alloc to reclaim in pvnet). */
export function skClearMemalloc(sk: Sock): void {
  if (!sockFlag(sk, SOCK_MEMALLOC)) throw new InvalidArgument('sk_clear_memalloc: SOCK_MEMALLOC is not set');
  sk.skFlags &= ~(1 << SOCK_MEMALLOC);
  sk.skAllocation &= ~__GFP_MEMALLOC;
  sk.stack.memallocSocks--;
}

/** sk_gfp_atomic: GFP_ATOMIC plus the socket's reserve entitlement (TCP output allocations). */
export function skGfpAtomic(sk: Sock, gfp: number = GFP_ATOMIC): number {
  return gfp | (sk.skAllocation & __GFP_MEMALLOC);
}

function refuse(sk: Sock): void {
  sk.stats.drops++;
}

/**
 * sk_filter (sk_filter_trim_cap's first test): 0, or -ENOMEM for a tagged skb at a socket without
 * SOCK_MEMALLOC. Like Linux, this does not consult sk_memalloc_socks: a tagged skb is refused at an ordinary
 * socket even while no memalloc socket exists. Off in rxReserveMode 'naive' and 'off' (no reserve rules).
 */
export function skFilter(sk: Sock, skb: SkBuff): number {
  if (skb.pfmemalloc && !sockFlag(sk, SOCK_MEMALLOC) && sk.stack.rxReserveMode === RX_RESERVE_AWARE) {
    refuse(sk);
    sk.stats.pfmemallocDrops++;
    sk.stack.stats.dropPfmemallocFilter++;
    return -ENOMEM;
  }
  return 0;
}

/**
 * sk_rmem_schedule: may `size` more bytes be charged to the socket's protocol memory? A tagged skb may go over
 * the limit (the reserve traffic must not be refused for protocol memory).
 */
export function skRmemSchedule(sk: Sock, skb: SkBuff, size: number): boolean {
  const m = sk.mem;
  if (m === null || m.allocated + size <= m.limit) return true;
  return skb.pfmemalloc && sk.stack.rxReserveMode === RX_RESERVE_AWARE;
}

/** skb_orphan: run the owner hook (releasing the owner's charge) and forget the owner. */
export function skbOrphan(skb: SkBuff): void {
  skbReleaseHeadState(skb);
}

/** sock_rfree: the destructor of a received skb: give its truesize back to the socket and the protocol. */
export function sockRfree(skb: SkBuff): void {
  const sk = skb.sk as Sock;
  sk.rmemAlloc -= skb.truesize;
  if (sk.mem !== null) sk.mem.allocated -= skb.truesize;
}

/** skb_set_owner_r: charge `skb` to `sk` until it is freed. */
export function skbSetOwnerR(skb: SkBuff, sk: Sock): void {
  skbOrphan(skb);
  skb.sk = sk;
  skb.destructor = sockRfree;
  sk.rmemAlloc += skb.truesize;
  if (sk.mem !== null) sk.mem.allocated += skb.truesize;
}

/** Queue an accepted skb and wake the reader. */
function queueAccepted(sk: Sock, skb: SkBuff): void {
  skbSetOwnerR(skb, sk);
  skbQueueTail(sk.receiveQueue, skb);
  sk.stats.queued++;
  sk.stack.stats.sockDelivered++;
  if (sk.dataReady !== null && !sockFlag(sk, SOCK_DEAD)) sk.dataReady(sk);
}

/**
 * The receive-buffer and protocol-memory checks shared by UDP and TCP: 0 and queued, or -ENOMEM (`full`: the
 * caller's sk_rcvbuf test) or -ENOBUFS (sk_rmem_schedule), counted.
 */
function admit(sk: Sock, skb: SkBuff, full: boolean): number {
  if (full) {
    refuse(sk);
    sk.stats.rcvbufDrops++;
    sk.stack.stats.dropRcvbuf++;
    return -ENOMEM;
  }
  if (!skRmemSchedule(sk, skb, skb.truesize)) {
    refuse(sk);
    sk.stats.memDrops++;
    sk.stack.stats.dropProtoMem++;
    return -ENOBUFS;
  }
  queueAccepted(sk, skb);
  return 0;
}

/** __sock_queue_rcv_skb: 0, -ENOMEM (sk_rcvbuf full) or -ENOBUFS (protocol memory). The caller frees on error. */
export function sockQueueRcvSkbNoFilter(sk: Sock, skb: SkBuff): number {
  return admit(sk, skb, sk.rmemAlloc >= sk.skRcvbuf);
}

/** sock_queue_rcv_skb: sk_filter, then __sock_queue_rcv_skb. 0 or a negative errno; the caller frees on error. */
export function sockQueueRcvSkb(sk: Sock, skb: SkBuff): number {
  const err = skFilter(sk, skb);
  if (err !== 0) return err;
  return sockQueueRcvSkbNoFilter(sk, skb);
}

/**
 * The TCP receive step (tcp_filter, then tcp_try_rmem_schedule without pruning): 0 or a negative errno; the
 * caller frees on error. TCP refuses only when the buffer is already *over* sk_rcvbuf (UDP refuses at it).
 */
export function tcpQueueRcvSkb(sk: Sock, skb: SkBuff): number {
  const err = skFilter(sk, skb);
  if (err !== 0) return err;
  return admit(sk, skb, sk.rmemAlloc > sk.skRcvbuf);
}

/**
 * The reader takes the next skb (skb_recv_datagram): null if the queue is empty or the reader is blocked. The
 * caller owns the skb; its truesize stays charged to the socket until the caller frees it.
 */
export function sockRecv(sk: Sock): SkBuff | null {
  if (sk.readerBlocked) return null;
  const skb = skbDequeue(sk.receiveQueue);
  if (skb !== null) sk.stats.read++;
  return skb;
}

/** Read and consume everything queued (an unblocked reader catching up); returns how many. */
export function sockDrain(sk: Sock): number {
  let n = 0;
  for (let skb = sockRecv(sk); skb !== null; skb = sockRecv(sk)) {
    consumeSkb(skb);
    n++;
  }
  return n;
}

/** The UDP or TCP socket bound to `port`, or null. */
export function sockLookup(stack: NetStack, protocol: number, port: number): Sock | null {
  const t = protocol === IPPROTO_TCP ? stack.tcpTable : protocol === IPPROTO_UDP ? stack.udpTable : null;
  return t === null ? null : (t.get(port) ?? null);
}
