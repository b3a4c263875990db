import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { InvalidArgument, RefUnderflow, UseAfterDestroy } from '../../src/errors.ts';
import { gfpPfmemallocAllowed } from '../../src/mm/alloc-flags.ts';
import { KmemCacheBusy } from '../../src/mm/errors.ts';
import { __GFP_MEMALLOC, GFP_ATOMIC, GFP_KERNEL, GFP_NOIO } from '../../src/mm/gfp.ts';
import {
  kmemAllocEstimate, KmemAllocator, kmemCacheAlloc, kmemCacheCreate, kmemCacheDestroy, kmemCacheFree,
  kmemCacheShrink, objFrame, objOffset, slabIsPfmemalloc,
} from '../../src/mm/slab.ts';
import { memallocNoreclaimRestore, memallocNoreclaimSave } from '../../src/mm/task.ts';
import { AllocOutcome } from '../../src/mm/zone-allocator.ts';
import { throwsType } from '../support/assert.ts';
import { assertBaseline, drain, putAll, zone } from './fixtures.ts';

function setup(cpus = 1) {
  const z = zone();
  const kmem = new KmemAllocator(z.pa, z.ctx, cpus);
  return { ...z, kmem };
}

function teardown(kmem: KmemAllocator, pa: Parameters<typeof assertBaseline>[0]): void {
  for (const c of kmem.caches) if (c !== null) kmemCacheDestroy(c);
  assert.equal(kmem.audit(), []);
  assertBaseline(pa);
}

test('slab: objects are byte addresses laid out back to back in one page per slab', () => {
  const { kmem, pa, mem } = setup();
  const cache = kmemCacheCreate(kmem, 'rpc_buffers', 200);
  assert.is(cache.size, 200);
  assert.is(cache.objsPerSlab, 20);
  const a = kmemCacheAlloc(cache, GFP_KERNEL);
  const b = kmemCacheAlloc(cache, GFP_KERNEL);
  assert.is(objFrame(a), objFrame(b));
  assert.equal([objOffset(a), objOffset(b)], [0, 200]);
  assert.is(mem.refcount[objFrame(a)], 1, 'the slab holds one page reference');
  mem.bytes.fill(0xa5, b, b + 200);
  mem.bytes.fill(0x5a, a, a + 200);
  assert.is(mem.bytes[b], 0xa5, 'a write to a stays inside a');
  assert.is(mem.bytes[b + 199], 0xa5);
  kmemCacheFree(cache, a);
  kmemCacheFree(cache, b);
  assert.is(pa.inUse, 1, 'the CPU slab stays until shrunk');
  assert.is(kmemCacheShrink(cache), 0);
  teardown(kmem, pa);
});

test('slab: sizes round up to the alignment; bad sizes and alignments are misuse', () => {
  const { kmem, pa } = setup();
  assert.is(kmemCacheCreate(kmem, 'a', 1).size, 8);
  assert.is(kmemCacheCreate(kmem, 'b', 100, 64).size, 128);
  throwsType(() => kmemCacheCreate(kmem, 'c', 0), InvalidArgument);
  throwsType(() => kmemCacheCreate(kmem, 'd', 4097), InvalidArgument);
  throwsType(() => kmemCacheCreate(kmem, 'e', 64, 12), InvalidArgument);
  teardown(kmem, pa);
});

test('slab: a full slab leaves the CPU, comes back on the partial list when an object is freed, and an empty slab is freed', () => {
  const { kmem, pa } = setup();
  const cache = kmemCacheCreate(kmem, 'half-page', 2048);
  const objs = [0, 1, 2, 3].map(() => kmemCacheAlloc(cache, GFP_KERNEL));
  assert.is(cache.nrSlabs, 2);
  assert.is(pa.inUse, 2);
  kmemCacheFree(cache, objs[0]!); // first slab was full and off the CPU: now partial
  assert.is(cache.nrPartial, 1);
  kmemCacheFree(cache, objs[1]!); // now empty: freed at once
  assert.is(cache.nrPartial, 0);
  assert.is(cache.nrSlabs, 1);
  assert.is(pa.inUse, 1);
  kmemCacheFree(cache, objs[2]!);
  kmemCacheFree(cache, objs[3]!);
  teardown(kmem, pa);
});

