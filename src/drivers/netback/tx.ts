/**
 * Guest TX, step 1: reading and judging the ring, and building the grant ops of one round (REFERENCE.md
 * §5.3 step 1, §5.4; netback.c xenvif_tx_build_gops, xenvif_count_requests, xenvif_get_extras,
 * xenvif_get_requests, xenvif_tx_err, xenvif_set_skb_gso).
 *
 * Every ring slot, extras included, is copied exactly once into the queue's snapshots (ringCopyRequest) and
 * judged on that copy only. A guest mistake never throws; it ends as one of REFERENCE §5.4's outcomes:
 *
 * | what the frontend did                                   | outcome                                     |
 * |---------------------------------------------------------|---------------------------------------------|
 * | req_prod − req_cons > RING_SIZE                          | fatal                                       |
 * | a chain that runs past the published requests           | fatal                                       |
 * | ≥ fatal_skb_slots (20) follow-on slots                  | fatal                                       |
 * | 18 or 19 follow-on slots                                | drop: the chain is consumed, ERROR for all  |
 * | a follow-on size larger than what remains of the total  | drop (-EIO)                                 |
 * | a follow-on slot crossing its page                      | fatal                                       |
 * | first slot shorter than ETH_HLEN (14)                   | drop                                        |
 * | first slot crossing its page                            | fatal                                       |
 * | missing extra, extra type 0 or ≥ MAX                    | fatal                                       |
 * | GSO extra with size 0 or a type other than TCPv4/v6     | fatal                                       |
 * | zero-size follow-on slot                                | OKAY at once; its gref is never looked at   |
 * | bad gref / not granted / pinned elsewhere (per op)      | that slot ERROR, packet dropped (tx-action) |
 *
 * Fatal: vif.disabled with the reason, the loop stops, no response is ever sent. Drop: ERROR for the first
 * slot, NULL for its extras, ERROR for every follow-on slot, then req_cons moves past the packet.
 *
 * Deviations, both so that each slot is read once: the drop path answers from the snapshots taken while
 * counting (Linux copies the slots a second time), and a first request held back for want of credit keeps
 * its snapshot for the next round instead of being re-read.
 */

import {
  NETTXF_extra_info, NETTXF_more_data, XEN_NETIF_EXTRA_FLAG_MORE, XEN_NETIF_EXTRA_TYPE_GSO,
  XEN_NETIF_EXTRA_TYPE_MAX, XEN_NETIF_EXTRA_TYPE_MCAST_ADD, XEN_NETIF_EXTRA_TYPE_MCAST_DEL,
  XEN_NETIF_EXTRA_TYPE_NONE, XEN_NETIF_GSO_TYPE_TCPV4, XEN_NETIF_RSP_ERROR, XEN_NETIF_RSP_OKAY,
  netifExtraInfoCodec, type NetifExtraInfo, type NetifTxRequest,
} from '../../abi/netif.ts';
import { NetifWireError, parseExtraInfo, parseTxRequest } from '../../abi/netif_parse.ts';
import { GNTCOPY_source_gref, GNTMAP_host_map, GNTMAP_readonly } from '../../abi/grant_table.ts';
import { DOMID_SELF } from '../../abi/xen.ts';
import { XEN_PAGE_SHIFT, XEN_PAGE_SIZE } from '../../abi/page.ts';
import { ringCopyRequest, ringNrUnconsumedRequests } from '../../abi/ring.ts';
import { gnttabSetMapOp } from '../../hv/grant-ops.ts';
import { GFP_ATOMIC } from '../../mm/gfp.ts';
import { allocSkb, skbPut, skbReserve } from '../../skb/alloc.ts';
import { NET_IP_ALIGN, NET_SKB_PAD } from '../../skb/constants.ts';
import { SKB_GSO_TCPV4, SKB_GSO_TCPV6 } from '../../skb/features.ts';
import { kfreeSkb } from '../../skb/free.ts';
import type { SkBuff } from '../../skb/skbuff.ts';
import { E2BIG, EINVAL } from '../../hv/errno.ts';
import {
  ETH_HLEN, INVALID_PENDING_IDX, MAX_COPY_OPS_PER_PACKET, MAX_PENDING_REQS, TX_COPY_OPS, XEN_NETBACK_TX_COPY_LEN,
  XEN_NETBK_LEGACY_SLOTS_MAX, XEN_NETBK_MCAST_MAX,
} from './constants.ts';
import { txCreditExceeded } from './credit.ts';
import { xenvifDoubleFetchForTest } from './faults.ts';
import { pendingAddr } from './dealloc.ts';
import { xenvifFatalTxErr } from './interface.ts';
import {
  COPY_PENDING_PER_PACKET, nrPendingReqs, peekPendingIdx, setPendingReq, takePendingIdx, type XenvifQueue,
} from './queue.ts';
import { makeTxResponse } from './tx-response.ts';

