import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { InvalidArgument, RefUnderflow } from '../../src/errors.ts';
import { ALLOC_NO_WATERMARKS, gfpToAllocFlags } from '../../src/mm/alloc-flags.ts';
import { BadPageState, ENOMEM } from '../../src/mm/errors.ts';
import {
  __GFP_KSWAPD_RECLAIM, __GFP_MEMALLOC, __GFP_NOMEMALLOC, GFP_ATOMIC, GFP_KERNEL, GFP_NOIO, GFP_NOWAIT,
} from '../../src/mm/gfp.ts';
import { PG_pfmemalloc } from '../../src/mm/page-allocator.ts';
import {
  memallocNoreclaimRestore, memallocNoreclaimSave, PF_MEMALLOC, softirqEnter, softirqExit,
} from '../../src/mm/task.ts';
import { effectiveFloor } from '../../src/mm/watermark.ts';
import { AllocOutcome, ZonePageAllocator } from '../../src/mm/zone-allocator.ts';
import { throwsType } from '../support/assert.ts';
import { assertBaseline, bigZone, DOMID, drain, putAll, zone } from './fixtures.ts';

test('zone: a 64 MiB domain computes MIN/LOW/HIGH 256/320/384 from min_free_kbytes 1024', () => {
  const { pa } = bigZone();
  assert.is(pa.minFreeKbytes, 1024);
  assert.equal([pa.zone.min, pa.zone.low, pa.zone.high], [256, 320, 384]);
  pa.setMinFreeKbytes(2048);
  assert.equal([pa.zone.min, pa.zone.low, pa.zone.high], [512, 640, 768]);
  assertBaseline(pa);
});

test('zone: a normal (GFP_KERNEL) caller stops with free == MIN and takes nothing below it', () => {
  const { pa } = zone();
  const got = drain(pa, GFP_KERNEL);
  assert.is(pa.freePages, 256);
  assert.is(pa.lastOutcome, AllocOutcome.FAIL_NO_RECLAIM);
  assert.is(pa.stats.belowMin, 0);
  assert.ok(got.every((f) => !pa.isPfmemalloc(f)));
  putAll(pa, got);
  assertBaseline(pa);
});

test('zone: GFP_ATOMIC stops at 3/8 of MIN (96 pages) and fails as a no-wait caller', () => {
  const { pa } = zone();
  const got = drain(pa, GFP_ATOMIC);
  assert.is(pa.freePages, 96);
  assert.is(pa.lastOutcome, AllocOutcome.FAIL_NOWAIT);
  assert.is(pa.stats.belowMin, 256 - 96);
  assert.ok(got.every((f) => !pa.isPfmemalloc(f)), 'HIGH/HARDER pages are not reserve pages');
  putAll(pa, got);
  assertBaseline(pa);
});

test('zone: GFP_NOWAIT (HARDER only) stops at 3/4 of MIN', () => {
  const { pa } = zone();
  const got = drain(pa, GFP_NOWAIT);
  assert.is(pa.freePages, 192);
  putAll(pa, got);
  assertBaseline(pa);
});

test('zone: __GFP_MEMALLOC goes down to zero, and the pages it took below the floor are tagged', () => {
  const { pa } = zone();
  const got = drain(pa, GFP_ATOMIC | __GFP_MEMALLOC);
  assert.is(pa.freePages, 0);
  assert.is(pa.lastOutcome, AllocOutcome.FAIL_RESERVE_EMPTY);
  assert.is(pa.stats.reserveOverruns, 1);
  const tagged = got.filter((f) => pa.isPfmemalloc(f));
  assert.is(tagged.length, 96, 'only the pages below the caller\'s own floor (3/8 MIN) needed NO_WATERMARKS');
  assert.ok(got.slice(-96).every((f) => pa.isPfmemalloc(f)), 'and they are the last ones taken');
  assert.is(pa.stats.pfmemallocOutstanding, 96);
  assert.is(pa.dip, 256);
  assert.is(pa.stats.minFreeSeen, 0);
  putAll(pa, got);
  assertBaseline(pa);
});