test('slab: a slab built on a reserve page is tagged and serves entitled callers', () => {
  const { kmem, pa, ctx } = setup();
  const cache = kmemCacheCreate(kmem, 'skbuff_head_cache', 256);
  const held = drain(pa, GFP_KERNEL);
  const saved = memallocNoreclaimSave(ctx);
  const a = kmemCacheAlloc(cache, GFP_NOIO); // the pageout path: may sleep, floor MIN, PF_MEMALLOC set
  const b = kmemCacheAlloc(cache, GFP_NOIO);
  memallocNoreclaimRestore(ctx, saved);
  assert.ok(slabIsPfmemalloc(kmem, objFrame(a)));
  assert.is(objFrame(a), objFrame(b));
  assert.is(cache.stats.pfmemallocSlabs, 1);
  assert.is(cache.stats.pfmemallocObjects, 2);
  kmemCacheFree(cache, a);
  kmemCacheFree(cache, b);
  kmemCacheShrink(cache);
  putAll(pa, held);
  teardown(kmem, pa);
});

test('slab: a non-entitled caller never gets an object from a tagged slab: it gets a fresh untagged slab', () => {
  const { kmem, pa } = setup();
  const cache = kmemCacheCreate(kmem, 'skbuff_head_cache', 256);
  const held = drain(pa, GFP_KERNEL); // free == MIN
  const tagged = kmemCacheAlloc(cache, GFP_KERNEL | __GFP_MEMALLOC); // needs a page from below MIN
  assert.ok(slabIsPfmemalloc(kmem, objFrame(tagged)));
  putAll(pa, held.splice(0, 2)); // free 257: a watermark-checked page is available again
  const plain = kmemCacheAlloc(cache, GFP_KERNEL);
  assert.ok(plain >= 0);
  assert.is.not(objFrame(plain), objFrame(tagged), 'not from the tagged slab, although it has 15 free objects');
  assert.not.ok(slabIsPfmemalloc(kmem, objFrame(plain)));
  assert.is(cache.stats.pfmemallocMismatches, 1, 'the tagged CPU slab was deactivated');
  kmemCacheFree(cache, plain);
  kmemCacheFree(cache, tagged);
  kmemCacheShrink(cache);
  putAll(pa, held);
  teardown(kmem, pa);
});

test('slab: with memory short, a non-entitled caller fails even though a tagged slab has free objects', () => {
  const { kmem, pa } = setup();
  const cache = kmemCacheCreate(kmem, 'skbuff_head_cache', 256);
  const held = drain(pa, GFP_KERNEL);
  const tagged = kmemCacheAlloc(cache, GFP_KERNEL | __GFP_MEMALLOC);
  assert.is(kmemCacheAlloc(cache, GFP_KERNEL), -1);
  assert.is(cache.stats.failures, 1);
  assert.is(pa.lastOutcome, AllocOutcome.FAIL_NO_RECLAIM, 'the fresh slab went through the watermark check');
  assert.is(cache.nrPartial, 1, 'the tagged slab waits on the partial list');
  const again = kmemCacheAlloc(cache, GFP_KERNEL | __GFP_MEMALLOC);
  assert.is(objFrame(again), objFrame(tagged), 'an entitled caller is served from it');
  kmemCacheFree(cache, again);
  kmemCacheFree(cache, tagged);
  kmemCacheShrink(cache);
  putAll(pa, held);
  teardown(kmem, pa);
});

test('slab: each CPU allocates from its own slab', () => {
  const { kmem, pa, ctx } = setup(2);
  const cache = kmemCacheCreate(kmem, 'percpu', 64);
  const a = kmemCacheAlloc(cache, GFP_KERNEL);
  ctx.cpu = 1;
  const b = kmemCacheAlloc(cache, GFP_KERNEL);
  assert.is.not(objFrame(a), objFrame(b));
  kmemCacheFree(cache, a); // freed from CPU 1 into CPU 0's slab: it stays CPU 0's
  assert.is(cache.nrSlabs, 2);
  kmemCacheFree(cache, b);
  ctx.cpu = 0;
  teardown(kmem, pa);
});

