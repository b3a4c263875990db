/**
 * The end of a mapped slot's life (REFERENCE.md §5.3 steps 7-9, §9.4): completions queue the slot on the
 * dealloc ring; the dealloc step unmaps everything queued in one batched hypercall (the hypervisor flushes
 * the TLB once per 32) and only then answers each slot OKAY and frees it.
 *
 * Who completes a slot, by strategy:
 * - map, hybrid, plain-ref: the slot's frag destructor, when the last frag slot pointing at it anywhere in
 *   the stack lets go (`xenvifFragReleased`);
 * - zerocopy: the ubuf_info callback (`xenvifZerocopyCallback`), which walks the packet's chain of pending
 *   slots through `ctx`, on the last dataref or early at copy-on-share;
 * - all: the frag_list consolidation (5.7), which completes by hand after copying.
 *
 * The dealloc "thread" is a clock callback `deallocDelayNs` after the first completion since it last ran,
 * so completions that happen close together share one unmap hypercall. It also finishes a disconnect: once
 * asked to stop it exits only when nothing is mapped or in flight (Linux's inflight_packets rule).
 */

import { GNTMAP_host_map, GNTST_okay } from '../../abi/grant_table.ts';
import { XEN_PAGE_SIZE } from '../../abi/page.ts';
import { ringHasUnconsumedRequests } from '../../abi/ring.ts';
import { gnttabSetUnmapOp } from '../../hv/grant-ops.ts';
import { NETIF_RSP_OKAY } from '../../abi/netif.ts';
import { INVALID_PENDING_IDX, MAX_PENDING_REQS, NETBACK_INVALID_HANDLE } from './constants.ts';
import { NetbackBug } from './errors.ts';
import { napiSchedule, xenvifDeallocStopped } from './interface.ts';
import { pendingIndex, putPendingIdx, type XenvifQueue } from './queue.ts';
import { txWorkTodo } from './tx-action.ts';
import { xenvifIdxRelease } from './tx-response.ts';

/** The host address token of pending slot `pi`'s mapping (Linux's idx_to_kaddr). */
export function pendingAddr(q: XenvifQueue, pi: number): number {
  return (0x1000_0000 + ((q.vif.ifindex * 64 + q.id) * MAX_PENDING_REQS + pi)) * XEN_PAGE_SIZE;
}

/** xenvif_grant_handle_set: record a successful map of slot `pi`. A live handle is never overwritten. */
export function xenvifGrantHandleSet(q: XenvifQueue, pi: number, handle: number, frame: number): void {
  if (q.grantTxHandle[pi] !== NETBACK_INVALID_HANDLE) {
    throw new NetbackBug(`${q.name}: trying to overwrite active handle! pending_idx: ${pi}`);
  }
  q.grantTxHandle[pi] = handle;
  q.mmapFrame[pi] = frame;
  q.nrMapped++;
  q.vif.nb.foreignMapped(frame, q.vif.domid, q.reqGref[pi]!);
  q.vif.nb.trace(q, 'mapped', pi, q.reqId[pi]!, q.reqGref[pi]!, 0, q.reqSize[pi]!);
}

/** xenvif_grant_handle_reset: the slot's handle goes into an unmap op; the slot holds none any more. */
function xenvifGrantHandleReset(q: XenvifQueue, pi: number): number {
  const h = q.grantTxHandle[pi]!;
  if (h === NETBACK_INVALID_HANDLE) throw new NetbackBug(`${q.name}: trying to unmap invalid handle! pending_idx: ${pi}`);
  q.grantTxHandle[pi] = NETBACK_INVALID_HANDLE;
  return h;
}

/** After an unmap of slot `pi` returned: forget the frame. */
function unmapped(q: XenvifQueue, pi: number): void {
  q.vif.nb.foreignUnmapped(q.mmapFrame[pi]!);
  q.mmapFrame[pi] = -1;
  q.nrMapped--;
  q.vif.nb.trace(q, 'unmapped', pi, q.reqId[pi]!, q.reqGref[pi]!, 0, 0);
}

/** xenvif_idx_unmap: unmap one slot at once (the check-gop error paths; not batched, as in Linux). */
export function xenvifIdxUnmap(q: XenvifQueue, pi: number): void {
  const nb = q.vif.nb;
  const op = q.txUnmapOps[0]!;
  gnttabSetUnmapOp(op, pendingAddr(q, pi), GNTMAP_host_map, xenvifGrantHandleReset(q, pi));
  nb.hv.gnttabUnmapGrantRef(nb.dom, q.txUnmapOps, 1);
  q.stats.unmaps++;
  q.stats.unmapHypercalls++;
  if (op.status !== GNTST_okay) throw new NetbackBug(`${q.name}: unmap of pending_idx ${pi} failed: ${op.status}`, op.status);
  unmapped(q, pi);
}

