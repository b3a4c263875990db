/**
 * The stack's tunables and their Linux defaults (sysctls), and the reserve modes of REFERENCE §12.3. A leaf
 * module: everything in src/net/ may import it.
 */

/** Mode B, 3.6 semantics (default): RX allocations may use the reserve, and every §11.7 rule applies. */
export const RX_RESERVE_AWARE = 'aware';
/** Mode A′: RX allocations may use the reserve, but no receive-path rule applies (taps, filter, PF_MEMALLOC). */
export const RX_RESERVE_NAIVE = 'naive';
/** Mode A, before 2012: RX allocations never use the reserve, and no rule applies. */
export const RX_RESERVE_OFF = 'off';
export type RxReserveMode = typeof RX_RESERVE_AWARE | typeof RX_RESERVE_NAIVE | typeof RX_RESERVE_OFF;

/** netdev_max_backlog default. */
export const NETDEV_MAX_BACKLOG = 1000;
/** weight_p / dev_rx_weight: packets one backlog poll may process. */
export const DEV_WEIGHT = 64;
/** ipfrag_high_thresh / ipfrag_low_thresh (3.6 values, REFERENCE §11.7). */
export const IPFRAG_HIGH_THRESH = 256 * 1024;
export const IPFRAG_LOW_THRESH = 192 * 1024;
/** ipfrag_time: 30 s. */
export const IPFRAG_TIME_NS = 30_000_000_000;
/** Largest IPv4 datagram plus a link header: the size of the per-stack packet scratch buffer. */
export const NET_SCRATCH_BYTES = 65536 + 128;
