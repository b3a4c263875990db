/**
 * drivers/netfront: the guest's Xen network frontend (Linux drivers/net/xen-netfront.c), on pvnet's
 * hypervisor and sk_buff model. TX is guest → backend, RX backend → guest.
 *
 * Contract: `new NetfrontInfo({ hv, irq, dom, env, ... })` probes a vif the toolstack created and follows the
 * backend's xenstore state (watch events, the clock); it connects when the backend reaches InitWait. The
 * guest stack transmits with `ndoStartXmit(skb)` and receives through the injected `receive(skb)`. Nothing the
 * backend writes (ring slots, indices, xenstore keys, grant pins) throws: it ends as a counted error, a
 * dropped packet, or a device marked `broken` with a reason, and no page the backend can still read is ever
 * reused. Misuse of the API by the calling code throws a PvnetError. The hot path allocates nothing per
 * packet beyond the sk_buffs.
 */

export { NetfrontInfo } from './netfront.ts';
export type { NetfrontOptions, NetfrontTestHooks } from './netfront.ts';
export { NetfrontQueue, MAX_PKT_SLOTS, napiSchedule, setupNetfront, xennetDestroyQueue } from './queue.ts';
export {
  xennetStartXmit, xennetTxBufGc, xennetHandleTx, xennetReleaseTxBufs, xennetCountSkbSlots, xennetSelectQueue,
  netfrontTxSlotAvailable, xennetMaybeWakeTx, bounceSkb,
} from './tx.ts';
export { xennetAllocRxBuffers, xennetPoll, xennetHandleRx, xennetReleaseRxBufs } from './rx.ts';
export {
  ENODEV, netbackChanged, xennetConnect, xennetDisconnectBackend, xennetBusClose, xennetSwitchState, otherendState,
} from './xenbus.ts';
export { newNetfrontQueueStats, addNetfrontQueueStats } from './stats.ts';
export type { NetfrontQueueStats } from './stats.ts';
export {
  RX_COPY_THRESHOLD, NET_RX_SLOTS_MIN, MAX_XEN_SKB_FRAGS, XENNET_MAX_TX_SLOTS, NETFRONT_TX_SLOTS_LIMIT,
  XENNET_TIMEOUT, RX_REFILL_DELAY, NAPI_POLL_WEIGHT, MAX_QUEUES_DEFAULT, TX_LINK_NONE, TX_PENDING,
  INVALID_GRANT_REF, NO_PAGE,
} from './constants.ts';