/** Queue slot `pi` for the dealloc step (one entry of the callback's walk). */
function xenvifDeallocPush(q: XenvifQueue, pi: number): void {
  if (((q.deallocProd - q.deallocCons) >>> 0) >= MAX_PENDING_REQS) {
    throw new NetbackBug(`${q.name}: dealloc ring overrun`);
  }
  q.deallocRing[pendingIndex(q.deallocProd)] = pi;
  q.deallocProd = (q.deallocProd + 1) >>> 0;
  q.stats.deallocQueued++;
  q.vif.nb.trace(q, 'released', pi, q.reqId[pi]!, q.reqGref[pi]!, 0, 0);
}

/** A slot's frag destructor ran: the last reference to its page is gone. */
export function xenvifFragReleased(q: XenvifQueue, pi: number): void {
  xenvifDeallocPush(q, pi);
  xenvifKickDealloc(q);
}

/**
 * xenvif_zerocopy_callback: the packet whose chain starts at `first` is done with its grants (success: the
 * last dataref went; failure: its frags were copied aside first). Queue every slot of the chain.
 */
export function xenvifZerocopyCallback(q: XenvifQueue, first: number, success: boolean): void {
  let pi = first;
  while (pi !== INVALID_PENDING_IDX) {
    const next = q.ctx[pi]!;
    q.ctx[pi] = INVALID_PENDING_IDX;
    xenvifDeallocPush(q, pi);
    pi = next;
  }
  if (success) q.stats.txZerocopySuccess++;
  else q.stats.txZerocopyFail++;
  xenvifSkbZerocopyComplete(q);
}

/** xenvif_skb_zerocopy_prepare's other half: one in-flight packet fewer; wake the dealloc step. */
export function xenvifSkbZerocopyComplete(q: XenvifQueue): void {
  q.inflightPackets--;
  xenvifKickDealloc(q);
}

/** Wake the dealloc step (wake_up(&queue->dealloc_wq)). */
export function xenvifKickDealloc(q: XenvifQueue): void {
  if (q.deallocScheduled) return;
  q.deallocScheduled = true;
  q.vif.nb.clock.setTimer(q.vif.nb.deallocDelayNs, q.deallocCb);
}

/** Nothing mapped, nothing queued, nothing in flight: the dealloc thread may exit. */
export function txDeallocDrained(q: XenvifQueue): boolean {
  return q.deallocProd === q.deallocCons && q.nrMapped === 0 && q.inflightPackets === 0;
}

/** One wake-up of the dealloc thread. */
export function xenvifDeallocKthread(q: XenvifQueue): void {
  q.deallocScheduled = false;
  if (q.deallocProd !== q.deallocCons) xenvifTxDeallocAction(q);
  if (q.deallocStopping) {
    if (txDeallocDrained(q)) xenvifDeallocStopped(q);
    return;
  }
  // pvnet: slots came free; if requests were left waiting for them, poll again (see txWorkTodo).
  if (q.tx !== null && q.napiEnabled && ringHasUnconsumedRequests(q.tx) && txWorkTodo(q)) napiSchedule(q);
}

/**
 * xenvif_tx_dealloc_action: drain the dealloc ring into unmap ops, unmap them in one hypercall (a failure
 * there is a BUG), then answer each slot OKAY (plain-ref: a slot already answered is only freed).
 */
export function xenvifTxDeallocAction(q: XenvifQueue): void {
  const nb = q.vif.nb;
  const ops = q.txUnmapOps;
  const release = q.pendingIdxRelease;
  let n = 0;
  let dc = q.deallocCons;
  let dp: number;
  do {
    dp = q.deallocProd;
    while (dc !== dp) {
      const pi = q.deallocRing[pendingIndex(dc)]!;
      dc = (dc + 1) >>> 0;
      release[n] = pi;
      gnttabSetUnmapOp(ops[n]!, pendingAddr(q, pi), GNTMAP_host_map, xenvifGrantHandleReset(q, pi));
      n++;
    }
  } while (dp !== q.deallocProd);
  q.deallocCons = dc;
  if (n === 0) return;
  nb.hv.gnttabUnmapGrantRef(nb.dom, ops, n);
  q.stats.unmaps += n;
  q.stats.unmapHypercalls++;
  for (let i = 0; i < n; i++) {
    const st = ops[i]!.status;
    if (st !== GNTST_okay) throw new NetbackBug(`${q.name}: unmap failed: handle ${ops[i]!.handle} status ${st}`, st);
  }
  for (let i = 0; i < n; i++) {
    unmapped(q, release[i]!);
    q.stats.deallocQueued--;
  }
  for (let i = 0; i < n; i++) {
    const pi = release[i]!;
    q.pendingOwner[pi] = 0;
    if (q.answered[pi] !== 0) {
      q.answered[pi] = 0;
      putPendingIdx(q, pi);
    } else {
      xenvifIdxRelease(q, pi, NETIF_RSP_OKAY);
    }
  }
}
