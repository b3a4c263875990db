/**
 * netfront's counters: one `NetfrontQueueStats` per queue (Linux keeps per-CPU netfront_stats plus
 * dev->stats; pvnet keeps them per queue, which is where the work happens), summed per device on demand.
 *
 * Written only by the queue's own TX and RX paths; read by tests, scenarios and reports.
 */

export interface NetfrontQueueStats {
  /** Packets put on the TX ring, and their bytes (counted at xmit, as Linux does). */
  txPackets: number;
  txBytes: number;
  /** Packets the backend answered NETIF_RSP_ERROR / NETIF_RSP_DROPPED (or with an unknown status). */
  txErrors: number;
  /** Packets dropped before reaching the ring (too big, broken device, no carrier, linearise failed). */
  txDropped: number;
  /** xmit calls refused with NETDEV_TX_BUSY because the queue was stopped. */
  txBusy: number;
  /** Skbs copied into fresh zeroed pages before granting (XSA-403 bounce, or a head too near a page end). */
  txBounced: number;
  /** Skbs linearised because they needed more than 18 slots. */
  txLinearized: number;
  /** netif_stop_queue / netif_wake_queue transitions. */
  txStops: number;
  txWakes: number;
  /** Packets handed to the guest stack, and their bytes. */
  rxPackets: number;
  rxBytes: number;
  /** RX packets (or slot chains) rejected: bad status, offset, id, extras, too many slots, bad GSO. */
  rxErrors: number;
  /** RX packets dropped for want of guest memory (no sk_buff could be allocated). */
  rxDropped: number;
  /** GSO packets received without NETRXF_csum_blank, forced to CHECKSUM_PARTIAL (rx_gso_checksum_fixup). */
  rxGsoChecksumFixup: number;
  /** NAPI polls run and the most packets one poll delivered (never above the budget). */
  napiPolls: number;
  napiMaxWork: number;
  /** Interrupts that found no new work (acknowledged as spurious, XSA-391). */
  spuriousEvents: number;
}

export function newNetfrontQueueStats(): NetfrontQueueStats {
  return {
    txPackets: 0, txBytes: 0, txErrors: 0, txDropped: 0, txBusy: 0, txBounced: 0, txLinearized: 0, txStops: 0,
    txWakes: 0, rxPackets: 0, rxBytes: 0, rxErrors: 0, rxDropped: 0, rxGsoChecksumFixup: 0, napiPolls: 0, napiMaxWork: 0,
    spuriousEvents: 0,
  };
}

/** Add every counter of `from` into `into` (napiMaxWork: the larger). */
export function addNetfrontQueueStats(into: NetfrontQueueStats, from: NetfrontQueueStats): void {
  for (const k of Object.keys(into) as (keyof NetfrontQueueStats)[]) {
    into[k] = k === 'napiMaxWork' ? Math.max(into[k], from[k]) : into[k] + from[k];
  }
}
