import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GFP_KERNEL } from '../../src/mm/gfp.ts';
import {
  allocSkb,
  allocUbufInfo,
  buildSkb,
  kfreeSkb,
  kfreeSkbPartial,
  skbAddRxFrag,
  skbClone,
  skbPutData,
  skbTailroom,
  skbReserve,
  skbToBytes,
  skbTryCoalesce,
  skbZcopyInit,
  type SkbCoalesceResult,
} from '../../src/skb/index.ts';
import { dataPage, makeSkb, pattern, refcount, sameBytes, world, type World } from './world.ts';

const out: SkbCoalesceResult = { fragstolen: false, deltaTruesize: 0 };

function pageFragSkb(w: World, len: number, seed: number) {
  const frame = w.pa.allocPage(GFP_KERNEL);
  const skb = buildSkb(w.env, frame, 0, 2048);
  skbReserve(skb, 64);
  skbPutData(skb, pattern(len, seed));
  return { skb, frame };
}

test('coalesce: a small from is copied into to\'s tailroom', () => {
  const w = world();
  const to = allocSkb(w.env, 1000)!;
  skbPutData(to, pattern(10, 1));
  const from = allocSkb(w.env, 100)!;
  skbPutData(from, pattern(20, 2));
  assert.ok(skbTryCoalesce(to, from, out));
  assert.not.ok(out.fragstolen);
  sameBytes(skbToBytes(to), new Uint8Array([...pattern(10, 1), ...pattern(20, 2)]));
  kfreeSkb(from);
  kfreeSkb(to);
  w.audit.assertClean();
});

/** A linear `to` with no tailroom left, so coalescing must go through frags. */
function fullTo(w: World) {
  const to = allocSkb(w.env, 8)!;
  skbPutData(to, pattern(skbTailroom(to), 1));
  return to;
}

test('coalesce: from\'s page-fragment head is stolen as a frag of to, with no new reference', () => {
  const w = world();
  const to = fullTo(w);
  const before = skbToBytes(to);
  const { skb: from, frame } = pageFragSkb(w, 300, 3);
  const page = dataPage(w, 4);
  w.pa.getPage(page);
  skbAddRxFrag(from, 0, page, 0, 100, 100);
  assert.ok(skbTryCoalesce(to, from, out));
  assert.ok(out.fragstolen);
  assert.is(to.shinfo.nrFrags, 2);
  assert.is(to.shinfo.fragPage[0], frame);
  assert.is(refcount(w, frame), 1, 'the head\'s own reference moved to the frag');
  assert.is(refcount(w, page), 2, 'from\'s frag moved (from was not cloned)');
  assert.is(from.shinfo.nrFrags, 0);
  sameBytes(skbToBytes(to), new Uint8Array([...before, ...pattern(300, 3), ...pattern(4096, 4).subarray(0, 100)]));
  kfreeSkbPartial(from, true);
  kfreeSkb(to);
  assert.is(refcount(w, frame), 0);
  w.pa.putPage(page);
  w.audit.assertClean();
});

test('coalesce: a cloned from keeps its frags and to takes a reference on each', () => {
  const w = world();
  const to = fullTo(w);
  const page = dataPage(w, 5);
  const from = makeSkb(w, new Uint8Array(0), [{ frame: page, off: 0, size: 3000 }], 0);
  const c = skbClone(from)!;
  assert.ok(skbTryCoalesce(to, from, out));
  assert.not.ok(out.fragstolen);
  assert.is(refcount(w, page), 3, 'test + from\'s slot + to\'s new slot');
  for (const s of [to, from, c]) kfreeSkb(s);
  w.pa.putPage(page);
  w.audit.assertClean();
});

test('coalesce: refuses a cloned to, a frag list, a zerocopy skb and a kmalloc (locked) head', () => {
  const w = world();
  const to = fullTo(w);
  const kmallocHead = makeSkb(w, pattern(600, 2), [], 0);
  assert.not.ok(skbTryCoalesce(to, kmallocHead, out), 'a kmalloc head cannot be stolen');
  const { skb: zc } = pageFragSkb(w, 600, 3);
  skbZcopyInit(zc, allocUbufInfo(w.env, () => {}));
  assert.not.ok(skbTryCoalesce(to, zc, out));
  const { skb: withList } = pageFragSkb(w, 600, 4);
  withList.shinfo.fragList = allocSkb(w.env, 0)!;
  assert.not.ok(skbTryCoalesce(to, withList, out));
  const c = skbClone(to)!;
  const { skb: ok } = pageFragSkb(w, 600, 5);
  assert.not.ok(skbTryCoalesce(to, ok, out), 'to is cloned');
  for (const s of [to, kmallocHead, zc, withList, c, ok]) kfreeSkb(s);
  w.audit.assertClean();
});

test.run();
