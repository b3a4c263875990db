/**
 * The protocol handlers of ptype_base: IPv4 with local delivery to UDP and TCP sockets, and minimal ARP and
 * IPv6 handlers (counted and consumed: pvnet has no neighbour tables and no IPv6 upper layer; they exist so
 * the receive path's protocol rule has real handlers to let through).
 *
 * ```
 *   ipRcv        share check, header pull and checks (version, IHL, header checksum, tot_len), trim padding
 *     not local  -> ipForward hook (tagged skbs refused while the reserve rules are active) or drop
 *   ipLocalDeliver
 *     fragment   -> ipDefrag (src/net/ipfrag.ts): held, or the reassembled datagram comes back
 *     NF_QUEUE   -> the netfilter queue, if one is attached and matches (src/net/nfqueue.ts)
 *   ipLocalDeliverFinish: by protocol
 *     UDP        -> udpRcv: header, length, checksum (unless CHECKSUM_PARTIAL / UNNECESSARY), port lookup,
 *                   sock_queue_rcv_skb (sk_filter first)
 *     TCP        -> tcpRcv: header, checksum, port lookup, tcp_filter and the rmem check
 * ```
 *
 * A socket receives its skb with `data` at the L4 payload; `networkHeader` and `transportHeader` still point
 * at the headers (reached with skbCopyBits at a negative offset). Every failure is a counted drop, never an
 * exception: the bytes come from a peer.
 */

import { skbPull } from '../skb/alloc.ts';
import { skbCopyBits } from '../skb/bytes.ts';
import { CHECKSUM_NONE } from '../skb/constants.ts';
import { consumeSkb, kfreeSkb } from '../skb/free.ts';
import { pskbMayPull, pskbPull } from '../skb/pull.ts';
import { pskbTrim } from '../skb/trim.ts';
import { skbResetNetworkHeader, type SkBuff } from '../skb/skbuff.ts';
import { NET_RX_DROP, NET_RX_SUCCESS, PacketType, type NetDevice } from './netdevice.ts';
import { ipDefrag } from './ipfrag.ts';
import { nfqueueAttach, nfqueueEnqueue, type NfQueue } from './nfqueue.ts';
import { skbShareCheck } from './receive.ts';
import { sockLookup, sockQueueRcvSkb, tcpQueueRcvSkb } from './sock.ts';
import type { NetStack } from './stack.ts';
import {
  ETH_P_ARP,
  ETH_P_IP,
  ETH_P_IPV6,
  IP_MF,
  IP_OFFSET,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPV4_HLEN,
  ipv4FragOffField,
  l4ChecksumOk,
  parseIpv4,
  parseL4Header,
  TCP_HLEN,
  UDP_HLEN,
  WIRE_OK,
} from './wire.ts';

/** inet_init: register the ARP, IPv4 and IPv6 handlers on a new stack. */
export function inetInit(stack: NetStack): void {
  stack.ptypeBase.push(
    new PacketType(ETH_P_ARP, null, (skb) => arpRcv(stack, skb), stack),
    new PacketType(ETH_P_IP, null, (skb, dev) => ipRcv(stack, skb, dev), stack),
    new PacketType(ETH_P_IPV6, null, (skb) => ipv6Rcv(stack, skb), stack),
  );
}

/** Drop counted by the caller's reason; always NET_RX_DROP. */
function drop(skb: SkBuff): number {
  kfreeSkb(skb);
  return NET_RX_DROP;
}

/** A pull failed: truncated if the packet is too short, otherwise memory ran out. */
function pullFailed(stack: NetStack, skb: SkBuff, need: number): number {
  if (skb.len < need) stack.stats.dropMalformed++;
  else stack.stats.dropNoMem++;
  return drop(skb);
}

/** arp_rcv, minimal: counted and consumed. */
export function arpRcv(stack: NetStack, skb: SkBuff): number {
  stack.stats.arpRcv++;
  consumeSkb(skb);
  return NET_RX_SUCCESS;
}

/** ipv6_rcv, minimal: counted and consumed. */
export function ipv6Rcv(stack: NetStack, skb: SkBuff): number {
  stack.stats.ipv6Rcv++;
  consumeSkb(skb);
  return NET_RX_SUCCESS;
}

/** Is `daddr` one of ours? With no address configured every destination is (a host that takes everything). */
export function ipIsLocal(stack: NetStack, daddr: number): boolean {
  return stack.localAddrs.size === 0 || daddr === 0xffffffff || stack.localAddrs.has(daddr);
}

/** ip_rcv: validate the IPv4 header and route the packet (local delivery or the forward hook). */
export function ipRcv(stack: NetStack, skbIn: SkBuff, dev: NetDevice): number {
  const st = stack.stats;
  const skb = skbShareCheck(skbIn);
  if (skb === null) {
    st.dropNoMem++;
    return NET_RX_DROP;
  }
  if (!pskbMayPull(skb, IPV4_HLEN)) return pullFailed(stack, skb, IPV4_HLEN);
  const hdr = stack.hdrScratch;
  const ip = stack.ip;
  skbCopyBits(skb, 0, hdr, 0, Math.min(60, skb.len));
  if (parseIpv4(hdr, 0, skb.len, ip) !== WIRE_OK) {
    st.dropMalformed++;
    return drop(skb);
  }
  const ihl = ip.ihl * 4;
  if (!pskbMayPull(skb, ihl)) return pullFailed(stack, skb, ihl);
  if (pskbTrim(skb, ip.totLen) !== 0) {
    st.dropNoMem++;
    return drop(skb);
  }
  skbResetNetworkHeader(skb);
  skb.transportHeader = skb.data + ihl;
  if (!ipIsLocal(stack, ip.daddr)) return ipForwardPath(stack, skb, dev);
  const fragField = ipv4FragOffField(hdr, 0);
  skbPull(skb, ihl);
  return ipLocalDeliver(stack, skb, fragField);
}

