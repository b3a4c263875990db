/**
 * Real frames for the scenarios: Ethernet / IPv4 / UDP or TCP, checksums filled, a payload that says which
 * packet it is.
 *
 * ```
 *   frame     eth (14) | ipv4 (20) | udp (8) or tcp (20) | payload
 *   payload   tag (4, big-endian: the packet's sequence number) | pattern bytes, (tag * 31 + i * 7 + 3) & 0xff
 * ```
 *
 * The tag lets any observer (a tap, a receiving guest, a wire observer) name the packet a frame or a
 * segment came from without any side table; the pattern makes every byte position distinct enough that a
 * byte moved, dropped or rewritten shows up in a comparison. A frame shorter than its headers (below 42
 * bytes for UDP) is not built: the smallest frame is 60 bytes, Ethernet's minimum without the FCS.
 *
 * Frames are plain Uint8Arrays (the bytes the guest writes into its pages); nothing here touches memory.
 */

import {
  emitEth, emitIpv4, emitTcp, emitTcpPartial, emitUdp, emitUdpPartial, newEthHdr, newIpv4Hdr, newL4Hdr, parseEth,
  readU32Be, WIRE_OK, ETH_HLEN, ETH_P_IP, IPPROTO_TCP, IPPROTO_UDP, IPV4_HLEN, TCP_ACK,
  TCP_HLEN, TCP_PSH, UDP_HLEN,
} from '../../net/wire.ts';
import { InvalidArgument } from '../../errors.ts';

/** Ethernet's minimum frame without the FCS. */
export const ETH_ZLEN = 60;
/** Largest frame a guest may send (XEN_NETIF_MAX_TX_SIZE). */
export const MAX_FRAME = 0xffff;
/** Bytes of the payload tag. */
export const TAG_LEN = 4;

/** What the headers of a frame say (and its tag). */
export interface HeaderSpec {
  readonly srcMac: number;
  readonly dstMac: number;
  readonly saddr: number;
  readonly daddr: number;
  readonly proto: 'udp' | 'tcp';
  readonly sport: number;
  readonly dport: number;
  /** The packet's sequence number: the payload tag, and the TCP sequence number's high part. */
  readonly tag: number;
}

export interface FrameSpec extends HeaderSpec {
  /** Total frame length (headers included), ETH_ZLEN .. MAX_FRAME. */
  readonly len: number;
  /** Leave the L4 checksum to the device (CHECKSUM_PARTIAL, as a TSO sender does). */
  readonly partial?: boolean;
}

/** Header bytes in front of the payload. */
export function headerLen(proto: 'udp' | 'tcp'): number {
  return ETH_HLEN + IPV4_HLEN + (proto === 'udp' ? UDP_HLEN : TCP_HLEN);
}

/** The byte at payload offset `p` of packet `tag`: the tag (big-endian) in the first TAG_LEN, then the pattern. */
export function payloadByte(tag: number, p: number): number {
  return p < TAG_LEN ? (tag >>> (8 * (TAG_LEN - 1 - p))) & 0xff : (Math.imul(tag, 31) + p * 7 + 3) & 0xff;
}

/** Fill `b[off, off + len)` as payload offsets `at..` of packet `tag`. */
export function fillPayload(b: Uint8Array, off: number, len: number, tag: number, at = 0): void {
  for (let i = 0; i < len; i++) b[off + i] = payloadByte(tag, at + i);
}

/** Build the frame `spec` describes. */
export function buildFrame(spec: FrameSpec): Uint8Array {
  const hlen = headerLen(spec.proto);
  if (!Number.isInteger(spec.len) || spec.len < Math.max(ETH_ZLEN, hlen + TAG_LEN) || spec.len > MAX_FRAME) {
    throw new InvalidArgument(`frame length ${spec.len} outside [${Math.max(ETH_ZLEN, hlen + TAG_LEN)}, ${MAX_FRAME}]`);
  }
  const b = new Uint8Array(spec.len);
  const payload = spec.len - hlen;
  fillPayload(b, hlen, payload, spec.tag);
  writeHeaders(b, spec, payload, { csum: spec.partial === true ? 'partial' : 'full' });
  return b;
}

/** How `writeHeaders` fills the L4 checksum. */
export interface HeaderOptions {
  /** 'full' (over the payload, which must follow the headers in `b`), 'partial' (the pseudo-header sum a
   *  CHECKSUM_PARTIAL sender leaves for the device), 'none' (UDP only: 0, no checksum). Default 'full'. */
  readonly csum?: 'full' | 'partial' | 'none';
  /** Added to the TCP sequence number and the IP id (a segment's place in its super-packet). */
  readonly seqOff?: number;
  readonly idOff?: number;
}

