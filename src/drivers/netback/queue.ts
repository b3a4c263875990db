/**
 * XenvifQueue: one queue of a vif (Linux's struct xenvif_queue, common.h): one TX ring, one RX ring, their
 * event channels, the pending slots, the op arrays, the dealloc ring, the credit state and the guest-RX
 * queue. A single-queue vif has one; a multi-queue vif one per `queue-N/` directory.
 *
 * Ownership and lifetime: created by `connect` (xenbus.ts) when the frontend connects, owned by its XenVif,
 * dropped by the disconnect that follows the frontend closing. Everything here is private to netback: the
 * guest reaches the queue only through the shared ring pages (read once per slot, ringCopyRequest) and the
 * event channels. Who writes what:
 *
 * ```
 *   pendingRing/prod/cons   free list of pending indices: build (take), idx release (give back)
 *   req*, extraCount        snapshot of the request a pending slot answers: build, before any op is issued
 *   grantTxHandle, mmapFrame  map result of a pending slot: check-gop sets, dealloc / idx-unmap reset
 *   ctx                     chain of a packet's pending slots (zerocopy callback, plain-ref owner hook)
 *   deallocRing/prod/cons   slots whose last reference went: completions push, the dealloc step pops
 *   rx*                     the guest-RX queue: the stack's xmit pushes, the RX action pops
 * ```
 *
 * A pending index is in exactly one of: the free list; in flight (an op issued, or a packet in the stack
 * holding its mapping); the dealloc ring; back on the free list after its response (or, plain-ref mode
 * only, after its unmap). Hot paths allocate nothing: ops, snapshots and per-round packet records are
 * preallocated here; sk_buffs, frag destructors and completion objects come from the dom0 SkbEnv pools.
 */

import {
  netifExtraInfoCodec, netifTxRequestCodec, XEN_NETIF_EXTRA_TYPE_MAX,
  type NetifExtraInfo, type NetifRxBackRing, type NetifRxRequest, type NetifRxResponse, type NetifTxBackRing, type NetifTxRequest,
} from '../../abi/netif.ts';
import {
  newGnttabCopy, newMapGrantRef, newUnmapGrantRef,
  type GnttabCopy, type GnttabMapGrantRef, type GnttabUnmapGrantRef,
} from '../../hv/grant-ops.ts';
import type { TimerHandle } from '../../hv/clock.ts';
import type { SkBuff, SkbDestructorFn } from '../../skb/skbuff.ts';
import type { FragDestroyFn } from '../../skb/destructor.ts';
import type { UbufCallback } from '../../skb/ubuf.ts';
import { xenvifDeallocKthread, xenvifFragReleased, xenvifZerocopyCallback } from './dealloc.ts';
import { xenvifPoll } from './interface.ts';
import { xenvifTxCreditCallback } from './credit.ts';
import { xenvifRxThread } from './rx.ts';
import { xenvifPlainRefAnswer } from './tx-strategies.ts';
import {
  COPY_BATCH_SIZE, FATAL_SKB_SLOTS_DEFAULT, INVALID_PENDING_IDX, MAX_PENDING_REQS, NETBACK_INVALID_HANDLE,
  TX_COPY_OPS, XEN_NETBK_LEGACY_SLOTS_MAX, XENVIF_NAPI_WEIGHT, XENVIF_RX_QUEUE_BYTES,
} from './constants.ts';
import { newQueueStats, type NetbackQueueStats } from './stats.ts';
import type { XenVif } from './interface.ts';

/** Copy-op slots one packet may record (the header copy may span every slot of a legal packet). */
export const COPY_PENDING_PER_PACKET = XEN_NETBK_LEGACY_SLOTS_MAX + 1;

/**
 * The packets one TX round builds (Linux keeps them on tx_queue with their bookkeeping in skb->cb): record k
 * holds packet k's skb, its copy-op pending indices (and which copy ops were split at a frame boundary), the
 * pending indices of its mapped frags (first skb, then the frag_list skb), and the first request's flags.
 */
