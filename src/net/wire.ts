/**
 * Ethernet II, IPv4, UDP and TCP headers: the frames pvnet's workloads move are real frames.
 *
 * Same contract as the ABI layer (smoltcp's wire/): `emit*` writes a header at an offset of a caller's buffer
 * (no allocation); `parse*` reads a header into a caller-supplied record and answers with a status, never an
 * exception, because frame bytes come from a guest. Multi-byte fields are big-endian (network order), unlike
 * every Xen structure, which is little-endian.
 *
 * ```
 *  0            14                    34          42 (UDP) / 54 (TCP, no options)
 *  | ethernet   | ipv4 (IHL=5)        | udp/tcp   | payload ...
 * ```
 */

export const ETH_HLEN = 14;
export const ETH_ALEN = 6;
export const ETH_P_IP = 0x0800;
export const ETH_P_ARP = 0x0806;
export const ETH_P_8021Q = 0x8100;
export const ETH_P_IPV6 = 0x86dd;
/** Pseudo-protocols of the receive path (if_ether.h): every packet (taps), and 802.3 / 802.2 frames. */
export const ETH_P_ALL = 0x0003;
export const ETH_P_802_3 = 0x0001;
export const ETH_P_802_2 = 0x0004;
/** Below this the ethertype field is an 802.3 length. */
export const ETH_P_802_3_MIN = 0x0600;
export const VLAN_HLEN = 4;
/** ff:ff:ff:ff:ff:ff as a 48-bit number. */
export const ETH_BROADCAST = 0xffffffffffff;
export const IPV4_HLEN = 20;
export const UDP_HLEN = 8;
export const TCP_HLEN = 20;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

/** IPv4 frag_off field bits (RFC 791 §3.1): flags in the top three bits, offset in 8-byte units below. */
export const IP_CE = 0x8000;
export const IP_DF = 0x4000;
export const IP_MF = 0x2000;
export const IP_OFFSET = 0x1fff;

/** TCP flag bits (byte 13 of the header). */
export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

export interface EthHdr {
  dst: number; // 48-bit MAC as a number (fits in a double exactly)
  src: number;
  proto: number;
}

export interface Ipv4Hdr {
  ihl: number;
  totLen: number;
  id: number;
  ttl: number;
  protocol: number;
  saddr: number; // u32
  daddr: number;
  check: number;
}

export interface L4Hdr {
  sport: number;
  dport: number;
  /** UDP length, or 0 for TCP. */
  len: number;
  /** TCP only. */
  seq: number;
  ack: number;
  flags: number;
  window: number;
  doff: number;
  check: number;
}

export function newEthHdr(): EthHdr {
  return { dst: 0, src: 0, proto: 0 };
}
export function newIpv4Hdr(): Ipv4Hdr {
  return { ihl: 5, totLen: 0, id: 0, ttl: 64, protocol: 0, saddr: 0, daddr: 0, check: 0 };
}
export function newL4Hdr(): L4Hdr {
  return { sport: 0, dport: 0, len: 0, seq: 0, ack: 0, flags: 0, window: 0, doff: 5, check: 0 };
}

/** Parse outcomes. */
export const WIRE_OK = 0;
export const WIRE_TRUNCATED = 1;
export const WIRE_MALFORMED = 2;

/** The group bit (bit 0 of the first octet): multicast or broadcast. */
export function isMulticastEtherAddr(mac: number): boolean {
  return Math.floor(mac / 0x10000000000) % 2 === 1;
}

/** is_valid_ether_addr: not all-zero and not a group address (a valid source). */
export function isValidEtherAddr(mac: number): boolean {
  return mac !== 0 && !isMulticastEtherAddr(mac);
}

function writeMac(b: Uint8Array, off: number, mac: number): void {
  for (let i = 5; i >= 0; i--) {
    b[off + i] = mac % 256;
    mac = Math.floor(mac / 256);
  }
}

function readMac(b: Uint8Array, off: number): number {
  let mac = 0;
  for (let i = 0; i < 6; i++) mac = mac * 256 + b[off + i]!;
  return mac;
}

export function emitEth(b: Uint8Array, off: number, h: EthHdr): void {
  writeMac(b, off, h.dst);
  writeMac(b, off + 6, h.src);
  b[off + 12] = h.proto >>> 8;
  b[off + 13] = h.proto & 0xff;
}

export function parseEth(b: Uint8Array, off: number, len: number, out: EthHdr): number {
  if (len < ETH_HLEN) return WIRE_TRUNCATED;
  out.dst = readMac(b, off);
  out.src = readMac(b, off + 6);
  out.proto = (b[off + 12]! << 8) | b[off + 13]!;
  return WIRE_OK;
}

