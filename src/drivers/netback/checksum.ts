/**
 * What netback does to a built packet before the stack sees it (REFERENCE.md §5.3 step 6), after the stack's
 * eth_type_trans (net/eth.ts): checksum setup for CHECKSUM_PARTIAL packets (net/core/skbuff.c
 * skb_checksum_setup and its helpers, the parts netback reaches), and the GSO header length.
 *
 * Headers are made linear first (skb_maybe_pull_tail), so on a map-mode packet this is where the stack first
 * pulls bytes out of a guest's mapped page into the head: a pull that eats a frag whole drops that frag's
 * reference then and there. A packet whose headers do not parse is not an error of ours: the caller drops it.
 *
 * Header bytes are read and the recalculated pseudo-header checksum written through the skb byte API with
 * one scratch buffer the caller owns, so nothing is allocated per packet.
 */

import { CHECKSUM_PARTIAL } from '../../skb/constants.ts';
import { pskbMayPull } from '../../skb/pull.ts';
import { skbCopyBits, skbStoreBits } from '../../skb/bytes.ts';
import { skbHeadlen, skbHeadroom, type SkBuff } from '../../skb/skbuff.ts';
import { ENOMEM, EPROTO } from '../../errno.ts';
import { ETH_P_IP, ETH_P_IPV6, IPPROTO_TCP, IPPROTO_UDP } from '../../net/wire.ts';

export { EPROTO };

// IPv6 extension headers skb_checksum_setup_ipv6 walks.
const IPPROTO_HOPOPTS = 0;
const IPPROTO_ROUTING = 43;
const IPPROTO_FRAGMENT = 44;
const IPPROTO_AH = 51;
const IPPROTO_DSTOPTS = 60;
/** Largest IPv4 header (IHL 15) and the most IPv6 header bytes netback pulls. */
const MAX_IP_HDR_LEN = 60;
const MAX_IPV6_HDR_LEN = 256;
const TCP_CHECK = 16;
const UDP_CHECK = 6;

/** skb_maybe_pull_tail: make `len` bytes linear, pulling up to `max`. 0, -ENOMEM or -EPROTO. */
function skbMaybePullTail(skb: SkBuff, len: number, max: number): number {
  if (skbHeadlen(skb) >= len) return 0;
  if (max > skb.len) max = skb.len;
  if (!pskbMayPull(skb, max)) return -ENOMEM;
  if (skbHeadlen(skb) < len) return -EPROTO;
  return 0;
}

/** skb_partial_csum_set: the checksum field sits at start + off; both must be in the linear area. */
function skbPartialCsumSet(skb: SkBuff, start: number, off: number): boolean {
  const csumEnd = start + off + 2;
  const csumStart = start + skbHeadroom(skb);
  if (csumStart >= 0xffff || csumEnd > skbHeadlen(skb)) return false;
  skb.ipSummed = CHECKSUM_PARTIAL;
  skb.csumStart = csumStart;
  skb.csumOffset = off;
  skb.transportHeader = csumStart;
  return true;
}

/** skb_checksum_setup_ip: the L4 offset of the checksum field, or a negative errno. */
function skbChecksumSetupIp(skb: SkBuff, proto: number, off: number): number {
  const hdr = proto === IPPROTO_TCP ? 20 : proto === IPPROTO_UDP ? 8 : 0;
  if (hdr === 0) return -EPROTO;
  const err = skbMaybePullTail(skb, off + hdr, off + hdr);
  if (err !== 0) return err;
  const check = proto === IPPROTO_TCP ? TCP_CHECK : UDP_CHECK;
  if (!skbPartialCsumSet(skb, off, check)) return -EPROTO;
  return off + check;
}

function be16(b: Uint8Array, i: number): number {
  return (b[i]! << 8) | b[i + 1]!;
}

function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** Store ~csum_*_magic(...) (the folded, not inverted, pseudo-header sum) at `at`. */
function storePseudo(skb: SkBuff, at: number, sum: number, scratch: Uint8Array): void {
  const v = fold(sum);
  scratch[0] = v >>> 8;
  scratch[1] = v & 0xff;
  skbStoreBits(skb, at, scratch, 0, 2);
}