export class TxRound {
  count = 0;
  readonly skb: (SkBuff | null)[] = new Array<SkBuff | null>(XENVIF_NAPI_WEIGHT).fill(null);
  readonly nskb: (SkBuff | null)[] = new Array<SkBuff | null>(XENVIF_NAPI_WEIGHT).fill(null);
  readonly flags = new Uint16Array(XENVIF_NAPI_WEIGHT);
  readonly copyCount = new Uint8Array(XENVIF_NAPI_WEIGHT);
  readonly splitMask = new Uint32Array(XENVIF_NAPI_WEIGHT);
  readonly copyPending = new Uint16Array(XENVIF_NAPI_WEIGHT * COPY_PENDING_PER_PACKET);
  readonly nrFrags = new Uint8Array(XENVIF_NAPI_WEIGHT);
  readonly nrFragsN = new Uint8Array(XENVIF_NAPI_WEIGHT);
  /** Mapped frag pending indices: first skb at [k*S, k*S+nrFrags), frag_list skb after them. */
  readonly fragPending = new Uint16Array(XENVIF_NAPI_WEIGHT * COPY_PENDING_PER_PACKET);
}

/** The guest-RX internal queue: skbs with their drain deadline, a growable ring (no allocation once warm). */
export class RxQueue {
  skbs: (SkBuff | null)[] = new Array<SkBuff | null>(64).fill(null);
  expires = new Float64Array(64);
  head = 0;
  count = 0;

  push(skb: SkBuff, expires: number): void {
    if (this.count === this.skbs.length) this.grow();
    const i = (this.head + this.count) % this.skbs.length;
    this.skbs[i] = skb;
    this.expires[i] = expires;
    this.count++;
  }

  peek(): SkBuff | null {
    return this.count === 0 ? null : this.skbs[this.head]!;
  }

  peekExpires(): number {
    return this.expires[this.head]!;
  }

  shift(): SkBuff | null {
    if (this.count === 0) return null;
    const skb = this.skbs[this.head]!;
    this.skbs[this.head] = null;
    this.head = (this.head + 1) % this.skbs.length;
    this.count--;
    return skb;
  }

  private grow(): void {
    const n = this.skbs.length * 2;
    const skbs = new Array<SkBuff | null>(n).fill(null);
    const exp = new Float64Array(n);
    for (let i = 0; i < this.count; i++) {
      const j = (this.head + i) % this.skbs.length;
      skbs[i] = this.skbs[j]!;
      exp[i] = this.expires[j]!;
    }
    this.skbs = skbs;
    this.expires = exp;
    this.head = 0;
  }
}

/** Where the guest-RX copy is in the packet being copied (struct xenvif_pkt_state). */
export class RxPktState {
  skb: SkBuff | null = null;
  remaining = 0;
  /** The skb whose head or frags are being read: the packet, then its frag_list members. */
  fragIter: SkBuff | null = null;
  /** -1: fragIter's linear data; otherwise its frag index. */
  frag = -1;
  fragOffset = 0;
  /** Extras still to write: the GSO type (0: none) and the XDP headroom (0: none), in that order. */
  gso = 0;
  xdp = 0;
  extraCount = 0;
  slot = 0;
  /** The current chunk's source frame and offset. */
  chunkFrame = 0;
  chunkOff = 0;
}

export class XenvifQueue {
  readonly id: number;
  readonly vif: XenVif;
  /** `vifN.M-qK`. */
  readonly name: string;

  // ---- rings and event channels (interface.ts connect / disconnect) ------------------------------------
  tx: NetifTxBackRing | null = null;
  rx: NetifRxBackRing | null = null;
  txRingHandle = NETBACK_INVALID_HANDLE;
  rxRingHandle = NETBACK_INVALID_HANDLE;
  txRingAddr = 0;
  rxRingAddr = 0;
  /** Local ports; equal when the frontend uses one channel for both directions. 0 = unbound. */
  txIrq = 0;
  rxIrq = 0;
  /** NETBK_*_EOI bits of handlers that still owe a late EOI. */
  eoiPending = 0;

  // ---- NAPI (the TX poll) and the guest-RX / dealloc "threads", modelled as clock callbacks ------------
  napiScheduled = false;
  napiEnabled = false;
  rxThreadScheduled = false;
  rxThreadRunning = false;
  rxWakeTimer: TimerHandle = 0;
  deallocScheduled = false;
  /** Disconnect asked the dealloc step to stop: finish when nothing is in flight. */
  deallocStopping = false;

