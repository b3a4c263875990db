import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GFP_ATOMIC } from '../../src/mm/gfp.ts';
import { UseAfterDestroy, InvalidArgument } from '../../src/errors.ts';
import {
  NET_SKB_PAD,
  SKB_ALLOC_RX,
  SkbBug,
  SkbEnv,
  allocSkb,
  buildSkb,
  consumeSkb,
  kfreeSkb,
  netdevAllocSkb,
  skbHeadlen,
  skbHeadroom,
  skbHeaderRelease,
  skbPull,
  skbPush,
  skbPut,
  skbPutData,
  skbReserve,
  skbTailroom,
  skbToBytes,
  skbTrim,
  SKB_DATAREF_SHIFT,
} from '../../src/skb/index.ts';
import { throwsType } from '../support/assert.ts';
import { pattern, refcount, reserveOnly, sameBytes, world } from './world.ts';

test('alloc: a small head is one frame with Linux geometry: end = ksize - shinfo, truesize = SKB_TRUESIZE', () => {
  const w = world();
  const skb = allocSkb(w.env, 100)!;
  // SKB_DATA_ALIGN(100) + 320 = 448 -> kmalloc-512 -> end = 512 - 320.
  assert.is(skb.end, 192);
  assert.is(skb.truesize, 192 + 256 + 320);
  assert.is(skb.users, 1);
  assert.is(skb.shinfo.dataref, 1);
  assert.is(skb.shinfo.nrHeadFrames, 1);
  assert.is(skb.len, 0);
  assert.is(skbTailroom(skb), 192);
  assert.is(refcount(w, skb.shinfo.headFrames[0]!), 1);
  kfreeSkb(skb);
  w.audit.assertClean();
});

test('alloc: a 64 KiB head spans 17 frames and its bytes cross frame boundaries intact', () => {
  const w = world();
  const skb = allocSkb(w.env, 65536 + 64)!;
  assert.is(skb.shinfo.nrHeadFrames, 17);
  skbReserve(skb, 64);
  const data = pattern(65536, 3);
  skbPutData(skb, data);
  sameBytes(skbToBytes(skb), data);
  consumeSkb(skb);
  w.audit.assertClean();
});

test('alloc: head allocation failure is a normal outcome: null, nothing leaked', () => {
  const w = world({}, 4);
  assert.is(allocSkb(w.env, 5 * 4096), null);
  assert.is(w.pa.inUse, 0);
  w.audit.assertClean();
});

test('alloc: reserve, put, push, pull, trim move data/tail/len as Linux does; misuse is SkbBug', () => {
  const w = world();
  const skb = allocSkb(w.env, 256)!;
  skbReserve(skb, 32);
  assert.is(skbHeadroom(skb), 32);
  assert.is(skbPutData(skb, pattern(100, 1)), 0);
  skbPush(skb, 14);
  assert.is(skb.len, 114);
  assert.ok(skbPull(skb, 14));
  assert.is(skbPull(skb, 1000), false);
  skbTrim(skb, 50);
  assert.is(skb.len, 50);
  assert.equal(skbToBytes(skb), pattern(50, 1));
  throwsType(() => skbPush(skb, 33), SkbBug);
  throwsType(() => skbPut(skb, 10_000), SkbBug);
  kfreeSkb(skb);
  w.audit.assertClean();
});

test('alloc: a freed skb is never touched again: UseAfterDestroy', () => {
  const w = world();
  const skb = allocSkb(w.env, 64)!;
  kfreeSkb(skb);
  throwsType(() => skbPut(skb, 1), UseAfterDestroy);
  throwsType(() => kfreeSkb(skb), UseAfterDestroy);
  w.audit.assertClean();
});

test('alloc: build_skb wraps a page fragment and takes over its page reference', () => {
  const w = world();
  const frame = w.pa.allocPage(GFP_ATOMIC);
  const skb = buildSkb(w.env, frame, 0, 2048);
  assert.ok(skb.headFrag);
  assert.is(skb.end, 2048 - w.env.shinfoSize);
  assert.is(refcount(w, frame), 1);
  kfreeSkb(skb);
  assert.is(refcount(w, frame), 0);
  throwsType(() => buildSkb(w.env, frame, 3000, 2048), InvalidArgument);
  w.audit.assertClean();
});

test('alloc: netdev_alloc_skb gives NET_SKB_PAD headroom and a page-fragment head', () => {
  const w = world();
  const skb = netdevAllocSkb(w.env, 1500)!;
  assert.is(skbHeadroom(skb), NET_SKB_PAD);
  assert.ok(skb.headFrag);
  assert.ok(skbTailroom(skb) >= 1500);
  kfreeSkb(skb);
  const big = netdevAllocSkb(w.env, 9000)!;
  assert.not.ok(big.headFrag);
  kfreeSkb(big);
  w.audit.assertClean();
});

test('alloc: __skb_header_release sets nohdr and dataref = 1 + (1 << 16)', () => {
  const w = world();
  const skb = allocSkb(w.env, 64)!;
  skbHeaderRelease(skb);
  assert.ok(skb.nohdr);
  assert.is(skb.shinfo.dataref, 1 + (1 << SKB_DATAREF_SHIFT));
  kfreeSkb(skb);
  w.audit.assertClean();
});

test('alloc: pfmemalloc: the head is tagged when only the entitled retry succeeded (kmalloc_reserve)', () => {
  const w = world();
  let socks = false;
  const env = new SkbEnv(reserveOnly(w), { memallocSocks: () => socks });
  assert.is(allocSkb(env, 100, GFP_ATOMIC, SKB_ALLOC_RX), null, 'no memalloc socket: no entitlement');
  socks = true;
  const skb = allocSkb(env, 100, GFP_ATOMIC, SKB_ALLOC_RX)!;
  assert.ok(skb.pfmemalloc);
  assert.is(skbHeadlen(skb), 0);
  kfreeSkb(skb);
  assert.is(w.pa.inUse, 0);
});

test.run();