test('zone: a PF_MEMALLOC task goes down to zero; its pages below MIN are tagged', () => {
  const { pa, ctx } = zone();
  const saved = memallocNoreclaimSave(ctx);
  const got = drain(pa, GFP_NOIO);
  memallocNoreclaimRestore(ctx, saved);
  assert.is(pa.freePages, 0);
  assert.is(got.filter((f) => pa.isPfmemalloc(f)).length, 256);
  putAll(pa, got);
  assertBaseline(pa);
});

test('zone: a freed reserve page loses its tag and is handed out untagged to a caller above its floor', () => {
  const { pa, mem } = zone();
  const above = drain(pa, GFP_KERNEL);
  const f = pa.allocPage(GFP_KERNEL | __GFP_MEMALLOC);
  assert.ok(pa.isPfmemalloc(f));
  assert.is(pa.lastOutcome, AllocOutcome.OK_PFMEMALLOC);
  pa.putPage(f);
  assert.is(mem.flags[f]! & PG_pfmemalloc, 0);
  const g = pa.allocPage(GFP_ATOMIC); // free 256 > 96: no watermark ignored
  assert.is(g, f, 'LIFO free list: the same frame comes back');
  assert.not.ok(pa.isPfmemalloc(g));
  pa.putPage(g);
  putAll(pa, above);
  assertBaseline(pa);
});

test('zone: PF_MEMALLOC in a softirq is entitled, the borrowed task\'s flag is not', () => {
  const { pa, ctx } = zone();
  const held = drain(pa, GFP_ATOMIC);
  ctx.current.flags |= PF_MEMALLOC; // the task the softirq borrows is a reclaimer
  const saved = softirqEnter(ctx);
  assert.is(pa.allocPage(GFP_ATOMIC), -1, 'softirq entry cleared PF_MEMALLOC');
  ctx.current.flags |= PF_MEMALLOC; // receive path of a tagged skb
  const f = pa.allocPage(GFP_ATOMIC);
  assert.ok(f >= 0 && pa.isPfmemalloc(f));
  softirqExit(ctx, saved);
  pa.putPage(f);
  ctx.current.flags &= ~PF_MEMALLOC;
  putAll(pa, held);
  assertBaseline(pa);
});

test('zone: a PF_MEMALLOC caller never recurses into reclaim', () => {
  const { pa, ctx } = zone();
  let calls = 0;
  pa.directReclaim = () => ++calls;
  const held = drain(pa, GFP_KERNEL, 1024 - 256);
  const saved = memallocNoreclaimSave(ctx);
  assert.is(pa.allocPage(GFP_KERNEL | __GFP_NOMEMALLOC), -1);
  assert.is(pa.lastOutcome, AllocOutcome.FAIL_MEMALLOC_NORECURSE);
  memallocNoreclaimRestore(ctx, saved);
  assert.is(calls, 0);
  putAll(pa, held);
  assertBaseline(pa);
});

test('zone: direct reclaim runs under PF_MEMALLOC, restores the flag, and the retry takes a reclaimed page', () => {
  const { pa, ctx } = zone();
  const held = drain(pa, GFP_KERNEL);
  let sawMemalloc = false;
  pa.directReclaim = (gfp, order) => {
    sawMemalloc = (ctx.current.flags & PF_MEMALLOC) !== 0;
    assert.is(gfp, GFP_KERNEL);
    assert.is(order, 0);
    putAll(pa, held.splice(0, 8));
    return 8;
  };
  const f = pa.allocPage(GFP_KERNEL);
  assert.ok(f >= 0);
  assert.ok(sawMemalloc);
  assert.is(ctx.current.flags & PF_MEMALLOC, 0);
  assert.is(pa.stats.directReclaims, 1);
  pa.putPage(f);
  putAll(pa, held);
  assertBaseline(pa);
});

test('zone: reclaim without progress fails the allocation (OOM is the scenario\'s call)', () => {
  const { pa } = zone();
  const held = drain(pa, GFP_KERNEL);
  pa.directReclaim = () => 0;
  assert.is(pa.allocPage(GFP_KERNEL), -1);
  assert.is(pa.lastOutcome, AllocOutcome.FAIL_RECLAIM);
  assert.is(pa.stats.failuresByOutcome[AllocOutcome.FAIL_RECLAIM], 1);
  putAll(pa, held);
  assertBaseline(pa);
});

