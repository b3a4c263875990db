import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ALLOC_HARDER, ALLOC_HIGH, ALLOC_NO_WATERMARKS, ALLOC_WMARK_MIN } from '../../../src/mm/alloc-flags.ts';
import { __GFP_MEMALLOC, __GFP_NOMEMALLOC, GFP_ATOMIC, GFP_KERNEL } from '../../../src/mm/gfp.ts';
import { kfree, kmalloc } from '../../../src/mm/kmalloc.ts';
import { memReserveInit, memReservePagesSet } from '../../../src/mm/reserve.ts';
import { KmemAllocator, kmemCacheShrink } from '../../../src/mm/slab.ts';
import { PF_MEMALLOC, TaskStruct } from '../../../src/mm/task.ts';
import { AllocOutcome } from '../../../src/mm/zone-allocator.ts';
import { ETH_P_IP } from '../../../src/net/wire.ts';
import { sockQueueRcvSkbNoFilter } from '../../../src/net/sock.ts';
import { packetRcv } from '../../../src/net/tap.ts';
import { allocSkb, skbPull, skbPut } from '../../../src/skb/alloc.ts';
import { skbClone } from '../../../src/skb/clone.ts';
import { kfreeSkb } from '../../../src/skb/free.ts';
import { skbResetMacHeader } from '../../../src/skb/skbuff.ts';
import {
  FATE_FREED, FATE_MEMALLOC_SOCK, FATE_STRAY, floorViolation, groupViolation, INVARIANTS, nomemallocViolation, overrunViolation,
  pfMemallocLeak, propagationViolation, protoFilterViolation, reverseViolation, slabViolation, taggedAmongNewest, taggedFate,
  throttleViolation, waitqueueViolation,
} from '../../../src/sim/swap/invariants.ts';
import { MODES } from '../../../src/sim/swap/params.ts';
import type { SwapWorld } from '../../../src/sim/swap/world.ts';
import { assertBaseline, drain, putAll, zone } from '../../mm/fixtures.ts';
import { endWorld, smallWorld } from './fixtures.ts';

test('invariant 1: a page below the caller\'s floor, or a reserve page without NO_WATERMARKS, is a violation', () => {
  const atomic = ALLOC_WMARK_MIN | ALLOC_HIGH | ALLOC_HARDER;
  assert.is(floorViolation(atomic, AllocOutcome.OK, 96, 96), null);
  assert.match(floorViolation(atomic, AllocOutcome.OK, 95, 96)!, /below its floor 96/);
  assert.is(floorViolation(atomic | ALLOC_NO_WATERMARKS, AllocOutcome.OK_PFMEMALLOC, 0, 96), null);
  assert.match(floorViolation(atomic, AllocOutcome.OK_PFMEMALLOC, 50, 96)!, /without NO_WATERMARKS/);
  assert.match(floorViolation(atomic, AllocOutcome.OK, -1, 0)!, /negative/);
  assert.match(overrunViolation(1)!, /overrun/);
  assert.is(overrunViolation(0), null);
});

test('invariant 1 (groups): usage above the limit is a violation', () => {
  const g = memReserveInit('g');
  memReservePagesSet(g, 2);
  g.usage = 4096;
  assert.is(groupViolation(g), null);
  g.usage = 3 * 4096;
  assert.match(groupViolation(g)!, /outside \[0, 8192\]/);
});

test('invariant 5: a PF_MEMALLOC leak and a __GFP_NOMEMALLOC allocation served from the reserve are violations', () => {
  assert.ok(pfMemallocLeak(0, PF_MEMALLOC));
  assert.ok(pfMemallocLeak(PF_MEMALLOC, 0));
  assert.not.ok(pfMemallocLeak(PF_MEMALLOC | 1, PF_MEMALLOC));
  assert.ok(nomemallocViolation(__GFP_NOMEMALLOC | __GFP_MEMALLOC, AllocOutcome.OK_PFMEMALLOC) !== null);
  assert.is(nomemallocViolation(__GFP_MEMALLOC, AllocOutcome.OK_PFMEMALLOC), null);
});

