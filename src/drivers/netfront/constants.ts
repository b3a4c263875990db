/**
 * netfront's constants (REFERENCE.md §5.10; Linux drivers/net/xen-netfront.c, "NF"). C names kept.
 */

import { NSEC_PER_MSEC, NSEC_PER_SEC } from '../../hv/clock.ts';
import { NET_RX_RING_SIZE, NET_TX_RING_SIZE, XEN_NETIF_NR_SLOTS_MIN } from '../../abi/netif.ts';

/** Bytes of an RX packet pulled into the linear area; a first slot this short allows one more slot. */
export const RX_COPY_THRESHOLD = 256;
/** Fewest RX buffers worth pushing (18 data slots + 1 for the GSO extra); fewer arms the refill timer. */
export const NET_RX_SLOTS_MIN = XEN_NETIF_NR_SLOTS_MIN + 1;
/** 65536 / XEN_PAGE_SIZE + 1: frags of a 64 KiB packet that starts inside a page. */
export const MAX_XEN_SKB_FRAGS = 65536 / 4096 + 1;
/** Slots an skb may use before it is linearised (MAX_XEN_SKB_FRAGS + 1 = 18). */
export const XENNET_MAX_TX_SLOTS = MAX_XEN_SKB_FRAGS + 1;
/** TX may proceed only while fewer requests than this are outstanding (256 - 18 - 1 = 237). */
export const NETFRONT_TX_SLOTS_LIMIT = NET_TX_RING_SIZE - XEN_NETIF_NR_SLOTS_MIN - 1;
/** How long a close waits for the backend before moving on (5 * HZ, in virtual ns). */
export const XENNET_TIMEOUT = 5 * NSEC_PER_SEC;
/** The RX refill timer's delay (HZ / 10). */
export const RX_REFILL_DELAY = 100 * NSEC_PER_MSEC;
/** NAPI weight: packets one poll may deliver. */
export const NAPI_POLL_WEIGHT = 64;
/** Linux's default queue cap (module parameter max_queues = min(8, online CPUs)). */
export const MAX_QUEUES_DEFAULT = 8;

/** tx_link[] markers: the end of the free chain, and an id whose request the backend may answer. */
export const TX_LINK_NONE = 0xffff;
export const TX_PENDING = 0xfffe;
/** A grant-ref slot holding no grant (Linux INVALID_GRANT_REF). */
export const INVALID_GRANT_REF = -1;
/** A page slot holding no page. */
export const NO_PAGE = -1;

export { NET_RX_RING_SIZE, NET_TX_RING_SIZE };
