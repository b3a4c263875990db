import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { GTF_permit_access } from '../../../src/abi/grant_table.ts';
import { NETTXF_more_data } from '../../../src/abi/netif.ts';
import { XEN_PAGE_SIZE } from '../../../src/abi/page.ts';
import { XENNET_MAX_TX_SLOTS } from '../../../src/drivers/netfront/index.ts';
import { NETDEV_TX_OK } from '../../../src/net/netdevice.ts';
import { CHECKSUM_PARTIAL, SKB_GSO_TCPV4 } from '../../../src/skb/index.ts';
import { connected, guestSkb, teardown, udpFrame } from './support.ts';

const packetArb = fc.record({
  len: fc.oneof(fc.integer({ min: 14, max: 300 }), fc.integer({ min: 14, max: 20000 }), fc.integer({ min: 60000, max: 70000 })),
  /** Share of the packet in the linear area, per mille. */
  headShare: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 1000 })),
  headroom: fc.integer({ min: 0, max: 4096 }),
  offs: fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 4095 })), { minLength: 17, maxLength: 17 }),
  gso: fc.boolean(),
  seed: fc.integer({ min: 0, max: 255 }),
});

/** Cut a packet into a head and at most 17 frags (each inside its page); what does not fit goes to the head. */
function cut(len: number, headShare: number, offs: readonly number[]) {
  let headlen = Math.max(14, Math.floor((len * headShare) / 1000));
  const frags: { off: number; size: number }[] = [];
  let left = len - headlen;
  for (let i = 0; i < 17 && left > 0; i++) {
    const off = left > (17 - i) * 2048 ? 0 : offs[i]!;
    const size = Math.min(left, XEN_PAGE_SIZE - off);
    frags.push({ off, size });
    left -= size;
  }
  headlen += left;
  return { headlen, frags };
}

test('netfront TX (property): for random sizes and frag layouts the backend reassembles exactly the skb bytes from page-bounded slots, and every grant is ended after the responses', () => {
  const { m, b, nf } = connected({ guestFrames: 900 });
  let sent = 0;
  let dropped = 0;
  fc.assert(fc.property(packetArb, (pk) => {
    const { headlen, frags } = cut(pk.len, pk.headShare, pk.offs);
    const len = pk.len;
    const bytes = udpFrame(len, pk.seed);
    const skb = guestSkb(m, bytes, { headlen, headroom: pk.headroom, frags });
    if (pk.gso) {
      skb.shinfo.gsoSize = 1448;
      skb.shinfo.gsoType = SKB_GSO_TCPV4;
      skb.ipSummed = CHECKSUM_PARTIAL;
    }
    const before = b.packets.length;
    assert.is(nf.ndoStartXmit(skb), NETDEV_TX_OK);
    m.run(1_000_000);
    if (len > 0xffff) {
      dropped++;
      assert.is(b.packets.length, before, 'an oversized skb never reaches the ring');
      assert.not.ok(skb.live);
      return;
    }
    sent++;
    const p = b.packets.at(-1)!;
    assert.is(b.packets.length, before + 1);
    assert.equal(p.bytes, bytes);
    assert.ok(p.copied);
    assert.is(p.slots[0]!.req.size, len);
    assert.ok(p.slots.length <= XENNET_MAX_TX_SLOTS);
    assert.is(p.extras.length, pk.gso ? 1 : 0);
    p.slots.forEach((s, i) => {
      assert.ok(s.req.offset + s.len <= XEN_PAGE_SIZE);
      assert.is((s.req.flags & NETTXF_more_data) !== 0, i < p.slots.length - 1);
    });
    for (const s of p.slots) assert.is(m.t.guest.grantTable.flagsOf(s.req.gref) & GTF_permit_access, 0, 'grant ended');
    assert.not.ok(skb.live, 'the skb is released once every slot is answered');
    const q = nf.queues[0]!;
    assert.ok(q.txSkbs.every((x) => x === null));
    assert.is(q.tx.rspCons, q.tx.reqProdPvt);
  }), { numRuns: 150, seed: 0x5eed });
  assert.ok(sent > 100, `sent ${sent}`);
  assert.ok(dropped > 0, `dropped ${dropped}`);
  assert.ok(nf.netfrontStats().txLinearized > 0 && nf.netfrontStats().txBounced > 0, "linearised and bounced cases were drawn");
  assert.is(nf.netfrontStats().txPackets, sent);
  assert.is(nf.netfrontStats().txDropped, dropped);
  teardown(m, nf, b);
});

test.run();
