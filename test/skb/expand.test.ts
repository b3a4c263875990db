import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  SkbSharedError,
  allocSkb,
  fragDestructorAlloc,
  kfreeSkb,
  pskbExpandHead,
  skbClone,
  skbCloned,
  skbCow,
  skbCowHead,
  skbFragDestructorUnref,
  skbGet,
  skbHeadroom,
  skbHeaderRelease,
  skbTailroom,
  skbToBytes,
  skbUnclone,
  ENOMEM,
  SKB_ALLOC_RX,
  SkbEnv,
} from '../../src/skb/index.ts';
import { GFP_ATOMIC } from '../../src/mm/gfp.ts';
import { throwsType } from '../support/assert.ts';
import { dataPage, expectedBytes, makeSkb, pattern, refcount, reserveOnly, sameBytes, world } from './world.ts';

test('expand: an uncloned skb moves its frag descriptors to the new head with no reference change', () => {
  const w = world();
  const page = dataPage(w, 1);
  const frags = [{ frame: page, off: 0, size: 200 }];
  const skb = makeSkb(w, pattern(30, 1), frags, 16);
  skb.networkHeader = skb.data + 14;
  const oldHead = skb.shinfo.headFrames[0]!;
  assert.is(pskbExpandHead(skb, 64, 100), 0);
  assert.is(skbHeadroom(skb), 80);
  assert.is(skb.networkHeader, skb.data + 14, 'header offsets follow the data');
  assert.is(refcount(w, page), 2, 'test + the moved slot');
  assert.is(refcount(w, oldHead), 0, 'the old head was freed');
  sameBytes(skbToBytes(skb), expectedBytes(w, pattern(30, 1), frags));
  kfreeSkb(skb);
  w.pa.putPage(page);
  w.audit.assertClean();
});

test('expand: a cloned skb takes a reference on every frag and frag-list member, then leaves the old shinfo', () => {
  const w = world();
  const page = dataPage(w, 2);
  const log = { destroyed: 0 };
  const d = fragDestructorAlloc(w.env, () => log.destroyed++);
  const frags = [{ frame: page, off: 0, size: 100 }, { frame: page, off: 100, size: 100, dtor: d }];
  const skb = makeSkb(w, pattern(10, 2), frags);
  skbFragDestructorUnref(d);
  const member = allocSkb(w.env, 64)!;
  skb.shinfo.fragList = member;
  const c = skbClone(skb)!;
  assert.is(skbUnclone(c), 0);
  assert.not.ok(skbCloned(c));
  assert.not.ok(skbCloned(skb));
  assert.is.not(c.shinfo, skb.shinfo);
  assert.is(refcount(w, page), 3, 'test + a slot in each shinfo');
  assert.is(d.ref, 2);
  assert.is(member.users, 2);
  assert.is(skb.shinfo.dataref, 1);
  kfreeSkb(skb);
  assert.is(log.destroyed, 0);
  kfreeSkb(c);
  assert.is(log.destroyed, 1);
  w.pa.putPage(page);
  w.audit.assertClean();
});

test('expand: a shared skb (users > 1) is SkbSharedError; a failed allocation is -ENOMEM, skb unchanged', () => {
  const w = world({}, 2);
  const skb = allocSkb(w.env, 64)!;
  skbGet(skb);
  throwsType(() => pskbExpandHead(skb, 0, 0), SkbSharedError, 'ERR_SKB_SHARED');
  kfreeSkb(skb);
  const sh = skb.shinfo;
  assert.is(pskbExpandHead(skb, 0, 3 * 4096), -ENOMEM);
  assert.is(skb.shinfo, sh);
  kfreeSkb(skb);
  w.audit.assertClean();
});

test('expand: skb_cow adds headroom; skb_cow_head leaves a nohdr clone\'s head shared', () => {
  const w = world();
  const skb = allocSkb(w.env, 100)!;
  assert.is(skbCow(skb, 128), 0);
  assert.ok(skbHeadroom(skb) >= 128);
  assert.ok(skbTailroom(skb) > 0);
  skbHeaderRelease(skb);
  const c = skbClone(skb)!;
  const sh = c.shinfo;
  assert.is(skbCowHead(c, 0), 0);
  assert.is(c.shinfo, sh, 'the header is not cloned: no copy needed');
  assert.is(skbCow(c, 0), 0);
  assert.is.not(c.shinfo, sh, 'skb_cow wants the whole head private');
  kfreeSkb(skb);
  kfreeSkb(c);
  w.audit.assertClean();
});

test('expand: a pfmemalloc skb reallocates its head with __GFP_MEMALLOC (the reserve entitlement follows it)', () => {
  const w = world();
  const env = new SkbEnv(reserveOnly(w), { memallocSocks: () => true });
  const skb = allocSkb(env, 100, GFP_ATOMIC, SKB_ALLOC_RX)!;
  assert.ok(skb.pfmemalloc);
  assert.is(pskbExpandHead(skb, 64, 0), 0, 'only an entitled request gets a page here');
  assert.ok(skb.pfmemalloc, 'the tag stays');
  kfreeSkb(skb);
  assert.is(w.pa.inUse, 0);
});

test.run();
