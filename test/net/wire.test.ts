import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  emitEth, emitIpv4, emitTcp, emitUdp, parseEth, parseIpv4, parseL4, newEthHdr, newIpv4Hdr, newL4Hdr,
  ETH_HLEN, ETH_P_IP, IPV4_HLEN, IPPROTO_TCP, IPPROTO_UDP, TCP_ACK, TCP_HLEN, UDP_HLEN,
  WIRE_MALFORMED, WIRE_OK, WIRE_TRUNCATED, ETH_BROADCAST, IP_MF, csumFinishPartial, emitTcpPartial, emitUdpPartial,
  ipv4FragOffField, ipv4SetLenFrag, isMulticastEtherAddr, isValidEtherAddr, l4ChecksumOk, parseL4Header,
} from '../../src/net/wire.ts';

test('wire: the IPv4 header checksum matches the RFC 1071 worked example (0xb861)', () => {
  const b = new Uint8Array(64).fill(0xa5);
  const ip = { ...newIpv4Hdr(), totLen: 0x73, ttl: 64, protocol: IPPROTO_UDP, saddr: 0xc0a80001, daddr: 0xc0a800c7 };
  emitIpv4(b, 0, ip);
  const hex = Buffer.from(b.subarray(0, 20)).toString('hex');
  assert.is(hex, '450000730000400040 11b861c0a80001c0a800c7'.replace(/ /g, ''));
});

test('wire: ethernet header is destination, source, big-endian ethertype', () => {
  const b = new Uint8Array(ETH_HLEN).fill(0xa5);
  emitEth(b, 0, { dst: 0x00163e000001, src: 0xfeffffffffff, proto: ETH_P_IP });
  assert.is(Buffer.from(b).toString('hex'), '00163e000001' + 'feffffffffff' + '0800');
  const h = newEthHdr();
  assert.is(parseEth(b, 0, 14, h), WIRE_OK);
  assert.is(h.dst, 0x00163e000001);
  assert.is(parseEth(b, 0, 13, h), WIRE_TRUNCATED);
});

function frame(proto: number, payload: Uint8Array) {
  const l4 = proto === IPPROTO_UDP ? UDP_HLEN : TCP_HLEN;
  const b = new Uint8Array(ETH_HLEN + IPV4_HLEN + l4 + payload.length);
  b.set(payload, ETH_HLEN + IPV4_HLEN + l4);
  const ip = { ...newIpv4Hdr(), totLen: IPV4_HLEN + l4 + payload.length, protocol: proto, saddr: 0x0a000001, daddr: 0x0a000002, id: 7 };
  emitEth(b, 0, { dst: 1, src: 2, proto: ETH_P_IP });
  const h = { ...newL4Hdr(), sport: 1234, dport: 2049, seq: 1000, ack: 5, flags: TCP_ACK, window: 512 };
  if (proto === IPPROTO_UDP) emitUdp(b, ETH_HLEN + IPV4_HLEN, ip, h, payload.length);
  else emitTcp(b, ETH_HLEN + IPV4_HLEN, ip, h, payload.length);
  emitIpv4(b, ETH_HLEN, ip);
  return b;
}

test('wire: UDP and TCP frames round-trip through parse with valid checksums (any payload)', () => {
  fc.assert(
    fc.property(fc.boolean(), fc.uint8Array({ maxLength: 1500 }), (udp, payload) => {
      const proto = udp ? IPPROTO_UDP : IPPROTO_TCP;
      const b = frame(proto, payload);
      const ip = newIpv4Hdr();
      const l4 = newL4Hdr();
      assert.is(parseIpv4(b, ETH_HLEN, b.length - ETH_HLEN, ip), WIRE_OK);
      assert.is(ip.protocol, proto);
      assert.is(parseL4(b, ETH_HLEN + 20, ip.totLen - 20, ip, l4), WIRE_OK);
      assert.is(l4.sport, 1234);
      assert.is(l4.dport, 2049);
    }),
    { numRuns: 200 },
  );
});

test('wire: a flipped payload bit fails the L4 checksum; a flipped header bit fails the IPv4 checksum', () => {
  const b = frame(IPPROTO_TCP, new Uint8Array(100).fill(3));
  const ip = newIpv4Hdr();
  b[ETH_HLEN + 40 + 10]! ^= 0x10;
  assert.is(parseIpv4(b, ETH_HLEN, b.length - ETH_HLEN, ip), WIRE_OK);
  assert.is(parseL4(b, ETH_HLEN + 20, ip.totLen - 20, ip, newL4Hdr()), WIRE_MALFORMED);
  b[ETH_HLEN + 8]! ^= 1;
  assert.is(parseIpv4(b, ETH_HLEN, b.length - ETH_HLEN, ip), WIRE_MALFORMED);
});

