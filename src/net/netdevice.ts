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

/** netif_receive_skb / protocol handler results. */
export const NET_RX_SUCCESS = 0;
export const NET_RX_DROP = 1;

/** dev_queue_xmit results. */
export const NET_XMIT_SUCCESS = 0x00;
export const NET_XMIT_DROP = 0x01;

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
   * owns; returns an RX_HANDLER_* value. CONSUMED means the handler took ownership; PASS and EXACT hand the
   * skb back to the receive path. pvnet's skb has no `dev` field, so a handler that moves the packet to
   * another device re-injects it with netifReceiveSkb(stack, upper, skb) and returns CONSUMED (the bridge's
   * br_pass_frame_up does); RX_HANDLER_ANOTHER is refused by the receive path.
   */
  rxHandler: ((skb: SkBuff) => number) | null;
}

/**
 * The fields every device model shares, for subclasses that only supply ndoStartXmit (the bridge device,
 * loopback, the null device, DevQueue, test devices). Up, MTU 1500, no rx_handler, zeroed counters.
 */
export abstract class NetDeviceBase implements NetDevice {
  readonly name: string;
  readonly ifindex: number;
  readonly mac: number;
  mtu = 1500;
  up = true;
  readonly stats: NetDeviceStats = newNetDeviceStats();
  rxHandler: ((skb: SkBuff) => number) | null = null;

  constructor(name: string, ifindex: number, mac: number) {
    this.name = name;
    this.ifindex = ifindex;
    this.mac = mac;
  }

  abstract ndoStartXmit(skb: SkBuff): number;
}

/** A protocol handler (packet_type.func): consumes the skb it is given and answers NET_RX_SUCCESS / _DROP. */
export type PacketHandler = (skb: SkBuff, dev: NetDevice, pt: PacketType, origDev: NetDevice) => number;

/**
 * struct packet_type: one entry of ptype_all (taps: `type` ETH_P_ALL) or ptype_base (ARP, IPv4, IPv6 ...).
 *
 * Owned by whoever registered it (the stack's protocol setup, a packet socket) and referenced from the
 * stack's lists until it is removed. `dev` null matches every device; otherwise only packets received on
 * (or, for taps on the transmit side, sent through) that device. The handler is called with one `users`
 * reference of its own and must free or keep it.
 */
export class PacketType {
  readonly type: number;
  readonly dev: NetDevice | null;
  readonly func: PacketHandler;
  /** The owner's object (af_packet_priv): the packet socket, the stack. */
  readonly priv: unknown;

  constructor(type: number, dev: NetDevice | null, func: PacketHandler, priv: unknown = null) {
    this.type = type;
    this.dev = dev;
    this.func = func;
    this.priv = priv;
  }
}
