import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  SkbBug,
  allocSkb,
  allocUbufInfo,
  fragDestructorAlloc,
  kfreeSkb,
  skbClone,
  skbFragDestructorUnref,
  skbHeadlen,
  skbSplit,
  skbToBytes,
  skbZcopy,
  skbZcopyInit,
  SKBFL_ZEROCOPY_FRAG,
  SKBFL_DONT_ORPHAN,
} from '../../src/skb/index.ts';
import { throwsType } from '../support/assert.ts';
import { dataPage, expectedBytes, makeSkb, pattern, refcount, sameBytes, world, type World } from './world.ts';

function threeFrags(w: World, withDtor: boolean) {
  const page = dataPage(w, 1);
  const log = { destroyed: 0 };
  const d = withDtor ? fragDestructorAlloc(w.env, () => log.destroyed++) : undefined;
  const frags = [
    { frame: page, off: 0, size: 100 },
    { frame: page, off: 100, size: 100, ...(d ? { dtor: d } : {}) },
    { frame: page, off: 200, size: 100 },
  ];
  const skb = makeSkb(w, pattern(50, 1), frags);
  if (d) skbFragDestructorUnref(d);
  return { skb, page, d, log, want: expectedBytes(w, pattern(50, 1), frags) };
}

test('split: in the paged area the straddling frag lives in both skbs and gets one extra reference', () => {
  const w = world();
  const { skb, page, d, log, want } = threeFrags(w, true);
  const skb1 = allocSkb(w.env, 0)!;
  skbSplit(skb, skb1, 200); // 50 linear + frag0 (100) + 50 bytes of frag1
  assert.is(skb.len, 200);
  assert.is(skb1.len, 150);
  assert.is(skb.shinfo.nrFrags, 2);
  assert.is(skb1.shinfo.nrFrags, 2);
  assert.is(skb.shinfo.fragSize[1], 50);
  assert.is(skb1.shinfo.fragOff[0], 150);
  assert.is(skb1.shinfo.fragSize[0], 50);
  assert.is(d!.ref, 2, 'the straddling slot now lives in two shinfos');
  assert.is(refcount(w, page), 3, 'test + frag0 (stayed) + frag2 (moved): no change for whole frags');
  sameBytes(skbToBytes(skb), want.subarray(0, 200));
  sameBytes(skbToBytes(skb1), want.subarray(200));
  kfreeSkb(skb);
  assert.is(log.destroyed, 0);
  kfreeSkb(skb1);
  assert.is(log.destroyed, 1);
  w.pa.putPage(page);
  w.audit.assertClean();
});

test('split: a cut at a frag boundary moves whole frags only', () => {
  const w = world();
  const { skb, page, want } = threeFrags(w, false);
  const skb1 = allocSkb(w.env, 0)!;
  skbSplit(skb, skb1, 150);
  assert.is(skb.shinfo.nrFrags, 1);
  assert.is(skb1.shinfo.nrFrags, 2);
  assert.is(refcount(w, page), 4);
  sameBytes(skbToBytes(skb1), want.subarray(150));
  kfreeSkb(skb);
  kfreeSkb(skb1);
  w.pa.putPage(page);
  w.audit.assertClean();
});

test('split: inside the header the tail bytes are copied and every frag moves to skb1', () => {
  const w = world();
  const { skb, page, want } = threeFrags(w, false);
  const skb1 = allocSkb(w.env, 64)!;
  skbSplit(skb, skb1, 20);
  assert.is(skb.len, 20);
  assert.is(skb.shinfo.nrFrags, 0);
  assert.is(skbHeadlen(skb1), 30);
  assert.is(skb1.shinfo.nrFrags, 3);
  assert.is(refcount(w, page), 4, 'moved, not referenced again');
  sameBytes(skbToBytes(skb), want.subarray(0, 20));
  sameBytes(skbToBytes(skb1), want.subarray(20));
  kfreeSkb(skb);
  kfreeSkb(skb1);
  w.pa.putPage(page);
  w.audit.assertClean();
});

test('split: the zerocopy completion is shared into skb1 and completes after both', () => {
  const w = world();
  const { skb, page } = threeFrags(w, false);
  const results: boolean[] = [];
  const uarg = allocUbufInfo(w.env, (_u, ok) => results.push(ok), SKBFL_ZEROCOPY_FRAG | SKBFL_DONT_ORPHAN);
  skbZcopyInit(skb, uarg);
  const skb1 = allocSkb(w.env, 0)!;
  skbSplit(skb, skb1, 200);
  assert.is(skbZcopy(skb1), uarg);
  kfreeSkb(skb);
  assert.equal(results, []);
  kfreeSkb(skb1);
  assert.equal(results, [true]);
  w.pa.putPage(page);
  w.audit.assertClean();
});

test('split: a cloned skb is refused (tcp_fragment unclones first)', () => {
  const w = world();
  const { skb, page } = threeFrags(w, false);
  const c = skbClone(skb)!;
  const skb1 = allocSkb(w.env, 0)!;
  throwsType(() => skbSplit(skb, skb1, 100), SkbBug);
  for (const s of [skb, c, skb1]) kfreeSkb(s);
  w.pa.putPage(page);
  w.audit.assertClean();
});

test.run();
