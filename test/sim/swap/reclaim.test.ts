import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GFP_ATOMIC, GFP_HIGHUSER, GFP_KERNEL } from '../../../src/mm/gfp.ts';
import { PF_MEMALLOC, TaskStruct } from '../../../src/mm/task.ts';
import { AllocOutcome } from '../../../src/mm/zone-allocator.ts';
import { Reclaim } from '../../../src/sim/swap/reclaim.ts';
import { assertBaseline, drain, putAll, zone } from '../../mm/fixtures.ts';
import { endWorld, smallWorld } from './fixtures.ts';

test('reclaim: shrink frees written pages first, then pages out dirty ones to the swap device', () => {
  const w = smallWorld('mainline', { anonPerStep: 0, floodFrames: 0 });
  const r = w.reclaim;
  const written = drain(w.pages, GFP_KERNEL, 3);
  const dirty = drain(w.pages, GFP_HIGHUSER, 5);
  for (const f of written) r.onWritten(f);
  for (const f of dirty) r.addAnon(f);
  const free = w.zone.freePages;
  assert.is(r.shrink(4), 3);
  assert.is(w.zone.freePages, free + 3);
  assert.is(w.client.queue.count, 4, 'up to the pass size');
  assert.is(r.lru.count, 1);
  endWorld(w);
});

test('reclaim: a user task that fails an allocation direct-reclaims through the allocator hook (PF_MEMALLOC set)', () => {
  const { pa, ctx } = zone();
  const r = new Reclaim(pa, pa, 1);
  const hog = drain(pa, GFP_KERNEL);
  const back = hog.splice(0, 4);
  for (const f of back) r.onWritten(f);
  let flags = 0;
  r.observer = { onDirectReclaim: (t) => (flags = t.flags) };
  ctx.switchTo(new TaskStruct('usemem'));
  const before = r.stats.directReclaims;
  const f = pa.allocPage(GFP_KERNEL);
  assert.ok(f >= 0);
  assert.is(r.stats.directReclaims, before + 1);
  assert.ok((flags & PF_MEMALLOC) !== 0);
  assert.is(ctx.current.flags & PF_MEMALLOC, 0, 'restored afterwards');
  putAll(pa, [...hog, f]);
  r.teardown();
  assertBaseline(pa);
});

test('reclaim: below half the reserve a user task is throttled; kswapd wakes it once free > reserve/2 and sleeps when balanced', () => {
  const { pa, ctx } = zone();
  const r = new Reclaim(pa, pa, 2);
  const hog = [...drain(pa, GFP_KERNEL), ...drain(pa, GFP_ATOMIC)];
  ctx.switchTo(new TaskStruct('usemem'));
  assert.is(pa.allocPage(GFP_HIGHUSER), -1);
  assert.is(pa.lastOutcome, AllocOutcome.FAIL_THROTTLED);
  r.park(0);
  assert.ok(r.isParked(0));
  assert.ok(pa.kswapdAwake, 'the throttle check woke kswapd');
  for (const f of hog.splice(0, 200)) r.onWritten(f);
  r.kswapdRun();
  assert.not.ok(r.isParked(0), 'free > reserve/2: woken');
  assert.ok(pa.kswapdAwake, 'not balanced yet');
  r.park(1);
  for (const f of hog.splice(0, hog.length)) r.onWritten(f);
  for (let i = 0; i < 10 && pa.kswapdAwake; i++) r.kswapdRun();
  assert.not.ok(pa.kswapdAwake, 'balanced above HIGH: asleep');
  assert.is(r.waiters, 0, 'and nobody left waiting');
  r.teardown();
  assertBaseline(pa);
});

test('reclaim: kswapd is a kernel thread and is never throttled', () => {
  const { pa } = zone();
  const r = new Reclaim(pa, pa, 1);
  assert.ok(r.kswapd.isKthread);
  assert.ok((r.kswapd.flags & PF_MEMALLOC) !== 0);
  r.teardown();
});

test.run();