/** The Internet checksum (RFC 1071) of `len` bytes, folded, starting from `sum`. Not complemented. */
export function csumPartial(b: Uint8Array, off: number, len: number, sum: number): number {
  let i = 0;
  for (; i + 1 < len; i += 2) sum += (b[off + i]! << 8) | b[off + i + 1]!;
  if (i < len) sum += b[off + i]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** Big-endian u32 at `off` (for headers pvnet defines on top of these: the transport's). */
export function readU32Be(b: Uint8Array, off: number): number {
  return get32(b, off);
}

/** Write `v` as a big-endian u32 at `off`. */
export function writeU32Be(b: Uint8Array, off: number, v: number): void {
  put32(b, off, v);
}

function put16(b: Uint8Array, off: number, v: number): void {
  b[off] = (v >>> 8) & 0xff;
  b[off + 1] = v & 0xff;
}
function put32(b: Uint8Array, off: number, v: number): void {
  b[off] = v >>> 24;
  b[off + 1] = (v >>> 16) & 0xff;
  b[off + 2] = (v >>> 8) & 0xff;
  b[off + 3] = v & 0xff;
}
function get16(b: Uint8Array, off: number): number {
  return (b[off]! << 8) | b[off + 1]!;
}
function get32(b: Uint8Array, off: number): number {
  return ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
}

/** Write an IPv4 header without options and fill in its header checksum. */
export function emitIpv4(b: Uint8Array, off: number, h: Ipv4Hdr): void {
  b[off] = 0x45;
  b[off + 1] = 0;
  put16(b, off + 2, h.totLen);
  put16(b, off + 4, h.id);
  put16(b, off + 6, 0x4000); // DF
  b[off + 8] = h.ttl;
  b[off + 9] = h.protocol;
  put16(b, off + 10, 0);
  put32(b, off + 12, h.saddr);
  put32(b, off + 16, h.daddr);
  const c = ~csumPartial(b, off, IPV4_HLEN, 0) & 0xffff;
  put16(b, off + 10, c);
  h.check = c;
}

/** Parse an IPv4 header; checks version, IHL, total length against `len`, and the header checksum. */
export function parseIpv4(b: Uint8Array, off: number, len: number, out: Ipv4Hdr): number {
  if (len < IPV4_HLEN) return WIRE_TRUNCATED;
  const vihl = b[off]!;
  const ihl = vihl & 0x0f;
  if (vihl >>> 4 !== 4 || ihl < 5) return WIRE_MALFORMED;
  if (len < ihl * 4) return WIRE_TRUNCATED;
  out.ihl = ihl;
  out.totLen = get16(b, off + 2);
  out.id = get16(b, off + 4);
  out.ttl = b[off + 8]!;
  out.protocol = b[off + 9]!;
  out.check = get16(b, off + 10);
  out.saddr = get32(b, off + 12);
  out.daddr = get32(b, off + 16);
  if (out.totLen < ihl * 4 || out.totLen > len) return WIRE_MALFORMED;
  if (csumPartial(b, off, ihl * 4, 0) !== 0xffff) return WIRE_MALFORMED;
  return WIRE_OK;
}

function pseudoSum(ip: Ipv4Hdr, l4len: number): number {
  return (ip.saddr >>> 16) + (ip.saddr & 0xffff) + (ip.daddr >>> 16) + (ip.daddr & 0xffff) + ip.protocol + l4len;
}

/** The UDP header fields, the checksum field zeroed; returns the UDP length. */
function putUdpHeader(b: Uint8Array, off: number, h: L4Hdr, payloadLen: number): number {
  const l = UDP_HLEN + payloadLen;
  put16(b, off, h.sport);
  put16(b, off + 2, h.dport);
  put16(b, off + 4, l);
  put16(b, off + 6, 0);
  h.len = l;
  return l;
}

/** The TCP header fields (no options), the checksum field zeroed. */
function putTcpHeader(b: Uint8Array, off: number, h: L4Hdr): void {
  put16(b, off, h.sport);
  put16(b, off + 2, h.dport);
  put32(b, off + 4, h.seq);
  put32(b, off + 8, h.ack);
  b[off + 12] = 5 << 4;
  b[off + 13] = h.flags;
  put16(b, off + 14, h.window);
  put16(b, off + 16, 0);
  put16(b, off + 18, 0);
  h.doff = 5;
}

/** Write a UDP header for `payloadLen` bytes of payload that already sit after it, with a full checksum. */
export function emitUdp(b: Uint8Array, off: number, ip: Ipv4Hdr, h: L4Hdr, payloadLen: number): void {
  const l = putUdpHeader(b, off, h, payloadLen);
  let c = ~csumPartial(b, off, l, pseudoSum(ip, l)) & 0xffff;
  if (c === 0) c = 0xffff;
  put16(b, off + 6, c);
  h.check = c;
}

/** Write a TCP header (no options) for `payloadLen` bytes of payload that already sit after it. */
export function emitTcp(b: Uint8Array, off: number, ip: Ipv4Hdr, h: L4Hdr, payloadLen: number): void {
  putTcpHeader(b, off, h);
  const l = TCP_HLEN + payloadLen;
  const c = ~csumPartial(b, off, l, pseudoSum(ip, l)) & 0xffff;
  put16(b, off + 16, c);
  h.check = c;
}

/**
 * Parse a UDP or TCP header (by `protocol`) from `len` bytes of segment without judging the checksum: the
 * receive path skips it for CHECKSUM_PARTIAL / CHECKSUM_UNNECESSARY packets, as Linux does.
 */
export function parseL4Header(b: Uint8Array, off: number, len: number, protocol: number, out: L4Hdr): number {
  if (protocol === IPPROTO_UDP) {
    if (len < UDP_HLEN) return WIRE_TRUNCATED;
    out.sport = get16(b, off);
    out.dport = get16(b, off + 2);
    out.len = get16(b, off + 4);
    out.check = get16(b, off + 6);
    if (out.len < UDP_HLEN || out.len > len) return WIRE_MALFORMED;
    return WIRE_OK;
  }
  if (protocol === IPPROTO_TCP) {
    if (len < TCP_HLEN) return WIRE_TRUNCATED;
    out.sport = get16(b, off);
    out.dport = get16(b, off + 2);
    out.seq = get32(b, off + 4);
    out.ack = get32(b, off + 8);
    out.doff = b[off + 12]! >>> 4;
    out.flags = b[off + 13]!;
    out.window = get16(b, off + 14);
    out.check = get16(b, off + 16);
    out.len = 0;
    if (out.doff < 5 || out.doff * 4 > len) return WIRE_MALFORMED;
    return WIRE_OK;
  }
  return WIRE_MALFORMED;
}

/**
 * The UDP or TCP checksum of `len` bytes of segment at `off` is right (a UDP checksum of 0 means "none" and
 * passes). `len` is the UDP length for UDP and the whole segment for TCP.
 */
export function l4ChecksumOk(b: Uint8Array, off: number, len: number, ip: Ipv4Hdr): boolean {
  if (ip.protocol === IPPROTO_UDP && get16(b, off + 6) === 0) return true;
  return csumPartial(b, off, len, pseudoSum(ip, len)) === 0xffff;
}

/** Parse a UDP or TCP header (by `protocol`) and verify its checksum over `len` bytes of segment. */
export function parseL4(b: Uint8Array, off: number, len: number, ip: Ipv4Hdr, out: L4Hdr): number {
  const r = parseL4Header(b, off, len, ip.protocol, out);
  if (r !== WIRE_OK) return r;
  if (ip.protocol === IPPROTO_UDP) return l4ChecksumOk(b, off, out.len, ip) ? WIRE_OK : WIRE_MALFORMED;
  return l4ChecksumOk(b, off, len, ip) ? WIRE_OK : WIRE_MALFORMED;
}

// ---- fragments and CHECKSUM_PARTIAL emitters ------------------------------------------------------------------

/** The raw frag_off field (flags and offset) of the IPv4 header at `off`. */
export function ipv4FragOffField(b: Uint8Array, off: number): number {
  return get16(b, off + 6);
}

/** Rewrite tot_len and frag_off of the IPv4 header at `off` and recompute its header checksum. */
export function ipv4SetLenFrag(b: Uint8Array, off: number, totLen: number, fragOffField: number): void {
  put16(b, off + 2, totLen);
  put16(b, off + 6, fragOffField);
  put16(b, off + 10, 0);
  put16(b, off + 10, ~csumPartial(b, off, (b[off]! & 0x0f) * 4, 0) & 0xffff);
}

/** The pseudo-header sum folded to 16 bits, not complemented: what CHECKSUM_PARTIAL leaves in the field. */
function pseudoFolded(ip: Ipv4Hdr, l4len: number): number {
  let sum = pseudoSum(ip, l4len);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/**
 * Write a UDP header for `payloadLen` bytes with the checksum left to the device (CHECKSUM_PARTIAL): the field
 * holds the folded pseudo-header sum, and whoever finishes it sums from the header to the end of the segment
 * and stores the complement (skb_checksum_help, or a NIC's checksum offload).
 */
export function emitUdpPartial(b: Uint8Array, off: number, ip: Ipv4Hdr, h: L4Hdr, payloadLen: number): void {
  const l = putUdpHeader(b, off, h, payloadLen);
  h.check = pseudoFolded(ip, l);
  put16(b, off + 6, h.check);
}

/** As emitUdpPartial, for a TCP header without options. */
export function emitTcpPartial(b: Uint8Array, off: number, ip: Ipv4Hdr, h: L4Hdr, payloadLen: number): void {
  putTcpHeader(b, off, h);
  h.check = pseudoFolded(ip, TCP_HLEN + payloadLen);
  put16(b, off + 16, h.check);
}

/**
 * Finish a CHECKSUM_PARTIAL checksum in place: sum `b[start, end)` (the field included, holding the pseudo
 * sum) and store the complement at `start + csumOffset`. A UDP result of 0 is sent as 0xffff (RFC 768).
 */
export function csumFinishPartial(b: Uint8Array, start: number, end: number, csumOffset: number, udp: boolean): void {
  let c = ~csumPartial(b, start, end - start, 0) & 0xffff;
  if (udp && c === 0) c = 0xffff;
  put16(b, start + csumOffset, c);
}
