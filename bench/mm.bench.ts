/**
 * mm hot paths: page allocation and free, slab object allocation and free. None of them may create a JS
 * object per call (typed arrays and free lists only); run with `node --expose-gc` to see mitata's heap column.
 *
 *   npx tsx bench/run.ts mm
 */
import { bench, do_not_optimize, group } from 'mitata';
import { MachineMemory } from '../src/hv/memory.ts';
import { GFP_ATOMIC, GFP_KERNEL, GFP_NOIO } from '../src/mm/gfp.ts';
import { kfree, kmalloc } from '../src/mm/kmalloc.ts';
import { NtaAllocator } from '../src/mm/nta.ts';
import { KmemAllocator, kmemCacheAlloc, kmemCacheCreate, kmemCacheFree } from '../src/mm/slab.ts';
import { ExecContext, PF_MEMALLOC } from '../src/mm/task.ts';
import { ZonePageAllocator } from '../src/mm/zone-allocator.ts';

const PAGES = 16384;
const BATCH = 64;

function domain(domid: number) {
  const mem = new MachineMemory(PAGES + 512);
  mem.registerDomain(domid);
  const frames = mem.populate(domid, PAGES + 512);
  const ctx = new ExecContext();
  const pa = new ZonePageAllocator(mem, domid, frames.subarray(0, PAGES), ctx);
  const nta = new NtaAllocator(mem, domid, frames.subarray(PAGES), ctx, 1);
  return { mem, ctx, pa, nta };
}

const fast = domain(1);
const reserve = domain(2);
// Hold everything down to MIN: every further PF_MEMALLOC allocation takes a reserve page and is tagged.
while (reserve.pa.allocPage(GFP_KERNEL) >= 0);
reserve.ctx.current.flags |= PF_MEMALLOC;

const kmem = new KmemAllocator(fast.pa, fast.ctx);
const heads = kmemCacheCreate(kmem, 'skbuff_head_cache', 256);
const held = new Int32Array(BATCH);

group('mm: pages', () => {
  bench('allocPage + putPage, free > LOW (fast path)', () => {
    const f = fast.pa.allocPage(GFP_KERNEL);
    fast.pa.putPage(f);
    do_not_optimize(f);
  });
  bench(`allocPage × ${BATCH} then putPage × ${BATCH}`, () => {
    for (let i = 0; i < BATCH; i++) held[i] = fast.pa.allocPage(GFP_ATOMIC);
    for (let i = 0; i < BATCH; i++) fast.pa.putPage(held[i]!);
    do_not_optimize(held);
  });
  bench('allocPage + putPage below MIN under PF_MEMALLOC (slow path, tagged)', () => {
    const f = reserve.pa.allocPage(GFP_NOIO);
    reserve.pa.putPage(f);
    do_not_optimize(f);
  });
  bench('NTA allocPage + putPage', () => {
    const f = fast.nta.allocPage(GFP_ATOMIC);
    fast.nta.putPage(f);
    do_not_optimize(f);
  });
});

group('mm: slab', () => {
  bench('kmemCacheAlloc + kmemCacheFree (256 B)', () => {
    const o = kmemCacheAlloc(heads, GFP_ATOMIC);
    kmemCacheFree(heads, o);
    do_not_optimize(o);
  });
  bench(`kmemCacheAlloc × ${BATCH} then kmemCacheFree × ${BATCH} (crosses slabs)`, () => {
    for (let i = 0; i < BATCH; i++) held[i] = kmemCacheAlloc(heads, GFP_ATOMIC);
    for (let i = 0; i < BATCH; i++) kmemCacheFree(heads, held[i]!);
    do_not_optimize(held);
  });
  bench('kmalloc + kfree (1500 B)', () => {
    const o = kmalloc(kmem, 1500, GFP_ATOMIC);
    kfree(kmem, o);
    do_not_optimize(o);
  });
});
