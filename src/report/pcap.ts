/**
 * A classic pcap writer (the libpcap file format, not pcapng), Ethernet link type, nanosecond timestamps.
 *
 * ```
 *  global header (24 bytes, little-endian):
 *    magic u32 = 0xa1b23c4d (nanosecond resolution) | version 2.4 | thiszone 0 | sigfigs 0 | snaplen | network = 1
 *  per record (16 bytes + data):
 *    ts_sec u32 | ts_nsec u32 | incl_len u32 | orig_len u32 | frame bytes ...
 * ```
 *
 * Timestamps are the simulation's virtual time, so the same seed gives the same capture. Frames longer than
 * the snap length are truncated in the file (incl_len < orig_len) as a capture would be. The writer buffers
 * records in memory and hands back one Uint8Array: captures in pvnet are small and the caller decides where
 * the bytes go.
 */

import { InvalidArgument } from '../errors.ts';

export const PCAP_MAGIC_NSEC = 0xa1b23c4d;
export const LINKTYPE_ETHERNET = 1;
export const PCAP_DEFAULT_SNAPLEN = 262144;

export class PcapWriter {
  private chunks: Uint8Array[] = [];
  private bytes = 0;
  readonly snaplen: number;
  /** Frames recorded so far. */
  frames = 0;

  constructor(snaplen = PCAP_DEFAULT_SNAPLEN) {
    if (!Number.isInteger(snaplen) || snaplen < 64) throw new InvalidArgument(`pcap snaplen ${snaplen} is too small`);
    this.snaplen = snaplen;
    const h = new Uint8Array(24);
    const v = new DataView(h.buffer);
    v.setUint32(0, PCAP_MAGIC_NSEC, true);
    v.setUint16(4, 2, true);
    v.setUint16(6, 4, true);
    v.setInt32(8, 0, true);
    v.setUint32(12, 0, true);
    v.setUint32(16, snaplen, true);
    v.setUint32(20, LINKTYPE_ETHERNET, true);
    this.push(h);
  }

  /** Record `len` bytes of `frame` starting at `off`, seen at virtual time `timeNs`. */
  record(timeNs: number, frame: Uint8Array, off = 0, len = frame.length - off): void {
    if (!(timeNs >= 0) || off < 0 || len < 0 || off + len > frame.length) {
      throw new InvalidArgument(`pcap record: bad time ${timeNs} or span [${off}, ${off + len}) of ${frame.length}`);
    }
    const incl = Math.min(len, this.snaplen);
    const r = new Uint8Array(16 + incl);
    const v = new DataView(r.buffer);
    const sec = Math.floor(timeNs / 1e9);
    v.setUint32(0, sec >>> 0, true);
    v.setUint32(4, Math.floor(timeNs - sec * 1e9), true);
    v.setUint32(8, incl, true);
    v.setUint32(12, len, true);
    r.set(frame.subarray(off, off + incl), 16);
    this.push(r);
    this.frames++;
  }

  /** The capture so far as one buffer. */
  toBytes(): Uint8Array {
    const out = new Uint8Array(this.bytes);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }

  private push(c: Uint8Array): void {
    this.chunks.push(c);
    this.bytes += c.length;
  }
}

/** Read a capture written by PcapWriter back into records (for tests and tools). Throws on a bad file. */
export function readPcap(buf: Uint8Array): { timeNs: number; origLen: number; data: Uint8Array }[] {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.length < 24 || v.getUint32(0, true) !== PCAP_MAGIC_NSEC) throw new InvalidArgument('not a nanosecond pcap');
  const out: { timeNs: number; origLen: number; data: Uint8Array }[] = [];
  let o = 24;
  while (o < buf.length) {
    if (o + 16 > buf.length) throw new InvalidArgument(`truncated pcap record header at ${o}`);
    const incl = v.getUint32(o + 8, true);
    if (o + 16 + incl > buf.length) throw new InvalidArgument(`truncated pcap record at ${o}`);
    out.push({
      timeNs: v.getUint32(o, true) * 1e9 + v.getUint32(o + 4, true),
      origLen: v.getUint32(o + 12, true),
      data: buf.slice(o + 16, o + 16 + incl),
    });
    o += 16 + incl;
  }
  return out;
}