// Linux errno values netback returns internally (hv/errno.ts has the hypervisor's subset).
const EIO = 5;
const ENODATA = 61;
const EBADR = 53;
const ENOSPC = 28;

/** The request `j` of a packet: -1 is the first, 0.. the follow-on snapshots. */
function reqAt(q: XenvifQueue, j: number): NetifTxRequest {
  return j < 0 ? q.txreq : q.txfrags[j]!;
}

/**
 * xenvif_tx_err: drop a packet. ERROR for the first request (NULL for its extras), ERROR for each of the
 * `nFollow` follow-on slots (from their snapshots), then consume them: req_cons = req_cons + nFollow.
 */
export function xenvifTxErr(q: XenvifQueue, first: NetifTxRequest, extraCount: number, nFollow: number): void {
  const tx = q.tx!;
  makeTxResponse(q, first.id, extraCount, XEN_NETIF_RSP_ERROR);
  for (let j = 0; j < nFollow; j++) makeTxResponse(q, q.txfrags[j]!.id, 0, XEN_NETIF_RSP_ERROR);
  tx.reqCons = (tx.reqCons + nFollow) >>> 0;
  q.stats.txDropped++;
}

/**
 * xenvif_count_requests: walk the more_data chain after `first` (whose size becomes the first slot's own
 * length), snapshotting each slot. Returns the number of follow-on slots, or a negative errno after a fatal
 * error (vif disabled) or a drop (answered, consumed).
 */
export function xenvifCountRequests(q: XenvifQueue, first: NetifTxRequest, extraCount: number, workToDo: number): number {
  if ((first.flags & NETTXF_more_data) === 0) return 0;
  const tx = q.tx!;
  const cons = tx.reqCons;
  const fatalSlots = q.vif.nb.fatalSkbSlots;
  let slots = 0;
  let dropErr = 0;
  let more: number;
  do {
    if (slots >= workToDo) {
      xenvifFatalTxErr(q, `Asked for ${workToDo} slots but exceeds this limit`);
      return -ENODATA;
    }
    if (slots >= fatalSlots) {
      xenvifFatalTxErr(q, `Malicious frontend using ${slots} slots, threshold ${fatalSlots}`);
      return -E2BIG;
    }
    if (dropErr === 0 && slots >= XEN_NETBK_LEGACY_SLOTS_MAX) dropErr = -E2BIG;
    const txp = ringCopyRequest(tx, (cons + slots) >>> 0, q.txfrags[slots]!);
    if (dropErr === 0 && txp.size > first.size) dropErr = -EIO;
    first.size = (first.size - txp.size) & 0xffff;
    slots++;
    if (parseTxRequest(txp, 'fragment') instanceof NetifWireError) {
      xenvifFatalTxErr(q, `Cross page boundary, txp->offset: ${txp.offset}, size: ${txp.size}`);
      return -EINVAL;
    }
    more = txp.flags & NETTXF_more_data;
  } while (more !== 0);
  if (dropErr !== 0) {
    xenvifTxErr(q, first, extraCount, slots);
    return dropErr;
  }
  return slots;
}

/**
 * xenvif_get_extras: snapshot the extra slots after the first request into extras[type - 1] (a later extra
 * of a type replaces an earlier one). Returns the work left, or -1 after a fatal error. The count of extra
 * slots consumed is left in `q.extraCountScratch`.
 */
export function xenvifGetExtras(q: XenvifQueue, workToDo: number): number {
  const tx = q.tx!;
  let cons = tx.reqCons;
  let extra: NetifExtraInfo;
  do {
    if (workToDo-- <= 0) {
      xenvifFatalTxErr(q, 'Missing extra info');
      return -EBADR;
    }
    extra = ringCopyRequest(tx, cons, q.extraScratch, netifExtraInfoCodec);
    cons = (cons + 1) >>> 0;
    tx.reqCons = cons;
    q.extraCountScratch++;
    if (extra.type === XEN_NETIF_EXTRA_TYPE_NONE || extra.type >= XEN_NETIF_EXTRA_TYPE_MAX) {
      xenvifFatalTxErr(q, `Invalid extra type: ${extra.type}`);
      return -EINVAL;
    }
    // Keep the snapshot by swapping it with the type's slot: no copy, no allocation.
    const t = extra.type - 1;
    q.extraScratch = q.extras[t]!;
    q.extras[t] = extra;
    q.extraPresent[t] = 1;
  } while ((extra.flags & XEN_NETIF_EXTRA_FLAG_MORE) !== 0);
  return workToDo;
}

