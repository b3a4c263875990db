/** docs/skb-lifecycle.md's walk-through (clone, pull-tail, split), number by number. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  allocSkb,
  fragDestructorAlloc,
  kfreeSkb,
  pskbPullTail,
  skbClone,
  skbFragDestructorUnref,
  skbSplit,
  skbToBytes,
} from '../../src/skb/index.ts';
import { dataPage, expectedBytes, makeSkb, pattern, refcount, sameBytes, world } from './world.ts';

test('lifecycle: the documented clone / pull-tail / split walk-through holds reference for reference', () => {
  const w = world();
  const p0 = dataPage(w, 1);
  const p1 = dataPage(w, 2);
  let destroyed = 0;
  const d = fragDestructorAlloc(w.env, () => destroyed++);
  const frags = [{ frame: p0, off: 0, size: 1000, dtor: d }, { frame: p1, off: 0, size: 4096 }];
  const a = makeSkb(w, pattern(1000, 3), frags);
  skbFragDestructorUnref(d);
  const want = expectedBytes(w, pattern(1000, 3), frags);
  const s = a.shinfo;

  const b = skbClone(a)!;
  assert.is(s.dataref, 2);
  assert.is(d.ref, 1);
  assert.is(refcount(w, p1), 1 + 1, 'test + S[1]');

  assert.ok(pskbPullTail(b, 1100));
  const s1 = b.shinfo;
  assert.is.not(s1, s);
  assert.is(s.dataref, 1);
  assert.is(s1.nrFrags, 1);
  assert.is(s1.fragPage[0], p1);
  assert.is(s1.fragOff[0], 100);
  assert.is(d.ref, 1, 'S[0] only');
  assert.is(refcount(w, p1), 1 + 2, 'S[1], S\'[0]');

  const c = allocSkb(w.env, 0)!;
  skbSplit(a, c, 3000);
  assert.is(s.fragSize[1], 1000);
  assert.is(c.shinfo.fragOff[0], 1000);
  assert.is(refcount(w, p1), 1 + 3, 'S[1], S\'[0], S\'\'[0]');
  sameBytes(skbToBytes(a), want.subarray(0, 3000));
  sameBytes(skbToBytes(c), want.subarray(3000));
  sameBytes(skbToBytes(b), want);

  kfreeSkb(a);
  assert.is(destroyed, 1, 'freeing A released S: D\'s last slot');
  assert.is(refcount(w, p1), 1 + 2);
  kfreeSkb(b);
  kfreeSkb(c);
  w.pa.putPage(p0);
  w.pa.putPage(p1);
  w.audit.assertClean();
});

test.run();
