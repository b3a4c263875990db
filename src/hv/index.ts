/**
 * hv/: the emulated hypervisor. Machine memory and frames, domains, grant tables (both halves), event
 * channels, xenstore with the xenbus helpers, the cost model, virtual time, and the teardown audit.
 *
 * Contract: hv knows nothing of Linux, sk_buffs or netif. Everything is per `Hypervisor` instance (no
 * singletons); time comes from an injected `Clock`, events leave through an injected notifier, watch events
 * through `processWatches()`. Anything a guest controls ends as a GNTST_* status, a negative errno or
 * `undefined`; only misuse by the calling code throws (a PvnetError from src/errors.ts). Every hypercall
 * charges the calling domain's modelled cost. Grant state shared with a guest changes only through Atomics.
 */

export { MachineMemory, FRAME_GRANT_TABLE, FRAME_RING, FRAME_HV_MASK } from './memory.ts';
export { Hypervisor } from './hypervisor.ts';
export type { HypervisorOptions, DomainConfig } from './hypervisor.ts';
export { Domain } from './domain.ts';
export type { DomainState } from './domain.ts';

export { ManualClock, NSEC_PER_USEC, NSEC_PER_MSEC, NSEC_PER_SEC } from './clock.ts';
export type { Clock, TimerHandle } from './clock.ts';
export { CostModel, DEFAULT_COST_PARAMS, newDomainCost, resetDomainCost, priceOf } from './cost.ts';
export type { CostParams, DomainCost } from './cost.ts';
export {
  EPERM, ENOENT, ESRCH, E2BIG, EAGAIN, ENOMEM, EACCES, EBUSY, EEXIST, EINVAL, ENOSPC, ENOSYS, ENOTEMPTY,
} from './errno.ts';

export {
  GrantTable, GNTPIN_hstw_inc, GNTPIN_hstw_mask, GNTPIN_hstr_inc, GNTPIN_hstr_mask, GNTPIN_devw_inc,
  GNTPIN_devw_mask, GNTPIN_devr_inc, GNTPIN_devr_mask, GNTPIN_SATURATION, MAPTRACK_PER_FRAME,
  INITIAL_NR_GRANT_FRAMES,
} from './grant-table.ts';
export {
  GnttabCopyPtr, GnttabCopyUnion, newMapGrantRef, newUnmapGrantRef, newGnttabCopy, newSetupTable, newQuerySize,
  gnttabSetMapOp, gnttabSetUnmapOp,
} from './grant-ops.ts';
export type {
  GnttabMapGrantRef, GnttabUnmapGrantRef, GnttabCopy, GnttabSetupTable, GnttabQuerySize, GnttabOp,
} from './grant-ops.ts';
export { PIN_CAS_RETRIES } from './grant-pin.ts';
export type { GrantTestHooks } from './grant-pin.ts';
export {
  GnttabGuest, GNTTAB_LIST_END, DEFERRED_WARN_DELAY, DEFAULT_FREE_PER_ITERATION, DEFERRED_TICK_NS,
} from './gnttab.ts';
export type { GrantRefHead, PageOps } from './gnttab.ts';

export { EventChannelSwitch, PortTable } from './event-channel.ts';
export type { EventNotifier, EvtchnStatus } from './event-channel.ts';

export {
  XenStore, XBT_NIL, XENSTORE_PAYLOAD_MAX, XENSTORE_ABS_PATH_MAX, XENSTORE_REL_PATH_MAX,
  DEFAULT_MAX_QUEUED_WATCH_EVENTS, XS_INTRODUCE_DOMAIN, XS_RELEASE_DOMAIN,
} from './xenstore.ts';
export type { XenStoreOptions, XsPerm, XsPermKind, WatchCallback } from './xenstore.ts';
export {
  frontendPath, backendPath, xenbusRead, xenbusExists, xenbusScanfUint, xenbusScanfInt, xenbusReadUnsigned,
  xenbusGather, xenbusPrintf, xenbusReadState, xenbusSwitchState, xenbusCreateDevice,
} from './xenbus.ts';
export type { GatherType, DeviceConfig } from './xenbus.ts';

export { snapshot, auditHypervisor } from './audit.ts';
export type { AuditBaseline, AuditOptions } from './audit.ts';
