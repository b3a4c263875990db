import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GTF_permit_access, GTF_readonly } from '../../../src/abi/grant_table.ts';
import {
  NETIF_RSP_ERROR, NETRXF_csum_blank, NETRXF_data_validated, NET_RX_RING_SIZE, XEN_NETIF_GSO_TYPE_TCPV4,
  XEN_NETIF_GSO_TYPE_TCPV6,
} from '../../../src/abi/netif.ts';
import { XEN_PAGE_SIZE } from '../../../src/abi/page.ts';
import { ringCopyRequest } from '../../../src/abi/ring.ts';
import { netifRxRingType } from '../../../src/abi/netif.ts';
import { NAPI_POLL_WEIGHT, RX_COPY_THRESHOLD } from '../../../src/drivers/netfront/index.ts';
import { ETH_P_IP } from '../../../src/net/wire.ts';
import {
  CHECKSUM_NONE, CHECKSUM_PARTIAL, CHECKSUM_UNNECESSARY, SKB_GSO_DODGY, SKB_GSO_TCPV4, SKB_GSO_TCPV6, kfreeSkb,
  skbHeadlen, skbToBytes,
} from '../../../src/skb/index.ts';
import { connected, teardown, udpFrame } from './support.ts';

function outstanding(nf: import('../../../src/drivers/netfront/index.ts').NetfrontInfo, i = 0): number {
  const r = nf.queues[i]!.rx;
  return (r.reqProdPvt - r.rspCons) >>> 0;
}

test('netfront RX: the ring is stocked with one writable-granted zeroed page per slot, id = index & (RING_SIZE-1)', () => {
  const { m, b, nf } = connected();
  const bq = b.q();
  assert.is(b.rxAvailable(bq), NET_RX_RING_SIZE);
  const seen = new Set<number>();
  for (let k = 0; k < NET_RX_RING_SIZE; k++) {
    const req = ringCopyRequest(bq.rx, bq.rx.reqCons + k, netifRxRingType.request.create());
    assert.is(req.id, (bq.rx.reqCons + k) & (NET_RX_RING_SIZE - 1));
    const flags = m.t.guest.grantTable.flagsOf(req.gref);
    assert.ok((flags & GTF_permit_access) !== 0 && (flags & GTF_readonly) === 0, 'writable grant');
    seen.add(req.gref);
  }
  assert.is(seen.size, NET_RX_RING_SIZE);
  teardown(m, nf, b);
});

test('netfront RX: packets of 60, 256, 1514 and 9000 bytes arrive intact; the first 256 bytes are linear; the ring is refilled', () => {
  const { m, b, nf, received } = connected();
  for (const len of [60, 256, 1514, 9000]) {
    const bytes = udpFrame(len, len & 0xff);
    assert.ok(b.sendRx(b.q(), bytes));
    m.run(1_000_000);
    const skb = received.shift()!;
    assert.ok(skb !== undefined, `received ${len}`);
    assert.equal(skbToBytes(skb), bytes);
    assert.is(skbHeadlen(skb), Math.min(len, RX_COPY_THRESHOLD));
    assert.is(skb.protocol, ETH_P_IP);
    assert.is(skb.ipSummed, CHECKSUM_NONE);
    kfreeSkb(skb);
    assert.is(outstanding(nf), NET_RX_RING_SIZE, 'refilled');
  }
  const s = nf.netfrontStats();
  assert.is(s.rxPackets, 4);
  assert.is(s.rxBytes, 60 + 256 + 1514 + 9000);
  teardown(m, nf, b);
});

test('netfront RX: responses come back in the slot of their request; the response id is not trusted', () => {
  const { m, b, nf, received } = connected();
  const bytes = udpFrame(500);
  b.sendRx(b.q(), bytes, { mutate: (_, rsp) => { rsp.id = 0x1ff; } });
  m.run(1_000_000);
  assert.is(received.length, 1);
  assert.equal(skbToBytes(received[0]!), bytes);
  received.forEach(kfreeSkb);
  assert.not.ok(nf.broken);
  teardown(m, nf, b);
});

