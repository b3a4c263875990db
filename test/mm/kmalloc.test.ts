import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InvalidArgument } from '../../src/errors.ts';
import { GFP_KERNEL } from '../../src/mm/gfp.ts';
import {
  kfree, kmalloc, KMALLOC_SIZES, kmallocEstimateBytes, kmallocEstimateObjs, kmallocIndex, kmallocSlab, ksize,
} from '../../src/mm/kmalloc.ts';
import { KmemAllocator, kmemCacheCreate, kmemCacheDestroy, objFrame } from '../../src/mm/slab.ts';
import { throwsType } from '../support/assert.ts';
import { assertBaseline, zone } from './fixtures.ts';

function setup(cpus = 1) {
  const z = zone();
  return { ...z, kmem: new KmemAllocator(z.pa, z.ctx, cpus) };
}

function teardown(kmem: KmemAllocator, pa: Parameters<typeof assertBaseline>[0]): void {
  for (const c of kmem.caches) if (c !== null) kmemCacheDestroy(c);
  assert.equal(kmem.audit(), []);
  assertBaseline(pa);
}

test('kmalloc: a request takes the smallest size class that fits (SLUB classes incl. 96 and 192)', () => {
  assert.is(KMALLOC_SIZES[kmallocIndex(1)], 8);
  assert.is(KMALLOC_SIZES[kmallocIndex(65)], 96);
  assert.is(KMALLOC_SIZES[kmallocIndex(97)], 128);
  assert.is(KMALLOC_SIZES[kmallocIndex(129)], 192);
  assert.is(KMALLOC_SIZES[kmallocIndex(4096)], 4096);
  assert.is(kmallocIndex(4097), -1);
});

test('kmalloc: objects come from per-class caches; ksize gives the slot size; kfree finds the cache', () => {
  const { kmem, pa } = setup();
  const a = kmalloc(kmem, 100, GFP_KERNEL);
  const b = kmalloc(kmem, 120, GFP_KERNEL);
  const c = kmalloc(kmem, 1500, GFP_KERNEL);
  assert.is(objFrame(a), objFrame(b), 'same class, same slab');
  assert.is(ksize(kmem, a), 128);
  assert.is(ksize(kmem, c), 2048);
  assert.is(kmallocSlab(kmem, 100).name, 'kmalloc-128');
  kfree(kmem, a);
  kfree(kmem, b);
  kfree(kmem, c);
  teardown(kmem, pa);
});

test('kmalloc: zero, oversized and foreign handles are misuse', () => {
  const { kmem, pa } = setup();
  throwsType(() => kmalloc(kmem, 0, GFP_KERNEL), InvalidArgument);
  throwsType(() => kmalloc(kmem, 4097, GFP_KERNEL), InvalidArgument);
  throwsType(() => kfree(kmem, 12345), InvalidArgument);
  throwsType(() => ksize(kmem, -4), InvalidArgument);
  teardown(kmem, pa);
});

test('kmalloc: kmalloc_estimate_bytes = ⌈2 × bytes / PAGE⌉ plus one page per CPU for each multi-object class', () => {
  const { kmem, pa } = setup(2);
  // 256 KiB of fragment cache: 128 pages (the 512K of v20's /proc/reserve_info) + 11 classes × 2 CPUs
  assert.is(kmallocEstimateBytes(kmem, 256 * 1024), 128 + 11 * 2);
  assert.is(kmallocEstimateBytes(kmem, 0), 22);
  assert.is(kmallocEstimateBytes(kmem, 1), 1 + 22);
  teardown(kmem, pa);
});

test('kmalloc: kmalloc_estimate_objs sizes through the class cache', () => {
  const { kmem, pa } = setup(1);
  assert.is(kmallocEstimateObjs(kmem, 600, 128), 32 + 1); // 1024-byte class: 4 per page, plus the CPU slab
  assert.is(kmallocEstimateObjs(kmem, 4096, 3), 3); // one object per slab: no per-CPU slack
  kmemCacheCreate(kmem, 'unrelated', 64);
  teardown(kmem, pa);
});

test.run();