/** xenvif_set_skb_gso: GSO size and type from the extra; a bad one is fatal. 0 or -EINVAL. */
export function xenvifSetSkbGso(q: XenvifQueue, skb: SkBuff, gso: NetifExtraInfo): number {
  const r = parseExtraInfo(gso);
  if (r instanceof NetifWireError) {
    xenvifFatalTxErr(q, r.code === 'extra-gso-size-zero' ? 'GSO size must not be zero.' : `Bad GSO type ${gso.u.gso.type}.`);
    return -EINVAL;
  }
  skb.shinfo.gsoType = gso.u.gso.type === XEN_NETIF_GSO_TYPE_TCPV4 ? SKB_GSO_TCPV4 : SKB_GSO_TCPV6;
  skb.shinfo.gsoSize = gso.u.gso.size;
  return 0;
}

/** A 48-bit MAC address from an extra's mcast.addr bytes. */
function macOf(a: Uint8Array): number {
  let v = 0;
  for (let i = 0; i < 6; i++) v = v * 256 + a[i]!;
  return v;
}

/** xenvif_mcast_add: 0, or -ENOSPC with XEN_NETBK_MCAST_MAX addresses already held. */
function xenvifMcastAdd(q: XenvifQueue, addr: number): number {
  const list = q.vif.mcastAddrs;
  if (list.length === XEN_NETBK_MCAST_MAX) return -ENOSPC;
  list.push(addr);
  return 0;
}

/** xenvif_mcast_del: forget one occurrence of the address. */
function xenvifMcastDel(q: XenvifQueue, addr: number): void {
  const list = q.vif.mcastAddrs;
  const i = list.indexOf(addr);
  if (i >= 0) list.splice(i, 1);
}

/** xenvif_alloc_skb: a head for `size` linear bytes behind NET_SKB_PAD + NET_IP_ALIGN of headroom. */
export function xenvifAllocSkb(q: XenvifQueue, size: number): SkBuff | null {
  const skb = allocSkb(q.vif.nb.env, size + NET_SKB_PAD + NET_IP_ALIGN, GFP_ATOMIC);
  if (skb === null) return null;
  skbReserve(skb, NET_SKB_PAD + NET_IP_ALIGN);
  skb.shinfo.destructorArg = null;
  return skb;
}

/** Bytes of the packet the strategy grant-copies into the linear area (before the XSA-432 rule). */
function txCopyLen(q: XenvifQueue, total: number): number {
  switch (q.vif.strategy) {
    case 'copy':
      return total;
    case 'map':
      return 0;
    default:
      return total > XEN_NETBACK_TX_COPY_LEN ? XEN_NETBACK_TX_COPY_LEN : total;
  }
}

/** A packet's worth of pending slots is free (pvnet's guard; see txWorkTodo). */
export function txPendingRoom(q: XenvifQueue): boolean {
  return nrPendingReqs(q) + XEN_NETBK_LEGACY_SLOTS_MAX + 1 <= MAX_PENDING_REQS;
}

/** The round's op arrays have room for one more packet. */
function txOpsRoom(q: XenvifQueue): boolean {
  return q.nrCops + MAX_COPY_OPS_PER_PACKET <= TX_COPY_OPS && q.nrMops + XEN_NETBK_LEGACY_SLOTS_MAX + 1 <= MAX_PENDING_REQS;
}

/**
 * xenvif_tx_build_gops: read packets off the ring until `budget` packets are built, the ring is empty, credit
 * runs out or a fatal error stops it; fill the copy and map op arrays and the round's packet records.
 */