test('slab: misuse throws: double free, a foreign or misaligned handle, destroy with live objects, use after destroy', () => {
  const { kmem, pa } = setup();
  const cache = kmemCacheCreate(kmem, 'c', 64);
  const other = kmemCacheCreate(kmem, 'o', 64);
  const a = kmemCacheAlloc(cache, GFP_KERNEL);
  const b = kmemCacheAlloc(cache, GFP_KERNEL);
  throwsType(() => kmemCacheFree(other, a), InvalidArgument);
  throwsType(() => kmemCacheFree(cache, a + 8), InvalidArgument);
  throwsType(() => kmemCacheFree(cache, -1), InvalidArgument);
  kmemCacheFree(cache, a);
  throwsType(() => kmemCacheFree(cache, a), RefUnderflow);
  const err = throwsType(() => kmemCacheDestroy(cache), KmemCacheBusy, 'ERR_KMEM_CACHE_BUSY');
  assert.is(err.objects, 1);
  kmemCacheFree(cache, b);
  kmemCacheDestroy(cache);
  throwsType(() => kmemCacheAlloc(cache, GFP_KERNEL), UseAfterDestroy);
  kmem.ctx.cpu = 1; // this slab layer was built for one CPU
  throwsType(() => kmemCacheAlloc(other, GFP_KERNEL), InvalidArgument);
  kmem.ctx.cpu = 0;
  teardown(kmem, pa);
});

test('slab: kmem_alloc_estimate counts ⌈n / objects per slab⌉ slabs plus one per CPU for multi-object slabs', () => {
  const { kmem, pa } = setup(2);
  const small = kmemCacheCreate(kmem, 'small', 256); // 16 per slab
  const page = kmemCacheCreate(kmem, 'page', 4096); // 1 per slab
  assert.is(kmemAllocEstimate(small, 0), 2);
  assert.is(kmemAllocEstimate(small, 16), 3);
  assert.is(kmemAllocEstimate(small, 17), 4);
  assert.is(kmemAllocEstimate(page, 5), 5);
  teardown(kmem, pa);
});

test('slab (property): objects of tagged slabs only ever go to callers entitled to the reserve', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ alloc: fc.boolean(), memalloc: fc.boolean(), gfp: fc.constantFrom(GFP_KERNEL, GFP_ATOMIC, GFP_ATOMIC | __GFP_MEMALLOC), pick: fc.nat() }), { maxLength: 300, size: 'large' }),
      (ops) => {
        const z = zone(96, { watermarks: { min: 32, low: 40, high: 48 } }, 0);
        const kmem = new KmemAllocator(z.pa, z.ctx);
        const cache = kmemCacheCreate(kmem, 'obj', 1024);
        const held: number[] = [];
        const pages = drain(z.pa, GFP_KERNEL); // start under pressure, at MIN
        for (const op of ops) {
          if (!op.alloc) {
            if (held.length > 0 && (op.pick % 2 === 0 || pages.length === 0)) {
              const i = op.pick % held.length;
              kmemCacheFree(cache, held[i]!);
              held.splice(i, 1);
            } else if (pages.length > 0) z.pa.putPage(pages.pop()!);
            continue;
          }
          if (op.pick % 3 === 0) {
            const p = z.pa.allocPage(GFP_KERNEL); // pressure from elsewhere
            if (p >= 0) pages.push(p);
          }
          const saved = op.memalloc ? memallocNoreclaimSave(z.ctx) : 0;
          const entitled = gfpPfmemallocAllowed(op.gfp, z.ctx);
          const obj = kmemCacheAlloc(cache, op.gfp);
          if (op.memalloc) memallocNoreclaimRestore(z.ctx, saved);
          if (obj < 0) continue;
          held.push(obj);
          if (slabIsPfmemalloc(kmem, objFrame(obj))) assert.ok(entitled, 'tagged object to a non-entitled caller');
        }
        for (const h of held) kmemCacheFree(cache, h);
        putAll(z.pa, pages);
        kmemCacheDestroy(cache);
        assertBaseline(z.pa);
      },
    ),
    { numRuns: 200 },
  );
});

test.run();
