import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GFP_KERNEL } from '../../src/mm/gfp.ts';
import {
  SKBFL_DONT_ORPHAN,
  SKBFL_ZEROCOPY_FRAG,
  allocSkb,
  allocUbufInfo,
  buildSkb,
  kfreeSkb,
  skbAddRxFrag,
  skbHeadlen,
  skbPutData,
  skbReserve,
  skbToBytes,
  skbZcopy,
  skbZcopyInit,
  skbZerocopy,
  skbZerocopyHeadlen,
} from '../../src/skb/index.ts';
import { dataPage, expectedBytes, makeSkb, pattern, refcount, sameBytes, world } from './world.ts';

test('zerocopy: with hlen the header is copied and every frag is shared with one reference each', () => {
  const w = world();
  const page = dataPage(w, 1);
  const frags = [{ frame: page, off: 0, size: 1500 }, { frame: page, off: 1500, size: 1500 }];
  const from = makeSkb(w, pattern(60, 1), frags);
  const want = expectedBytes(w, pattern(60, 1), frags);
  const hlen = skbZerocopyHeadlen(from);
  assert.is(hlen, 60);
  const to = allocSkb(w.env, hlen)!;
  assert.is(skbZerocopy(to, from, from.len - 500, hlen), 0, 'the last frag is cut to the remaining length');
  assert.is(skbHeadlen(to), 60);
  assert.is(to.shinfo.nrFrags, 2);
  assert.is(to.shinfo.fragSize[1], 1000);
  assert.is(refcount(w, page), 5);
  sameBytes(skbToBytes(to), want.subarray(0, from.len - 500));
  kfreeSkb(from);
  kfreeSkb(to);
  w.pa.putPage(page);
  w.audit.assertClean();
});

test('zerocopy: hlen = 0 makes from\'s page-fragment head frag 0 of to, with get_page', () => {
  const w = world();
  const frame = w.pa.allocPage(GFP_KERNEL);
  const from = buildSkb(w.env, frame, 0, 2048);
  skbReserve(from, 64);
  skbPutData(from, pattern(1000, 2));
  const page = dataPage(w, 3);
  w.pa.getPage(page);
  skbAddRxFrag(from, 0, page, 0, 2000, 2000);
  const want = skbToBytes(from);
  const to = allocSkb(w.env, 0)!;
  assert.is(skbZerocopy(to, from, from.len, 0), 0);
  assert.is(to.shinfo.fragPage[0], frame);
  assert.is(refcount(w, frame), 2);
  sameBytes(skbToBytes(to), want);
  kfreeSkb(from);
  kfreeSkb(to);
  assert.is(refcount(w, frame), 0);
  w.pa.putPage(page);
  w.audit.assertClean();
});

test('zerocopy: a small payload is copied; a zerocopy from is orphaned, or its DONT_ORPHAN uarg shared', () => {
  const w = world();
  const page = dataPage(w, 4);
  const from = makeSkb(w, pattern(60, 4), [{ frame: page, off: 0, size: 3000 }]);
  const small = allocSkb(w.env, 4000)!;
  assert.is(skbZerocopy(small, from, 100, 60), 0);
  assert.is(small.shinfo.nrFrags, 0);
  const results: boolean[] = [];
  const uarg = allocUbufInfo(w.env, (_u, ok) => results.push(ok), SKBFL_ZEROCOPY_FRAG | SKBFL_DONT_ORPHAN);
  skbZcopyInit(from, uarg);
  const to = allocSkb(w.env, 60)!;
  assert.is(skbZerocopy(to, from, from.len, 60), 0);
  assert.is(skbZcopy(to), uarg);
  for (const s of [small, from, to]) kfreeSkb(s);
  assert.equal(results, [true]);
  w.pa.putPage(page);
  w.audit.assertClean();
});

test.run();
