import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GFP_KERNEL } from '../../src/mm/gfp.ts';
import {
  GSO_BY_FRAGS,
  NETIF_F_GSO_PARTIAL,
  NETIF_F_HW_CSUM,
  NETIF_F_SG,
  SKB_GSO_PARTIAL,
  SKB_GSO_TCPV4,
  SkbBug,
  buildSkb,
  consumeSkb,
  fragDestructorAlloc,
  kfreeSkb,
  skbFillPageDesc,
  skbFragDestructorUnref,
  skbHeadlen,
  skbPull,
  skbPut,
  skbResetMacHeader,
  skbResetNetworkHeader,
  skbResetTransportHeader,
  skbSegment,
  skbStoreBits,
  skbToBytes,
  kfreeSkbList,
  allocSkb,
  SKB_ALLOC_RX,
  SkbEnv,
  type SkBuff,
} from '../../src/skb/index.ts';
import { throwsType } from '../support/assert.ts';
import { dataPage, makeSkb, pattern, refcount, reserveOnly, sameBytes, world, type World } from './world.ts';

/**
 * The net_core_gso KUnit cases (net/core/gso_test.c), as data: a head of `linear` payload bytes after the
 * 9-byte header "abcdefgh\0", `frags` on one page, `fragSkbs` frag-list members built over their own pages,
 * and the payload length of each segment skb_segment must produce.
 */
interface GsoCase {
  readonly name: string;
  readonly linear: number;
  readonly frags: readonly number[];
  readonly fragSkbs: readonly number[];
  readonly segs: readonly number[];
  readonly gsoSize?: number;
  readonly features?: number;
}

const SZ = 1000;
const SG_CSUM = NETIF_F_SG | NETIF_F_HW_CSUM;

const CASES: readonly GsoCase[] = [
  { name: 'no_gso', linear: SZ, frags: [], fragSkbs: [], segs: [SZ] },
  { name: 'linear', linear: 2 * SZ + 1, frags: [], fragSkbs: [], segs: [SZ, SZ, 1] },
  { name: 'frags', linear: SZ, frags: [SZ, 1], fragSkbs: [], segs: [SZ, SZ, 1] },
  { name: 'frags_pure', linear: 0, frags: [SZ, SZ, 2], fragSkbs: [], segs: [SZ, SZ, 2] },
  { name: 'gso_partial', linear: SZ, frags: [SZ, 3], fragSkbs: [], segs: [2 * SZ, 3], features: SG_CSUM | NETIF_F_GSO_PARTIAL },
  // commit 89319d3801d1: frag_list on mss boundaries
  { name: 'frag_list', linear: SZ, frags: [], fragSkbs: [SZ, SZ], segs: [SZ, SZ, SZ] },
  { name: 'frag_list_pure', linear: 0, frags: [], fragSkbs: [SZ, SZ], segs: [SZ, SZ] },
  // commit 43170c4e0ba7: GRO of frag_list trains; Linux's case runs it without SG (with SG it BUG()s)
  { name: 'frag_list_non_uniform', linear: SZ, frags: [], fragSkbs: [SZ, 1, SZ, 2], segs: [SZ, SZ, SZ, 3], features: NETIF_F_HW_CSUM },
  // commits 3953c46c3ac7 and 90017accff61: a cover skb with headers, one segment per member
  { name: 'gso_by_frags', linear: 0, frags: [], fragSkbs: [100, 200, 300, 400], segs: [100, 200, 300, 400], gsoSize: GSO_BY_FRAGS },
];

const HDR = new Uint8Array([...new TextEncoder().encode('abcdefgh'), 0]);
const ETH_P_ATALK = 0x809b;

/** A page-fragment skb over a fresh page: build_skb(page, hdr + linear + shinfo). */
function buildOverPage(w: World, size: number, seed: number): SkBuff {
  const frame = w.pa.allocPage(GFP_KERNEL);
  const skb = buildSkb(w.env, frame, 0, size + w.env.shinfoSize);
  const at = skbPut(skb, size);
  skbStoreBits(skb, at, pattern(size, seed), 0, size);
  return skb;
}