  // ---- TX pending slots (struct pending_tx_info and friends) -------------------------------------------
  readonly pendingRing = new Uint16Array(MAX_PENDING_REQS);
  pendingProd = MAX_PENDING_REQS;
  pendingCons = 0;
  readonly reqGref = new Uint32Array(MAX_PENDING_REQS);
  readonly reqOffset = new Uint16Array(MAX_PENDING_REQS);
  readonly reqFlags = new Uint16Array(MAX_PENDING_REQS);
  readonly reqId = new Uint16Array(MAX_PENDING_REQS);
  readonly reqSize = new Uint16Array(MAX_PENDING_REQS);
  readonly extraCount = new Uint8Array(MAX_PENDING_REQS);
  readonly grantTxHandle = new Int32Array(MAX_PENDING_REQS).fill(NETBACK_INVALID_HANDLE);
  readonly mmapFrame = new Int32Array(MAX_PENDING_REQS).fill(-1);
  readonly ctx = new Uint16Array(MAX_PENDING_REQS).fill(INVALID_PENDING_IDX);
  /** plain-ref mode: the slot's response went out before its unmap (the deliberate bug). */
  readonly answered = new Uint8Array(MAX_PENDING_REQS);
  /** plain-ref mode: skb id + 1 of the sk_buff whose owner hook answers the slot (0: none). */
  readonly pendingOwner = new Int32Array(MAX_PENDING_REQS);
  /** plain-ref mode, indexed by skb id: the slots that sk_buff lends (grown on demand). */
  ownerCount = new Uint8Array(64);
  ownerPis = new Uint16Array(64 * COPY_PENDING_PER_PACKET);
  /** Pending slots whose grant is mapped right now. */
  nrMapped = 0;
  /** Zerocopy skbs handed to the stack whose completion has not run (Linux inflight_packets). */
  inflightPackets = 0;

  // ---- op arrays (tx_copy_ops, tx_map_ops, tx_unmap_ops) ------------------------------------------------
  readonly txCopyOps: GnttabCopy[] = Array.from({ length: TX_COPY_OPS }, newGnttabCopy);
  readonly txMapOps: GnttabMapGrantRef[] = Array.from({ length: MAX_PENDING_REQS }, newMapGrantRef);
  readonly txUnmapOps: GnttabUnmapGrantRef[] = Array.from({ length: MAX_PENDING_REQS }, newUnmapGrantRef);
  readonly pendingIdxRelease = new Uint16Array(MAX_PENDING_REQS);
  /** Pending slot of each map op of the round. */
  readonly mapPending = new Uint16Array(MAX_PENDING_REQS);
  nrCops = 0;
  nrMops = 0;
  /** Op cursors of the check step (xenvif_tx_check_gop walks the ops in build order). */
  copyCursor = 0;
  mapCursor = 0;
  readonly round = new TxRound();

  // ---- request snapshots (each ring slot is copied once into one of these) -----------------------------
  readonly txreq: NetifTxRequest = netifTxRequestCodec.create();
  /** Follow-on slots of the packet being counted: at most fatal_skb_slots are ever read. */
  readonly txfrags: NetifTxRequest[];
  /** extras[type - 1]: the last extra of each type; `extraPresent` marks which were seen. */
  readonly extras: NetifExtraInfo[] = Array.from({ length: XEN_NETIF_EXTRA_TYPE_MAX - 1 }, () => netifExtraInfoCodec.create());
  readonly extraPresent = new Uint8Array(XEN_NETIF_EXTRA_TYPE_MAX - 1);
  extraScratch: NetifExtraInfo = netifExtraInfoCodec.create();
  extraCountScratch = 0;
  /** A first request read but not consumed because credit ran out: kept, so the slot is never read twice. */
  heldTxreqIdx = -1;

  // ---- dealloc ring -----------------------------------------------------------------------------------
  readonly deallocRing = new Uint16Array(MAX_PENDING_REQS);
  deallocProd = 0;
  deallocCons = 0;

  // ---- credit shaping (credit.ts) ------------------------------------------------------------------------
  creditBytes = Infinity;
  creditUsec = 0;
  remainingCredit = Infinity;
  creditWindowStart = 0;
  creditTimer: TimerHandle = 0;
  rateLimited = false;