test('zone: the OOM victim takes reserve pages but does not loop into reclaim', () => {
  const { pa, ctx } = zone();
  let calls = 0;
  pa.directReclaim = () => ++calls;
  ctx.current.memdie = true;
  const got = drain(pa, GFP_KERNEL);
  assert.is(pa.freePages, 0);
  assert.is(pa.lastOutcome, AllocOutcome.FAIL_MEMDIE);
  assert.is(calls, 0);
  ctx.current.memdie = false;
  putAll(pa, got);
  assertBaseline(pa);
});

test('zone: kswapd is woken once when an allocation finds free ≤ LOW, and again only after it slept', () => {
  const { pa } = zone();
  let wakes = 0;
  pa.onKswapdWake = () => wakes++;
  const held = drain(pa, GFP_KERNEL, 1024 - 320);
  assert.is(pa.freePages, 320);
  assert.is(pa.stats.kswapdWakeups, 0, 'nothing below LOW yet');
  held.push(pa.allocPage(GFP_KERNEL));
  assert.ok(pa.kswapdAwake);
  held.push(pa.allocPage(GFP_KERNEL));
  assert.is(pa.stats.kswapdWakeups, 1);
  pa.kswapdSleep();
  held.push(pa.allocPage(GFP_KERNEL & ~__GFP_KSWAPD_RECLAIM));
  assert.not.ok(pa.kswapdAwake, 'no __GFP_KSWAPD_RECLAIM, no wake-up');
  held.push(pa.allocPage(GFP_KERNEL));
  assert.is(pa.stats.kswapdWakeups, 2);
  assert.is(wakes, 2);
  putAll(pa, held);
  assertBaseline(pa);
});

test('zone: counters record allocations, failures, pages below MIN and the lowest free count', () => {
  const { pa } = zone();
  const held = drain(pa, GFP_ATOMIC);
  assert.is(pa.stats.allocs, 1024 - 96);
  assert.is(pa.stats.failures, 1);
  assert.is(pa.stats.belowMin, 160);
  assert.is(pa.stats.minFreeSeen, 96);
  putAll(pa, held);
  assert.is(pa.stats.frees, 1024 - 96);
  assertBaseline(pa);
});

test('zone: the emergency pool (pages_emerg) raises every floor but NO_WATERMARKS', () => {
  const { pa } = zone();
  assert.is(pa.adjustMemallocReserve(100), 0);
  assert.is(pa.zone.pagesEmerg, 100);
  assert.is(pa.varFreeKbytes, 400);
  const normal = drain(pa, GFP_KERNEL);
  assert.is(pa.freePages, 356);
  const atomic = drain(pa, GFP_ATOMIC);
  assert.is(pa.freePages, 196);
  const memalloc = drain(pa, GFP_ATOMIC | __GFP_MEMALLOC);
  assert.is(pa.freePages, 0);
  putAll(pa, [...normal, ...atomic, ...memalloc]);
  assert.is(pa.adjustMemallocReserve(-100), 0);
  assert.is(pa.zone.pagesEmerg, 0);
  throwsType(() => pa.adjustMemallocReserve(-1), InvalidArgument);
  assertBaseline(pa);
});

test('zone: growing the pool fails with -ENOMEM and rolls back when a GFP_KERNEL allocation could not follow', () => {
  const { pa } = zone();
  const held = drain(pa, GFP_KERNEL, 1024 - 300);
  assert.is(pa.adjustMemallocReserve(50), -ENOMEM);
  assert.is(pa.zone.pagesEmerg, 0);
  assert.is(pa.varFreeKbytes, 0);
  pa.directReclaim = () => {
    putAll(pa, held.splice(0, 10));
    return 10;
  };
  assert.is(pa.adjustMemallocReserve(50), 0, 'one round of reclaim made room');
  assert.is(pa.zone.pagesEmerg, 50);
  pa.adjustMemallocReserve(-50);
  putAll(pa, held);
  assertBaseline(pa);
});