function setupIpv4(skb: SkBuff, recalculate: boolean, scratch: Uint8Array): number {
  const err = skbMaybePullTail(skb, 20, MAX_IP_HDR_LEN);
  if (err !== 0) return err;
  skbCopyBits(skb, 0, scratch, 0, 20);
  const fragment = (be16(scratch, 6) & 0x3fff) !== 0;
  const off = (scratch[0]! & 0x0f) * 4;
  if (fragment || off < 20) return -EPROTO;
  const proto = scratch[9]!;
  let sum = 0;
  for (let i = 12; i < 20; i += 2) sum += be16(scratch, i);
  const csum = skbChecksumSetupIp(skb, proto, off);
  if (csum < 0) return csum;
  if (recalculate) storePseudo(skb, csum, sum + proto + (skb.len - off), scratch);
  return 0;
}

function setupIpv6(skb: SkBuff, recalculate: boolean, scratch: Uint8Array): number {
  let off = 40;
  let err = skbMaybePullTail(skb, off, MAX_IPV6_HDR_LEN);
  if (err !== 0) return err;
  skbCopyBits(skb, 0, scratch, 0, 40);
  let nexthdr = scratch[6]!;
  const len = 40 + be16(scratch, 4);
  let sum = 0;
  for (let i = 8; i < 40; i += 2) sum += be16(scratch, i);
  let fragment = false;
  let done = false;
  while (off <= len && !done) {
    switch (nexthdr) {
      case IPPROTO_DSTOPTS:
      case IPPROTO_HOPOPTS:
      case IPPROTO_ROUTING:
      case IPPROTO_AH: {
        const cur = nexthdr;
        err = skbMaybePullTail(skb, off + 2, MAX_IPV6_HDR_LEN);
        if (err !== 0) return err;
        skbCopyBits(skb, off, scratch, 0, 2);
        nexthdr = scratch[0]!;
        off += cur === IPPROTO_AH ? (scratch[1]! + 2) * 4 : (scratch[1]! + 1) * 8;
        break;
      }
      case IPPROTO_FRAGMENT: {
        err = skbMaybePullTail(skb, off + 8, MAX_IPV6_HDR_LEN);
        if (err !== 0) return err;
        skbCopyBits(skb, off, scratch, 0, 8);
        if ((be16(scratch, 2) & 0xfff9) !== 0) fragment = true;
        nexthdr = scratch[0]!;
        off += 8;
        break;
      }
      default:
        done = true;
    }
  }
  if (!done || fragment) return -EPROTO;
  const csum = skbChecksumSetupIp(skb, nexthdr, off);
  if (csum < 0) return csum;
  const l4len = skb.len - off;
  if (recalculate) storePseudo(skb, csum, sum + Math.floor(l4len / 0x10000) + (l4len & 0xffff) + nexthdr, scratch);
  return 0;
}

/**
 * skb_checksum_setup for a packet whose data starts at the network header: find the L4 checksum field of an
 * IPv4 / IPv6 TCP or UDP packet, set csum_start / csum_offset / the transport header, and with `recalculate`
 * store the pseudo-header checksum there. 0, or -EPROTO (not such a packet, a fragment, a header out of
 * reach) or -ENOMEM.
 */
export function skbChecksumSetup(skb: SkBuff, protocol: number, recalculate: boolean, scratch: Uint8Array): number {
  if (protocol === ETH_P_IP) return setupIpv4(skb, recalculate, scratch);
  if (protocol === ETH_P_IPV6) return setupIpv6(skb, recalculate, scratch);
  return -EPROTO;
}

/** skb_tcp_all_headers: transport offset plus the TCP header length (doff). -1 if it cannot be read. */
export function skbTcpAllHeaders(skb: SkBuff, scratch: Uint8Array): number {
  const toff = skb.transportHeader - skb.data;
  if (skbCopyBits(skb, toff + 12, scratch, 0, 1) !== 0) return -1;
  return toff + (scratch[0]! >>> 4) * 4;
}