export function xenvifTxBuildGops(q: XenvifQueue, budget: number): void {
  const tx = q.tx!;
  const round = q.round;
  round.count = 0;
  q.nrCops = 0;
  q.nrMops = 0;
  while (round.count < budget) {
    if (!txPendingRoom(q) || !txOpsRoom(q)) break;
    if (((tx.sring.reqProd - tx.reqCons) >>> 0) > tx.nrEnts) {
      xenvifFatalTxErr(q, `Impossible number of requests. req_prod ${tx.sring.reqProd}, req_cons ${tx.reqCons}, size ${tx.nrEnts}`);
      break;
    }
    let workToDo = ringNrUnconsumedRequests(tx);
    if (workToDo === 0) break;
    let idx = tx.reqCons;
    const firstIdx = idx;
    const txreq = q.txreq;
    if (q.heldTxreqIdx !== idx) ringCopyRequest(tx, idx, txreq);
    q.heldTxreqIdx = -1;

    // Credit-based scheduling: the whole packet is charged up front.
    if (txreq.size > q.remainingCredit && txCreditExceeded(q, txreq.size)) {
      q.heldTxreqIdx = idx;
      q.stats.creditStalls++;
      break;
    }
    q.remainingCredit -= txreq.size;
    workToDo--;
    idx = (idx + 1) >>> 0;
    tx.reqCons = idx;

    q.extraPresent.fill(0);
    q.extraCountScratch = 0;
    if ((txreq.flags & NETTXF_extra_info) !== 0) {
      workToDo = xenvifGetExtras(q, workToDo);
      idx = tx.reqCons;
      if (workToDo < 0) break;
    }
    const extraCount = q.extraCountScratch;

    if (q.extraPresent[XEN_NETIF_EXTRA_TYPE_MCAST_ADD - 1] !== 0) {
      const rc = xenvifMcastAdd(q, macOf(q.extras[XEN_NETIF_EXTRA_TYPE_MCAST_ADD - 1]!.u.mcast.addr));
      makeTxResponse(q, txreq.id, extraCount, rc === 0 ? XEN_NETIF_RSP_OKAY : XEN_NETIF_RSP_ERROR);
      q.stats.txMcastCtrl++;
      continue;
    }
    if (q.extraPresent[XEN_NETIF_EXTRA_TYPE_MCAST_DEL - 1] !== 0) {
      xenvifMcastDel(q, macOf(q.extras[XEN_NETIF_EXTRA_TYPE_MCAST_DEL - 1]!.u.mcast.addr));
      makeTxResponse(q, txreq.id, extraCount, XEN_NETIF_RSP_OKAY);
      q.stats.txMcastCtrl++;
      continue;
    }

    let dataLen = txCopyLen(q, txreq.size);
    const ret = xenvifCountRequests(q, txreq, extraCount, workToDo);
    if (ret < 0) break;
    idx = (idx + ret) >>> 0;

    if (txreq.size < ETH_HLEN) {
      xenvifTxErr(q, txreq, extraCount, ret);
      break;
    }
    if (txreq.offset + txreq.size > XEN_PAGE_SIZE) {
      xenvifFatalTxErr(q, `Cross page boundary, txreq.offset: ${txreq.offset}, size: ${txreq.size}`);
      break;
    }
    // Test-only double-fetching variant (faults.ts); never set outside the tests that must catch it.
    if (q.vif.nb.faults.doubleFetchFirstSlot === true) xenvifDoubleFetchForTest(q, firstIdx, txreq, ret);
    // XSA-432: with the maximum slot count the whole first slot is copied, so it never needs a frag.
    if (dataLen > 0 && ret >= XEN_NETBK_LEGACY_SLOTS_MAX - 1 && dataLen < txreq.size) dataLen = txreq.size;

    const skb = xenvifAllocSkb(q, dataLen);
    if (skb === null) {
      xenvifTxErr(q, txreq, extraCount, ret);
      break;
    }
    // Mapped frags this packet may need: every follow-on slot, plus the first unless it is copied whole.
    const maxSkbFrags = q.vif.nb.env.maxSkbFrags;
    const mapped = q.vif.strategy === 'copy' ? 0 : ret + (dataLen < txreq.size ? 1 : 0);
    let nskb: SkBuff | null = null;
    if (mapped > maxSkbFrags) {
      // frag_overflow = mapped − MAX_SKB_FRAGS slots go to a frag_list skb (consolidated at submit, §5.7).
      nskb = xenvifAllocSkb(q, 0);
      if (nskb === null) {
        kfreeSkb(skb);
        xenvifTxErr(q, txreq, extraCount, ret);
        break;
      }
    }
    if (q.extraPresent[XEN_NETIF_EXTRA_TYPE_GSO - 1] !== 0) {
      if (xenvifSetSkbGso(q, skb, q.extras[XEN_NETIF_EXTRA_TYPE_GSO - 1]!) !== 0) {
        kfreeSkb(skb);
        kfreeSkb(nskb);
        break;
      }
    }
    xenvifGetRequests(q, skb, ret, nskb, extraCount, dataLen);
    tx.reqCons = idx;
  }
}

