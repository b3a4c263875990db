import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PageFault, UseAfterDestroy, InvalidArgument } from '../../src/errors.ts';
import { PG_pfmemalloc } from '../../src/mm/page-allocator.ts';
import {
  EMSGSIZE,
  FragRefUnderflow,
  TooManyFrags,
  allocSkb,
  fragDestructorAlloc,
  kfreeSkb,
  skbAddRxFrag,
  skbAppendPagefrags,
  skbCanCoalesce,
  skbCoalesceRxFrag,
  skbCopyBits,
  skbFillPageDesc,
  skbFragDestructor,
  skbFragDestructorUnref,
  skbFragOff,
  skbFragPage,
  skbFragRef,
  skbFragSetDestructor,
  skbFragSize,
  skbFragUnref,
  skbPagelen,
  skbToBytes,
} from '../../src/skb/index.ts';
import { throwsType } from '../support/assert.ts';
import { countingDestructor, dataPage, frameBytes, refcount, sameBytes, world } from './world.ts';

test('frag: skb_fill_page_desc takes no reference; the caller donates one per slot', () => {
  const w = world();
  const page = dataPage(w, 1);
  const skb = allocSkb(w.env, 64)!;
  skbFillPageDesc(skb, 0, page, 100, 200);
  assert.is(skb.shinfo.nrFrags, 1);
  assert.is(skbFragPage(skb, 0), page);
  assert.is(skbFragOff(skb, 0), 100);
  assert.is(skbFragSize(skb, 0), 200);
  assert.is(skbFragDestructor(skb, 0), null);
  assert.is(refcount(w, page), 1, 'still only the donated reference');
  skb.len = skb.dataLen = 200;
  kfreeSkb(skb);
  assert.is(refcount(w, page), 0, 'release dropped the donated reference and freed the page');
  w.audit.assertClean();
});

test('frag: skb_add_rx_frag accounts len, data_len and truesize', () => {
  const w = world();
  const page = dataPage(w, 2);
  const skb = allocSkb(w.env, 64)!;
  const t0 = skb.truesize;
  skbAddRxFrag(skb, 0, page, 0, 1500, 2048);
  assert.is(skb.len, 1500);
  assert.is(skb.dataLen, 1500);
  assert.is(skb.truesize, t0 + 2048);
  sameBytes(skbToBytes(skb), frameBytes(w, page, 0, 1500));
  skbCoalesceRxFrag(skb, 0, 100, 100);
  assert.is(skbFragSize(skb, 0), 1600);
  assert.is(skbPagelen(skb), 1600);
  kfreeSkb(skb);
  w.audit.assertClean();
});

test('frag: skb_frag_ref / unref move the frame count, or the destructor count when the slot has one', () => {
  const w = world();
  const page = dataPage(w, 3);
  const skb = allocSkb(w.env, 64)!;
  skbAddRxFrag(skb, 0, page, 0, 10, 10);
  skbFragRef(skb, 0);
  assert.is(refcount(w, page), 2);
  skbFragUnref(skb, 0);
  assert.is(refcount(w, page), 1);
  const log = { destroyed: 0 };
  const d = countingDestructor(w, log);
  w.pa.getPage(page);
  skbAddRxFrag(skb, 1, page, 10, 10, 10);
  skbFragSetDestructor(skb, 1, d);
  w.pa.putPage(page); // slot 1 counts on the destructor, not on the frame
  skbFragRef(skb, 1);
  assert.is(d.ref, 2);
  skbFragDestructorUnref(d);
  assert.is(refcount(w, page), 1);
  kfreeSkb(skb);
  assert.is(log.destroyed, 1);
  w.audit.assertClean();
});

test('frag: a slot past MAX_SKB_FRAGS is TooManyFrags; a frag crossing its frame is InvalidArgument', () => {
  const w = world({ maxSkbFrags: 2 });
  const page = dataPage(w, 4);
  const skb = allocSkb(w.env, 64)!;
  throwsType(() => skbFillPageDesc(skb, 2, page, 0, 1), TooManyFrags, 'ERR_TOO_MANY_FRAGS');
  throwsType(() => skbFillPageDesc(skb, 0, page, 4000, 200), InvalidArgument);
  kfreeSkb(skb);
  w.pa.putPage(page);
  w.audit.assertClean();
});

test('frag: dropping a page reference that is not held is FragRefUnderflow', () => {
  const w = world();
  const page = dataPage(w, 5);
  const skb = allocSkb(w.env, 64)!;
  skbAddRxFrag(skb, 0, page, 0, 8, 8);
  skbFragUnref(skb, 0);
  throwsType(() => skbFragUnref(skb, 0), FragRefUnderflow, 'ERR_FRAG_REF_UNDERFLOW');
  skb.shinfo.nrFrags = 0;
  skb.len = skb.dataLen = 0;
  kfreeSkb(skb);
  w.audit.assertClean();
});

