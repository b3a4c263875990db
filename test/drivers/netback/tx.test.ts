/**
 * Guest TX through each strategy (DESIGN.md principle 4, REFERENCE.md §5.3, §5.5, §5.7, §5.8, §10): the
 * bytes arrive whole; when each slot is answered; how long each grant stays mapped while the stack holds,
 * clones, pulls or segments the packet.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GTF_reading } from '../../../src/abi/grant_table.ts';
import {
  NETTXF_csum_blank, XEN_NETIF_GSO_TYPE_TCPV4, XEN_NETIF_RSP_OKAY, XEN_NETIF_RSP_NULL,
} from '../../../src/abi/netif.ts';
import {
  CHECKSUM_PARTIAL, NETIF_F_HW_CSUM, NETIF_F_SG, SKB_GSO_TCPV4, kfreeSkb, kfreeSkbList, pskbPullTail, skbClone,
  skbHeadlen, skbPull, skbSegment, skbToBytes, type SkBuff,
} from '../../../src/skb/index.ts';
import { PageFault } from '../../../src/errors.ts';
import { TX_STRATEGIES, type NetbackTraceEvent } from '../../../src/drivers/netback/index.ts';
import { nbWorld, TestGuest, run, frame, frameOf, teardown } from './support.ts';
import { throwsType } from '../../support/assert.ts';

const OK = XEN_NETIF_RSP_OKAY;
const SIZES = [60, 128, 129, 1514, 4096, 9000, 32768, 65535];

function setup(strategy: (typeof TX_STRATEGIES)[number], opts: { trace?: NetbackTraceEvent[]; hold?: boolean } = {}) {
  const trace = opts.trace;
  const w = nbWorld({ strategy, hold: opts.hold ?? true, ...(trace ? { onTrace: (e) => trace.push({ ...e }) } : {}) });
  const g = new TestGuest(w);
  g.connect();
  return { w, g };
}

function dataStatuses(g: TestGuest): number[] {
  return g.txResponses().filter((r) => r.status !== XEN_NETIF_RSP_NULL).map((r) => r.status);
}

function mapped(g: TestGuest, refs: readonly number[]): boolean[] {
  return refs.map((r) => (g.grantBusy(r) & GTF_reading) !== 0);
}

for (const strategy of TX_STRATEGIES) {
  for (const gso of [false, true]) {
    test(`netback (${strategy}): packets of 60 B .. 64 KiB${gso ? ' with a GSO extra' : ''} arrive whole; every slot answered once`, () => {
      const { w, g } = setup(strategy, { hold: false });
      let slots = 0;
      for (const [i, len] of SIZES.entries()) {
        const data = frame(len, i, { tcp: true });
        const big = gso && len > 1514;
        const p = g.sendPacket(data, big ? { gso: { size: 1448, type: XEN_NETIF_GSO_TYPE_TCPV4 } } : { flags: NETTXF_csum_blank });
        slots += p.slots;
        run(w);
        const got = w.frames[i]!;
        if (big) {
          // Forced CHECKSUM_PARTIAL: netback stored the pseudo-header sum in the TCP checksum field.
          got[50] = data[50]!;
          got[51] = data[51]!;
        }
        assert.equal([...got], [...data], `${len} bytes`);
      }
      run(w);
      const rsp = g.txResponses();
      assert.is(rsp.length, slots, 'one response per slot, extras included');
      assert.ok(rsp.every((r) => r.status === OK || r.status === XEN_NETIF_RSP_NULL));
      const s = g.vif.queueStats;
      assert.is(s.txPackets, SIZES.length);
      assert.is(s.pendingInUse, 0);
      if (gso) assert.is(s.rxGsoChecksumFixup, SIZES.filter((l) => l > 1514).length, 'GSO without csum_blank is forced PARTIAL');
      teardown(w, g);
    });
  }
}

test('netback: a GSO packet reaches the stack as CHECKSUM_PARTIAL with gso size, type and segment count', () => {
  const { w, g } = setup('hybrid');
  const data = frame(9000, 3, { tcp: true });
  g.sendPacket(data, { gso: { size: 1448, type: XEN_NETIF_GSO_TYPE_TCPV4 }, flags: NETTXF_csum_blank });
  run(w);
  const skb = w.held[0]!;
  assert.is(skb.ipSummed, CHECKSUM_PARTIAL);
  assert.is(skb.shinfo.gsoSize, 1448);
  assert.is(skb.shinfo.gsoType, SKB_GSO_TCPV4);
  assert.is(skb.shinfo.gsoSegs, Math.ceil((9000 - 14 - 40) / 1448));
  assert.is(skb.transportHeader - skb.data, 20);
  assert.is(skb.protocol, 0x0800);
  teardown(w, g);
});

test('netback (copy): every slot is answered at once, and no grant stays mapped while the stack holds the packet', () => {
  const { w, g } = setup('copy');
  const data = frame(9000, 1);
  const p = g.sendPacket(data);
  run(w);
  assert.is(w.held.length, 1);
  assert.equal(dataStatuses(g), [OK, OK, OK]);
  assert.equal(mapped(g, p.grefs), [false, false, false]);
  for (const ref of p.grefs) assert.ok(g.endTxGrant(ref));
  // The guest's pages are its own again; the stack still has its private copy.
  assert.equal([...skbToBytes(w.held[0]!)], [...data.subarray(14)]);
  assert.is(g.vif.queueStats.maps, 0);
  teardown(w, g);
});

for (const strategy of ['map', 'hybrid'] as const) {
  test(`netback (${strategy}): the grant stays mapped while any clone lives; OKAY only after the unmap`, () => {
    const trace: NetbackTraceEvent[] = [];
    const { w, g } = setup(strategy, { trace });
    const data = frame(3000, 1);
    const p = g.sendPacket(data);
    run(w);
    const skb = w.held.pop()!;
    const clone = skbClone(skb)!;
    kfreeSkb(skb);
    run(w, 5_000_000);
    assert.equal(mapped(g, p.grefs), [true], 'GTF_reading still set');
    assert.equal(g.txResponses(), [], 'no response while a clone reads the page');
    assert.not.ok(g.endTxGrant(p.grefs[0]!), 'the guest cannot end access');
    assert.equal([...skbToBytes(clone)], [...data.subarray(14)]);
    kfreeSkb(clone);
    run(w);
    assert.equal(g.txResponses(), [{ id: p.ids[0]!, status: OK }]);
    assert.ok(g.endTxGrant(p.grefs[0]!), 'end access succeeds after the answer');
    const kinds = trace.filter((e) => e.pendingIdx >= 0 && e.id === p.ids[0]).map((e) => e.kind);
    const ui = kinds.indexOf('unmapped');
    const ai = kinds.lastIndexOf('answered');
    assert.ok(ui >= 0 && ai > ui, `unmapped before answered: ${kinds.join(' ')}`);
    teardown(w, g);
  });
}

test('netback (map): after the unmap the backend can no longer read the page (use after unmap faults)', () => {
  const { w, g } = setup('map');
  const p = g.sendPacket(frame(2000, 1));
  run(w);
  const skb = w.held[0]!;
  const frameNo = skb.shinfo.fragPage[0]!;
  kfreeSkb(w.held.pop()!);
  run(w);
  assert.equal(dataStatuses(g), [OK]);
  throwsType(() => w.t.hv.mem.checkRead(0, frameNo), PageFault);
  assert.ok(g.endTxGrant(p.grefs[0]!));
  teardown(w, g);
});

test('netback (map): a pull-tail that eats a frag whole releases that slot before the packet is freed', () => {
  const { w, g } = setup('map');
  const p = g.sendPacket(frame(3000, 1), { layout: [{ size: 1000 }, { size: 1000 }, { size: 1000 }] });
  run(w);
  const skb = w.held[0]!;
  assert.is(skbHeadlen(skb), 0, 'map mode: nothing linear after the Ethernet header');
  assert.ok(pskbPullTail(skb, skb.shinfo.fragSize[0]!));
  run(w);
  const rsp = g.txResponses();
  assert.equal(rsp, [{ id: p.ids[0]!, status: OK }], 'the first slot, eaten whole, is answered');
  assert.equal(mapped(g, p.grefs), [false, true, true]);
  teardown(w, g);
});

test('netback (map): segmentation carries the destructors; the grant goes only with the last segment', () => {
  const { w, g } = setup('map');
  const data = frame(6000, 2, { tcp: true });
  const p = g.sendPacket(data, { gso: { size: 1448, type: XEN_NETIF_GSO_TYPE_TCPV4 }, flags: NETTXF_csum_blank });
  run(w);
  const skb = w.held.pop()!;
  assert.ok(skbPull(skb, 40));
  const segs = skbSegment(skb, NETIF_F_SG | NETIF_F_HW_CSUM);
  assert.ok(typeof segs !== 'number');
  kfreeSkb(skb);
  run(w);
  assert.equal(dataStatuses(g), []);
  assert.ok(mapped(g, p.grefs).every((m) => m));
  const list = segs as SkBuff;
  let total = 0;
  for (let s: SkBuff | null = list; s !== null; s = s.next) total += s.len;
  assert.ok(total > 6000);
  kfreeSkbList(list);
  run(w);
  assert.equal(dataStatuses(g), [OK, OK]);
  teardown(w, g);
});

test('netback (zerocopy): a clone copies the frags aside and releases the grant early (copy-on-share)', () => {
  const { w, g } = setup('zerocopy');
  const data = frame(3000, 1);
  const p = g.sendPacket(data);
  run(w);
  const skb = w.held[0]!;
  const clone = skbClone(skb)!;
  run(w);
  assert.equal(dataStatuses(g), [OK], 'answered while both skbs live');
  assert.equal(mapped(g, p.grefs), [false]);
  assert.ok(g.endTxGrant(p.grefs[0]!));
  assert.equal([...frameOf(clone)], [...data], 'the data carries on in the copies');
  const s = g.vif.queueStats;
  assert.is(s.txZerocopyFail, 1);
  assert.is(s.txZerocopySuccess, 0);
  kfreeSkb(clone);
  teardown(w, g);
});

test('netback (zerocopy): without a clone the completion fires on the last free, with success', () => {
  const { w, g } = setup('zerocopy');
  const p = g.sendPacket(frame(3000, 1));
  run(w);
  assert.equal(mapped(g, p.grefs), [true]);
  assert.equal(dataStatuses(g), []);
  kfreeSkb(w.held.pop()!);
  run(w);
  assert.equal(dataStatuses(g), [OK]);
  assert.is(g.vif.queueStats.txZerocopySuccess, 1);
  assert.is(g.vif.queueStats.txZerocopySent, 1);
  teardown(w, g);
});

test('netback (plain-ref): answered at the first free while a clone still reads the page (the NFS bug)', () => {
  const trace: NetbackTraceEvent[] = [];
  const { w, g } = setup('plain-ref', { trace });
  const data = frame(3000, 1);
  const p = g.sendPacket(data);
  run(w);
  const skb = w.held.pop()!;
  const clone = skbClone(skb)!;
  kfreeSkb(skb);
  const rsp = g.txResponses();
  assert.equal(rsp, [{ id: p.ids[0]!, status: OK }], 'OKAY on the first free');
  assert.equal(mapped(g, p.grefs), [true], 'yet the page is still mapped');
  const kinds = trace.filter((e) => e.id === p.ids[0]).map((e) => e.kind);
  assert.ok(kinds.indexOf('answered') < 0 || !kinds.includes('unmapped'), 'answered before any unmap');
  // The guest believes its buffer is free and reuses it: the clone now carries other bytes.
  assert.not.ok(g.endTxGrant(p.grefs[0]!), 'end access would have told it (XSA-396)');
  g.scribble(p.frames[0]!, 1000, new Uint8Array(100).fill(0xee));
  const seen = frameOf(clone);
  assert.not.equal([...seen], [...data], 'corruption: the clone reads the new contents');
  assert.is(seen[1000], 0xee);
  kfreeSkb(clone);
  run(w);
  assert.equal(g.txResponses(), [], 'the unmap later answers nothing twice');
  assert.equal(mapped(g, p.grefs), [false]);
  teardown(w, g);
});

for (const strategy of ['map', 'hybrid', 'zerocopy'] as const) {
  test(`netback (${strategy}): more mapped slots than MAX_SKB_FRAGS are consolidated into local pages and released`, () => {
    const { w, g } = setup(strategy);
    const n = strategy === 'map' ? 18 : 19;
    const layout = Array.from({ length: n }, () => ({ size: 1000 }));
    const data = frame(1000 * n, 4);
    const p = g.sendPacket(data, { layout });
    run(w);
    assert.is(w.held.length, 1);
    assert.equal([...w.frames[0]!], [...data]);
    assert.equal(dataStatuses(g).length, n, 'every slot answered while the stack still holds the packet');
    assert.ok(mapped(g, p.grefs).every((m) => !m));
    const s = g.vif.queueStats;
    assert.is(s.txFragOverflow, 1);
    assert.is(s.txZerocopySent, 2, 'Linux counts 2 for a consolidation, and no hand-off completion after it');
    assert.equal([...frameOf(w.held[0]!)], [...data]);
    teardown(w, g);
  });
}

test('netback (hybrid, XSA-432): 17 follow-on slots with fewer than 128 bytes: the whole first slot is copied', () => {
  const { w, g } = setup('hybrid');
  const layout = [{ size: 30 }, ...Array.from({ length: 17 }, () => ({ size: 5 }))];
  const data = frame(30 + 17 * 5, 5);
  g.sendPacket(data, { layout });
  run(w);
  assert.equal([...w.frames[0]!], [...data]);
  assert.is(g.vif.queueStats.txFragOverflow, 0);
  assert.is(g.vif.queueStats.maps, 0, 'all 115 bytes fit the copied header');
  teardown(w, g);
});

test('netback (hybrid, XSA-423): headers split across tiny slots are copied contiguously into the linear area', () => {
  const { w, g } = setup('hybrid');
  const data = frame(1000, 6, { tcp: true });
  g.sendPacket(data, { layout: [{ size: 14 }, { size: 20 }, { size: 6 }, { size: 960 }] });
  run(w);
  const skb = w.held[0]!;
  assert.is(skbHeadlen(skb) + 14, 128, 'min(128, total) bytes are linear');
  assert.equal([...w.frames[0]!], [...data]);
  teardown(w, g);
});

test('netback (hybrid): a header copy crossing a head frame boundary is split into two ops', () => {
  const { w, g } = setup('hybrid');
  // 17 follow-ons: the whole 4090-byte first slot is copied behind 66 bytes of headroom: two head frames.
  const layout = [{ size: 4090 }, ...Array.from({ length: 17 }, () => ({ size: 10 }))];
  const data = frame(4260, 7);
  g.sendPacket(data, { layout });
  run(w);
  assert.equal([...w.frames[0]!], [...data]);
  assert.is(g.vif.queueStats.copies, 2, 'one slot, two copy ops');
  assert.equal(dataStatuses(g), [OK], 'the copied slot is answered once, after both ops');
  kfreeSkb(w.held.pop()!);
  run(w);
  assert.equal(dataStatuses(g).length, 17);
  teardown(w, g);
});

test('netback: a ring started near 2^32 works across the index wrap', () => {
  const w = nbWorld({ strategy: 'hybrid', hold: false });
  const g = new TestGuest(w, { ringStart: 0xfffffff0 });
  g.connect();
  for (let i = 0; i < 40; i++) {
    g.sendPacket(frame(200 + i, i), { layout: [{ size: 100 }, { size: 100 + i }] });
    run(w, 100_000);
  }
  assert.is(w.frames.length, 40);
  assert.is(g.txResponses().length, 80);
  assert.is(g.tx[0]!.sring.rspProd, (0xfffffff0 + 80) >>> 0);
  teardown(w, g);
});

test.run();
