import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ALLOC_CPUSET, ALLOC_HARDER, ALLOC_HIGH, ALLOC_NO_WATERMARKS, ALLOC_WMARK_MIN, gfpPfmemallocAllowed, gfpToAllocFlags,
} from '../../src/mm/alloc-flags.ts';
import {
  __GFP_HIGH, __GFP_MEMALLOC, __GFP_NOMEMALLOC, GFP_ATOMIC, GFP_KERNEL, GFP_NOIO, GFP_NOWAIT,
} from '../../src/mm/gfp.ts';
import { ExecContext, PF_MEMALLOC, softirqEnter, softirqExit, TaskStruct } from '../../src/mm/task.ts';

const ctxWith = (flags = 0) => new ExecContext(new TaskStruct('t', flags));
const NOWM = ALLOC_NO_WATERMARKS;

test('alloc-flags: ALLOC_HIGH has the value of __GFP_HIGH, as Linux relies on', () => {
  assert.is(ALLOC_HIGH, __GFP_HIGH);
});

test('alloc-flags: GFP_KERNEL from an ordinary task is WMARK_MIN | CPUSET and nothing else', () => {
  assert.is(gfpToAllocFlags(GFP_KERNEL, ctxWith()), ALLOC_WMARK_MIN | ALLOC_CPUSET);
});

test('alloc-flags: __GFP_HIGH adds ALLOC_HIGH', () => {
  assert.is(gfpToAllocFlags(GFP_KERNEL | __GFP_HIGH, ctxWith()), ALLOC_WMARK_MIN | ALLOC_CPUSET | ALLOC_HIGH);
});

test('alloc-flags: a caller that cannot sleep gets ALLOC_HARDER and loses ALLOC_CPUSET (GFP_NOWAIT)', () => {
  assert.is(gfpToAllocFlags(GFP_NOWAIT, ctxWith()), ALLOC_WMARK_MIN | ALLOC_HARDER);
});

test('alloc-flags: GFP_ATOMIC is HIGH | HARDER without CPUSET', () => {
  assert.is(gfpToAllocFlags(GFP_ATOMIC, ctxWith()), ALLOC_WMARK_MIN | ALLOC_HIGH | ALLOC_HARDER);
});

test('alloc-flags: __GFP_NOMEMALLOC denies a non-sleeping caller ALLOC_HARDER', () => {
  assert.is(gfpToAllocFlags(GFP_NOWAIT | __GFP_NOMEMALLOC, ctxWith()), ALLOC_WMARK_MIN);
  assert.is(gfpToAllocFlags(GFP_ATOMIC | __GFP_NOMEMALLOC, ctxWith()), ALLOC_WMARK_MIN | ALLOC_HIGH);
});

test('alloc-flags: a realtime task that may sleep gets ALLOC_HARDER, but not in interrupt context', () => {
  const ctx = ctxWith();
  ctx.current.rt = true;
  assert.is(gfpToAllocFlags(GFP_KERNEL, ctx), ALLOC_WMARK_MIN | ALLOC_CPUSET | ALLOC_HARDER);
  ctx.localBhDisable();
  assert.is(gfpToAllocFlags(GFP_KERNEL, ctx), ALLOC_WMARK_MIN | ALLOC_CPUSET);
  ctx.localBhEnable();
});

test('alloc-flags: __GFP_MEMALLOC allows NO_WATERMARKS in any context, even a hard irq', () => {
  const ctx = ctxWith();
  assert.ok(gfpToAllocFlags(GFP_ATOMIC | __GFP_MEMALLOC, ctx) & NOWM);
  ctx.hardirqEnter();
  assert.ok(gfpToAllocFlags(GFP_ATOMIC | __GFP_MEMALLOC, ctx) & NOWM);
  ctx.hardirqExit();
});

test('alloc-flags: __GFP_NOMEMALLOC beats __GFP_MEMALLOC', () => {
  assert.is(gfpToAllocFlags(GFP_ATOMIC | __GFP_MEMALLOC | __GFP_NOMEMALLOC, ctxWith()) & NOWM, 0);
  assert.not.ok(gfpPfmemallocAllowed(GFP_KERNEL | __GFP_MEMALLOC | __GFP_NOMEMALLOC, ctxWith(PF_MEMALLOC)));
});

test('alloc-flags: PF_MEMALLOC in process context allows NO_WATERMARKS, unless __GFP_NOMEMALLOC', () => {
  const ctx = ctxWith(PF_MEMALLOC);
  assert.ok(gfpToAllocFlags(GFP_NOIO, ctx) & NOWM);
  assert.is(gfpToAllocFlags(GFP_NOIO | __GFP_NOMEMALLOC, ctx) & NOWM, 0);
});

test('alloc-flags: PF_MEMALLOC while serving a softirq allows NO_WATERMARKS', () => {
  const ctx = ctxWith();
  const saved = softirqEnter(ctx); // clears the borrowed task's PF_MEMALLOC
  assert.is(gfpToAllocFlags(GFP_ATOMIC, ctx) & NOWM, 0);
  ctx.current.flags |= PF_MEMALLOC; // the receive path sets it for a tagged skb
  assert.ok(gfpToAllocFlags(GFP_ATOMIC, ctx) & NOWM);
  ctx.hardirqEnter(); // a hard irq nested on the softirq still sees in_serving_softirq()
  assert.ok(gfpToAllocFlags(GFP_ATOMIC, ctx) & NOWM);
  ctx.hardirqExit();
  softirqExit(ctx, saved);
});

test('alloc-flags: PF_MEMALLOC with bottom halves disabled (in_interrupt, not serving a softirq) gets no NO_WATERMARKS', () => {
  const ctx = ctxWith(PF_MEMALLOC);
  ctx.localBhDisable();
  assert.is(gfpToAllocFlags(GFP_ATOMIC, ctx) & NOWM, 0);
  ctx.localBhEnable();
  ctx.hardirqEnter();
  assert.is(gfpToAllocFlags(GFP_ATOMIC, ctx) & NOWM, 0);
  ctx.hardirqExit();
});

test('alloc-flags: the OOM victim (TIF_MEMDIE) gets NO_WATERMARKS outside interrupt context only', () => {
  const ctx = ctxWith();
  ctx.current.memdie = true;
  assert.ok(gfpToAllocFlags(GFP_KERNEL, ctx) & NOWM);
  const saved = softirqEnter(ctx);
  assert.is(gfpToAllocFlags(GFP_KERNEL, ctx) & NOWM, 0);
  softirqExit(ctx, saved);
});

test('alloc-flags: gfpPfmemallocAllowed is exactly "the derived flags contain NO_WATERMARKS"', () => {
  for (const flags of [0, PF_MEMALLOC]) {
    for (const gfp of [GFP_KERNEL, GFP_ATOMIC, GFP_NOWAIT, GFP_ATOMIC | __GFP_MEMALLOC, GFP_KERNEL | __GFP_NOMEMALLOC]) {
      const ctx = ctxWith(flags);
      assert.is(gfpPfmemallocAllowed(gfp, ctx), (gfpToAllocFlags(gfp, ctx) & NOWM) !== 0);
    }
  }
});

test.run();
