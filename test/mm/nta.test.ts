import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InvalidArgument, RefUnderflow } from '../../src/errors.ts';
import { MachineMemory } from '../../src/hv/memory.ts';
import { BadPageState } from '../../src/mm/errors.ts';
import { __GFP_MEMALLOC, GFP_ATOMIC, GFP_KERNEL } from '../../src/mm/gfp.ts';
import { kfree, kmalloc } from '../../src/mm/kmalloc.ts';
import { NtaAllocator } from '../../src/mm/nta.ts';
import { KmemAllocator, kmemCacheDestroy, objFrame } from '../../src/mm/slab.ts';
import { ExecContext, PF_MEMALLOC } from '../../src/mm/task.ts';
import { ZonePageAllocator } from '../../src/mm/zone-allocator.ts';
import { throwsType } from '../support/assert.ts';
import { assertBaseline, DOMID, drain, MARKS, putAll } from './fixtures.ts';

/** A domain whose frames are split at boot: 1024 for the system allocator, `net` for the network pool. */
function boot(net = 64, cpus = 2) {
  const mem = new MachineMemory(1024 + net);
  mem.registerDomain(DOMID);
  const frames = mem.populate(DOMID, 1024 + net);
  const ctx = new ExecContext();
  const sys = new ZonePageAllocator(mem, DOMID, frames.subarray(0, 1024), ctx, { watermarks: MARKS });
  const nta = new NtaAllocator(mem, DOMID, frames.subarray(1024), ctx, cpus);
  return { mem, ctx, sys, nta };
}

function assertNtaBaseline(nta: NtaAllocator): void {
  assert.equal(nta.audit(), []);
  assert.is(nta.inUse, 0);
  assert.is(nta.freePages, nta.managedPages);
}

test('nta: system memory exhaustion cannot starve the network pool', () => {
  const { sys, nta, ctx } = boot();
  ctx.current.flags |= PF_MEMALLOC;
  const all = drain(sys, GFP_ATOMIC | __GFP_MEMALLOC);
  ctx.current.flags &= ~PF_MEMALLOC;
  assert.is(sys.freePages, 0);
  const f = nta.allocPage(GFP_ATOMIC);
  assert.ok(f >= 0);
  assert.not.ok(nta.isPfmemalloc(f), 'the pool has no reserve and never tags');
  assert.is(sys.stats.allocs, 1024, 'nothing fell back to, or was counted by, the system allocator');
  nta.putPage(f);
  putAll(sys, all);
  assertBaseline(sys);
  assertNtaBaseline(nta);
});

test('nta: network exhaustion fails only network allocations, and never falls back to the system allocator', () => {
  const { sys, nta } = boot(64, 1);
  const net = drain(nta, GFP_ATOMIC);
  assert.is(net.length, 64);
  assert.is(nta.allocPage(GFP_ATOMIC | __GFP_MEMALLOC), -1, 'even an entitled request fails in the pool');
  assert.is(nta.stats.failures, 2);
  assert.is(sys.inUse, 0);
  const s = sys.allocPage(GFP_KERNEL);
  assert.ok(s >= 0, 'the system allocator is untouched');
  sys.putPage(s);
  putAll(nta, net);
  assertBaseline(sys);
  assertNtaBaseline(nta);
});

test('nta: each CPU allocates from its own share; frees on another CPU go to the home CPU\'s semi-free list', () => {
  const { nta, ctx } = boot(8, 2);
  assert.equal([nta.freeOn(0), nta.freeOn(1)], [4, 4]);
  const cpu0 = [0, 1, 2, 3].map(() => nta.allocPage(GFP_ATOMIC));
  assert.is(nta.allocPage(GFP_ATOMIC), -1, 'CPU 0 is dry although CPU 1 has pages');
  ctx.cpu = 1;
  const c1 = nta.allocPage(GFP_ATOMIC);
  assert.ok(c1 >= 0);
  nta.putPage(cpu0[0]!); // freed on CPU 1
  assert.equal([nta.stats.freesRemote, nta.freeOn(0)], [1, 1]);
  assert.is(nta.freeOn(1), 3, 'it did not land in CPU 1\'s pool');
  ctx.cpu = 0;
  const again = nta.allocPage(GFP_ATOMIC);
  assert.is(again, cpu0[0], 'CPU 0 took its semi-free list back');
  assert.is(nta.stats.semiDrains, 1);
  nta.putPage(again);
  assert.is(nta.stats.freesLocal, 1);
  putAll(nta, cpu0.slice(1));
  ctx.cpu = 1;
  nta.putPage(c1);
  ctx.cpu = 0;
  assertNtaBaseline(nta);
});

test('nta: counters are the pool\'s own', () => {
  const { nta, sys } = boot(16, 1);
  const got = drain(nta, GFP_ATOMIC);
  assert.equal([nta.stats.allocs, nta.stats.failures, nta.stats.minFreeSeen], [16, 1, 0]);
  assert.equal([sys.stats.allocs, sys.stats.failures], [0, 0]);
  putAll(nta, got);
  assertNtaBaseline(nta);
  assertBaseline(sys);
});

test('nta: a slab layer over the pool gives sub-page network buffers from the pool only', () => {
  const { nta, sys, ctx } = boot(16, 1);
  const kmem = new KmemAllocator(nta, ctx);
  const a = kmalloc(kmem, 1500, GFP_ATOMIC);
  assert.ok(nta.manages(objFrame(a)));
  assert.is(sys.inUse, 0);
  kfree(kmem, a);
  for (const c of kmem.caches) if (c !== null) kmemCacheDestroy(c);
  assertNtaBaseline(nta);
  assertBaseline(sys);
});

test('nta: misuse throws: double put, get on a free page, a system page released through the pool, no pool for the CPU', () => {
  const { nta, sys, ctx } = boot(8, 2);
  const f = nta.allocPage(GFP_ATOMIC);
  nta.putPage(f);
  throwsType(() => nta.putPage(f), RefUnderflow);
  throwsType(() => nta.getPage(f), BadPageState);
  const s = sys.allocPage(GFP_KERNEL);
  throwsType(() => nta.putPage(s), BadPageState);
  const n = nta.allocPage(GFP_ATOMIC);
  throwsType(() => sys.putPage(n), BadPageState, 'ERR_BAD_PAGE_STATE');
  nta.putPage(n);
  sys.putPage(s);
  ctx.cpu = 2;
  throwsType(() => nta.allocPage(GFP_ATOMIC), InvalidArgument);
  ctx.cpu = 0;
  throwsType(() => new NtaAllocator(nta.mem, DOMID, [], ctx, 1), InvalidArgument);
  assertBaseline(sys);
  assertNtaBaseline(nta);
});

test.run();
