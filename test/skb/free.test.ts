import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  allocSkb,
  allocUbufInfo,
  consumeSkb,
  fragDestructorAlloc,
  kfreeSkb,
  kfreeSkbList,
  kfreeSkbPartial,
  skbClone,
  skbFragDestructorUnref,
  skbGet,
  skbHeaderRelease,
  skbShared,
  skbUnref,
  skbZcopyInit,
  SKB_DATAREF_SHIFT,
} from '../../src/skb/index.ts';
import { dataPage, makeSkb, pattern, refcount, world } from './world.ts';

test('free: skb_get / kfree_skb count holders of the sk_buff; the last one frees', () => {
  const w = world();
  const skb = allocSkb(w.env, 64)!;
  skbGet(skb);
  assert.ok(skbShared(skb));
  kfreeSkb(skb);
  assert.ok(skb.live);
  assert.is(skb.users, 1);
  assert.not.ok(skbUnref(skb) === false);
  consumeSkb(skb);
  assert.not.ok(skb.live);
  assert.is(w.env.consumed, 1);
  kfreeSkb(null);
  w.audit.assertClean();
});

test('free: skb_release_data order: completion, then frag unrefs, then frag list, then head', () => {
  const w = world();
  const order: string[] = [];
  const page = dataPage(w, 1);
  const d = fragDestructorAlloc(w.env, () => order.push('frag destructor'));
  const skb = makeSkb(w, pattern(10, 1), [{ frame: page, off: 0, size: 100, dtor: d }]);
  skbFragDestructorUnref(d);
  const member = allocSkb(w.env, 64)!;
  member.destructor = () => order.push(`frag list (head refcount ${refcount(w, skb.shinfo.headFrames[0]!)})`);
  skb.shinfo.fragList = member;
  const uarg = allocUbufInfo(w.env, (_u, ok) => order.push(`completion ${ok}`));
  skbZcopyInit(skb, uarg);
  const head = skb.shinfo.headFrames[0]!;
  kfreeSkb(skb);
  assert.equal(order, ['completion true', 'frag destructor', 'frag list (head refcount 1)']);
  assert.is(refcount(w, head), 0, 'head freed last');
  w.pa.putPage(page);
  w.audit.assertClean();
});

test('free: a clone\'s release drops only its dataref share; the last holder releases the frags', () => {
  const w = world();
  const page = dataPage(w, 2);
  const skb = makeSkb(w, pattern(10, 2), [{ frame: page, off: 0, size: 100 }]);
  const c = skbClone(skb)!;
  assert.is(skb.shinfo.dataref, 2);
  kfreeSkb(skb);
  assert.is(c.shinfo.dataref, 1);
  assert.is(refcount(w, page), 2, 'test + the one slot');
  kfreeSkb(c);
  assert.is(refcount(w, page), 1);
  w.pa.putPage(page);
  w.audit.assertClean();
});

test('free: a header-released (nohdr) holder drops 1 + (1 << 16) from dataref', () => {
  const w = world();
  const skb = allocSkb(w.env, 64)!;
  skbHeaderRelease(skb);
  const c = skbClone(skb)!;
  assert.is(skb.shinfo.dataref, 2 + (1 << SKB_DATAREF_SHIFT));
  kfreeSkb(skb);
  assert.is(c.shinfo.dataref, 1);
  kfreeSkb(c);
  w.audit.assertClean();
});

test('free: the owner destructor runs once, at the last users reference', () => {
  const w = world();
  const skb = allocSkb(w.env, 64)!;
  let runs = 0;
  skb.sk = {};
  skb.destructor = () => runs++;
  skbGet(skb);
  kfreeSkb(skb);
  assert.is(runs, 0);
  kfreeSkb(skb);
  assert.is(runs, 1);
  w.audit.assertClean();
});

test('free: kfree_skb_list frees a next-linked list; kfree_skb_partial(stolen) frees only the shell', () => {
  const w = world();
  const a = allocSkb(w.env, 64)!;
  a.next = allocSkb(w.env, 64)!;
  kfreeSkbList(a);
  const skb = allocSkb(w.env, 64)!;
  const head = skb.shinfo.headFrames[0]!;
  w.pa.getPage(head); // whoever stole the head now owns this reference
  kfreeSkbPartial(skb, true);
  assert.is(refcount(w, head), 2);
  w.pa.putPage(head);
  w.pa.putPage(head);
  w.audit.assertClean();
});

test.run();