function ipForwardPath(stack: NetStack, skb: SkBuff, dev: NetDevice): number {
  const fwd = stack.ipForward;
  if (fwd === null) {
    stack.stats.dropNotLocal++;
    return drop(skb);
  }
  // pvnet rule (REFERENCE §12.4 invariant 2): no forwarding queue holds a tagged skb.
  if (skb.pfmemalloc && stack.pfmemallocRulesActive()) {
    stack.stats.dropPfmemallocForward++;
    return drop(skb);
  }
  fwd(skb, dev);
  return NET_RX_SUCCESS;
}

/** ip_local_deliver: reassemble fragments, pass the netfilter queue, then deliver. `data` is at the payload. */
function ipLocalDeliver(stack: NetStack, skb: SkBuff, fragField: number): number {
  let whole: SkBuff | null = skb;
  if ((fragField & (IP_MF | IP_OFFSET)) !== 0) {
    whole = ipDefrag(stack, skb, fragField);
    if (whole === null) return NET_RX_SUCCESS; // held in a fragment queue, or dropped and counted there
  }
  const q = stack.nfQueue;
  if (q !== null && q.matches(stack.ip.protocol)) return nfqueueEnqueue(stack, q, whole);
  return ipLocalDeliverFinish(stack, whole);
}

/**
 * ip_local_deliver_finish: hand the payload to UDP or TCP. The IPv4 header is read again from the network
 * header, so a packet re-injected later (a netfilter verdict) needs nothing but the skb.
 */
export function ipLocalDeliverFinish(stack: NetStack, skb: SkBuff): number {
  const ip = stack.ip;
  const hdr = stack.hdrScratch;
  const nh = skb.networkHeader - skb.data;
  const avail = skb.len - nh;
  if (skbCopyBits(skb, nh, hdr, 0, Math.min(60, avail)) !== 0 || parseIpv4(hdr, 0, avail, ip) !== WIRE_OK) {
    stack.stats.dropMalformed++;
    return drop(skb);
  }
  if (ip.protocol === IPPROTO_UDP) return udpRcv(stack, skb);
  if (ip.protocol === IPPROTO_TCP) return tcpRcv(stack, skb);
  stack.stats.dropUnknownProto++;
  return drop(skb);
}

/** Verify the L4 checksum of `len` bytes at `data` unless the device or sender vouched for it. */
function l4ChecksumValid(stack: NetStack, skb: SkBuff, len: number): boolean {
  if (skb.ipSummed !== CHECKSUM_NONE) return true;
  const buf = stack.pktScratch;
  if (len > buf.length || skbCopyBits(skb, 0, buf, 0, len) !== 0) return false;
  return l4ChecksumOk(buf, 0, len, stack.ip);
}

/** udp_rcv: header and length checks, checksum, port lookup, queue on the socket. */
export function udpRcv(stack: NetStack, skb: SkBuff): number {
  const st = stack.stats;
  const l4 = stack.l4;
  if (!pskbMayPull(skb, UDP_HLEN)) return pullFailed(stack, skb, UDP_HLEN);
  const hdr = stack.hdrScratch;
  skbCopyBits(skb, 0, hdr, 0, UDP_HLEN);
  if (parseL4Header(hdr, 0, skb.len, IPPROTO_UDP, l4) !== WIRE_OK) {
    st.dropMalformed++;
    return drop(skb);
  }
  if (pskbTrim(skb, l4.len) !== 0) {
    st.dropNoMem++;
    return drop(skb);
  }
  if (!l4ChecksumValid(stack, skb, l4.len)) {
    st.dropCsum++;
    return drop(skb);
  }
  const sk = sockLookup(stack, IPPROTO_UDP, l4.dport);
  if (sk === null) {
    st.dropNoPort++;
    return drop(skb);
  }
  skb.transportHeader = skb.data;
  skbPull(skb, UDP_HLEN);
  if (sockQueueRcvSkb(sk, skb) !== 0) return drop(skb);
  return NET_RX_SUCCESS;
}

/** tcp_v4_rcv, reduced: header and checksum, port lookup, tcp_filter and the rmem check, queue. */
export function tcpRcv(stack: NetStack, skb: SkBuff): number {
  const st = stack.stats;
  const l4 = stack.l4;
  if (!pskbMayPull(skb, TCP_HLEN)) return pullFailed(stack, skb, TCP_HLEN);
  const hdr = stack.hdrScratch;
  skbCopyBits(skb, 0, hdr, 0, TCP_HLEN);
  if (parseL4Header(hdr, 0, skb.len, IPPROTO_TCP, l4) !== WIRE_OK) {
    st.dropMalformed++;
    return drop(skb);
  }
  const doff = l4.doff * 4;
  if (!l4ChecksumValid(stack, skb, skb.len)) {
    st.dropCsum++;
    return drop(skb);
  }
  const sk = sockLookup(stack, IPPROTO_TCP, l4.dport);
  if (sk === null) {
    st.dropNoPort++;
    return drop(skb);
  }
  skb.transportHeader = skb.data;
  if (!pskbPull(skb, doff)) return pullFailed(stack, skb, doff);
  if (tcpQueueRcvSkb(sk, skb) !== 0) return drop(skb);
  return NET_RX_SUCCESS;
}

/** Attach `q` to IPv4 local input: matching packets wait for a verdict; accepted ones continue to UDP / TCP. */
export function ipNfqueueAttach(stack: NetStack, q: NfQueue): void {
  nfqueueAttach(stack, q, (skb) => ipLocalDeliverFinish(stack, skb));
}