test('invariant 6: a clone or frag attach of tagged memory that is not tagged is a violation', () => {
  assert.match(propagationViolation(true, false, 'clone')!, /clone/);
  assert.is(propagationViolation(true, true, 'clone'), null);
  assert.is(propagationViolation(false, false, 'clone'), null);
});

test('invariant 7: an object of a tagged slab handed to a non-entitled caller is a violation', () => {
  const { pa, ctx } = zone();
  const kmem = new KmemAllocator(pa, ctx, 1);
  const hog = [...drain(pa, GFP_KERNEL), ...drain(pa, GFP_ATOMIC)];
  const h = kmalloc(kmem, 512, GFP_ATOMIC | __GFP_MEMALLOC);
  assert.ok(h >= 0, 'the entitled caller built a slab on a reserve page');
  assert.is(slabViolation(kmem, h, GFP_ATOMIC | __GFP_MEMALLOC), null);
  assert.match(slabViolation(kmem, h, GFP_KERNEL)!, /tagged slab/);
  kfree(kmem, h);
  for (const c of kmem.caches) if (c !== null) kmemCacheShrink(c);
  putAll(pa, hog);
  assertBaseline(pa);
});

test('invariant 8: a user task reclaiming at ≤ reserve/2, or kswapd asleep over waiters, is a violation', () => {
  const { pa, ctx } = zone();
  const hog = [...drain(pa, GFP_KERNEL), ...drain(pa, GFP_ATOMIC)];
  ctx.switchTo(new TaskStruct('usemem'));
  assert.match(throttleViolation(pa, ctx.current)!, /direct-reclaimed with \d+ free/);
  assert.is(throttleViolation(pa, new TaskStruct('kswapd0', 0x00200000)), null, 'kernel threads are never throttled');
  putAll(pa, hog);
  assert.is(throttleViolation(pa, ctx.current), null);
  assert.match(waitqueueViolation(false, 2)!, /kswapd asleep with 2/);
  assert.is(waitqueueViolation(true, 2), null);
  assertBaseline(pa);
});

test('invariant 4: a tagged non-IP frame not counted as dropped is a violation', () => {
  assert.match(protoFilterViolation(2, 1)!, /2 tagged non-IP/);
  assert.is(protoFilterViolation(3, 3), null);
});

test('invariant 10: a tagged skb from a cache page started after recovery is a violation', () => {
  assert.ok(reverseViolation(true, 5, 4, true) !== null);
  assert.is(reverseViolation(true, 4, 4, true), null, 'a page started before recovery may still be tagged');
  assert.is(reverseViolation(false, 5, 4, true), null);
  assert.is(reverseViolation(true, 5, 4, false), null);
});

test('invariant 2: a tagged skb left on floodSock is a stray; one on swapSock or freed is fine', () => {
  const w = smallWorld('mainline');
  const stray = allocSkb(w.stack.env, 256)!;
  stray.pfmemalloc = true;
  assert.is(sockQueueRcvSkbNoFilter(w.floodSock, stray), 0, 'a broken stack queues it past sk_filter');
  assert.is(taggedFate(w.stack, stray, stray.gen), FATE_STRAY);
  assert.is(taggedAmongNewest(w.floodSock.receiveQueue, 1), 1);
  const fine = allocSkb(w.stack.env, 256)!;
  fine.pfmemalloc = true;
  sockQueueRcvSkbNoFilter(w.client.sock, fine);
  assert.is(taggedFate(w.stack, fine, fine.gen), FATE_MEMALLOC_SOCK);
  const gone = allocSkb(w.stack.env, 256)!;
  const gen = gone.gen;
  kfreeSkb(gone);
  assert.is(taggedFate(w.stack, gone, gen), FATE_FREED);
  endWorld(w);
});

