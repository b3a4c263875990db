/**
 * struct net_device, reduced to what pvnet's backend stack needs: the seam between a driver and the stack.
 *
 * A driver (netback's vif, a NIC model, the local interface) owns a `NetDevice`. Two directions:
 *
 * - **receive** (driver → stack): the driver hands each received sk_buff to `netifReceiveSkb(dev, skb)`
 *   (src/net/receive.ts, owned by the stack), which runs the receive path (taps, rx_handler such as a bridge
 *   port, protocol delivery, the pfmemalloc rules). Ownership of the skb passes with the call.
 * - **transmit** (stack → driver): the stack calls `dev.ndoStartXmit(skb)` (ndo_start_xmit). Ownership passes
 *   with the call; the driver frees the skb when it is done (after the bytes are copied out, or on drop) and
 *   returns NETDEV_TX_OK. NETDEV_TX_BUSY means the driver did not take the skb (the caller still owns it).
 *
 * Names follow Linux (netif_receive_skb, ndo_start_xmit, rx_handler, NETDEV_TX_*). Direction words on a vif
 * follow netback's convention: "TX" is guest → backend and "RX" is backend → guest, on both sides.
 */

import type { SkBuff } from '../skb/skbuff.ts';

export const NETDEV_TX_OK = 0x00;
export const NETDEV_TX_BUSY = 0x10;

/** rx_handler results (enum rx_handler_result). */
export const RX_HANDLER_CONSUMED = 0;
export const RX_HANDLER_ANOTHER = 1;
export const RX_HANDLER_EXACT = 2;
export const RX_HANDLER_PASS = 3;

export interface NetDeviceStats {
  rxPackets: number;
  rxBytes: number;
  rxDropped: number;
  txPackets: number;
  txBytes: number;
  txDropped: number;
}

export function newNetDeviceStats(): NetDeviceStats {
  return { rxPackets: 0, rxBytes: 0, rxDropped: 0, txPackets: 0, txBytes: 0, txDropped: 0 };
}

export interface NetDevice {
  readonly name: string;
  readonly ifindex: number;
  /** MAC address as a 48-bit number. */
  readonly mac: number;
  mtu: number;
  /** Carrier / IFF_UP: a device that is down drops what it is given. */
  up: boolean;
  readonly stats: NetDeviceStats;
  /** Transmit `skb` out of this device; ownership passes on NETDEV_TX_OK. */
  ndoStartXmit(skb: SkBuff): number;
  /**
   * rx_handler installed by an upper device (a bridge port): called by the receive path with the skb it
   * owns; returns an RX_HANDLER_* value. CONSUMED means the handler took ownership.
   */
  rxHandler: ((skb: SkBuff) => number) | null;
}
