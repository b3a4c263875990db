import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InvalidArgument } from '../../src/errors.ts';
import { EEXIST, ENOMEM } from '../../src/mm/errors.ts';
import { __GFP_MEMALLOC, GFP_ATOMIC, GFP_KERNEL } from '../../src/mm/gfp.ts';
import { kmallocEstimateBytes } from '../../src/mm/kmalloc.ts';
import {
  allocPagesReserve, kfreeReserve, kmallocReserve, kmemCacheAllocReserve, kmemCacheFreeReserve, memReserveCharge,
  memReserveConnect, memReserveDisconnect, memReserveInfo, memReserveInit, memReserveKmallocCharge,
  memReserveKmallocSet, memReserveKmemCacheSet, memReservePagesAdd, memReservePagesCharge, memReservePagesSet,
} from '../../src/mm/reserve.ts';
import { kmemAllocEstimate, KmemAllocator, kmemCacheCreate, kmemCacheDestroy } from '../../src/mm/slab.ts';
import { AllocOutcome } from '../../src/mm/zone-allocator.ts';
import { throwsType } from '../support/assert.ts';
import { assertBaseline, drain, putAll, zone } from './fixtures.ts';

const PAGE = 4096;

/** The v20 network tree, unparented at the top until the first memalloc socket. */
function networkTree() {
  const net = memReserveInit('total network reserve');
  const tx = memReserveInit('network TX reserve', net);
  const txPages = memReserveInit('protocol TX pages', tx);
  const rx = memReserveInit('network RX reserve', net);
  const skb = memReserveInit('SKB data reserve', rx);
  return { net, tx, txPages, rx, skb };
}

test('reserve: page demand and limits propagate to every ancestor of a disconnected subtree', () => {
  const { net, tx, txPages, rx, skb } = networkTree();
  assert.is(memReservePagesSet(txPages, 32), 0);
  assert.is(memReservePagesAdd(skb, 128), 0);
  assert.equal([txPages.pages, tx.pages, rx.pages, net.pages], [32, 32, 128, 160]);
  assert.is(net.limit, 160 * PAGE);
  assert.is(memReservePagesSet(txPages, 8), 0, 'set is absolute');
  assert.equal([tx.pages, net.pages, net.limit], [8, 136, 136 * PAGE]);
});

test('reserve: connecting under the root grows the emergency pool; disconnecting shrinks it', () => {
  const { pa } = zone();
  const { net, txPages, skb } = networkTree();
  memReservePagesSet(txPages, 32);
  memReservePagesSet(skb, 128);
  assert.is(pa.zone.pagesEmerg, 0, 'an unparented subtree reserves nothing');
  assert.is(memReserveConnect(net, pa.reserveRoot), 0);
  assert.is(pa.zone.pagesEmerg, 160);
  assert.is(pa.reserveRoot.pages, 160);
  assert.is(memReservePagesAdd(txPages, 4), 0, 'a change below a connected node reaches the pool');
  assert.is(pa.zone.pagesEmerg, 164);
  memReserveDisconnect(net);
  assert.is(pa.zone.pagesEmerg, 0);
  assert.is(pa.reserveRoot.pages, 0);
  assert.is(net.pages, 164, 'the subtree keeps its totals for the next connect');
  assertBaseline(pa);
});

test('reserve: the pool on top of MIN is what connect buys: normal and atomic callers stop higher', () => {
  const { pa } = zone();
  const { net, skb } = networkTree();
  memReservePagesSet(skb, 100);
  memReserveConnect(net, pa.reserveRoot);
  const normal = drain(pa, GFP_KERNEL);
  assert.is(pa.freePages, 356);
  const atomic = drain(pa, GFP_ATOMIC);
  assert.is(pa.freePages, 196);
  putAll(pa, [...normal, ...atomic]);
  memReserveDisconnect(net);
  assertBaseline(pa);
});

test('reserve: connect returns -EEXIST for a parented node and -ENOMEM (changing nothing) when the pool cannot grow', () => {
  const { pa } = zone();
  const { net, skb } = networkTree();
  assert.is(memReserveConnect(skb, net), -EEXIST);
  memReservePagesSet(skb, 200);
  const held = drain(pa, GFP_KERNEL, 1024 - 400);
  assert.is(memReserveConnect(net, pa.reserveRoot), -ENOMEM);
  assert.is(net.parent, null);
  assert.is(pa.reserveRoot.children.length, 0);
  assert.equal([pa.reserveRoot.pages, pa.reserveRoot.limit, pa.zone.pagesEmerg], [0, 0, 0]);
  putAll(pa, held);
  assert.is(memReserveConnect(net, pa.reserveRoot), 0);
  memReserveDisconnect(net);
  throwsType(() => memReserveDisconnect(net), InvalidArgument);
  throwsType(() => memReserveConnect(net, skb), InvalidArgument, 'ERR_INVALID_ARGUMENT');
  assertBaseline(pa);
});

