import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  allocSkb,
  fragDestructorAlloc,
  kfreeSkb,
  pskbTrim,
  skbClone,
  skbFragDestructorUnref,
  skbGet,
  skbHeadlen,
  skbPutData,
  skbToBytes,
} from '../../src/skb/index.ts';
import { dataPage, expectedBytes, makeSkb, pattern, refcount, sameBytes, world } from './world.ts';

test('trim: the frag holding the cut is shortened and every later frag unreferenced', () => {
  const w = world();
  const a = dataPage(w, 1);
  const b = dataPage(w, 2);
  const frags = [{ frame: a, off: 0, size: 100 }, { frame: a, off: 100, size: 100 }, { frame: b, off: 0, size: 100 }];
  const skb = makeSkb(w, pattern(20, 1), frags);
  skb.sk = {}; // owned by a socket: no skb_condense afterwards
  const want = expectedBytes(w, pattern(20, 1), frags);
  assert.is(pskbTrim(skb, 170), 0);
  assert.is(skb.len, 170);
  assert.is(skb.dataLen, 150);
  assert.is(skb.shinfo.nrFrags, 2);
  assert.is(skb.shinfo.fragSize[1], 50);
  assert.is(refcount(w, b), 1, 'the dropped frag was unreferenced');
  assert.is(refcount(w, a), 3);
  sameBytes(skbToBytes(skb), want.subarray(0, 170));
  skb.sk = null;
  kfreeSkb(skb);
  w.pa.putPage(a);
  w.pa.putPage(b);
  w.audit.assertClean();
});

test('trim: without an owner socket the remaining paged bytes are condensed into the tailroom', () => {
  const w = world();
  const a = dataPage(w, 3);
  const skb = makeSkb(w, pattern(20, 3), [{ frame: a, off: 0, size: 100 }, { frame: a, off: 100, size: 100 }]);
  assert.is(pskbTrim(skb, 60), 0);
  assert.is(skb.dataLen, 0, 'skb_condense pulled the last 40 bytes');
  assert.is(refcount(w, a), 1);
  kfreeSkb(skb);
  w.pa.putPage(a);
  w.audit.assertClean();
});

test('trim: a cut inside the linear area drops every frag and the frag list', () => {
  const w = world();
  const a = dataPage(w, 4);
  const skb = makeSkb(w, pattern(50, 4), [{ frame: a, off: 0, size: 100 }]);
  const m = allocSkb(w.env, 64)!;
  skbPutData(m, pattern(30, 5));
  skb.shinfo.fragList = m;
  skb.len += 30;
  skb.dataLen += 30;
  assert.is(pskbTrim(skb, 30), 0);
  assert.is(skb.len, 30);
  assert.is(skbHeadlen(skb), 30);
  assert.is(skb.shinfo.fragList, null);
  assert.not.ok(m.live);
  assert.is(refcount(w, a), 1);
  sameBytes(skbToBytes(skb), pattern(30, 4));
  kfreeSkb(skb);
  w.pa.putPage(a);
  w.audit.assertClean();
});

test('trim: a cloned skb gets a private head first (+1 per frag); the clone keeps everything', () => {
  const w = world();
  const a = dataPage(w, 5);
  const log = { destroyed: 0 };
  const d = fragDestructorAlloc(w.env, () => log.destroyed++);
  const frags = [{ frame: a, off: 0, size: 100 }, { frame: a, off: 100, size: 100, dtor: d }];
  const skb = makeSkb(w, pattern(10, 5), frags);
  skbFragDestructorUnref(d);
  const want = expectedBytes(w, pattern(10, 5), frags);
  const c = skbClone(skb)!;
  c.sk = {};
  assert.is(pskbTrim(c, 60), 0);
  assert.is(c.shinfo.nrFrags, 1);
  assert.is(d.ref, 1, 'expand +1, then the trimmed slot -1');
  assert.is(refcount(w, a), 3);
  sameBytes(skbToBytes(skb), want);
  sameBytes(skbToBytes(c), want.subarray(0, 60));
  c.sk = null;
  kfreeSkb(c);
  kfreeSkb(skb);
  assert.is(log.destroyed, 1);
  w.pa.putPage(a);
  w.audit.assertClean();
});

test('trim: a cut in the frag list clones a shared member, trims the boundary one and drops the rest', () => {
  const w = world();
  const skb = allocSkb(w.env, 64)!;
  const ms = [100, 200, 100].map((n, i) => {
    const m = allocSkb(w.env, 300)!;
    skbPutData(m, pattern(n, 10 + i));
    return m;
  });
  skb.shinfo.fragList = ms[0]!;
  ms[0]!.next = ms[1]!;
  ms[1]!.next = ms[2]!;
  skb.len = skb.dataLen = 400;
  skb.sk = {};
  skbGet(ms[1]!);
  const want = skbToBytes(skb);
  assert.is(pskbTrim(skb, 150), 0);
  assert.is(skb.len, 150);
  const second = skb.shinfo.fragList!.next!;
  assert.is.not(second, ms[1], 'the shared boundary member was replaced by a clone');
  assert.is(second.len, 50);
  assert.is(second.next, null);
  assert.is(ms[1]!.users, 1);
  assert.is(ms[1]!.len, 200, 'the other holder\'s member is untouched');
  assert.not.ok(ms[2]!.live, 'the member past the cut was freed');
  sameBytes(skbToBytes(skb), want.subarray(0, 150));
  skb.sk = null;
  kfreeSkb(skb);
  kfreeSkb(ms[1]!);
  w.audit.assertClean();
});

test('trim: pskb_trim is a no-op unless the skb is longer; a linear skb just moves its tail', () => {
  const w = world();
  const skb = allocSkb(w.env, 100)!;
  skbPutData(skb, pattern(80, 6));
  assert.is(pskbTrim(skb, 100), 0);
  assert.is(skb.len, 80);
  assert.is(pskbTrim(skb, 30), 0);
  sameBytes(skbToBytes(skb), pattern(30, 6));
  kfreeSkb(skb);
  w.audit.assertClean();
});

test.run();
