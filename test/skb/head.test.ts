import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { allocSkb, headEnd, headRead, headWrite, kfreeSkb, kmallocSize } from '../../src/skb/index.ts';
import { pattern, sameBytes, world } from './world.ts';

test('head: kmalloc size classes up to a page (with 96 and 192), whole frames above', () => {
  assert.equal([1, 9, 65, 97, 129, 193, 257, 2049, 4096].map(kmallocSize), [8, 16, 96, 128, 192, 256, 512, 4096, 4096]);
  assert.is(kmallocSize(4097), 8192);
  assert.is(kmallocSize(65536 + 500), 69632);
});

test('head: end = SKB_WITH_OVERHEAD(ksize(SKB_HEAD_ALIGN(size)))', () => {
  const w = world();
  assert.is(headEnd(w.env, 0), 512 - 320);
  assert.is(headEnd(w.env, 1500), 2048 - 320);
  assert.is(headEnd(w.env, 3776), 4096 - 320, 'the largest one-page head');
  assert.is(headEnd(w.env, 3777), 8192 - 320);
});

test('head: bytes written across a frame boundary read back intact', () => {
  const w = world();
  const skb = allocSkb(w.env, 10000)!;
  assert.is(skb.shinfo.nrHeadFrames, 3);
  const src = pattern(5000, 4);
  headWrite(skb.shinfo, 3000, src, 0, 5000);
  const out = new Uint8Array(5000);
  headRead(skb.shinfo, 3000, out, 0, 5000);
  sameBytes(out, src);
  kfreeSkb(skb);
  w.audit.assertClean();
});

test.run();