test('reserve: limits move only after the pages backing them were obtained', () => {
  const { pa } = zone();
  const { net, skb } = networkTree();
  memReserveConnect(net, pa.reserveRoot);
  const held = drain(pa, GFP_KERNEL, 1024 - 300);
  assert.is(memReservePagesSet(skb, 100), -ENOMEM);
  assert.equal([skb.pages, skb.limit, net.limit, pa.reserveRoot.limit], [0, 0, 0, 0]);
  putAll(pa, held);
  assert.is(memReservePagesSet(skb, 100), 0);
  assert.is(skb.limit, 100 * PAGE);
  memReserveDisconnect(net);
  assertBaseline(pa);
});

test('reserve: a charge succeeds iff negative or usage + charge < limit; usage clamps at 0; peak is kept', () => {
  const g = memReserveInit('g');
  memReservePagesSet(g, 3);
  assert.ok(memReservePagesCharge(g, 1));
  assert.ok(memReservePagesCharge(g, 1));
  assert.not.ok(memReservePagesCharge(g, 1), 'usage + charge == limit is refused (strict, as v20)');
  assert.is(g.chargeFailures, 1);
  assert.is(g.usage, 2 * PAGE);
  assert.ok(memReservePagesCharge(g, -5));
  assert.is(g.usage, 0);
  assert.is(g.peak, 2 * PAGE);
  assert.ok(memReserveCharge(g, -1), 'a negative charge always succeeds');
});

test('reserve: kmalloc charges round to a power of two; kmem_cache charges count objects', () => {
  const { pa, ctx } = zone();
  const kmem = new KmemAllocator(pa, ctx);
  const g = memReserveInit('frag');
  assert.is(memReserveKmallocSet(g, kmem, 256 * 1024), 0);
  assert.is(g.pages, kmallocEstimateBytes(kmem, 256 * 1024));
  assert.is(g.limit, 256 * 1024);
  assert.ok(memReserveKmallocCharge(g, 1500));
  assert.is(g.usage, 2048);
  assert.ok(memReserveKmallocCharge(g, -1500));
  assert.is(g.usage, 0);
  const rt = kmemCacheCreate(kmem, 'ip_dst_cache', 256);
  const route = memReserveInit('IPv4 route cache');
  assert.is(memReserveKmemCacheSet(route, rt, 16384), 0);
  assert.equal([route.pages, route.limit], [kmemAllocEstimate(rt, 16384), 16384 * 256]);
  kmemCacheDestroy(rt);
  for (const c of kmem.caches) if (c !== null) kmemCacheDestroy(c);
  assertBaseline(pa);
});

test('reserve: /proc/reserve_info lists the tree depth first with pages in KiB and usage/limit', () => {
  const { pa } = zone();
  const { net, txPages, skb } = networkTree();
  memReservePagesSet(txPages, 53);
  memReservePagesSet(skb, 128);
  memReserveConnect(net, pa.reserveRoot);
  assert.is(memReserveInfo(pa.reserveRoot), [
    '1:0 "total reserve" 724K 0/741376',
    '2:1 "total network reserve" 724K 0/741376',
    '3:2 "network TX reserve" 212K 0/217088',
    '4:3 "protocol TX pages" 212K 0/217088',
    '5:2 "network RX reserve" 512K 0/524288',
    '6:5 "SKB data reserve" 512K 0/524288',
    '',
  ].join('\n'));
  memReserveDisconnect(net);
  assertBaseline(pa);
});

// ---- allocator integration: Neil Brown's lazy accounting ----------------------------------------------------

test('reserve: an allocation under a group is charged only when it dips below the watermarks', () => {
  const { pa } = zone();
  const skb = memReserveInit('SKB data reserve');
  memReservePagesSet(skb, 64);
  const above = allocPagesReserve(pa, GFP_ATOMIC | __GFP_MEMALLOC, skb);
  assert.is(skb.usage, 0, 'above the marks: no charge');
  const held = drain(pa, GFP_ATOMIC);
  const emerg = allocPagesReserve(pa, GFP_ATOMIC | __GFP_MEMALLOC, skb);
  assert.ok(pa.isPfmemalloc(emerg));
  assert.is(skb.usage, PAGE);
  assert.is(pa.ctx.reserve, null, 'the group is current only during the call');
  pa.putPage(emerg);
  assert.is(skb.usage, 0, 'freed: uncharged');
  pa.putPage(above);
  putAll(pa, held);
  assertBaseline(pa);
});

