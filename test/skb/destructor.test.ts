import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UseAfterDestroy } from '../../src/errors.ts';
import {
  SkbEnv,
  fragDestructorAlloc,
  kfreeSkb,
  skbClone,
  skbFragDestructorRef,
  skbFragDestructorUnref,
  pskbCopy,
} from '../../src/skb/index.ts';
import { throwsType } from '../support/assert.ts';
import { dataPage, makeSkb, pattern, world } from './world.ts';

test('destructor: the producer holds one reference; destroy runs once, when the count reaches zero', () => {
  const w = world();
  let calls = 0;
  const d = fragDestructorAlloc(w.env, (x) => {
    calls++;
    assert.is(x.data, 'rpc-17');
  }, 'rpc-17');
  assert.is(d.ref, 1);
  skbFragDestructorRef(d);
  skbFragDestructorUnref(d);
  assert.is(calls, 0);
  skbFragDestructorUnref(d);
  assert.is(calls, 1);
  w.audit.assertClean();
});

test('destructor: a destroyed destructor touched again throws UseAfterDestroy (no second destroy)', () => {
  const w = world();
  let calls = 0;
  const d = fragDestructorAlloc(w.env, () => calls++);
  skbFragDestructorUnref(d);
  throwsType(() => skbFragDestructorUnref(d), UseAfterDestroy, 'ERR_USE_AFTER_DESTROY');
  throwsType(() => skbFragDestructorRef(d), UseAfterDestroy);
  assert.is(calls, 1);
  w.audit.assertClean();
});

test('destructor: clones share the slot (no ref), pskb_copy takes one per slot; destroy waits for the last', () => {
  const w = world();
  const page = dataPage(w, 1);
  let calls = 0;
  const d = fragDestructorAlloc(w.env, () => calls++);
  const skb = makeSkb(w, pattern(20, 1), [{ frame: page, off: 0, size: 1000, dtor: d }]);
  skbFragDestructorUnref(d);
  assert.is(d.ref, 1, 'one slot');
  const clone = skbClone(skb)!;
  assert.is(d.ref, 1, 'a clone shares the shinfo and its slot');
  const copy = pskbCopy(skb)!;
  assert.is(d.ref, 2, 'pskb_copy puts the frag in a second shinfo');
  kfreeSkb(skb);
  kfreeSkb(clone);
  assert.is(calls, 0, 'the copy still references the page');
  kfreeSkb(copy);
  assert.is(calls, 1);
  w.pa.putPage(page);
  w.audit.assertClean();
});

test('destructor: destroyed objects are pooled and reused oldest first after a quarantine', () => {
  const w = world();
  const first = fragDestructorAlloc(w.env, () => {});
  skbFragDestructorUnref(first);
  const made = new Set([first]);
  for (let i = 0; i < 200; i++) {
    const d = fragDestructorAlloc(w.env, () => {});
    made.add(d);
    skbFragDestructorUnref(d);
  }
  assert.ok(made.size < 201, 'objects were reused');
  assert.ok(w.env.allDestructors.length <= 70, `pool stays bounded (${w.env.allDestructors.length})`);
  w.audit.assertClean();
});

test('destructor: tracking mode records where each reference was taken and dropped', () => {
  const w = world({ tracking: true });
  const d = fragDestructorAlloc(w.env, () => {});
  skbFragDestructorRef(d);
  skbFragDestructorUnref(d);
  assert.is(d.trace!.length, 2);
  assert.match(d.trace![0]!, /ref -> 2/);
  assert.match(d.trace![0]!, /destructor\.test\.ts/);
  assert.match(d.allocSite!, /destructor\.test\.ts/);
  const f = w.audit.findings();
  assert.is(f.length, 1);
  assert.match(f[0]!, /frag destructor #\d+ not destroyed: ref 1/);
  assert.match(f[0]!, /unref -> 1/);
  skbFragDestructorUnref(d);
  w.audit.assertClean();
});

test('destructor: two domains keep separate pools', () => {
  const a = world();
  const b = new SkbEnv(a.pa);
  const d = fragDestructorAlloc(b, () => {});
  assert.is(a.env.liveDestructors, 0);
  assert.is(b.liveDestructors, 1);
  skbFragDestructorUnref(d);
  a.audit.assertClean();
});

test.run();
