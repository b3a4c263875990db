import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  SkbSharedError,
  allocSkb,
  allocUbufInfo,
  fragDestructorAlloc,
  kfreeSkb,
  pskbMayPull,
  pskbPull,
  pskbPullTail,
  skbClone,
  skbAddRxFrag,
  skbCondense,
  skbFragDestructorUnref,
  skbGet,
  skbHeadlen,
  skbLinearize,
  skbPutData,
  skbReserve,
  skbToBytes,
  skbZcopyInit,
  SKBFL_ZEROCOPY_FRAG,
} from '../../src/skb/index.ts';
import { throwsType } from '../support/assert.ts';
import { dataPage, expectedBytes, makeSkb, pattern, refcount, sameBytes, world, type World } from './world.ts';

function twoFrags(w: World) {
  const a = dataPage(w, 1);
  const b = dataPage(w, 2);
  const frags = [{ frame: a, off: 0, size: 100 }, { frame: b, off: 50, size: 300 }];
  const skb = makeSkb(w, pattern(40, 3), frags);
  return { skb, a, b, want: expectedBytes(w, pattern(40, 3), frags) };
}

test('pull: each frag eaten whole is unreferenced; the first partly eaten one is trimmed; survivors compact', () => {
  const w = world();
  const { skb, a, b, want } = twoFrags(w);
  assert.ok(pskbPullTail(skb, 150));
  assert.is(skbHeadlen(skb), 190);
  assert.is(skb.shinfo.nrFrags, 1);
  assert.is(skb.shinfo.fragPage[0], b);
  assert.is(skb.shinfo.fragOff[0], 100);
  assert.is(skb.shinfo.fragSize[0], 250);
  assert.is(refcount(w, a), 1, 'frag 0 unreferenced');
  assert.is(refcount(w, b), 2);
  sameBytes(skbToBytes(skb), want);
  kfreeSkb(skb);
  w.pa.putPage(a);
  w.pa.putPage(b);
  w.audit.assertClean();
});

test('pull: a pull inside frag 0 only trims it and keeps nr_frags', () => {
  const w = world();
  const { skb, a, b, want } = twoFrags(w);
  assert.ok(pskbPullTail(skb, 30));
  assert.is(skb.shinfo.nrFrags, 2);
  assert.is(skb.shinfo.fragOff[0], 30);
  assert.is(skb.shinfo.fragSize[0], 70);
  assert.is(refcount(w, a), 2);
  sameBytes(skbToBytes(skb), want);
  kfreeSkb(skb);
  w.pa.putPage(a);
  w.pa.putPage(b);
  w.audit.assertClean();
});

test('pull: a cloned skb first takes its own reference on every frag, then drops the eaten ones', () => {
  const w = world();
  const page = dataPage(w, 4);
  const log = { destroyed: 0 };
  const d = fragDestructorAlloc(w.env, () => log.destroyed++);
  const frags = [{ frame: page, off: 0, size: 100, dtor: d }, { frame: page, off: 100, size: 100 }];
  const skb = makeSkb(w, pattern(10, 4), frags);
  skbFragDestructorUnref(d);
  const want = expectedBytes(w, pattern(10, 4), frags);
  const c = skbClone(skb)!;
  assert.ok(pskbPullTail(c, 100));
  assert.is.not(c.shinfo, skb.shinfo);
  assert.is(d.ref, 1, 'expand took +1, the pull dropped the eaten slot: only the original\'s slot remains');
  assert.is(log.destroyed, 0);
  assert.is(refcount(w, page), 3, 'test + slot 1 in both shinfos');
  sameBytes(skbToBytes(c), want);
  sameBytes(skbToBytes(skb), want, 'the clone\'s pull did not disturb the original');
  kfreeSkb(skb);
  assert.is(log.destroyed, 1);
  kfreeSkb(c);
  w.pa.putPage(page);
  w.audit.assertClean();
});