/**
 * xenvif_get_requests: the ops of one packet (record `round.count`). Copy ops for exactly `dataLen` bytes
 * into the head, across slots if need be and split where the head crosses a frame; a slot the copy covers
 * whole takes its own pending slot and is answered after the copy; a slot it covers in part ("shared") has
 * its remainder mapped under the same pending slot. Every other slot becomes a map op, into the skb's frags
 * up to MAX_SKB_FRAGS and into `nskb`'s after that. Zero-size follow-on slots are answered OKAY at once.
 */
function xenvifGetRequests(
  q: XenvifQueue, skb: SkBuff, nFollow: number, nskb: SkBuff | null, extraCount: number, dataLen: number,
): void {
  const round = q.round;
  const k = round.count;
  const base = k * COPY_PENDING_PER_PACKET;
  const first = q.txreq;
  const domid = q.vif.domid;
  const sh = skb.shinfo;
  let nrSlots = nFollow + 1;
  let j = -1;
  let copyCount = 0;
  let splitMask = 0;

  round.skb[k] = skb;
  round.nskb[k] = nskb;
  round.flags[k] = first.flags;
  skbPut(skb, dataLen);
  let left = dataLen;
  while (left > 0) {
    const txp = reqAt(q, j);
    if (txp.size === 0 && j >= 0) {
      // pvnet: a zero-size slot inside the copied header is answered at once too (REFERENCE §5.4), not
      // turned into a zero-length copy op whose gref the hypervisor would check.
      makeTxResponse(q, txp.id, 0, XEN_NETIF_RSP_OKAY);
      j++;
      nrSlots--;
      continue;
    }
    let amount = left > txp.size ? txp.size : left;
    const a = sh.headOff + skb.data + dataLen - left;
    const destFrame = sh.headFrames[a >> XEN_PAGE_SHIFT]!;
    const destOff = a & (XEN_PAGE_SIZE - 1);
    let split = false;
    if (destOff + amount > XEN_PAGE_SIZE) {
      amount = XEN_PAGE_SIZE - destOff;
      splitMask |= 1 << copyCount;
      split = true;
    }
    const op = q.txCopyOps[q.nrCops++]!;
    op.source.u.ref = txp.gref;
    op.source.domid = domid;
    op.source.offset = txp.offset;
    op.dest.u.gmfn = destFrame;
    op.dest.domid = DOMID_SELF;
    op.dest.offset = destOff;
    op.len = amount;
    op.flags = GNTCOPY_source_gref;
    op.status = 1;
    const pi = peekPendingIdx(q);
    q.ctx[pi] = INVALID_PENDING_IDX;
    round.copyPending[base + copyCount] = pi;
    if (!split) copyCount++;
    left -= amount;
    if (amount === txp.size) {
      setPendingReq(q, pi, txp, j < 0 ? extraCount : 0);
      takePendingIdx(q);
      j++;
      nrSlots--;
    } else {
      txp.offset += amount;
      txp.size -= amount;
    }
  }
  round.copyCount[k] = copyCount;
  round.splitMask[k] = splitMask;

  // Map ops: into the skb's frags up to MAX_SKB_FRAGS, then into the frag_list skb's.
  const maxFrags = q.vif.nb.env.maxSkbFrags;
  let nf = 0;
  let nn = 0;
  while (nrSlots > 0) {
    const txp = reqAt(q, j);
    const isFirst = j < 0;
    j++;
    nrSlots--;
    if (txp.size === 0) {
      makeTxResponse(q, txp.id, 0, XEN_NETIF_RSP_OKAY);
      continue;
    }
    const pi = xenvifTxCreateMapOp(q, txp, isFirst ? extraCount : 0);
    if (nf < maxFrags) round.fragPending[base + nf++] = pi;
    else round.fragPending[base + nf + nn++] = pi;
  }
  round.nrFrags[k] = nf;
  round.nrFragsN[k] = nn;
  if (nskb !== null && nn === 0) {
    // The frag_list skb is not needed after all (zero-size slots, or slots the copy covered).
    kfreeSkb(nskb);
    round.nskb[k] = null;
  }
  round.count = k + 1;
}

/** xenvif_tx_create_map_op: a read-only host map of `txp`'s grant into a fresh pending slot. */
function xenvifTxCreateMapOp(q: XenvifQueue, txp: NetifTxRequest, extraCount: number): number {
  const pi = takePendingIdx(q);
  const op = q.txMapOps[q.nrMops]!;
  q.mapPending[q.nrMops++] = pi;
  gnttabSetMapOp(op, pendingAddr(q, pi), GNTMAP_host_map | GNTMAP_readonly, txp.gref, q.vif.domid);
  setPendingReq(q, pi, txp, extraCount);
  q.ctx[pi] = INVALID_PENDING_IDX;
  return pi;
}
