import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { __GFP_MEMALLOC, GFP_ATOMIC, GFP_KERNEL } from '../../../src/mm/gfp.ts';
import { PageFragCache } from '../../../src/sim/swap/page-frag.ts';
import { assertBaseline, drain, putAll, zone } from '../../mm/fixtures.ts';

test('page-frag: fragments share a page, each with its own reference; the page is freed with the last one', () => {
  const { pa, mem } = zone();
  const c = new PageFragCache('t', pa);
  assert.ok(c.alloc(2048, GFP_ATOMIC));
  const a = { f: c.frame, o: c.off };
  assert.ok(c.alloc(2048, GFP_ATOMIC));
  assert.is(c.frame, a.f);
  assert.is(c.off, 2048);
  assert.is(mem.refcount[a.f], 3, 'the cache plus two fragments');
  assert.ok(c.alloc(2048, GFP_ATOMIC));
  assert.is.not(c.frame, a.f, 'fragments still alive: a new page');
  assert.is(mem.refcount[a.f], 2, 'the cache dropped its own reference');
  const b = c.frame;
  pa.putPage(a.f);
  pa.putPage(a.f);
  pa.putPage(b);
  c.release();
  assertBaseline(pa);
});

test('page-frag: a page whose fragments are all gone is recycled in place (epoch moves)', () => {
  const { pa } = zone();
  const c = new PageFragCache('t', pa);
  c.alloc(2048, GFP_ATOMIC);
  const p = c.frame;
  pa.putPage(p);
  c.alloc(2048, GFP_ATOMIC);
  pa.putPage(p);
  const e = c.epoch;
  c.alloc(2048, GFP_ATOMIC);
  assert.is(c.frame, p);
  assert.is(c.off, 0);
  assert.is(c.epoch, e + 1);
  assert.is(c.stats.recycled, 1);
  pa.putPage(p);
  c.release();
  assertBaseline(pa);
});

function reserveCache(sticky: boolean) {
  const fx = zone();
  const { pa } = fx;
  const hog = drain(pa, GFP_KERNEL);
  const hog2 = drain(pa, GFP_ATOMIC);
  const c = new PageFragCache('t', pa, sticky);
  assert.ok(c.alloc(2048, GFP_ATOMIC | __GFP_MEMALLOC), 'entitled: from the reserve');
  const p = c.frame;
  assert.ok(pa.isPfmemalloc(p));
  pa.putPage(p);
  c.alloc(2048, GFP_ATOMIC | __GFP_MEMALLOC);
  pa.putPage(p);
  putAll(pa, hog);
  putAll(pa, hog2);
  return { ...fx, c, p };
}

test('page-frag (2020 fix): a reserve page is dropped, not recycled, once memory is back', () => {
  const { pa, c } = reserveCache(false);
  const e = c.epoch;
  assert.ok(c.alloc(2048, GFP_ATOMIC));
  assert.is(c.epoch, e + 1);
  assert.not.ok(pa.isPfmemalloc(c.frame), 'freed and allocated again: an ordinary page now (the free cleared the tag)');
  assert.is(c.stats.newPages, 2);
  assert.is(c.stats.reserveDropped, 1);
  pa.putPage(c.frame);
  c.release();
  assertBaseline(pa);
});

test('page-frag (sticky bug, 2013-2020): a reserve page is recycled and keeps tagging after memory is back', () => {
  const { pa, c, p } = reserveCache(true);
  assert.ok(c.alloc(2048, GFP_ATOMIC));
  assert.is(c.frame, p);
  assert.ok(pa.isPfmemalloc(c.frame), 'still the reserve page');
  assert.is(c.stats.recycledReserve, 1);
  pa.putPage(p);
  c.release();
  assertBaseline(pa);
});

test('page-frag: a refused page leaves the cache empty and counts a failure', () => {
  const { pa } = zone();
  const hog = drain(pa, GFP_ATOMIC);
  const c = new PageFragCache('t', pa);
  assert.not.ok(c.alloc(2048, GFP_ATOMIC));
  assert.is(c.page, -1);
  assert.is(c.stats.failures, 1);
  putAll(pa, hog);
  assertBaseline(pa);
});

test('page-frag: a fragment larger than a page is a caller error', () => {
  const { pa } = zone();
  assert.throws(() => new PageFragCache('t', pa).alloc(8192, GFP_ATOMIC));
});

test.run();