test('netfront RX: csum_blank makes CHECKSUM_PARTIAL, data_validated CHECKSUM_UNNECESSARY', () => {
  const { m, b, nf, received } = connected();
  b.sendRx(b.q(), udpFrame(100), { flags: NETRXF_csum_blank | NETRXF_data_validated });
  b.sendRx(b.q(), udpFrame(100), { flags: NETRXF_data_validated });
  m.run(1_000_000);
  assert.equal(received.map((s) => s.ipSummed), [CHECKSUM_PARTIAL, CHECKSUM_UNNECESSARY]);
  received.forEach(kfreeSkb);
  teardown(m, nf, b);
});

test('netfront RX: a multi-slot packet with a GSO extra is reassembled with gso_size and gso_type set', () => {
  const { m, b, nf, received } = connected();
  const bytes = udpFrame(20000);
  b.sendRx(b.q(), bytes, { flags: NETRXF_csum_blank | NETRXF_data_validated, gso: { size: 1448, type: XEN_NETIF_GSO_TYPE_TCPV4 } });
  b.sendRx(b.q(), bytes, { gso: { size: 1440, type: XEN_NETIF_GSO_TYPE_TCPV6 } });
  m.run(1_000_000);
  assert.is(received.length, 2);
  const [a, c] = received as [import('../../../src/skb/index.ts').SkBuff, import('../../../src/skb/index.ts').SkBuff];
  assert.equal(skbToBytes(a), bytes);
  assert.is(a.shinfo.gsoSize, 1448);
  assert.is(a.shinfo.gsoType, SKB_GSO_TCPV4 | SKB_GSO_DODGY);
  assert.is(a.ipSummed, CHECKSUM_PARTIAL);
  assert.is(c.shinfo.gsoSize, 1440);
  assert.is(c.shinfo.gsoType, SKB_GSO_TCPV6 | SKB_GSO_DODGY);
  assert.is(c.ipSummed, CHECKSUM_PARTIAL, 'a GSO skb without csum_blank is forced to CHECKSUM_PARTIAL');
  assert.is(nf.netfrontStats().rxGsoChecksumFixup, 1);
  received.forEach(kfreeSkb);
  assert.is(outstanding(nf), NET_RX_RING_SIZE, 'the extra slot was refilled too');
  teardown(m, nf, b);
});

test('netfront RX: 18 data slots (19 with a short first) fit; the frag array overflow pulls first; more is an error', () => {
  const { m, b, nf, received } = connected();
  const sizes18 = [100, ...Array.from({ length: 17 }, () => 1000)];
  const len18 = sizes18.reduce((a, x) => a + x, 0);
  const ok = udpFrame(len18);
  b.sendRx(b.q(), ok, { slotSizes: sizes18 });
  m.run(1_000_000);
  assert.is(received.length, 1, '18 slots with a short first fit MAX_SKB_FRAGS after the early pull');
  assert.equal(skbToBytes(received[0]!), ok);
  received.forEach(kfreeSkb);
  received.length = 0;
  const sizes20 = Array.from({ length: 20 }, () => 500);
  b.sendRx(b.q(), udpFrame(10000), { slotSizes: sizes20 });
  m.run(1_000_000);
  assert.is(received.length, 0);
  assert.is(nf.netfrontStats().rxErrors, 1, 'too many slots (-E2BIG)');
  assert.is(outstanding(nf), NET_RX_RING_SIZE);
  teardown(m, nf, b);
});

test('netfront RX: a negative status or offset + status past the page is an error; the buffer is reposted; later packets flow', () => {
  const { m, b, nf, received } = connected();
  b.sendRx(b.q(), udpFrame(100), { mutate: (_, rsp) => { rsp.status = NETIF_RSP_ERROR; } });
  b.sendRx(b.q(), udpFrame(300), { mutate: (_, rsp) => { rsp.offset = XEN_PAGE_SIZE - 100; } });
  b.sendRx(b.q(), udpFrame(3000), { slotSizes: [1000, 2000], mutate: (slot, rsp) => { if (slot === 1) rsp.status = -2; } });
  const good = udpFrame(700);
  b.sendRx(b.q(), good);
  m.run(1_000_000);
  assert.is(nf.netfrontStats().rxErrors, 3);
  assert.is(received.length, 1);
  assert.equal(skbToBytes(received[0]!), good);
  received.forEach(kfreeSkb);
  assert.is(outstanding(nf), NET_RX_RING_SIZE);
  assert.not.ok(nf.broken);
  teardown(m, nf, b);
});