test('frag: a foreign (grant-mapped) frame is read as the skb\'s domain: after unmap, reading faults', () => {
  const w = world();
  w.mem.registerDomain(1);
  const [foreign] = w.mem.populate(1, 1);
  w.mem.fill(1, foreign!, 0, 4096, 0x5a);
  w.mem.addForeignMapping(0, foreign!, false);
  const skb = allocSkb(w.env, 64)!;
  const d = fragDestructorAlloc(w.env, () => w.mem.removeForeignMapping(0, foreign!, false));
  skbAddRxFrag(skb, 0, foreign!, 0, 100, 100);
  skbFragSetDestructor(skb, 0, d);
  skbFragRef(skb, 0);
  skbFragDestructorUnref(d);
  assert.is(skbToBytes(skb)[99], 0x5a);
  // A slot that outlives its mapping (a bug the destructor design exists to prevent) faults on read:
  w.mem.removeForeignMapping(0, foreign!, false);
  throwsType(() => skbCopyBits(skb, 0, new Uint8Array(1), 0, 1), PageFault, 'ERR_PAGE_FAULT');
  w.mem.addForeignMapping(0, foreign!, false);
  kfreeSkb(skb);
  assert.is(w.mem.mappingsHeldBy(0), 0, 'the destructor unmapped');
  w.audit.assertClean();
});

test('frag: reading a slot whose destructor already ran is UseAfterDestroy', () => {
  const w = world();
  const page = dataPage(w, 6);
  const skb = allocSkb(w.env, 64)!;
  const d = fragDestructorAlloc(w.env, () => {});
  skbAddRxFrag(skb, 0, page, 0, 16, 16);
  skbFragSetDestructor(skb, 0, d);
  skbFragDestructorUnref(d); // misuse: the slot never took its reference, so its destructor is gone
  throwsType(() => skbCopyBits(skb, 0, new Uint8Array(16), 0, 16), UseAfterDestroy);
  throwsType(() => skbFragRef(skb, 0), UseAfterDestroy);
  skb.shinfo.fragDtor[0] = null;
  kfreeSkb(skb);
  w.audit.assertClean();
});

test('frag: a reserve-tagged page of this domain tags the skb pfmemalloc (__skb_fill_page_desc)', () => {
  const w = world();
  const page = dataPage(w, 7);
  w.mem.flags[page]! |= PG_pfmemalloc;
  const skb = allocSkb(w.env, 64)!;
  assert.not.ok(skb.pfmemalloc);
  skbAddRxFrag(skb, 0, page, 0, 16, 16);
  assert.ok(skb.pfmemalloc);
  kfreeSkb(skb);
  w.mem.flags[page] = 0;
  w.audit.assertClean();
});

test('frag: skb_can_coalesce needs the same page, contiguity and the same destructor', () => {
  const w = world();
  const page = dataPage(w, 8);
  const skb = allocSkb(w.env, 64)!;
  skbAddRxFrag(skb, 0, page, 0, 100, 100);
  assert.ok(skbCanCoalesce(skb, 1, page, 100));
  assert.not.ok(skbCanCoalesce(skb, 1, page, 101));
  assert.not.ok(skbCanCoalesce(skb, 0, page, 0));
  const d = fragDestructorAlloc(w.env, () => {});
  assert.not.ok(skbCanCoalesce(skb, 1, page, 100, d));
  skbFragDestructorUnref(d);
  kfreeSkb(skb);
  w.audit.assertClean();
});

test('frag: skb_append_pagefrags merges a contiguous piece, else takes get_page on a new slot, else -EMSGSIZE', () => {
  const w = world();
  const page = dataPage(w, 9);
  const skb = allocSkb(w.env, 64)!;
  assert.is(skbAppendPagefrags(skb, page, 0, 100, 2), 0);
  assert.is(refcount(w, page), 2);
  assert.is(skbAppendPagefrags(skb, page, 100, 50, 2), 0);
  assert.is(skb.shinfo.nrFrags, 1);
  assert.is(skbFragSize(skb, 0), 150);
  assert.is(refcount(w, page), 2, 'merging takes no reference');
  assert.is(skbAppendPagefrags(skb, page, 1000, 10, 2), 0);
  assert.is(skbAppendPagefrags(skb, page, 2000, 10, 2), -EMSGSIZE);
  assert.is(refcount(w, page), 3);
  skb.len = skb.dataLen = 160;
  kfreeSkb(skb);
  w.pa.putPage(page);
  w.audit.assertClean();
});

test.run();