test('invariant 3: a tap holding a tagged received skb is counted; a transmit clone only with receivedOnly off', () => {
  const w = smallWorld('mainline', { tap: true });
  const tap = w.tap!;
  const rx = allocSkb(w.stack.env, 256)!;
  skbPut(rx, 64);
  skbResetMacHeader(rx);
  skbPull(rx, 14);
  rx.pfmemalloc = true;
  rx.protocol = ETH_P_IP;
  packetRcv(tap, rx);
  const tx = allocSkb(w.stack.env, 256)!;
  skbPut(tx, 64);
  skbResetMacHeader(tx);
  tx.pfmemalloc = true;
  const clone = skbClone(tx)!;
  kfreeSkb(tx);
  packetRcv(tap, clone);
  assert.is(taggedAmongNewest(tap.sk.receiveQueue, 2, true), 1);
  assert.is(taggedAmongNewest(tap.sk.receiveQueue, 2), 2);
  endWorld(w);
});

/** A step in which a (broken) stack left a tagged skb on floodSock, as the checker sees it. */
function strayStep(w: SwapWorld, step: number): void {
  w.checker.beginStep(step);
  const stray = allocSkb(w.stack.env, 256)!;
  stray.pfmemalloc = true;
  sockQueueRcvSkbNoFilter(w.floodSock, stray);
  w.checker.afterSoftirq();
}

test('checker: fed a violating state it records the failure and reports it (floodSock stray, PF_MEMALLOC leak)', () => {
  const w = smallWorld('mainline');
  const c = w.checker;
  strayStep(w, 7);
  assert.is(c.violations[2], 1);
  assert.match(c.first[2]!, /step 7: .* 1 of them on floodSock/);
  c.onRxFlags(0, PF_MEMALLOC);
  c.onSoftirqFlags(PF_MEMALLOC, 0, 1);
  assert.is(c.violations[5], 2);
  const report = c.report();
  assert.not.ok(report.find((r) => r.name.startsWith('2 '))!.ok);
  assert.not.ok(report.find((r) => r.name.startsWith('5 '))!.ok);
  assert.ok(report.find((r) => r.name.startsWith('7 '))!.ok);
  endWorld(w);
});

test('checker: a user task still holding PF_MEMALLOC at the end of a step is a leak (invariant 5)', () => {
  const w = smallWorld('mainline');
  const task = w.workload.tasks[0]!;
  task.flags |= PF_MEMALLOC;
  w.checker.endStep();
  assert.is(w.checker.violations[5], 1);
  assert.match(w.checker.first[5]!, /usemem\/0 still has PF_MEMALLOC/);
  task.flags &= ~PF_MEMALLOC;
  endWorld(w);
});

test('checker: in the naive mode the same stray is an observation, not a failure', () => {
  const w = smallWorld('naive');
  const c = w.checker;
  strayStep(w, 1);
  assert.is(c.violations[2], 0);
  assert.is(c.seen.taggedOnFloodSock, 1);
  const r2 = c.report().find((r) => r.name.startsWith('2 '))!;
  assert.ok(r2.ok);
  assert.match(r2.detail, /not applicable .* 1 on floodSock/);
  endWorld(w);
});

test('invariants: which apply to which mode', () => {
  const na = (id: number, m: keyof typeof MODES): boolean => INVARIANTS[id - 1]!.notApplicable(MODES[m]) !== null;
  for (const id of [2, 3, 4, 10]) {
    assert.not.ok(na(id, 'mainline'));
    assert.not.ok(na(id, 'groups'));
    assert.ok(na(id, 'nta') && na(id, 'off') && na(id, 'naive'));
  }
  assert.ok(na(6, 'nta'));
  for (const id of [1, 5, 7, 8, 9]) for (const m of ['off', 'naive', 'mainline', 'groups', 'nta'] as const) assert.not.ok(na(id, m));
});

test.run();
