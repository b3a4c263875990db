/**
 * netback's counters and lifecycle trace.
 *
 * Direction words follow the frontend (see index.ts): `tx*` counts what the guest sent to the backend, `rx*`
 * what the backend delivered to the guest. (Linux's struct xenvif_stats names them from dom0's side, the
 * other way round; the vif's NetDevice.stats keep dom0's view, as a Linux netdev would.)
 *
 * `NetbackQueueStats` is owned by one queue and written only by netback; `vifStats()` sums the queues.
 *
 * The trace: a scenario or the timeline chart passes `onTrace`; netback calls it at each step of a slot's
 * life with one reused `NetbackTraceEvent` (copy what you keep: the object is overwritten by the next event,
 * so tracing allocates nothing). Kinds:
 * - `mapped`:    a slot's grant was mapped (pendingIdx, gref);
 * - `copied`:    a slot's bytes were grant-copied (pendingIdx, or -1 for a slot answered without one; status);
 * - `released`:  the last reference to a mapped slot is gone (frag destructor, zerocopy callback, or the
 *                frag_list consolidation): the slot is queued for unmap;
 * - `unmapped`:  the slot's grant was unmapped (its batch's TLB flush is done);
 * - `answered`:  a TX response was written and pushed (id, status);
 * - `delivered`: a built sk_buff was handed to the stack (bytes = its length);
 * - `rx-copied`: a guest-RX packet was copied into posted buffers and answered (bytes);
 * - `fatal`:     the vif was disabled.
 */

export type NetbackTraceKind =
  | 'mapped' | 'copied' | 'released' | 'unmapped' | 'answered' | 'delivered' | 'rx-copied' | 'fatal';

export interface NetbackTraceEvent {
  kind: NetbackTraceKind;
  /** Virtual time, ns. */
  time: number;
  domid: number;
  devid: number;
  queue: number;
  /** Pending index, or -1. */
  pendingIdx: number;
  /** TX request id, or -1. */
  id: number;
  /** Grant reference, or -1. */
  gref: number;
  /** Response status (NETIF_RSP_*) or GNTST_* of the op, or 0. */
  status: number;
  /** Bytes, where the kind carries a length; else 0. */
  bytes: number;
}

export function newTraceEvent(): NetbackTraceEvent {
  return { kind: 'mapped', time: 0, domid: 0, devid: 0, queue: 0, pendingIdx: -1, id: -1, gref: -1, status: 0, bytes: 0 };
}

export type NetbackTraceHook = (e: NetbackTraceEvent) => void;

/** Per-queue counters. */
export interface NetbackQueueStats {
  /** Packets / bytes the guest sent that reached the stack. */
  txPackets: number;
  txBytes: number;
  /** TX packets dropped: bad packets (ERROR responses), failed grant ops, failed checksum setup, no memory. */
  txDropped: number;
  /** TX slots answered NETIF_RSP_ERROR. */
  txErrors: number;
  /** TX responses written (NULL responses for extras included). */
  txResponses: number;
  /** Multicast control requests handled. */
  txMcastCtrl: number;
  /** Grant map / unmap / copy ops issued, and the hypercalls that carried them. */
  maps: number;
  unmaps: number;
  copies: number;
  mapHypercalls: number;
  unmapHypercalls: number;
  copyHypercalls: number;
  /** Pending slots in use now, and the most ever. */
  pendingInUse: number;
  maxPending: number;
  /** Slots released by their last reference and not yet unmapped. */
  deallocQueued: number;
  /** Linux's ethtool counters. */
  txZerocopySent: number;
  txZerocopySuccess: number;
  txZerocopyFail: number;
  txFragOverflow: number;
  rxGsoChecksumFixup: number;
  /** Times the TX loop stopped for want of credit. */
  creditStalls: number;
  /** Packets / bytes copied into the guest (backend → frontend). */
  rxPackets: number;
  rxBytes: number;
  /** Guest-RX packets dropped: queue cap (XSA-392), drain expiry, not schedulable. */
  rxDropped: number;
  /** Guest-RX copy ops that failed (their response carries the raw GNTST status). */
  rxCopyErrors: number;
  /** Late EOIs issued, and those flagged spurious. */
  eois: number;
  spuriousEois: number;
}

export function newQueueStats(): NetbackQueueStats {
  return {
    txPackets: 0, txBytes: 0, txDropped: 0, txErrors: 0, txResponses: 0, txMcastCtrl: 0,
    maps: 0, unmaps: 0, copies: 0, mapHypercalls: 0, unmapHypercalls: 0, copyHypercalls: 0,
    pendingInUse: 0, maxPending: 0, deallocQueued: 0,
    txZerocopySent: 0, txZerocopySuccess: 0, txZerocopyFail: 0, txFragOverflow: 0, rxGsoChecksumFixup: 0,
    creditStalls: 0, rxPackets: 0, rxBytes: 0, rxDropped: 0, rxCopyErrors: 0, eois: 0, spuriousEois: 0,
  };
}

/** Sum of several queues' counters (maxPending: the largest). */
export function sumQueueStats(all: readonly NetbackQueueStats[]): NetbackQueueStats {
  const out = newQueueStats();
  for (const s of all) {
    for (const k of Object.keys(out) as (keyof NetbackQueueStats)[]) {
      out[k] = k === 'maxPending' ? Math.max(out[k], s[k]) : out[k] + s[k];
    }
  }
  return out;
}
