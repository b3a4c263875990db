/**
 * The scenario's three UDP flows and one writer for their Ethernet + IPv4 + UDP headers (42 bytes): the swap
 * client's requests, the block server's replies, and the flood. The IPv4 header checksum is always filled; the
 * UDP checksum only on request (0 means "none", which IPv4 allows; the client's NIC verifies on receive).
 *
 * A writer owns its scratch header records; one per sender, reused for every frame (no allocation per frame).
 */

import {
  emitEth, emitIpv4, emitUdp, ETH_HLEN, ETH_P_IP, IPPROTO_UDP, IPV4_HLEN, newEthHdr, newIpv4Hdr, newL4Hdr, UDP_HLEN,
} from '../../net/wire.ts';
import {
  CLIENT_IP, CLIENT_MAC, CLIENT_PORT, FLOOD_PORT, FLOOD_SPORT, FLOODER_IP, FLOODER_MAC, SERVER_IP, SERVER_MAC, SERVER_PORT,
} from './hosts.ts';

/** Bytes of the three headers in front of a UDP payload. */
export const UDP_HDRS = ETH_HLEN + IPV4_HLEN + UDP_HLEN;

export interface UdpFlow {
  readonly srcMac: number;
  readonly dstMac: number;
  readonly saddr: number;
  readonly daddr: number;
  readonly sport: number;
  readonly dport: number;
}

export const CLIENT_TO_SERVER: UdpFlow = { srcMac: CLIENT_MAC, dstMac: SERVER_MAC, saddr: CLIENT_IP, daddr: SERVER_IP, sport: CLIENT_PORT, dport: SERVER_PORT };
export const SERVER_TO_CLIENT: UdpFlow = { srcMac: SERVER_MAC, dstMac: CLIENT_MAC, saddr: SERVER_IP, daddr: CLIENT_IP, sport: SERVER_PORT, dport: CLIENT_PORT };
export const FLOODER_TO_CLIENT: UdpFlow = { srcMac: FLOODER_MAC, dstMac: CLIENT_MAC, saddr: FLOODER_IP, daddr: CLIENT_IP, sport: FLOOD_SPORT, dport: FLOOD_PORT };

export class UdpHeaderWriter {
  private readonly eth = newEthHdr();
  private readonly ip = newIpv4Hdr();
  private readonly l4 = newL4Hdr();

  /**
   * Write the headers of a datagram of `payloadLen` bytes on `flow` at `b[0, UDP_HDRS)`. With `csum`, the payload
   * must already follow the headers in `b`: the UDP checksum covers it.
   */
  write(b: Uint8Array, flow: UdpFlow, payloadLen: number, csum = false): void {
    const eth = this.eth;
    eth.dst = flow.dstMac;
    eth.src = flow.srcMac;
    eth.proto = ETH_P_IP;
    emitEth(b, 0, eth);
    const ip = this.ip;
    ip.totLen = IPV4_HLEN + UDP_HLEN + payloadLen;
    ip.id = (ip.id + 1) & 0xffff;
    ip.ttl = 64;
    ip.protocol = IPPROTO_UDP;
    ip.saddr = flow.saddr;
    ip.daddr = flow.daddr;
    const u = ETH_HLEN + IPV4_HLEN;
    if (csum) {
      const l4 = this.l4;
      l4.sport = flow.sport;
      l4.dport = flow.dport;
      emitUdp(b, u, ip, l4, payloadLen);
    } else {
      const len = UDP_HLEN + payloadLen;
      b[u] = flow.sport >> 8;
      b[u + 1] = flow.sport & 0xff;
      b[u + 2] = flow.dport >> 8;
      b[u + 3] = flow.dport & 0xff;
      b[u + 4] = (len >> 8) & 0xff;
      b[u + 5] = len & 0xff;
      b[u + 6] = 0;
      b[u + 7] = 0;
    }
    emitIpv4(b, ETH_HLEN, ip);
  }
}