/** gso_test_func's setup, in pvnet's API. */
function buildCase(w: World, c: GsoCase): SkBuff {
  const skb = buildOverPage(w, HDR.length + c.linear, 1);
  skbResetMacHeader(skb);
  skbStoreBits(skb, 0, HDR, 0, HDR.length);
  skbPull(skb, HDR.length);
  skbResetNetworkHeader(skb);
  skbResetTransportHeader(skb);
  skb.protocol = ETH_P_ATALK;
  skb.shinfo.gsoSize = c.gsoSize ?? SZ;
  if (c.frags.length > 0) {
    const page = dataPage(w, 2);
    for (let i = 1; i < c.frags.length; i++) w.pa.getPage(page);
    let off = 0;
    c.frags.forEach((size, i) => {
      skbFillPageDesc(skb, i, page, off, size);
      off += size;
    });
    skb.dataLen = off;
    skb.len += off;
    skb.truesize += off;
  }
  let prev: SkBuff | null = null;
  c.fragSkbs.forEach((size, i) => {
    const m = buildOverPage(w, size, 10 + i);
    if (prev === null) skb.shinfo.fragList = m;
    else prev.next = m;
    prev = m;
    skb.len += size;
    skb.dataLen += size;
    skb.truesize += m.truesize;
  });
  return skb;
}

for (const c of CASES) {
  test(`segment: net_core_gso case ${c.name} gives segments of ${c.segs.join(', ')} payload bytes`, () => {
    const w = world();
    const skb = buildCase(w, c);
    const payload = skbToBytes(skb);
    const segs = skbSegment(skb, c.features ?? SG_CSUM);
    if (typeof segs === 'number') throw new Error(`skb_segment failed with ${segs}`);
    const last = segs.prev;
    const got: Uint8Array[] = [];
    let n = 0;
    for (let cur: SkBuff | null = segs; cur !== null; n++) {
      const next: SkBuff | null = cur.next;
      assert.is(cur.len, HDR.length + c.segs[n]!, `segment ${n} length`);
      assert.is(cur.macHeader, cur.data, 'segments start at the mac header');
      assert.is(cur.networkHeader, cur.data + HDR.length, 'network header follows the copied header');
      const b = skbToBytes(cur);
      assert.equal(b.subarray(0, HDR.length), HDR, 'the header was copied into every segment');
      got.push(b.subarray(HDR.length));
      if (next === null) assert.is(cur, last, 'segs.prev is the last segment');
      cur.next = null;
      consumeSkb(cur);
      cur = next;
    }
    assert.is(n, c.segs.length);
    const joined = new Uint8Array(got.reduce((a, g) => a + g.length, 0));
    got.reduce((at, g) => (joined.set(g, at), at + g.length), 0);
    sameBytes(joined, payload, 'payload bytes in order');
    consumeSkb(skb);
    w.audit.assertClean();
  });
}

test('segment: gso_partial segments carry the original gso_size, partial_segs and SKB_GSO_PARTIAL', () => {
  const w = world();
  const c = CASES.find((x) => x.name === 'gso_partial')!;
  const skb = buildCase(w, c);
  skb.shinfo.gsoType = SKB_GSO_TCPV4;
  const segs = skbSegment(skb, SG_CSUM | NETIF_F_GSO_PARTIAL) as SkBuff;
  assert.is(segs.shinfo.gsoSize, SZ);
  assert.is(segs.shinfo.gsoSegs, 2);
  assert.is(segs.shinfo.gsoType, SKB_GSO_TCPV4 | SKB_GSO_PARTIAL);
  const tail = segs.next!;
  assert.is(tail.shinfo.gsoSize, 0, 'a last segment within one MSS is no longer GSO');
  kfreeSkb(tail);
  segs.next = null;
  kfreeSkb(segs);
  kfreeSkb(skb);
  w.audit.assertClean();
});

test('segment: frag_list_non_uniform with SG hits Linux\'s BUG_ON as a typed SkbBug, leaking nothing', () => {
  const w = world();
  const skb = buildCase(w, CASES.find((x) => x.name === 'frag_list_non_uniform')!);
  throwsType(() => skbSegment(skb, SG_CSUM), SkbBug);
  kfreeSkb(skb);
  w.audit.assertClean();
});

