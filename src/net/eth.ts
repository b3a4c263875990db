/**
 * Ethernet on sk_buffs: eth_type_trans (what a driver calls before handing a received frame to the stack) and
 * reading the link header of an skb.
 *
 * A frame arrives with `data` at the Ethernet header. ethTypeTrans records the mac header, pulls the 14 bytes
 * and sets `skb.protocol`; netifReceiveSkb expects exactly that. Frame bytes come from a peer, so a frame too
 * short to carry a header is a value (-1), never an exception: the caller drops and counts it.
 */

import { skbPull } from '../skb/alloc.ts';
import { skbCopyBits } from '../skb/bytes.ts';
import { pskbMayPull } from '../skb/pull.ts';
import { skbMacHeaderWasSet, skbResetMacHeader, type SkBuff } from '../skb/skbuff.ts';
import { ETH_HLEN, ETH_P_802_3, ETH_P_802_3_MIN, parseEth, WIRE_OK, type EthHdr } from './wire.ts';

/** A temporary for the 14 header bytes (never held across calls). */
const ethScratch = new Uint8Array(ETH_HLEN);

/**
 * eth_type_trans: returns the protocol now in `skb.protocol` (an ethertype, or ETH_P_802_3 for a length
 * field), or -1 if the frame is shorter than an Ethernet header or its header could not be made linear.
 */
export function ethTypeTrans(skb: SkBuff): number {
  if (!pskbMayPull(skb, ETH_HLEN)) return -1;
  skbResetMacHeader(skb);
  skbCopyBits(skb, 0, ethScratch, 0, ETH_HLEN);
  skbPull(skb, ETH_HLEN);
  const t = (ethScratch[12]! << 8) | ethScratch[13]!;
  skb.protocol = t >= ETH_P_802_3_MIN ? t : ETH_P_802_3;
  return skb.protocol;
}

/** Offset of the mac header from `data` (negative once the header was pulled; 0 if it was never set). */
export function skbMacOffset(skb: SkBuff): number {
  return skbMacHeaderWasSet(skb) ? skb.macHeader - skb.data : 0;
}

/** eth_hdr: parse the Ethernet header of `skb` (at its mac header) into `out`; false if it is not there. */
export function skbEthHdr(skb: SkBuff, out: EthHdr): boolean {
  const off = skbMacOffset(skb);
  if (skbCopyBits(skb, off, ethScratch, 0, ETH_HLEN) !== 0) return false;
  return parseEth(ethScratch, 0, ETH_HLEN, out) === WIRE_OK;
}
