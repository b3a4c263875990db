/**
 * Fixtures for the skb suites: one machine, dom0's page allocator and an SkbEnv, plus helpers to make pages
 * with known bytes and skbs over them. Every suite ends with `w.audit.assertClean()`.
 */
import { MachineMemory } from '../../src/hv/memory.ts';
import { FlatPageAllocator } from '../../src/mm/page-allocator.ts';
import { GFP_KERNEL, __GFP_MEMALLOC, __GFP_NOMEMALLOC } from '../../src/mm/gfp.ts';
import { PG_pfmemalloc, type PageAllocator } from '../../src/mm/page-allocator.ts';
import {
  SkbAudit,
  SkbEnv,
  allocSkb,
  fragDestructorAlloc,
  skbAddRxFrag,
  skbFragRef,
  skbFragSetDestructor,
  skbPutData,
  skbReserve,
  skbToBytes,
  type FragDestructor,
  type SkBuff,
  type SkbEnvOptions,
} from '../../src/skb/index.ts';

export interface World {
  readonly mem: MachineMemory;
  readonly pa: FlatPageAllocator;
  readonly env: SkbEnv;
  readonly audit: SkbAudit;
}

export function world(opts: SkbEnvOptions = {}, frames = 512): World {
  const mem = new MachineMemory(1024);
  mem.registerDomain(0);
  const pa = new FlatPageAllocator(mem, 0, mem.populate(0, frames));
  const env = new SkbEnv(pa, opts);
  return { mem, pa, env, audit: new SkbAudit(env) };
}

/** `len` bytes of a recognisable pattern: byte i is (seed * 7 + i) & 0xff. */
export function pattern(len: number, seed: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) out[i] = (seed * 7 + i) & 0xff;
  return out;
}

/** A page of dom0 filled with pattern(4096, seed); the caller holds its one reference. */
export function dataPage(w: World, seed: number): number {
  const f = w.pa.allocPage(GFP_KERNEL);
  if (f < 0) throw new Error('test machine out of pages');
  w.mem.write(0, f, 0, pattern(4096, seed), 0, 4096);
  return f;
}

/** Bytes [off, off + len) of a frame, read as dom0. */
export function frameBytes(w: World, frame: number, off: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  w.mem.read(0, frame, off, out, 0, len);
  return out;
}

export interface FragSpec {
  readonly frame: number;
  readonly off: number;
  readonly size: number;
  /** Slot counts on this destructor (Campbell's idiom: fill, set, ref) instead of on the frame. */
  readonly dtor?: FragDestructor;
}

/**
 * An skb with `headroom`, `linear` as its head bytes, then the frags. A frag without destructor gets a page
 * reference donated from the test (get_page here); one with a destructor takes a destructor reference.
 */
export function makeSkb(w: World, linear: Uint8Array, frags: readonly FragSpec[] = [], headroom = 64): SkBuff {
  const skb = allocSkb(w.env, headroom + linear.length);
  if (skb === null) throw new Error('allocSkb failed');
  skbReserve(skb, headroom);
  skbPutData(skb, linear);
  frags.forEach((f, i) => {
    if (f.dtor === undefined) w.pa.getPage(f.frame);
    skbAddRxFrag(skb, i, f.frame, f.off, f.size, f.size);
    if (f.dtor !== undefined) {
      skbFragSetDestructor(skb, i, f.dtor);
      skbFragRef(skb, i);
    }
  });
  return skb;
}

/** The bytes an skb built by makeSkb should carry. */
export function expectedBytes(w: World, linear: Uint8Array, frags: readonly FragSpec[]): Uint8Array {
  const parts = [linear, ...frags.map((f) => frameBytes(w, f.frame, f.off, f.size))];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A destructor that counts how often it was destroyed into `log`. */
export function countingDestructor(w: World, log: { destroyed: number }): FragDestructor {
  return fragDestructorAlloc(w.env, () => {
    log.destroyed++;
  });
}

export function bytes(skb: SkBuff): number[] {
  return [...skbToBytes(skb)];
}

export function refcount(w: World, frame: number): number {
  return w.mem.refcount[frame]!;
}

/**
 * An allocator over `w.pa` whose normal pool is empty: only an entitled request (__GFP_MEMALLOC without
 * __GFP_NOMEMALLOC) gets a page, and that page is tagged pfmemalloc, as a reserve page would be.
 */
export function reserveOnly(w: World): PageAllocator {
  const inner = w.pa;
  return {
    mem: inner.mem,
    domid: inner.domid,
    get inUse() {
      return inner.inUse;
    },
    allocPage(gfp: number) {
      if ((gfp & __GFP_MEMALLOC) === 0 || (gfp & __GFP_NOMEMALLOC) !== 0) return -1;
      const f = inner.allocPage(gfp);
      if (f >= 0) inner.mem.flags[f]! |= PG_pfmemalloc;
      return f;
    },
    getPage: (f: number) => inner.getPage(f),
    putPage: (f: number) => inner.putPage(f),
    isPfmemalloc: (f: number) => inner.isPfmemalloc(f),
  };
}

/** Byte arrays equal; on a mismatch, report the first differing index instead of a full diff. */
export function sameBytes(actual: Uint8Array, expected: Uint8Array, what = 'bytes'): void {
  if (actual.length !== expected.length) throw new Error(`${what}: length ${actual.length}, expected ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) throw new Error(`${what}: byte ${i} is ${actual[i]}, expected ${expected[i]}`);
  }
}
