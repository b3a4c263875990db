/**
 * drivers/netback: the backend driver of Xen paravirtual networking (Linux drivers/net/xen-netback).
 *
 * **Direction words: TX and RX are named from the frontend's point of view, on both sides.** TX is the
 * guest sending (guest → backend: requests name granted pages netback reads); RX is the guest receiving
 * (backend → guest: requests lend empty pages netback copies into). Counters follow the same words
 * (`txPackets` = packets the guest sent); only the vif's NetDevice.stats keep dom0's netdev view.
 *
 * Contract:
 * - A scenario makes one `Netback` per backend domain (hypervisor, IRQ dispatcher, dom0, dom0's SkbEnv, a
 *   default TX strategy, the stack's `deliver` hook, an optional `onTrace`), then `probe(guest, devid)`
 *   for each device the toolstack created; the handshake runs from xenstore watches
 *   (`hv.xs.processWatches()`) and the work from the clock.
 * - Everything a guest writes (ring slots, grants, xenstore keys, events) ends as a protocol outcome:
 *   responses, dropped packets, a disabled vif with `fatalReason`, a xenbus error record. Only misuse of
 *   pvnet by the calling code throws (NetbackBug for netback's own invariants).
 * - In the map strategies a guest page stays mapped exactly as long as any sk_buff references it, and its
 *   request is answered only after the unmap (plain-ref breaks this on purpose). Each ring slot is copied
 *   once before it is judged.
 * - Hot paths allocate nothing per packet beyond the sk_buffs, frag destructors and completion objects of
 *   the dom0 SkbEnv pools: op arrays, pending rings and snapshots are preallocated per queue.
 */

export {
  MAX_PENDING_REQS, XEN_NETBACK_TX_COPY_LEN, XEN_NETBK_LEGACY_SLOTS_MAX, FATAL_SKB_SLOTS_DEFAULT, MAX_XEN_SKB_FRAGS,
  INVALID_PENDING_IDX, NETBACK_INVALID_HANDLE, XENVIF_NAPI_WEIGHT, XENVIF_QUEUE_LENGTH, XENVIF_RX_QUEUE_BYTES,
  RX_BATCH_SIZE, COPY_BATCH_SIZE, RX_DRAIN_TIMEOUT_NS, RX_STALL_TIMEOUT_NS, RX_DRAIN_TIMEOUT_NO_NOTIFY_NS,
  XEN_NETBK_MCAST_MAX, MAX_QUEUES_DEFAULT, XEN_NETIF_MAX_XDP_HEADROOM, CREDIT_MIN_BURST, NETBK_RX_EOI,
  NETBK_TX_EOI, NETBK_COMMON_EOI, XEN_NETIF_TX_RING_SIZE, XEN_NETIF_RX_RING_SIZE,
} from './constants.ts';
export { Netback, TX_STRATEGIES } from './netback.ts';
export type { NetbackOptions, TxStrategy, DeliverFn } from './netback.ts';
export { BackendInfo, netbackRemove, frontendChanged, setBackendState, xenbusDevFatal, EOPNOTSUPP } from './xenbus.ts';
export type { XenbusError } from './xenbus.ts';
export { XenVif, XENVIF_DUMMY_MAC, xenvifSchedulable } from './interface.ts';
export { XenvifQueue, nrPendingReqs } from './queue.ts';
export { newQueueStats, sumQueueStats } from './stats.ts';
export type { NetbackQueueStats, NetbackTraceEvent, NetbackTraceHook, NetbackTraceKind } from './stats.ts';
export { xenNetParseRate } from './credit.ts';
export type { Rate } from './credit.ts';
export { NetbackBug } from './errors.ts';
export { EPROTO } from './checksum.ts';
