/**
 * Property: random valid packets (sizes, slot layouts and offsets, zero-size slots, GSO extras, checksum
 * flags) through each strategy, with a random stack behind: clones, pull-tails, and frees in random order
 * at random times. Whatever happens, every request is answered exactly once (NULL once per extra), no slot
 * is answered while its grant is still mapped (checked at the very moment of each answer), the bytes arrive
 * whole, and both audits are clean afterwards. plain-ref is the deliberate exception to the second rule and
 * is checked only for the first and the last.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { GTF_reading } from '../../../src/abi/grant_table.ts';
import { NETTXF_csum_blank, XEN_NETIF_GSO_TYPE_TCPV4, XEN_NETIF_RSP_NULL, XEN_NETIF_RSP_OKAY } from '../../../src/abi/netif.ts';
import { kfreeSkb, pskbPullTail, skbClone, type SkBuff } from '../../../src/skb/index.ts';
import type { TxStrategy } from '../../../src/drivers/netback/index.ts';
import { nbWorld, TestGuest, run, frame, teardown, type TxSlotSpec } from './support.ts';

interface PacketSpec {
  slots: { size: number; offset: number }[];
  gso: number | null;
  csum: boolean;
  clones: number;
  pull: number;
  seed: number;
}

const slotArb = fc.record({
  size: fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 9, arbitrary: fc.integer({ min: 1, max: 4096 }) }),
  offset: fc.nat(4095),
});
const packetArb: fc.Arbitrary<PacketSpec> = fc.record({
  slots: fc.array(slotArb, { minLength: 1, maxLength: 19 }),
  gso: fc.option(fc.integer({ min: 536, max: 1448 }), { nil: null }),
  csum: fc.boolean(),
  clones: fc.nat(2),
  pull: fc.nat(2000),
  seed: fc.nat(255),
});

/** Make a spec legal: first slot ≥ 14 bytes, no slot crossing its page, at most 64 KiB − 1 in all. */
function legalLayout(spec: PacketSpec): TxSlotSpec[] {
  const out: TxSlotSpec[] = [];
  let total = 0;
  for (const [i, s] of spec.slots.entries()) {
    let size = i === 0 ? Math.max(s.size, spec.gso !== null ? 60 : 14) : s.size;
    if (total + size > 65535) size = 65535 - total;
    if (i === 0 && size < 14) break;
    out.push({ size, offset: Math.min(s.offset, 4096 - size) });
    total += size;
  }
  return out;
}

function checkStrategy(strategy: TxStrategy, packets: PacketSpec[], order: number[], delays: number[]): void {
  const violations: string[] = [];
  const grefOf = new Map<number, number>();
  let g: TestGuest | null = null;
  const w = nbWorld({
    strategy,
    onTrace: (e) => {
      if (e.kind !== 'answered' || strategy === 'plain-ref' || g === null) return;
      const ref = grefOf.get(e.id);
      if (ref !== undefined && e.status === XEN_NETIF_RSP_OKAY && (g.grantBusy(ref) & GTF_reading) !== 0) {
        violations.push(`id ${e.id} answered while its grant ${ref} is mapped`);
      }
    },
  });
  g = new TestGuest(w);
  g.connect();
  const sent: { ids: number[]; extras: number; data: Uint8Array }[] = [];
  for (const spec of packets) {
    const layout = legalLayout(spec);
    const len = layout.reduce((n, s) => n + s.size, 0);
    const data = frame(len, spec.seed, { tcp: spec.gso !== null });
    const p = g.sendPacket(data, {
      layout,
      ...(spec.gso !== null && len > 54 ? { gso: { size: spec.gso, type: XEN_NETIF_GSO_TYPE_TCPV4 } } : {}),
      flags: spec.csum && spec.gso !== null ? NETTXF_csum_blank : 0,
    });
    p.ids.forEach((id, i) => grefOf.set(id, p.grefs[i]!));
    sent.push({ ids: p.ids, extras: p.slots - p.ids.length, data });
  }
  run(w);
  assert.is(w.frames.length, packets.length, 'every valid packet reaches the stack');
  for (const [i, s] of sent.entries()) {
    const got = w.frames[i]!;
    if (packets[i]!.gso !== null || packets[i]!.csum) {
      // A checksum setup may have written the pseudo-header sum into the TCP checksum field.
      got[50] = s.data[50]!;
      got[51] = s.data[51]!;
    }
    assert.equal([...got], [...s.data]);
  }
  // The stack: clones and pulls, then every reference freed in a random order at random times.
  const refs: SkBuff[] = [];
  for (const [i, skb] of w.held.splice(0).entries()) {
    const spec = packets[i]!;
    refs.push(skb);
    for (let c = 0; c < spec.clones; c++) refs.push(skbClone(skb)!);
    if (spec.clones === 0 && spec.pull > 0 && skb.dataLen > 0) pskbPullTail(skb, Math.min(spec.pull, skb.dataLen));
  }
  const keyed = refs.map((skb, i) => ({ skb, key: order[i % order.length]! * 1000 + i }));
  keyed.sort((a, b) => a.key - b.key);
  for (const [i, { skb }] of keyed.entries()) {
    kfreeSkb(skb);
    run(w, delays[i % delays.length]!);
  }
  run(w);
  const rsp = g.txResponses();
  const nulls = rsp.filter((r) => r.status === XEN_NETIF_RSP_NULL).length;
  const data = rsp.filter((r) => r.status !== XEN_NETIF_RSP_NULL);
  const ids = sent.flatMap((s) => s.ids);
  assert.is(nulls, sent.reduce((n, s) => n + s.extras, 0), 'one NULL per extra');
  assert.equal(data.map((r) => r.id).sort((a, b) => a - b), [...ids].sort((a, b) => a - b), 'each request answered exactly once');
  assert.ok(data.every((r) => r.status === XEN_NETIF_RSP_OKAY));
  assert.equal(violations, []);
  teardown(w, g);
}

for (const strategy of ['copy', 'map', 'hybrid', 'zerocopy', 'plain-ref'] as const) {
  test(`netback (${strategy}): property: random packets, random clone/free orders: answered once, never before the unmap`, () => {
    fc.assert(fc.property(
      fc.array(packetArb, { minLength: 1, maxLength: 5 }),
      fc.array(fc.nat(50), { minLength: 1, maxLength: 16 }),
      fc.array(fc.constantFrom(0, 1_000, 10_000, 500_000), { minLength: 1, maxLength: 8 }),
      (packets, order, delays) => checkStrategy(strategy, packets, order, delays),
    ), { numRuns: 25, seed: 0x5eed + strategy.length });
  });
}

test.run();
