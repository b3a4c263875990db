import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { __GFP_MEMALLOC, GFP_ATOMIC, GFP_KERNEL, GFP_NOFS } from '../../src/mm/gfp.ts';
import { kswapdTask, kthreadCreate, TaskStruct } from '../../src/mm/task.ts';
import {
  directReclaimThrottled, pfmemallocWatermarkOk, THROTTLE_KILLABLE, THROTTLE_NONE, THROTTLE_TIMEOUT,
  throttleDirectReclaim,
} from '../../src/mm/vmscan.ts';
import { AllocOutcome } from '../../src/mm/zone-allocator.ts';
import { assertBaseline, drain, putAll, zone } from './fixtures.ts';

test('vmscan: the pfmemalloc watermark is ok while free > MIN/2, and waking kswapd is its side effect', () => {
  const { pa } = zone();
  const held = drain(pa, GFP_ATOMIC | __GFP_MEMALLOC, 1024 - 129);
  assert.ok(pfmemallocWatermarkOk(pa));
  held.push(pa.allocPage(GFP_ATOMIC | __GFP_MEMALLOC));
  pa.kswapdSleep();
  assert.not.ok(pfmemallocWatermarkOk(pa, false));
  assert.not.ok(pa.kswapdAwake, 'the pure check wakes nobody');
  assert.not.ok(pfmemallocWatermarkOk(pa));
  assert.ok(pa.kswapdAwake);
  putAll(pa, held);
  assertBaseline(pa);
});

test('vmscan: directReclaimThrottled is the pure predicate the scenario checks: never for kswapd', () => {
  const { pa } = zone();
  const held = drain(pa, GFP_ATOMIC | __GFP_MEMALLOC, 1024 - 100);
  assert.ok(directReclaimThrottled(pa, new TaskStruct('user')));
  assert.not.ok(directReclaimThrottled(pa, kswapdTask()));
  assert.is(pa.stats.pgscanDirectThrottle, 0, 'the predicate counts nothing');
  putAll(pa, held);
  assert.not.ok(directReclaimThrottled(pa, new TaskStruct('user')));
  assertBaseline(pa);
});

test('vmscan: in groups mode the throttle protects half of MIN plus the emergency pool', () => {
  const { pa } = zone();
  pa.adjustMemallocReserve(64);
  const held = drain(pa, GFP_ATOMIC | __GFP_MEMALLOC, 1024 - 161);
  assert.not.ok(directReclaimThrottled(pa, new TaskStruct('user')), '161 > (256 + 64) / 2');
  held.push(pa.allocPage(GFP_ATOMIC | __GFP_MEMALLOC));
  assert.ok(directReclaimThrottled(pa, new TaskStruct('user')));
  putAll(pa, held);
  pa.adjustMemallocReserve(-64);
  assertBaseline(pa);
});

test('vmscan: a user direct reclaimer is throttled at half of MIN; kernel threads are exempt', () => {
  const { pa, ctx } = zone();
  const held = drain(pa, GFP_ATOMIC | __GFP_MEMALLOC, 1024 - 128);
  assert.is(pa.freePages, 128);
  let calls = 0;
  pa.directReclaim = () => {
    calls++;
    return 0;
  };
  assert.is(pa.allocPage(GFP_KERNEL), -1);
  assert.is(pa.lastOutcome, AllocOutcome.FAIL_THROTTLED);
  assert.is(pa.stats.pgscanDirectThrottle, 1);
  assert.ok(pa.kswapdAwake, 'the failed pfmemalloc watermark woke kswapd');
  assert.is(calls, 0);
  assert.is(throttleDirectReclaim(pa, GFP_NOFS), THROTTLE_TIMEOUT, 'no __GFP_FS: waits at most HZ');
  assert.is(throttleDirectReclaim(pa, GFP_KERNEL), THROTTLE_KILLABLE);
  const user = ctx.switchTo(kthreadCreate('kjournald'));
  assert.is(throttleDirectReclaim(pa, GFP_KERNEL), THROTTLE_NONE);
  assert.is(pa.allocPage(GFP_KERNEL), -1);
  assert.is(pa.lastOutcome, AllocOutcome.FAIL_RECLAIM, 'the kthread went on to reclaim');
  assert.is(calls, 1);
  ctx.switchTo(user);
  putAll(pa, held.splice(0, 1));
  assert.is(throttleDirectReclaim(pa, GFP_KERNEL), THROTTLE_NONE, '129 > 128: no longer throttled');
  putAll(pa, held);
  assertBaseline(pa);
});

test.run();
