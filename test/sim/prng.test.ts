import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Prng } from '../../src/sim/prng.ts';

test('prng: the same seed gives the same sequence; another seed a different one', () => {
  const a = new Prng(42), b = new Prng(42), c = new Prng(43);
  const sa = Array.from({ length: 64 }, () => a.nextU32());
  const sb = Array.from({ length: 64 }, () => b.nextU32());
  const sc = Array.from({ length: 64 }, () => c.nextU32());
  assert.equal(sa, sb);
  assert.not.equal(sa, sc);
});

test('prng: int(lo, hi) stays in range and reaches both ends', () => {
  const p = new Prng(7);
  let lo = false, hi = false;
  for (let i = 0; i < 10000; i++) {
    const v = p.int(3, 9);
    assert.ok(v >= 3 && v <= 9 && Number.isInteger(v));
    lo ||= v === 3;
    hi ||= v === 9;
  }
  assert.ok(lo && hi);
});

test('prng: fork gives a stable stream independent of the parent', () => {
  const p = new Prng(1);
  const f1 = p.fork('guest').nextU32();
  p.nextU32();
  assert.is(p.fork('guest').nextU32(), f1);
  assert.is.not(p.fork('backend').nextU32(), f1);
});

test('prng: output is roughly uniform (chi-square over 16 buckets)', () => {
  const p = new Prng(2026);
  const buckets = new Array(16).fill(0);
  const n = 64000;
  for (let i = 0; i < n; i++) buckets[p.nextU32() >>> 28]++;
  const e = n / 16;
  const chi = buckets.reduce((s, o) => s + ((o - e) ** 2) / e, 0);
  assert.ok(chi < 40, `chi-square ${chi}`);
});

test.run();
