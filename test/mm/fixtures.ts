/**
 * Shared fixtures of the mm suites: a machine with one domain and its zone allocator. The small zone keeps
 * REFERENCE §12.2's marks (MIN 256, LOW 320, HIGH 384: GFP_ATOMIC floor 96, throttle at 128) over 1024 frames
 * so that tests stay fast; `bigZone` builds the real 16384-page (64 MiB) domain with computed marks.
 */
import * as assert from 'uvu/assert';
import { MachineMemory } from '../../src/hv/memory.ts';
import { ExecContext } from '../../src/mm/task.ts';
import { ZonePageAllocator, type ZonePageAllocatorOptions } from '../../src/mm/zone-allocator.ts';

export const DOMID = 1;
export const MARKS = { min: 256, low: 320, high: 384 } as const;

export interface Fixture {
  readonly mem: MachineMemory;
  readonly ctx: ExecContext;
  readonly pa: ZonePageAllocator;
  readonly frames: Int32Array;
}

export function zone(pages = 1024, opts: ZonePageAllocatorOptions = { watermarks: MARKS }, spare = 8): Fixture {
  const mem = new MachineMemory(pages + spare);
  mem.registerDomain(DOMID);
  const frames = mem.populate(DOMID, pages);
  const ctx = new ExecContext();
  const pa = new ZonePageAllocator(mem, DOMID, frames, ctx, opts);
  return { mem, ctx, pa, frames };
}

export function bigZone(): Fixture {
  return zone(16384, {});
}

/** Allocate with `gfp` until the allocator refuses; returns the frames obtained. */
export function drain(pa: { allocPage(gfp: number): number }, gfp: number, max = Infinity): number[] {
  const got: number[] = [];
  while (got.length < max) {
    const f = pa.allocPage(gfp);
    if (f < 0) break;
    got.push(f);
  }
  return got;
}

export function putAll(pa: { putPage(f: number): void }, frames: Iterable<number>): void {
  for (const f of frames) pa.putPage(f);
}

/** The teardown audit every suite ends with: nothing held, every frame back on the free list. */
export function assertBaseline(pa: ZonePageAllocator): void {
  assert.equal(pa.audit(), []);
  assert.is(pa.inUse, 0);
  assert.is(pa.freePages, pa.managedPages);
  assert.is(pa.stats.pfmemallocOutstanding, 0);
}
