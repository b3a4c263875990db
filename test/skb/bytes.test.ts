import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EFAULT, allocSkb, kfreeSkb, skbCopyBits, skbPutData, skbReserve, skbStoreBits, skbToBytes } from '../../src/skb/index.ts';
import { dataPage, expectedBytes, frameBytes, makeSkb, pattern, sameBytes, world } from './world.ts';

function layered(w: ReturnType<typeof world>) {
  const page = dataPage(w, 1);
  const frags = [{ frame: page, off: 5, size: 50 }];
  const skb = makeSkb(w, pattern(30, 2), frags, 16);
  const m = allocSkb(w.env, 64)!;
  skbPutData(m, pattern(40, 3));
  skb.shinfo.fragList = m;
  skb.len += 40;
  skb.dataLen += 40;
  const want = new Uint8Array(120);
  want.set(expectedBytes(w, pattern(30, 2), frags));
  want.set(pattern(40, 3), 80);
  return { skb, page, want };
}

test('bytes: skb_copy_bits reads across head, frags and frag list, any offset and length', () => {
  const w = world();
  const { skb, page, want } = layered(w);
  sameBytes(skbToBytes(skb), want);
  for (const [off, len] of [[0, 120], [25, 10], [29, 52], [79, 2], [100, 20], [120, 0]] as const) {
    const out = new Uint8Array(len);
    assert.is(skbCopyBits(skb, off, out, 0, len), 0);
    sameBytes(out, want.subarray(off, off + len), `[${off}, ${off + len})`);
  }
  assert.is(skbCopyBits(skb, 100, new Uint8Array(30), 0, 30), -EFAULT);
  kfreeSkb(skb);
  w.pa.putPage(page);
  w.audit.assertClean();
});

test('bytes: a negative offset reaches into the headroom (skb_copy relies on it)', () => {
  const w = world();
  const s2 = allocSkb(w.env, 64)!;
  skbReserve(s2, 8);
  skbPutData(s2, pattern(8, 5));
  assert.is(skbStoreBits(s2, 0, pattern(8, 6), 0, 8), 0);
  const out = new Uint8Array(16);
  assert.is(skbCopyBits(s2, -8, out, 0, 16), 0);
  sameBytes(out.subarray(8), pattern(8, 6));
  kfreeSkb(s2);
  w.audit.assertClean();
});

test('bytes: skb_store_bits writes through to the frag\'s frame and the frag-list member', () => {
  const w = world();
  const { skb, page } = layered(w);
  const src = pattern(120, 9);
  assert.is(skbStoreBits(skb, 0, src, 0, 120), 0);
  sameBytes(skbToBytes(skb), src);
  sameBytes(frameBytes(w, page, 5, 50), src.subarray(30, 80));
  assert.is(skbStoreBits(skb, 119, src, 0, 2), -EFAULT);
  kfreeSkb(skb);
  w.pa.putPage(page);
  w.audit.assertClean();
});

test.run();