test('zone: misuse throws typed errors: double put, get on a free page, a frame of the domain it does not manage', () => {
  const { pa, mem, frames } = zone(64, { watermarks: { min: 4, low: 5, high: 6 } });
  const f = pa.allocPage(GFP_KERNEL);
  pa.putPage(f);
  throwsType(() => pa.putPage(f), RefUnderflow);
  throwsType(() => pa.getPage(f), BadPageState);
  const stray = mem.populate(DOMID, 1)[0]!; // owned by the domain, not managed by the allocator
  mem.refcount[stray] = 1;
  throwsType(() => pa.putPage(stray), BadPageState);
  assert.is(mem.refcount[stray], 1, 'nothing changed');
  mem.refcount[stray] = 0;
  throwsType(() => new ZonePageAllocator(mem, DOMID, [frames[0]!, frames[0]!], pa.ctx), InvalidArgument);
  assertBaseline(pa);
});

test('zone: a foreign frame (another domain\'s, grant-mapped) only has its count moved', () => {
  const { pa, mem } = zone(64, { watermarks: { min: 4, low: 5, high: 6 } });
  mem.registerDomain(2);
  const foreign = mem.populate(2, 1)[0]!;
  mem.refcount[foreign] = 1;
  pa.getPage(foreign);
  pa.putPage(foreign);
  pa.putPage(foreign);
  assert.is(mem.refcount[foreign], 0);
  assert.is(mem.owner[foreign], 2);
  assertBaseline(pa);
});

// ---- property: random allocation and free sequences never violate the floors --------------------------------

const GFPS = [
  GFP_KERNEL, GFP_ATOMIC, GFP_NOWAIT, GFP_NOIO, GFP_KERNEL | __GFP_MEMALLOC, GFP_ATOMIC | __GFP_MEMALLOC,
  GFP_ATOMIC | __GFP_MEMALLOC | __GFP_NOMEMALLOC, GFP_KERNEL | __GFP_NOMEMALLOC,
];

type Op =
  | { kind: 'alloc'; gfp: number; memalloc: boolean; softirq: boolean }
  | { kind: 'free'; pick: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('alloc' as const), gfp: fc.constantFrom(...GFPS), memalloc: fc.boolean(), softirq: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('free' as const), pick: fc.nat() }) },
);

test('zone (property): no caller goes below its floor, entitled ones never below zero, tag iff the watermark was ignored', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 160 }),
      fc.array(opArb, { minLength: 1, maxLength: 400, size: 'large' }),
      fc.integer({ min: 0, max: 40 }),
      (prefill, ops, emerg) => {
        const { pa, ctx } = zone(160, { watermarks: { min: 64, low: 80, high: 96 } }, 0);
        pa.adjustMemallocReserve(emerg);
        const held: number[] = [];
        const alloc = (gfp: number, memalloc: boolean, softirq: boolean): void => {
          const saved = softirq ? softirqEnter(ctx) : 0;
          const pf = memalloc ? memallocNoreclaimSave(ctx) : 0;
          const flags = gfpToAllocFlags(gfp, ctx);
          const entitled = (flags & ALLOC_NO_WATERMARKS) !== 0;
          const ownFloor = effectiveFloor(pa.zone, flags & ~ALLOC_NO_WATERMARKS);
          const before = pa.freePages;
          const f = pa.allocPage(gfp);
          if (memalloc) memallocNoreclaimRestore(ctx, pf);
          if (softirq) softirqExit(ctx, saved);
          if (f < 0) {
            // a refusal is legitimate only when free was at or below what this caller may use
            if (entitled) assert.is(before, 0);
            else assert.ok(before <= ownFloor, `refused with ${before} free above floor ${ownFloor}`);
            return;
          }
          held.push(f);
          assert.ok(pa.freePages >= (entitled ? 0 : ownFloor), 'took free below the floor');
          assert.is(pa.isPfmemalloc(f), before <= ownFloor, 'tag set exactly when the watermark was ignored');
        };
        for (let i = 0; i < prefill; i++) alloc(GFPS[i % GFPS.length]!, i % 3 === 0, i % 5 === 0);
        for (const op of ops) {
          if (op.kind === 'alloc') {
            alloc(op.gfp, op.memalloc, op.softirq);
          } else if (held.length > 0) {
            const i = op.pick % held.length;
            pa.putPage(held[i]!);
            held[i] = held[held.length - 1]!;
            held.pop();
          }
        }
        putAll(pa, held);
        pa.adjustMemallocReserve(-emerg);
        assertBaseline(pa);
      },
    ),
    { numRuns: 300 },
  );
});

test.run();
