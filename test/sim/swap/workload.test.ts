import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GFP_ATOMIC, GFP_KERNEL } from '../../../src/mm/gfp.ts';
import { Prng } from '../../../src/sim/prng.ts';
import { PAGES_PER_OBJECT } from '../../../src/sim/swap/workload.ts';
import { endWorld, smallWorld } from './fixtures.ts';

test('workload: A pages a step over D tasks, each page on the lru, a kernel object every 64 pages', () => {
  const w = smallWorld('mainline', { anonPerStep: 64, reclaimers: 4, floodFrames: 0 });
  const prng = new Prng(1);
  w.workload.step(0, prng);
  w.workload.step(1, prng);
  assert.is(w.workload.touched, 128);
  assert.is(w.reclaim.lru.count, 128);
  w.workload.step(2, prng);
  assert.ok(w.kmem.kmallocCaches.some((c) => c !== null && c !== undefined && c.inUse === 128 / PAGES_PER_OBJECT), 'owed objects are taken at the next page');
  endWorld(w);
});

test('workload: exits at targetPages and gives its address space back', () => {
  const w = smallWorld('mainline', { anonPerStep: 64, targetPages: 100, floodFrames: 0 });
  const prng = new Prng(1);
  w.workload.step(0, prng);
  w.workload.step(1, prng);
  assert.ok(w.workload.done);
  assert.is(w.workload.exitStep, 1);
  assert.is(w.workload.touched, 100);
  assert.is(w.reclaim.lru.count, 0, 'its pages are freed');
  assert.ok(w.kmem.kmallocCaches.every((c) => c === null || c === undefined || c.inUse === 0), 'and its kernel objects');
  endWorld(w);
});

test('workload: a task the allocator throttles is parked and does not run until woken', () => {
  const w = smallWorld('mainline', { anonPerStep: 8, reclaimers: 2, floodFrames: 0 });
  const hog: number[] = [];
  for (let f = w.zone.allocPage(GFP_KERNEL); f >= 0; f = w.zone.allocPage(GFP_KERNEL)) hog.push(f);
  for (let f = w.zone.allocPage(GFP_ATOMIC); f >= 0; f = w.zone.allocPage(GFP_ATOMIC)) hog.push(f);
  let ran = 0;
  w.workload.observer = { onTaskRuns: () => ran++, onSlabObject: () => {} };
  const prng = new Prng(1);
  w.workload.step(0, prng);
  assert.is(w.reclaim.waiters, 2);
  assert.is(w.workload.stats.throttledFailures, 2);
  w.workload.step(1, prng);
  assert.is(ran, 2, 'parked tasks did not run again');
  for (const f of hog) w.zone.putPage(f);
  w.reclaim.wakeAll();
  w.workload.step(2, prng);
  assert.is(ran, 4);
  assert.is(w.workload.touched, 8);
  endWorld(w);
});

test.run();