test('reserve: lazy uncharge: any page allocated under the group is subtracted on free while usage is non-zero', () => {
  const { pa } = zone();
  const skb = memReserveInit('SKB data reserve');
  memReservePagesSet(skb, 64);
  const normal = allocPagesReserve(pa, GFP_ATOMIC | __GFP_MEMALLOC, skb); // not an emergency page
  const held = drain(pa, GFP_ATOMIC);
  const e1 = allocPagesReserve(pa, GFP_ATOMIC | __GFP_MEMALLOC, skb);
  const e2 = allocPagesReserve(pa, GFP_ATOMIC | __GFP_MEMALLOC, skb);
  assert.is(skb.usage, 2 * PAGE);
  pa.putPage(normal);
  assert.is(skb.usage, PAGE, 'the free of a normal page under the group paid for an emergency one');
  pa.putPage(e1);
  assert.is(skb.usage, 0);
  pa.putPage(e2);
  assert.is(skb.usage, 0, 'never below zero');
  assert.is(skb.peak, 2 * PAGE);
  putAll(pa, held);
  assertBaseline(pa);
});

test('reserve: a charge over the group limit fails the allocation and takes no page', () => {
  const { pa } = zone();
  const skb = memReserveInit('SKB data reserve');
  memReservePagesSet(skb, 3); // admits 2 concurrent emergency pages
  const held = drain(pa, GFP_ATOMIC);
  const e = [allocPagesReserve(pa, GFP_ATOMIC | __GFP_MEMALLOC, skb), allocPagesReserve(pa, GFP_ATOMIC | __GFP_MEMALLOC, skb)];
  const free = pa.freePages;
  assert.is(allocPagesReserve(pa, GFP_ATOMIC | __GFP_MEMALLOC, skb), -1);
  assert.is(pa.lastOutcome, AllocOutcome.FAIL_RESERVE_LIMIT);
  assert.is(pa.freePages, free);
  assert.ok(skb.usage <= skb.limit);
  const outside = pa.allocPage(GFP_ATOMIC | __GFP_MEMALLOC);
  assert.ok(outside >= 0, 'the limit binds the group, not other entitled callers');
  putAll(pa, [...e, outside, ...held]);
  assert.is(skb.usage, 0);
  assertBaseline(pa);
});

test('reserve: kmalloc_reserve charges the group only on the emergency path; kfree_reserve uncharges lazily', () => {
  const { pa, ctx } = zone();
  const kmem = new KmemAllocator(pa, ctx);
  const frag = memReserveInit('IPv4 fragment cache');
  memReserveKmallocSet(frag, kmem, 8192);
  const a = kmallocReserve(kmem, 1500, GFP_ATOMIC | __GFP_MEMALLOC, frag);
  assert.is(frag.usage, 0, 'the normal attempt succeeded');
  const held = drain(pa, GFP_ATOMIC);
  const b = kmallocReserve(kmem, 1500, GFP_ATOMIC | __GFP_MEMALLOC, frag); // same slab as a: no new page needed
  assert.is(frag.usage, 0);
  const c = kmallocReserve(kmem, 3000, GFP_ATOMIC | __GFP_MEMALLOC, frag); // new 4096 slab, from the reserve
  assert.is(frag.usage, 4096);
  assert.is(kmallocReserve(kmem, 3000, GFP_ATOMIC, frag), -1, 'a caller without entitlement is refused');
  assert.is(frag.usage, 4096);
  const d = kmallocReserve(kmem, 3000, GFP_ATOMIC | __GFP_MEMALLOC, frag);
  assert.is(d, -1, 'a second 4 KiB charge would reach the 8 KiB limit');
  kfreeReserve(kmem, a, frag);
  assert.is(frag.usage, 2048, 'lazy: the normal object paid for part of the emergency one');
  kfreeReserve(kmem, c, frag);
  kfreeReserve(kmem, b, frag);
  assert.is(frag.usage, 0);
  for (const cache of kmem.caches) if (cache !== null) kmemCacheDestroy(cache);
  putAll(pa, held);
  assertBaseline(pa);
});

test('reserve: kmem_cache_alloc_reserve charges one object per emergency allocation', () => {
  const { pa, ctx } = zone();
  const kmem = new KmemAllocator(pa, ctx);
  const cache = kmemCacheCreate(kmem, 'rpc_tasks', 4096);
  const rpc = memReserveInit('RPC');
  memReserveKmemCacheSet(rpc, cache, 4);
  const held = drain(pa, GFP_ATOMIC);
  const objs = [0, 1, 2].map(() => kmemCacheAllocReserve(cache, GFP_ATOMIC | __GFP_MEMALLOC, rpc));
  assert.ok(objs.every((o) => o >= 0));
  assert.is(rpc.usage, 3 * 4096);
  assert.is(kmemCacheAllocReserve(cache, GFP_ATOMIC | __GFP_MEMALLOC, rpc), -1);
  for (const o of objs) kmemCacheFreeReserve(cache, o, rpc);
  assert.is(rpc.usage, 0);
  kmemCacheDestroy(cache);
  putAll(pa, held);
  assertBaseline(pa);
});

test.run();
