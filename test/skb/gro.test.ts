import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GFP_KERNEL } from '../../src/mm/gfp.ts';
import {
  E2BIG,
  NAPI_GRO_FREE,
  NAPI_GRO_FREE_STOLEN_HEAD,
  buildSkb,
  groPullFromFrag0,
  kfreeSkb,
  napiGroCbInit,
  napiGroFreeMerged,
  skbGroReceive,
  skbPutData,
  skbReserve,
  skbToBytes,
  skbHeadlen,
} from '../../src/skb/index.ts';
import { dataPage, frameBytes, makeSkb, pattern, refcount, sameBytes, world, type World } from './world.ts';

const HDR = 54;

/** The aggregate: a header and 1000 payload bytes in a frag. */
function aggregate(w: World) {
  const page = dataPage(w, 1);
  const p = makeSkb(w, pattern(HDR, 1), [{ frame: page, off: 0, size: 1000 }]);
  napiGroCbInit(p, HDR);
  return { p, page };
}

function payloadOf(skb: ReturnType<typeof makeSkb>) {
  return skbToBytes(skb).subarray(HDR);
}

test('gro: (a) a header-only linear part: the frags move to the aggregate, the shell is freed after', () => {
  const w = world();
  const { p, page } = aggregate(w);
  const page2 = dataPage(w, 2);
  const skb = makeSkb(w, pattern(HDR, 2), [{ frame: page2, off: 0, size: 700 }]);
  napiGroCbInit(skb, HDR);
  const want = new Uint8Array([...payloadOf(p), ...frameBytes(w, page2, 0, 700)]);
  assert.is(skbGroReceive(p, skb), 0);
  assert.is(skb.groFree, NAPI_GRO_FREE);
  assert.is(p.shinfo.nrFrags, 2);
  assert.is(skb.shinfo.nrFrags, 0);
  assert.is(p.len, HDR + 1700);
  assert.is(p.groCount, 2);
  assert.is(refcount(w, page2), 2, 'moved, not referenced again');
  sameBytes(payloadOf(p), want);
  napiGroFreeMerged(skb);
  assert.is(refcount(w, page2), 2);
  kfreeSkb(p);
  w.pa.putPage(page);
  w.pa.putPage(page2);
  w.audit.assertClean();
});

test('gro: (b) a page-fragment head: the head page becomes a frag (its reference moves), shell freed after', () => {
  const w = world();
  const { p, page } = aggregate(w);
  const frame = w.pa.allocPage(GFP_KERNEL);
  const skb = buildSkb(w.env, frame, 0, 2048);
  skbReserve(skb, 64);
  skbPutData(skb, pattern(HDR + 500, 3));
  napiGroCbInit(skb, HDR);
  const want = new Uint8Array([...payloadOf(p), ...pattern(HDR + 500, 3).subarray(HDR)]);
  assert.is(skbGroReceive(p, skb), 0);
  assert.is(skb.groFree, NAPI_GRO_FREE_STOLEN_HEAD);
  assert.is(p.shinfo.fragPage[1], frame);
  assert.is(p.shinfo.fragOff[1], 64 + HDR);
  sameBytes(payloadOf(p), want);
  napiGroFreeMerged(skb);
  assert.is(refcount(w, frame), 1, 'now held by the aggregate\'s frag only');
  kfreeSkb(p);
  assert.is(refcount(w, frame), 0);
  w.pa.putPage(page);
  w.audit.assertClean();
});

test('gro: (c) a kmalloc head joins the frag list, header-released, its users reference moved', () => {
  const w = world();
  const { p, page } = aggregate(w);
  const skb = makeSkb(w, pattern(HDR + 300, 4));
  napiGroCbInit(skb, HDR);
  skb.destructor = () => assert.unreachable('the owner hook is cleared');
  const want = new Uint8Array([...payloadOf(p), ...pattern(HDR + 300, 4).subarray(HDR)]);
  assert.is(skbGroReceive(p, skb), 0);
  assert.is(p.shinfo.fragList, skb);
  assert.is(p.groLast, skb);
  assert.ok(skb.nohdr);
  assert.is(skbHeadlen(skb), 300);
  sameBytes(payloadOf(p), want);
  napiGroFreeMerged(skb);
  assert.ok(skb.live, 'owned by the frag list now');
  kfreeSkb(p);
  assert.not.ok(skb.live);
  w.pa.putPage(page);
  w.audit.assertClean();
});

test('gro: -E2BIG at the size limit or on a flush request', () => {
  const w = world();
  const { p, page } = aggregate(w);
  const skb = makeSkb(w, pattern(HDR + 300, 5));
  napiGroCbInit(skb, HDR);
  assert.is(skbGroReceive(p, skb, 1200), -E2BIG);
  skb.groFlush = true;
  assert.is(skbGroReceive(p, skb), -E2BIG);
  kfreeSkb(skb);
  kfreeSkb(p);
  w.pa.putPage(page);
  w.audit.assertClean();
});

test('gro: gro_pull_from_frag0 moves bytes into the head and unreferences an emptied frag 0', () => {
  const w = world();
  const page = dataPage(w, 6);
  const skb = makeSkb(w, new Uint8Array(0), [{ frame: page, off: 0, size: 40 }, { frame: page, off: 100, size: 60 }], 0);
  const want = skbToBytes(skb);
  groPullFromFrag0(skb, 40);
  assert.is(skb.shinfo.nrFrags, 1);
  assert.is(skbHeadlen(skb), 40);
  assert.is(refcount(w, page), 2);
  sameBytes(skbToBytes(skb), want);
  kfreeSkb(skb);
  w.pa.putPage(page);
  w.audit.assertClean();
});

test.run();
