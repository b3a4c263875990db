/**
 * netback's constants (REFERENCE.md §5.1; Linux drivers/net/xen-netback/common.h, netback.c, interface.c,
 * rx.c), C names unchanged. Times are in nanoseconds of virtual time, named after the millisecond module
 * parameters they come from.
 */

import { NET_RX_RING_SIZE, NET_TX_RING_SIZE, XEN_NETIF_NR_SLOTS_MIN } from '../../abi/netif.ts';
import { XEN_PAGE_SIZE } from '../../abi/page.ts';
import { NSEC_PER_MSEC } from '../../hv/clock.ts';

/** XEN_NETIF_TX_RING_SIZE / XEN_NETIF_RX_RING_SIZE: 256 each. */
export const XEN_NETIF_TX_RING_SIZE = NET_TX_RING_SIZE;
export const XEN_NETIF_RX_RING_SIZE = NET_RX_RING_SIZE;

/** One pending slot per TX ring slot. */
export const MAX_PENDING_REQS = XEN_NETIF_TX_RING_SIZE;

/** Header bytes grant-copied into the linear area (the rest of the first slot is mapped as frag 0). */
export const XEN_NETBACK_TX_COPY_LEN = 128;

/** Slots a valid packet may use (the historical MAX_SKB_FRAGS, 18). */
export const XEN_NETBK_LEGACY_SLOTS_MAX = XEN_NETIF_NR_SLOTS_MIN;

/** fatal_skb_slots default: a packet claiming this many follow-on slots marks the frontend hostile. */
export const FATAL_SKB_SLOTS_DEFAULT = 20;

/** 65536 / XEN_PAGE_SIZE + 1: frags a 64 KiB packet can need. */
export const MAX_XEN_SKB_FRAGS = 65536 / XEN_PAGE_SIZE + 1;

/** Discriminates from any valid pending index. */
export const INVALID_PENDING_IDX = 0xffff;
/** grant_tx_handle[] value while a pending slot holds no mapping. */
export const NETBACK_INVALID_HANDLE = -1;

/** Packets one NAPI poll may hand to the stack (XENVIF_NAPI_WEIGHT). */
export const XENVIF_NAPI_WEIGHT = 64;
/** XENVIF_QUEUE_LENGTH: the netdev's tx_queue_len (kept for reference; the stack owns qdiscs). */
export const XENVIF_QUEUE_LENGTH = 32;

/** Bytes the guest-RX internal queue may hold before the xmit path drops (XSA-392): 128 pages. */
export const XENVIF_RX_QUEUE_BYTES = (XEN_NETIF_RX_RING_SIZE / 2) * XEN_PAGE_SIZE;
/** skbs one guest-RX pass handles. */
export const RX_BATCH_SIZE = 64;
/** Grant-copy ops per RX copy hypercall. */
export const COPY_BATCH_SIZE = 64;

/** rx_drain_timeout_msecs / rx_stall_timeout_msecs, and the drain timeout without feature-rx-notify. */
export const RX_DRAIN_TIMEOUT_NS = 10_000 * NSEC_PER_MSEC;
export const RX_STALL_TIMEOUT_NS = 60_000 * NSEC_PER_MSEC;
export const RX_DRAIN_TIMEOUT_NO_NOTIFY_NS = 30 * NSEC_PER_MSEC;

/** Multicast filter size. */
export const XEN_NETBK_MCAST_MAX = 64;

/** MAX_QUEUES_DEFAULT: the multi-queue-max-queues default is min(this, online CPUs). */
export const MAX_QUEUES_DEFAULT = 8;

/** XEN_NETIF_MAX_XDP_HEADROOM (Linux's netif.h copy): the largest RX headroom a frontend may ask for. */
export const XEN_NETIF_MAX_XDP_HEADROOM = 0x7fff;

/** Credit shaping: a window may always carry at least this burst (a 128 KiB jumbo packet). */
export const CREDIT_MIN_BURST = 131072;

/** eoi_pending bits: which handler still owes a late EOI. */
export const NETBK_RX_EOI = 0x01;
export const NETBK_TX_EOI = 0x02;
export const NETBK_COMMON_EOI = 0x04;

/** ETH_HLEN: the smallest first slot netback accepts (the stack's constant). */
export { ETH_HLEN } from '../../net/wire.ts';

/** Copy ops one TX packet can need at most: 19 slots, each split once at a head frame boundary, and spare. */
export const MAX_COPY_OPS_PER_PACKET = 2 * (XEN_NETBK_LEGACY_SLOTS_MAX + 1) + 2;
/** tx_copy_ops[] size (Linux: 2 × MAX_PENDING_REQS). */
export const TX_COPY_OPS = 2 * MAX_PENDING_REQS;
