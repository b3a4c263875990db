import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  allocSkb,
  fragDestructorAlloc,
  kfreeSkb,
  skbAddRxFrag,
  skbClone,
  skbFragDestructorUnref,
  skbShift,
  skbToBytes,
  CHECKSUM_PARTIAL,
} from '../../src/skb/index.ts';
import { dataPage, expectedBytes, makeSkb, pattern, refcount, sameBytes, world } from './world.ts';

test('shift: a contiguous first frag merges into tgt\'s last; a full merge drops that slot\'s reference', () => {
  const w = world();
  const page = dataPage(w, 1);
  const tgt = makeSkb(w, pattern(10, 1), [{ frame: page, off: 0, size: 100 }]);
  const skb = makeSkb(w, new Uint8Array(0), [{ frame: page, off: 100, size: 100 }, { frame: page, off: 500, size: 100 }], 0);
  const want = new Uint8Array([...skbToBytes(tgt), ...skbToBytes(skb)]);
  assert.is(refcount(w, page), 4);
  assert.is(skbShift(tgt, skb, 150), 150);
  assert.is(tgt.shinfo.nrFrags, 2, 'merged + part of the second');
  assert.is(tgt.shinfo.fragSize[0], 200);
  assert.is(tgt.shinfo.fragSize[1], 50);
  assert.is(skb.shinfo.nrFrags, 1);
  assert.is(skb.shinfo.fragOff[0], 550);
  assert.is(refcount(w, page), 4, '-1 for the merged slot, +1 for the partly shifted one');
  assert.is(tgt.ipSummed, CHECKSUM_PARTIAL);
  sameBytes(new Uint8Array([...skbToBytes(tgt), ...skbToBytes(skb)]), want);
  kfreeSkb(tgt);
  kfreeSkb(skb);
  w.pa.putPage(page);
  w.audit.assertClean();
});

test('shift: a partial merge only adjusts sizes; whole frags move with no reference change', () => {
  const w = world();
  const page = dataPage(w, 2);
  const tgt = makeSkb(w, pattern(10, 2), [{ frame: page, off: 0, size: 100 }]);
  const skb = makeSkb(w, new Uint8Array(0), [{ frame: page, off: 100, size: 100 }], 0);
  assert.is(skbShift(tgt, skb, 40), 40);
  assert.is(tgt.shinfo.fragSize[0], 140);
  assert.is(skb.shinfo.fragOff[0], 140);
  assert.is(refcount(w, page), 3);
  const other = dataPage(w, 3);
  const s2 = makeSkb(w, new Uint8Array(0), [{ frame: other, off: 0, size: 100 }], 0);
  assert.is(skbShift(tgt, s2, 100), 100);
  assert.is(s2.shinfo.nrFrags, 0);
  assert.is(refcount(w, other), 2, 'moved');
  for (const s of [tgt, skb, s2]) kfreeSkb(s);
  w.pa.putPage(page);
  w.pa.putPage(other);
  w.audit.assertClean();
});

test('shift: declines (0) for linear data, a zero-frag target room, or a full tgt; uncloned first', () => {
  const w = world({ maxSkbFrags: 2 });
  const page = dataPage(w, 4);
  const tgt = makeSkb(w, pattern(4, 4), [{ frame: page, off: 0, size: 10 }, { frame: page, off: 1000, size: 10 }]);
  const lin = makeSkb(w, pattern(4, 5), [], 0);
  assert.is(skbShift(tgt, lin, 4), 0);
  const skb = makeSkb(w, new Uint8Array(0), [{ frame: page, off: 2000, size: 10 }], 0);
  assert.is(skbShift(tgt, skb, 10), 0, 'tgt has no free slot');
  for (const s of [tgt, lin, skb]) kfreeSkb(s);
  w.pa.putPage(page);
  w.audit.assertClean();
});

test('shift: a partly shifted frag with a destructor takes a destructor reference; cloned skbs are uncloned', () => {
  const w = world();
  const page = dataPage(w, 5);
  const log = { destroyed: 0 };
  const d = fragDestructorAlloc(w.env, () => log.destroyed++);
  const tgt = allocSkb(w.env, 64)!;
  w.pa.getPage(page);
  skbAddRxFrag(tgt, 0, page, 3000, 10, 10);
  const frags = [{ frame: page, off: 0, size: 300, dtor: d }];
  const skb = makeSkb(w, new Uint8Array(0), frags, 0);
  skbFragDestructorUnref(d);
  const c = skbClone(skb)!;
  assert.is(skbShift(tgt, skb, 100), 100);
  assert.is.not(skb.shinfo, c.shinfo, 'skb was uncloned');
  assert.is(d.ref, 3, 'clone\'s slot + skb\'s private slot + tgt\'s new slot');
  sameBytes(skbToBytes(c), expectedBytes(w, new Uint8Array(0), frags));
  for (const s of [tgt, skb, c]) kfreeSkb(s);
  assert.is(log.destroyed, 1);
  w.pa.putPage(page);
  w.audit.assertClean();
});

test.run();
