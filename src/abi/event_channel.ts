/**
 * Event channels (xen/include/public/event_channel.h): command numbers, status values, limits.
 *
 * A port (evtchn_port_t) is a u32. An event is one pending bit per port: sends made while it is set coalesce.
 */

export const EVTCHNOP_bind_interdomain = 0;
export const EVTCHNOP_bind_virq = 1;
export const EVTCHNOP_bind_pirq = 2;
export const EVTCHNOP_close = 3;
export const EVTCHNOP_send = 4;
export const EVTCHNOP_status = 5;
export const EVTCHNOP_alloc_unbound = 6;
export const EVTCHNOP_bind_ipi = 7;
export const EVTCHNOP_bind_vcpu = 8;
export const EVTCHNOP_unmask = 9;
export const EVTCHNOP_reset = 10;
export const EVTCHNOP_init_control = 11;
export const EVTCHNOP_expand_array = 12;
export const EVTCHNOP_set_priority = 13;

/** evtchn_status_t.status values. */
export const EVTCHNSTAT_closed = 0;
export const EVTCHNSTAT_unbound = 1;
export const EVTCHNSTAT_interdomain = 2;
export const EVTCHNSTAT_pirq = 3;
export const EVTCHNSTAT_virq = 4;
export const EVTCHNSTAT_ipi = 5;

/** struct evtchn_alloc_unbound: dom u16 @0, remote_dom u16 @2, OUT port u32 @4 (8 bytes). */
export const SIZEOF_EVTCHN_ALLOC_UNBOUND = 8;
export const EVTCHN_ALLOC_UNBOUND = { dom: 0, remote_dom: 2, port: 4 } as const;
/** struct evtchn_bind_interdomain: remote_dom u16 @0, remote_port u32 @4, OUT local_port u32 @8 (12 bytes). */
export const SIZEOF_EVTCHN_BIND_INTERDOMAIN = 12;
export const EVTCHN_BIND_INTERDOMAIN = { remote_dom: 0, remote_port: 4, local_port: 8 } as const;
/** struct evtchn_send: port u32 @0 (4 bytes). */
export const SIZEOF_EVTCHN_SEND = 4;
/** struct evtchn_close: port u32 @0 (4 bytes). */
export const SIZEOF_EVTCHN_CLOSE = 4;

/** Ports in the 2-level ABI on x86-64: sizeof(xen_ulong_t)^2 * 64. */
export const EVTCHN_2L_NR_CHANNELS = 8 * 8 * 64;
/** FIFO ABI: 2^EVTCHN_FIFO_LINK_BITS ports, priorities 0 (highest) .. 15, default 7. */
export const EVTCHN_FIFO_LINK_BITS = 17;
export const EVTCHN_FIFO_NR_CHANNELS = 1 << EVTCHN_FIFO_LINK_BITS;
export const EVTCHN_FIFO_PRIORITY_MAX = 0;
export const EVTCHN_FIFO_PRIORITY_DEFAULT = 7;
export const EVTCHN_FIFO_PRIORITY_MIN = 15;
