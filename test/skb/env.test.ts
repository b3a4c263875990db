import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InvalidArgument } from '../../src/errors.ts';
import { FifoRing, SkbEnv, allocSkb, kfreeSkb } from '../../src/skb/index.ts';
import { throwsType } from '../support/assert.ts';
import { world } from './world.ts';

test('env: MAX_SKB_FRAGS is per env; the shinfo overhead follows it (48 + 16 per slot, cache aligned)', () => {
  const w = world();
  assert.is(w.env.maxSkbFrags, 17);
  assert.is(w.env.shinfoSize, 320);
  assert.is(new SkbEnv(w.pa, { maxSkbFrags: 45 }).shinfoSize, 768);
  throwsType(() => new SkbEnv(w.pa, { maxSkbFrags: 0 }), InvalidArgument);
});

test('env: sk_buffs and shared infos are pooled: steady state allocates no new objects', () => {
  const w = world();
  for (let i = 0; i < 10; i++) kfreeSkb(allocSkb(w.env, 64));
  const skbs = w.env.allSkbs.length;
  const shinfos = w.env.allShinfos.length;
  for (let i = 0; i < 1000; i++) kfreeSkb(allocSkb(w.env, 64));
  assert.is(w.env.allSkbs.length, skbs);
  assert.is(w.env.allShinfos.length, shinfos);
  assert.is(w.env.liveSkbs, 0);
  w.audit.assertClean();
});

test('env: FifoRing hands items back oldest first and grows', () => {
  const r = new FifoRing<number>();
  for (let i = 0; i < 600; i++) r.push(i);
  assert.is(r.count, 600);
  assert.is(r.shift(), 0);
  assert.is(r.shift(), 1);
  assert.is(r.count, 598);
});

test.run();