/** (Re)write the headers of `b` for `payload` bytes of payload after them. */
export function writeHeaders(b: Uint8Array, spec: HeaderSpec, payload: number, opts: HeaderOptions = {}): void {
  const csum = opts.csum ?? 'full';
  const ip = newIpv4Hdr();
  const l4h = spec.proto === 'udp' ? UDP_HLEN : TCP_HLEN;
  ip.totLen = IPV4_HLEN + l4h + payload;
  ip.id = (spec.tag + (opts.idOff ?? 0)) & 0xffff;
  ip.protocol = spec.proto === 'udp' ? IPPROTO_UDP : IPPROTO_TCP;
  ip.saddr = spec.saddr;
  ip.daddr = spec.daddr;
  emitIpv4(b, ETH_HLEN, ip);
  const l4 = newL4Hdr();
  l4.sport = spec.sport;
  l4.dport = spec.dport;
  const off = ETH_HLEN + IPV4_HLEN;
  if (spec.proto === 'udp') {
    if (csum === 'full') emitUdp(b, off, ip, l4, payload);
    else emitUdpPartial(b, off, ip, l4, payload);
    if (csum === 'none') b[off + 6] = b[off + 7] = 0;
  } else {
    l4.seq = (Math.imul(spec.tag, 0x10000) + (opts.seqOff ?? 0)) >>> 0;
    l4.ack = 1;
    l4.flags = TCP_ACK | TCP_PSH;
    l4.window = 0xffff;
    (csum === 'full' ? emitTcp : emitTcpPartial)(b, off, ip, l4, payload);
  }
  const eth = newEthHdr();
  eth.dst = spec.dstMac;
  eth.src = spec.srcMac;
  eth.proto = ETH_P_IP;
  emitEth(b, 0, eth);
}

/**
 * The spec of a frame built here, read from its first `len` header bytes (the IPv4 total length is not held
 * against `len`: a header-only prefix will do). The tag is the TCP sequence number's high half, or the UDP
 * payload's first bytes (then `len` must reach them). Null if it is not an IPv4 UDP/TCP frame of ours.
 */
export function parseFrameSpec(b: Uint8Array, len: number): HeaderSpec | null {
  if (len < ETH_HLEN + IPV4_HLEN) return null;
  const eth = newEthHdr();
  if (parseEth(b, 0, len, eth) !== WIRE_OK || eth.proto !== ETH_P_IP || b[ETH_HLEN]! >>> 4 !== 4) return null;
  const ihl = (b[ETH_HLEN]! & 0x0f) * 4;
  const protocol = b[ETH_HLEN + 9]!;
  const proto = protocol === IPPROTO_UDP ? 'udp' : protocol === IPPROTO_TCP ? 'tcp' : null;
  const off = ETH_HLEN + ihl;
  if (proto === null || ihl < IPV4_HLEN || len < off + (proto === 'udp' ? UDP_HLEN + TAG_LEN : TCP_HLEN)) return null;
  const tag = proto === 'tcp' ? readU32Be(b, off + 4) >>> 16 : readU32Be(b, off + UDP_HLEN);
  return {
    srcMac: eth.src, dstMac: eth.dst, saddr: readU32Be(b, ETH_HLEN + 12), daddr: readU32Be(b, ETH_HLEN + 16), proto,
    sport: (b[off]! << 8) | b[off + 1]!, dport: (b[off + 2]! << 8) | b[off + 3]!, tag,
  };
}

/** The tag of a frame built here (payload after `hlen` header bytes), or -1 if too short. */
export function frameTag(b: Uint8Array, len: number, hlen: number): number {
  return len >= hlen + TAG_LEN ? readU32Be(b, hlen) : -1;
}

/**
 * Bytes of `got[0, len)` that differ from payload offset `at..` of packet `tag`'s payload (a segment or a
 * split part starts mid-payload; the first TAG_LEN bytes are the tag).
 */
export function payloadMismatches(got: Uint8Array, off: number, len: number, tag: number, at: number): number {
  let bad = 0;
  for (let i = 0; i < len; i++) if (got[off + i] !== payloadByte(tag, at + i)) bad++;
  return bad;
}

/** Two byte strings are equal. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