test('netfront RX: a chain whose next slot is missing, or a bad GSO extra, drops the packet and counts an error', () => {
  const { m, b, nf, received } = connected();
  b.sendRx(b.q(), udpFrame(200), { gso: { size: 0, type: XEN_NETIF_GSO_TYPE_TCPV4 } });
  b.sendRx(b.q(), udpFrame(200), { gso: { size: 1000, type: 7 } });
  m.run(1_000_000);
  assert.is(nf.netfrontStats().rxErrors, 2);
  // more_data on the last response pushed: "need more slots".
  b.sendRx(b.q(), udpFrame(200), { mutate: (_, rsp) => { rsp.flags |= 4; } });
  m.run(1_000_000);
  assert.is(nf.netfrontStats().rxErrors, 3);
  assert.is(received.length, 0);
  const good = udpFrame(64);
  b.sendRx(b.q(), good);
  m.run(1_000_000);
  assert.equal(received.map(skbToBytes), [good]);
  received.forEach(kfreeSkb);
  assert.not.ok(nf.broken);
  teardown(m, nf, b);
});

test('netfront RX: one poll delivers at most the NAPI budget; the rest follows in later polls', () => {
  const { m, b, nf, received } = connected();
  for (let i = 0; i < 200; i++) b.sendRx(b.q(), udpFrame(80, i), { noPush: true });
  b.pushRx(b.q());
  m.run(1_000_000);
  const s = nf.netfrontStats();
  assert.is(received.length, 200);
  assert.is(s.napiMaxWork, NAPI_POLL_WEIGHT);
  assert.ok(s.napiPolls >= 4);
  received.forEach(kfreeSkb);
  teardown(m, nf, b);
});

test('netfront RX: several queues each keep their own ring stocked and deliver', () => {
  const { m, b, nf, received } = connected({ guestFrames: 1400 }, { maxQueues: 4 }, { maxQueues: 4 });
  b.queues.forEach((bq, i) => b.sendRx(bq, udpFrame(400, i)));
  m.run(1_000_000);
  assert.is(received.length, 4);
  nf.queues.forEach((q, i) => {
    assert.is(q.stats.rxPackets, 1, `queue ${i}`);
    assert.is(outstanding(nf, i), NET_RX_RING_SIZE);
  });
  received.forEach(kfreeSkb);
  teardown(m, nf, b);
});

test('netfront RX: when memory runs short the refill timer retries (HZ/10) until the ring is stocked again', () => {
  const { m, b, nf, received } = connected();
  const hog: number[] = [];
  for (let f = m.pages.allocPage(0); f >= 0; f = m.pages.allocPage(0)) hog.push(f);
  for (let i = 0; i < 240; i++) b.sendRx(b.q(), udpFrame(80, i), { noPush: true });
  b.pushRx(b.q());
  m.run(1_000_000);
  const short = outstanding(nf);
  assert.ok(short < NET_RX_RING_SIZE / 2, `the ring could not be refilled (${short} posted)`);
  assert.ok(nf.queues[0]!.rxRefillTimer !== 0, 'refill timer armed');
  assert.ok(nf.netfrontStats().rxDropped > 0, 'packets without memory for an sk_buff are dropped and counted');
  assert.is(nf.netfrontStats().rxDropped + received.length, 240);
  hog.forEach((f) => m.pages.putPage(f));
  m.run(50_000_000);
  assert.is(outstanding(nf), short, 'nothing before the timer');
  m.run(60_000_000);
  assert.is(outstanding(nf), NET_RX_RING_SIZE, 'refilled by the timer');
  assert.is(b.rxAvailable(b.q()), NET_RX_RING_SIZE, 'and pushed');
  received.forEach(kfreeSkb);
  teardown(m, nf, b);
});

test.run();
