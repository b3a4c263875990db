import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  allocSkb,
  allocUbufInfo,
  kfreeSkb,
  SKBFL_DONT_ORPHAN,
  SKBFL_ZEROCOPY_FRAG,
  skbClone,
  skbCloned,
  skbCloneFraglist,
  skbHeaderCloned,
  skbHeaderRelease,
  skbMorph,
  skbToBytes,
  skbZcopy,
  skbZcopyInit,
} from '../../src/skb/index.ts';
import { dataPage, expectedBytes, makeSkb, pattern, refcount, sameBytes, world } from './world.ts';

test('clone: shares head and frags: dataref + 1, both cloned, no page reference taken', () => {
  const w = world();
  const page = dataPage(w, 1);
  const frags = [{ frame: page, off: 10, size: 500 }];
  const skb = makeSkb(w, pattern(40, 1), frags);
  skb.pfmemalloc = true;
  const c = skbClone(skb)!;
  assert.is(c.shinfo, skb.shinfo);
  assert.is(skb.shinfo.dataref, 2);
  assert.ok(skbCloned(skb) && skbCloned(c));
  assert.is(c.users, 1);
  assert.ok(c.pfmemalloc, 'the pfmemalloc tag is copied');
  assert.is(refcount(w, page), 2, 'test + one slot, not one per skb');
  sameBytes(skbToBytes(c), expectedBytes(w, pattern(40, 1), frags));
  kfreeSkb(skb);
  assert.not.ok(skbCloned(c), 'the survivor is the only holder again');
  kfreeSkb(c);
  w.pa.putPage(page);
  w.audit.assertClean();
});

test('clone: the clone does not inherit the owner hook', () => {
  const w = world();
  const skb = allocSkb(w.env, 64)!;
  skb.sk = {};
  skb.destructor = () => {};
  const c = skbClone(skb)!;
  assert.is(c.sk, null);
  assert.is(c.destructor, null);
  kfreeSkb(c);
  skb.destructor = null;
  kfreeSkb(skb);
  w.audit.assertClean();
});

test('clone: a nohdr holder keeps the header writable for its clone (skb_header_cloned)', () => {
  const w = world();
  const skb = allocSkb(w.env, 64)!;
  skbHeaderRelease(skb);
  const c = skbClone(skb)!;
  assert.ok(skbCloned(c));
  assert.not.ok(skbHeaderCloned(c), 'only the clone may write the header');
  assert.is(c.hdrLen, 0);
  kfreeSkb(skb);
  kfreeSkb(c);
  w.audit.assertClean();
});

test('clone: a zerocopy skb is orphaned first: frags copied aside, completion(false) at once', () => {
  const w = world();
  const page = dataPage(w, 2);
  const frags = [{ frame: page, off: 0, size: 3000 }];
  const skb = makeSkb(w, pattern(20, 2), frags);
  const want = expectedBytes(w, pattern(20, 2), frags);
  const results: boolean[] = [];
  skbZcopyInit(skb, allocUbufInfo(w.env, (_u, ok) => results.push(ok), SKBFL_ZEROCOPY_FRAG));
  const c = skbClone(skb)!;
  assert.equal(results, [false]);
  assert.is(skbZcopy(c), null);
  assert.is(refcount(w, page), 1, 'the lent page is released at once');
  assert.is.not(c.shinfo.fragPage[0], page);
  sameBytes(skbToBytes(c), want);
  kfreeSkb(skb);
  kfreeSkb(c);
  w.pa.putPage(page);
  w.audit.assertClean();
});

test('clone: a DONT_ORPHAN completion is shared by the clone and completes after the last holder', () => {
  const w = world();
  const page = dataPage(w, 3);
  const skb = makeSkb(w, pattern(20, 3), [{ frame: page, off: 0, size: 100 }]);
  const results: boolean[] = [];
  const uarg = allocUbufInfo(w.env, (_u, ok) => results.push(ok), SKBFL_ZEROCOPY_FRAG | SKBFL_DONT_ORPHAN);
  skbZcopyInit(skb, uarg);
  const c = skbClone(skb)!;
  assert.is(skbZcopy(c), uarg);
  kfreeSkb(skb);
  assert.equal(results, []);
  kfreeSkb(c);
  assert.equal(results, [true]);
  w.pa.putPage(page);
  w.audit.assertClean();
});

test('clone: skb_morph releases the target then clones into it; skb_clone_fraglist gets each member', () => {
  const w = world();
  const a = allocSkb(w.env, 64)!;
  const b = allocSkb(w.env, 64)!;
  const member = allocSkb(w.env, 64)!;
  a.shinfo.fragList = member;
  skbMorph(b, a);
  assert.is(b.shinfo, a.shinfo);
  skbCloneFraglist(a);
  assert.is(member.users, 2);
  kfreeSkb(member);
  kfreeSkb(a);
  kfreeSkb(b);
  w.audit.assertClean();
});

test.run();