test('segment: SG segments take one reference per slot placed; freeing everything returns each page', () => {
  const w = world();
  const pages = [dataPage(w, 1), dataPage(w, 2), dataPage(w, 3)];
  const skb = makeSkb(w, pattern(54, 9), pages.map((frame) => ({ frame, off: 0, size: 4096 })), 64);
  skb.macHeader = skb.data;
  skbPull(skb, 54);
  skb.networkHeader = skb.data;
  skb.protocol = 0x0800;
  skb.shinfo.gsoSize = 1448;
  const before = skbToBytes(skb);
  const segs = skbSegment(skb, SG_CSUM) as SkBuff;
  let count = 0;
  const slots = new Map<number, number>();
  for (let s: SkBuff | null = segs; s !== null; s = s.next) {
    count++;
    for (let i = 0; i < s.shinfo.nrFrags; i++) slots.set(s.shinfo.fragPage[i]!, (slots.get(s.shinfo.fragPage[i]!) ?? 0) + 1);
  }
  assert.is(count, Math.ceil(3 * 4096 / 1448));
  for (const p of pages) assert.is(refcount(w, p), 1 + 1 + slots.get(p)!, 'test ref + original slot + one per segment slot');
  let at = 0;
  for (let s: SkBuff | null = segs; s !== null; ) {
    const b = skbToBytes(s).subarray(54);
    sameBytes(b, before.subarray(at, at + b.length));
    at += b.length;
    const next: SkBuff | null = s.next;
    s.next = null;
    kfreeSkb(s);
    s = next;
  }
  kfreeSkb(skb);
  for (const p of pages) {
    assert.is(refcount(w, p), 1);
    w.pa.putPage(p);
  }
  w.audit.assertClean();
});

test('segment: per-frag destructors: a 64 KiB skb\'s destructors fire only after the original and every segment', () => {
  const w = world();
  const log: number[] = [];
  const frags = Array.from({ length: 16 }, (_, i) => {
    const frame = dataPage(w, i);
    const dtor = fragDestructorAlloc(w.env, () => log.push(i));
    return { frame, off: 0, size: 4096, dtor };
  });
  const skb = makeSkb(w, pattern(66, 1), frags, 64);
  for (const f of frags) skbFragDestructorUnref(f.dtor);
  skb.macHeader = skb.data;
  skbPull(skb, 66);
  skb.protocol = 0x0800;
  skb.shinfo.gsoSize = 1448;
  const segs = skbSegment(skb, SG_CSUM) as SkBuff;
  kfreeSkb(skb);
  assert.equal(log, [], 'segments still hold every destructor');
  const list: SkBuff[] = [];
  for (let s: SkBuff | null = segs; s !== null; s = s.next) list.push(s);
  for (const s of list) s.next = null;
  for (const s of list.slice(0, -1)) kfreeSkb(s);
  assert.ok(log.length < 16, 'the last segment still holds the last frag destructor');
  kfreeSkb(list[list.length - 1]!);
  assert.equal([...log].sort((a, b) => a - b), Array.from({ length: 16 }, (_, i) => i), 'each fired exactly once');
  for (const f of frags) w.pa.putPage(f.frame);
  w.audit.assertClean();
});

test('segment: without SG the payload is copied: segments hold no frag reference', () => {
  const w = world();
  const page = dataPage(w, 5);
  const skb = makeSkb(w, pattern(14, 1), [{ frame: page, off: 0, size: 3000 }], 64);
  skb.macHeader = skb.data;
  skbPull(skb, 14);
  skb.protocol = 0x0800;
  skb.shinfo.gsoSize = 1000;
  const segs = skbSegment(skb, NETIF_F_HW_CSUM) as SkBuff;
  assert.is(refcount(w, page), 2, 'test + original only');
  for (let s: SkBuff | null = segs; s !== null; s = s.next) {
    assert.is(s.shinfo.nrFrags, 0);
    assert.is(skbHeadlen(s), s.len);
  }
  const next = segs.next;
  segs.next = null;
  kfreeSkb(segs);
  let s = next;
  while (s !== null) {
    const n: SkBuff | null = s.next;
    s.next = null;
    kfreeSkb(s);
    s = n;
  }
  kfreeSkb(skb);
  w.pa.putPage(page);
  w.audit.assertClean();
});

test('segment: segments of a pfmemalloc skb are allocated with the reserve entitlement and carry the tag', () => {
  const w = world();
  const env = new SkbEnv(reserveOnly(w), { memallocSocks: () => true });
  const skb = allocSkb(env, 3000, GFP_KERNEL, SKB_ALLOC_RX)!;
  assert.ok(skb.pfmemalloc);
  skbPut(skb, 2014);
  skb.macHeader = skb.data;
  skbPull(skb, 14);
  skb.protocol = 0x0800;
  skb.shinfo.gsoSize = 1000;
  const segs = skbSegment(skb, SG_CSUM) as SkBuff;
  assert.ok(segs.pfmemalloc && segs.next!.pfmemalloc, 'each segment needed the reserve and is tagged');
  kfreeSkbList(segs);
  kfreeSkb(skb);
  assert.is(w.pa.inUse, 0);
});

test.run();