test('pull: too little tailroom: the head is reallocated with eat + 128 bytes of room', () => {
  const w = world();
  const page = dataPage(w, 5);
  const frags = [{ frame: page, off: 0, size: 3000 }];
  const skb = makeSkb(w, new Uint8Array(0), frags, 0);
  assert.is(skb.end, 192, 'alloc_skb(0): kmalloc-512 less the shinfo');
  assert.ok(pskbPullTail(skb, 1000));
  assert.is(skb.end, 2048 - 320, 'end + eat + 128 = 1128 bytes, rounded by kmalloc to 2048');
  sameBytes(skbToBytes(skb), expectedBytes(w, new Uint8Array(0), frags));
  kfreeSkb(skb);
  w.pa.putPage(page);
  w.audit.assertClean();
});

test('pull: into the frag list: whole members are consumed, a shared partial member is forked by a clone', () => {
  const w = world();
  const skb = allocSkb(w.env, 64)!;
  const m1 = allocSkb(w.env, 200)!;
  skbPutData(m1, pattern(100, 1));
  const m2 = allocSkb(w.env, 400)!;
  skbPutData(m2, pattern(200, 2));
  skb.shinfo.fragList = m1;
  m1.next = m2;
  skb.len = skb.dataLen = 300;
  skbGet(m2); // someone else holds m2 too
  const want = skbToBytes(skb);
  assert.ok(pskbPullTail(skb, 150));
  assert.is(skbHeadlen(skb), 150);
  assert.not.ok(m1.live, 'm1 was eaten whole and consumed');
  const head = skb.shinfo.fragList!;
  assert.is.not(head, m2, 'the shared member was replaced by a clone');
  assert.is(head.len, 150);
  assert.is(m2.users, 1, 'our reference on m2 was dropped');
  assert.is(m2.len, 200, 'the other holder\'s m2 is untouched');
  sameBytes(skbToBytes(skb), want);
  kfreeSkb(skb);
  kfreeSkb(m2);
  w.audit.assertClean();
});

test('pull: pskb_may_pull is true within headlen, false past len; pskb_pull advances data', () => {
  const w = world();
  const { skb, a, b, want } = twoFrags(w);
  assert.ok(pskbMayPull(skb, 20));
  assert.is(skb.shinfo.nrFrags, 2);
  assert.not.ok(pskbMayPull(skb, 1000));
  assert.ok(pskbPull(skb, 60));
  assert.is(skb.len, 380);
  sameBytes(skbToBytes(skb), want.subarray(60));
  kfreeSkb(skb);
  w.pa.putPage(a);
  w.pa.putPage(b);
  w.audit.assertClean();
});

test('pull: skb_linearize drops every frag reference; zerocopy completes with success = false', () => {
  const w = world();
  const { skb, a, b, want } = twoFrags(w);
  const results: boolean[] = [];
  skbZcopyInit(skb, allocUbufInfo(w.env, (_u, ok) => results.push(ok), SKBFL_ZEROCOPY_FRAG));
  assert.is(skbLinearize(skb), 0);
  assert.is(skb.dataLen, 0);
  assert.is(skb.shinfo.nrFrags, 0);
  assert.equal(results, [false]);
  assert.is(refcount(w, a), 1);
  assert.is(refcount(w, b), 1);
  sameBytes(skbToBytes(skb), want);
  kfreeSkb(skb);
  w.pa.putPage(a);
  w.pa.putPage(b);
  w.audit.assertClean();
});

test('pull: skb_condense pulls paged data that fits the tailroom and frees those frags now', () => {
  const w = world();
  const skb = allocSkb(w.env, 2000)!;
  skbReserve(skb, 64);
  skbPutData(skb, pattern(50, 1));
  const page = dataPage(w, 6);
  w.pa.getPage(page);
  skbAddRxFrag(skb, 0, page, 0, 100, 100);
  skbCondense(skb);
  assert.is(skb.dataLen, 0);
  assert.is(refcount(w, page), 1);
  assert.is(skb.truesize, skb.end + 256 + 320, 'truesize reset to the head\'s');
  kfreeSkb(skb);
  w.pa.putPage(page);
  w.audit.assertClean();
});

test('pull: pulling from a shared skb is SkbSharedError (Linux requires users == 1)', () => {
  const w = world();
  const { skb, a, b } = twoFrags(w);
  skbGet(skb);
  throwsType(() => pskbPullTail(skb, 10), SkbSharedError);
  kfreeSkb(skb);
  kfreeSkb(skb);
  w.pa.putPage(a);
  w.pa.putPage(b);
  w.audit.assertClean();
});

test.run();