  // ---- guest RX (rx.ts) ----------------------------------------------------------------------------------
  readonly rxQueue = new RxQueue();
  rxQueueLen = 0;
  rxQueueMax = XENVIF_RX_QUEUE_BYTES;
  rxQueueStopped = false;
  lastRxTime = 0;
  rxSlotsNeeded = 0;
  stalled = true;
  readonly rxreq: NetifRxRequest = { id: 0, pad: 0, gref: 0 };
  readonly rxRsp: NetifRxResponse = { id: 0, offset: 0, flags: 0, status: 0 };
  readonly rxExtra: NetifExtraInfo = netifExtraInfoCodec.create();
  readonly rxPkt = new RxPktState();
  rxThreadStarted = false;
  rxThreadStopped = false;
  readonly rxCopyOps: GnttabCopy[] = Array.from({ length: COPY_BATCH_SIZE }, newGnttabCopy);
  readonly rxCopyIdx = new Uint32Array(COPY_BATCH_SIZE);
  rxCopyNum = 0;
  readonly rxCompleted: (SkBuff | null)[] = [];
  rxCompletedCount = 0;

  readonly stats: NetbackQueueStats = newQueueStats();

  // ---- completion callbacks, made once per queue (no closure per packet) ---------------------------------
  /** Frag destructor `destroy` of map / hybrid / plain-ref slots; `data` is the pending index. */
  readonly fragDestroyCb: FragDestroyFn = (d) => xenvifFragReleased(this, d.data as number);
  /** ubuf_info callback of zerocopy packets; `data` is the first pending index of the chain. */
  readonly zerocopyCb: UbufCallback = (u, success) => xenvifZerocopyCallback(this, u.data as number, success);
  /** plain-ref owner hook (skb->destructor). */
  readonly ownerHook: SkbDestructorFn = (skb) => xenvifPlainRefAnswer(this, skb);
  /** The NAPI poll, the guest-RX thread (kicked / timed out) and the dealloc thread, as clock callbacks. */
  readonly napiPollCb = (): void => xenvifPoll(this);
  readonly rxThreadCb = (): void => xenvifRxThread(this, false);
  readonly rxWakeCb = (): void => xenvifRxThread(this, true);
  readonly deallocCb = (): void => xenvifDeallocKthread(this);
  /** The credit timer (end of a shaping window). */
  readonly creditCb = (): void => xenvifTxCreditCallback(this);

  constructor(vif: XenVif, id: number, fatalSkbSlots: number = FATAL_SKB_SLOTS_DEFAULT) {
    this.vif = vif;
    this.id = id;
    this.name = `${vif.name}-q${id}`;
    this.txfrags = Array.from({ length: fatalSkbSlots }, () => netifTxRequestCodec.create());
    for (let i = 0; i < MAX_PENDING_REQS; i++) this.pendingRing[i] = i;
  }
}

/** pending_index(): a free-running pending counter to a ring position. */
export function pendingIndex(i: number): number {
  return i & (MAX_PENDING_REQS - 1);
}

/** nr_pending_reqs(): pending slots taken from the free list. */
export function nrPendingReqs(q: XenvifQueue): number {
  return MAX_PENDING_REQS - q.pendingProd + q.pendingCons;
}

/** The next free pending index, taken (pending_cons++). The caller checked that one is free. */
export function takePendingIdx(q: XenvifQueue): number {
  const pi = q.pendingRing[pendingIndex(q.pendingCons++)]!;
  const inUse = nrPendingReqs(q);
  q.stats.pendingInUse = inUse;
  if (inUse > q.stats.maxPending) q.stats.maxPending = inUse;
  return pi;
}

/** The next free pending index without taking it (a slot the header copy only partly covers keeps it). */
export function peekPendingIdx(q: XenvifQueue): number {
  return q.pendingRing[pendingIndex(q.pendingCons)]!;
}

/** Give a pending index back to the free list (pending_prod++). */
export function putPendingIdx(q: XenvifQueue, pi: number): void {
  q.pendingRing[pendingIndex(q.pendingProd++)] = pi;
  q.stats.pendingInUse = nrPendingReqs(q);
}

/** Save the request snapshot `txp` (and its extra count) as pending slot `pi`'s. */
export function setPendingReq(q: XenvifQueue, pi: number, txp: NetifTxRequest, extraCount: number): void {
  q.reqGref[pi] = txp.gref;
  q.reqOffset[pi] = txp.offset;
  q.reqFlags[pi] = txp.flags;
  q.reqId[pi] = txp.id;
  q.reqSize[pi] = txp.size;
  q.extraCount[pi] = extraCount;
}