test('wire: a total length beyond the bytes present is malformed, not a throw', () => {
  const b = frame(IPPROTO_UDP, new Uint8Array(10));
  assert.is(parseIpv4(b, ETH_HLEN, 25, newIpv4Hdr()), WIRE_MALFORMED);
  assert.is(parseIpv4(b, ETH_HLEN, 10, newIpv4Hdr()), WIRE_TRUNCATED);
});

test('wire: a CHECKSUM_PARTIAL header finished over the segment equals the full software checksum (UDP and TCP)', () => {
  fc.assert(
    fc.property(fc.boolean(), fc.uint8Array({ maxLength: 1500 }), (udp, payload) => {
      const proto = udp ? IPPROTO_UDP : IPPROTO_TCP;
      const full = frame(proto, payload);
      const part = new Uint8Array(full.length).fill(0xa5);
      part.set(full.subarray(0, ETH_HLEN + IPV4_HLEN));
      const l4 = udp ? UDP_HLEN : TCP_HLEN;
      part.set(payload, ETH_HLEN + IPV4_HLEN + l4);
      const ip = newIpv4Hdr();
      parseIpv4(full, ETH_HLEN, full.length - ETH_HLEN, ip);
      const h = { ...newL4Hdr(), sport: 1234, dport: 2049, seq: 1000, ack: 5, flags: TCP_ACK, window: 512 };
      if (udp) emitUdpPartial(part, ETH_HLEN + IPV4_HLEN, ip, h, payload.length);
      else emitTcpPartial(part, ETH_HLEN + IPV4_HLEN, ip, h, payload.length);
      csumFinishPartial(part, ETH_HLEN + IPV4_HLEN, part.length, udp ? 6 : 16, udp);
      assert.equal([...part], [...full]);
    }),
    { numRuns: 200 },
  );
});

test('wire: parseL4Header reads without judging the checksum; l4ChecksumOk judges it; a zero UDP checksum means none', () => {
  const b = frame(IPPROTO_UDP, new Uint8Array(20).fill(9));
  const ip = newIpv4Hdr();
  parseIpv4(b, ETH_HLEN, b.length - ETH_HLEN, ip);
  b[b.length - 1]! ^= 1;
  const h = newL4Hdr();
  assert.is(parseL4Header(b, ETH_HLEN + 20, ip.totLen - 20, IPPROTO_UDP, h), WIRE_OK);
  assert.is(h.dport, 2049);
  assert.not.ok(l4ChecksumOk(b, ETH_HLEN + 20, h.len, ip));
  b[ETH_HLEN + 26] = 0;
  b[ETH_HLEN + 27] = 0;
  assert.ok(l4ChecksumOk(b, ETH_HLEN + 20, h.len, ip));
  assert.is(parseL4Header(b, ETH_HLEN + 20, 7, IPPROTO_UDP, h), WIRE_TRUNCATED);
  assert.is(parseL4Header(b, ETH_HLEN + 20, 40, 99, h), WIRE_MALFORMED);
});

test('wire: ipv4SetLenFrag rewrites tot_len and frag_off with a valid header checksum', () => {
  const b = frame(IPPROTO_UDP, new Uint8Array(10));
  ipv4SetLenFrag(b, ETH_HLEN, 1000, IP_MF | 3);
  assert.is(ipv4FragOffField(b, ETH_HLEN), IP_MF | 3);
  const ip = newIpv4Hdr();
  assert.is(parseIpv4(b, ETH_HLEN, 1000, ip), WIRE_OK);
  assert.is(ip.totLen, 1000);
});

test('wire: the group bit makes a MAC multicast; a valid source is neither zero nor a group address', () => {
  assert.ok(isMulticastEtherAddr(ETH_BROADCAST));
  assert.ok(isMulticastEtherAddr(0x01005e000001));
  assert.not.ok(isMulticastEtherAddr(0x00163e000001));
  assert.ok(isValidEtherAddr(0x00163e000001));
  assert.not.ok(isValidEtherAddr(0));
  assert.not.ok(isValidEtherAddr(ETH_BROADCAST));
});

test.run();
