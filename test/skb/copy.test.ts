import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  SKB_GSO_FRAGLIST,
  allocSkb,
  fragDestructorAlloc,
  kfreeSkb,
  pskbCopy,
  skbCopy,
  skbCopyExpand,
  skbFragDestructorUnref,
  skbHeadlen,
  skbHeadroom,
  skbPutData,
  skbReserve,
  skbToBytes,
  skbTailroom,
} from '../../src/skb/index.ts';
import { dataPage, expectedBytes, makeSkb, pattern, refcount, reserveOnly, sameBytes, world } from './world.ts';
import { SkbEnv } from '../../src/skb/index.ts';

function bigSkb(w: ReturnType<typeof world>, dtors: boolean) {
  const log = { destroyed: 0 };
  const frags = Array.from({ length: 16 }, (_, i) => ({
    frame: dataPage(w, i),
    off: 0,
    size: 4096,
    ...(dtors ? { dtor: fragDestructorAlloc(w.env, () => log.destroyed++) } : {}),
  }));
  const skb = makeSkb(w, pattern(128, 99), frags, 64);
  for (const f of frags) if (f.dtor) skbFragDestructorUnref(f.dtor);
  return { skb, frags, log };
}

test('copy: skb_copy of a 64 KiB skb is one linear head holding no frag or destructor reference', () => {
  const w = world();
  const { skb, frags, log } = bigSkb(w, true);
  const want = expectedBytes(w, pattern(128, 99), frags);
  const n = skbCopy(skb)!;
  assert.is(n.dataLen, 0);
  assert.is(n.shinfo.nrFrags, 0);
  assert.is(skbHeadroom(n), 64);
  assert.ok(n.shinfo.nrHeadFrames > 16);
  sameBytes(skbToBytes(n), want);
  kfreeSkb(skb);
  assert.is(log.destroyed, 16, 'the copy does not hold the lent pages: every destructor fired');
  sameBytes(skbToBytes(n), want, 'and its bytes are its own');
  kfreeSkb(n);
  for (const f of frags) w.pa.putPage(f.frame);
  w.audit.assertClean();
});

test('copy: skb_copy refuses a frag-list GSO skb (null)', () => {
  const w = world();
  const skb = allocSkb(w.env, 64)!;
  skb.shinfo.gsoType = SKB_GSO_FRAGLIST;
  assert.is(skbCopy(skb), null);
  assert.is(skbCopyExpand(skb, 0, 0), null);
  kfreeSkb(skb);
  w.audit.assertClean();
});

test('copy: skb_copy_expand sets new head and tail room and shifts the header offsets', () => {
  const w = world();
  const skb = allocSkb(w.env, 200)!;
  skbReserve(skb, 20);
  skbPutData(skb, pattern(100, 4));
  skb.networkHeader = skb.data + 14;
  skb.macHeader = skb.data;
  const n = skbCopyExpand(skb, 128, 300)!;
  assert.is(skbHeadroom(n), 128);
  assert.ok(skbTailroom(n) >= 300);
  assert.is(n.networkHeader, n.data + 14);
  assert.is(n.macHeader, n.data);
  sameBytes(skbToBytes(n), pattern(100, 4));
  kfreeSkb(skb);
  kfreeSkb(n);
  w.audit.assertClean();
});

test('copy: pskb_copy copies the linear part and takes one reference per frag slot and frag-list member', () => {
  const w = world();
  const { skb, frags, log } = bigSkb(w, true);
  const member = allocSkb(w.env, 64)!;
  skb.shinfo.fragList = member;
  const want = skbToBytes(skb);
  const n = pskbCopy(skb)!;
  assert.is(skbHeadlen(n), 128);
  assert.is.not(n.shinfo, skb.shinfo);
  assert.is(n.shinfo.fragList, member);
  assert.is(member.users, 2);
  for (let i = 0; i < 16; i++) assert.is(n.shinfo.fragDtor[i]!.ref, 2);
  sameBytes(skbToBytes(n), want);
  kfreeSkb(skb);
  assert.is(log.destroyed, 0, 'the copy shares the pages');
  kfreeSkb(n);
  assert.is(log.destroyed, 16);
  for (const f of frags) w.pa.putPage(f.frame);
  w.audit.assertClean();
});

test('copy: plain page frags: pskb_copy adds one page reference per slot', () => {
  const w = world();
  const page = dataPage(w, 7);
  const skb = makeSkb(w, pattern(8, 1), [{ frame: page, off: 0, size: 10 }, { frame: page, off: 10, size: 10 }]);
  const n = pskbCopy(skb)!;
  assert.is(refcount(w, page), 1 + 2 + 2);
  kfreeSkb(skb);
  kfreeSkb(n);
  assert.is(refcount(w, page), 1);
  w.pa.putPage(page);
  w.audit.assertClean();
});

test('copy: derived buffers of a pfmemalloc skb are allocated with the reserve entitlement', () => {
  const w = world();
  const env = new SkbEnv(reserveOnly(w), { memallocSocks: () => true });
  const skb = allocSkb(env, 100, undefined, 2)!;
  assert.ok(skb.pfmemalloc);
  const c = skbCopy(skb)!;
  assert.ok(c.pfmemalloc, 'skb_copy: SKB_ALLOC_RX via skb_alloc_rx_flag');
  const p = pskbCopy(skb)!;
  assert.ok(p.pfmemalloc);
  kfreeSkb(skb);
  kfreeSkb(c);
  kfreeSkb(p);
  assert.is(w.pa.inUse, 0);
});

test.run();
