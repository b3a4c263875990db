import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AuditFailure } from '../../src/errors.ts';
import {
  SkbAudit,
  allocSkb,
  allocUbufInfo,
  destructorSlotRefs,
  fragDestructorAlloc,
  frameRefsFromSlots,
  kfreeSkb,
  skbFragDestructorUnref,
  skbClone,
  netZcopyPut,
} from '../../src/skb/index.ts';
import { throwsType } from '../support/assert.ts';
import { dataPage, makeSkb, pattern, world } from './world.ts';

test('audit: a leaked skb, its head frame and the pages it references are each named', () => {
  const w = world();
  const page = dataPage(w, 1);
  const skb = makeSkb(w, pattern(10, 1), [{ frame: page, off: 0, size: 100 }]);
  w.pa.putPage(page);
  const err = throwsType(() => w.audit.assertClean(), AuditFailure, 'ERR_AUDIT');
  const text = err.findings.join('\n');
  assert.match(text, new RegExp(`sk_buff #${skb.id} still live`));
  assert.match(text, new RegExp(`frame ${page}: page refcount 1, baseline 0 \\(held by frag 0 of shinfo #\\d+\\)`));
  assert.match(text, /head of shinfo/);
  assert.match(text, /page allocator: 2 pages in use/);
  kfreeSkb(skb);
  w.audit.assertClean();
});

test('audit: tracking mode names where a leaked skb was allocated and where a destructor was referenced', () => {
  const w = world({ tracking: true });
  const page = dataPage(w, 2);
  const d = fragDestructorAlloc(w.env, () => {});
  const skb = makeSkb(w, pattern(10, 2), [{ frame: page, off: 0, size: 100, dtor: d }]);
  skbFragDestructorUnref(d);
  const c = skbClone(skb)!;
  kfreeSkb(skb);
  const text = w.audit.findings().join('\n');
  assert.match(text, /sk_buff #\d+ still live/);
  assert.match(text, /allocated at:[\s\S]*audit\.test\.ts/);
  assert.match(text, /frag destructor #\d+ not destroyed: ref 1/);
  assert.match(text, /references:[\s\S]*ref -> 2[\s\S]*world\.ts/);
  kfreeSkb(c);
  w.pa.putPage(page);
  w.audit.assertClean();
});

test('audit: a completion never fired is reported; a new baseline forgets what was live before', () => {
  const w = world();
  const u = allocUbufInfo(w.env, () => {});
  assert.match(w.audit.findings().join('\n'), /zerocopy completion #\d+ not completed: refcnt 1/);
  const later = new SkbAudit(w.env);
  later.assertClean();
  netZcopyPut(u);
  w.audit.assertClean();
});

test('audit: the structural model counts one page ref per head frame and per slot without destructor', () => {
  const w = world();
  const page = dataPage(w, 3);
  const d = fragDestructorAlloc(w.env, () => {});
  const skb = makeSkb(w, pattern(10, 3), [{ frame: page, off: 0, size: 10 }, { frame: page, off: 10, size: 10, dtor: d }]);
  const c = skbClone(skb)!;
  const refs = new Int32Array(w.mem.nrFrames);
  frameRefsFromSlots(w.env, refs);
  assert.is(refs[page], 1, 'one slot, shared by the clone');
  assert.is(refs[skb.shinfo.headFrames[0]!], 1);
  assert.is(destructorSlotRefs(w.env).get(d), 1);
  assert.is(w.mem.refcount[page], 2, 'the test\'s own reference plus the slot');
  skbFragDestructorUnref(d);
  kfreeSkb(skb);
  kfreeSkb(c);
  w.pa.putPage(page);
  const skb2 = allocSkb(w.env, 10)!;
  kfreeSkb(skb2);
  w.audit.assertClean();
});

test.run();
