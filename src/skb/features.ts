/**
 * GSO types (skb_shinfo(skb)->gso_type, include/linux/skbuff.h) and the device features skb_segment consults.
 *
 * SKB_GSO_* keep Linux's bit values. netdev_features_t is 64 bits wide in Linux; pvnet packs the few features
 * it models into a 32-bit number with its own bit numbers (a deviation in numbering only): offload flags in the
 * low bits, then one "can segment this GSO type" bit per SKB_GSO_* type from NETIF_F_GSO_SHIFT up, which keeps
 * Linux's rule that `gso_type << NETIF_F_GSO_SHIFT` names the feature a type needs (net_gso_ok).
 */

import { ETH_P_IP, ETH_P_IPV6 } from './constants.ts';

export const SKB_GSO_TCPV4 = 1 << 0;
/** The skb comes from an untrusted source (a guest, a tap); its gso_size is not to be believed. */
export const SKB_GSO_DODGY = 1 << 1;
export const SKB_GSO_TCP_ECN = 1 << 2;
export const SKB_GSO_TCP_FIXEDID = 1 << 3;
export const SKB_GSO_TCPV6 = 1 << 4;
export const SKB_GSO_FCOE = 1 << 5;
export const SKB_GSO_GRE = 1 << 6;
export const SKB_GSO_GRE_CSUM = 1 << 7;
export const SKB_GSO_IPXIP4 = 1 << 8;
export const SKB_GSO_IPXIP6 = 1 << 9;
export const SKB_GSO_UDP_TUNNEL = 1 << 10;
export const SKB_GSO_UDP_TUNNEL_CSUM = 1 << 11;
export const SKB_GSO_PARTIAL = 1 << 12;
export const SKB_GSO_TUNNEL_REMCSUM = 1 << 13;
export const SKB_GSO_SCTP = 1 << 14;
export const SKB_GSO_ESP = 1 << 15;
export const SKB_GSO_UDP = 1 << 16;
export const SKB_GSO_UDP_L4 = 1 << 17;
export const SKB_GSO_FRAGLIST = 1 << 18;

/** Scatter-gather: the device takes paged data. */
export const NETIF_F_SG = 1 << 0;
/** Checksums IPv4 TCP/UDP only. */
export const NETIF_F_IP_CSUM = 1 << 1;
/** Checksums any protocol (CHECKSUM_PARTIAL with csum_start / csum_offset). */
export const NETIF_F_HW_CSUM = 1 << 2;
/** Checksums IPv6 TCP/UDP only. */
export const NETIF_F_IPV6_CSUM = 1 << 3;
/** Takes frag_list skbs. */
export const NETIF_F_FRAGLIST = 1 << 4;
/** Segments a GSO_PARTIAL super-packet (the outer headers once, the rest per segment). */
export const NETIF_F_GSO_PARTIAL = 1 << 5;
/** First "can segment type t" bit: type bit b is feature bit NETIF_F_GSO_SHIFT + b. */
export const NETIF_F_GSO_SHIFT = 12;
export const NETIF_F_TSO = SKB_GSO_TCPV4 << NETIF_F_GSO_SHIFT;
export const NETIF_F_TSO6 = SKB_GSO_TCPV6 << NETIF_F_GSO_SHIFT;
export const NETIF_F_GSO_ROBUST = SKB_GSO_DODGY << NETIF_F_GSO_SHIFT;

/** net_gso_ok: the features include every "can segment" bit the GSO type needs. */
export function netGsoOk(features: number, gsoType: number): boolean {
  const need = (gsoType << NETIF_F_GSO_SHIFT) >>> 0;
  return ((features >>> 0) & need) >>> 0 === need;
}

/** can_checksum_protocol (FCoE not modelled). */
export function canChecksumProtocol(features: number, protocol: number): boolean {
  if ((features & NETIF_F_HW_CSUM) !== 0) return true;
  if (protocol === ETH_P_IP) return (features & NETIF_F_IP_CSUM) !== 0;
  if (protocol === ETH_P_IPV6) return (features & NETIF_F_IPV6_CSUM) !== 0;
  return false;
}
