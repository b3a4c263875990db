/**
 * The network tree allocator mode (Evgeniy Polyakov's NTA, August 2006; never merged; REFERENCE.md §11.12):
 * network buffers come from a pool of their own, split per CPU, that never falls back to the system allocator.
 *
 * ```
 *   frames given at boot ─┬─ CPU 0: free stack | semi-free stack   (frees made on other CPUs land here)
 *                         ├─ CPU 1: free stack | semi-free stack
 *                         └─ ...
 *   allocPage on CPU c: pop c's free stack; if empty, move c's semi-free stack over first; if still empty, fail.
 *   putPage to 0:        back to the page's home CPU: its free stack if freed on that CPU, else its semi-free one.
 * ```
 *
 * The isolation claim, both ways: the system allocator running dry cannot starve the network (its pages are
 * not the system's), and the network pool running dry fails only network allocations (nothing falls back).
 * There are no watermarks and no reserve here, so pages are never tagged pfmemalloc and `gfp` is ignored.
 *
 * Owns: its frames' free and semi-free stacks and the home-CPU map. Referenced by: whatever the domain points
 * at it (the skb layer through PageAllocator, a KmemAllocator for sub-page buffers). Dies: with the domain.
 * Invariants: a managed frame is on exactly one stack of its home CPU iff its refcount is 0;
 * Σ free + semi-free + inUse = managedPages.
 *
 * Deviations: NTA proper carved pages into 32-byte chunks with size-indexed free lists and coalescing, and grew
 * its pool on demand; pvnet's pool is page-granular and fixed at boot (a KmemAllocator over it gives sub-page
 * buffers in power-of-two classes), which keeps the separation property and drops the fragmentation study.
 */

import type { MachineMemory } from '../hv/memory.ts';
import { InvalidArgument } from '../errors.ts';
import { PG_pfmemalloc, type PageAllocator } from './page-allocator.ts';
import { getPageRef, putPageRef } from './page-ref.ts';
import type { ExecContext } from './task.ts';

/** Counters of the network pool, kept apart from the system allocator's. */
export class NtaStats {
  allocs = 0;
  failures = 0;
  /** Frees made on the page's home CPU. */
  freesLocal = 0;
  /** Frees made on another CPU (queued on the home CPU's semi-free stack). */
  freesRemote = 0;
  /** Times a CPU took its semi-free stack back. */
  semiDrains = 0;
  /** Lowest total free count seen after an allocation. */
  minFreeSeen: number;

  constructor(free: number) {
    this.minFreeSeen = free;
  }
}

export class NtaAllocator implements PageAllocator {
  readonly mem: MachineMemory;
  readonly domid: number;
  readonly ctx: ExecContext;
  readonly cpus: number;
  readonly managedPages: number;
  readonly stats: NtaStats;

  private readonly home: Int16Array;
  private readonly base: Int32Array;
  private readonly free: Int32Array;
  private readonly freeCount: Int32Array;
  private readonly semi: Int32Array;
  private readonly semiCount: Int32Array;
  private used = 0;

  /** A pool over `frames` (owned by `domid`, refcount 0), split into `cpus` equal shares. */
  constructor(mem: MachineMemory, domid: number, frames: ArrayLike<number>, ctx: ExecContext, cpus = 1) {
    const n = frames.length;
    if (!(Number.isInteger(cpus) && cpus >= 1 && cpus <= n)) throw new InvalidArgument(`NtaAllocator: ${cpus} CPUs for ${n} frames`);
    this.mem = mem;
    this.domid = domid;
    this.ctx = ctx;
    this.cpus = cpus;
    this.managedPages = n;
    this.home = new Int16Array(mem.nrFrames).fill(-1);
    this.base = new Int32Array(cpus);
    this.free = new Int32Array(n);
    this.freeCount = new Int32Array(cpus);
    this.semi = new Int32Array(n);
    this.semiCount = new Int32Array(cpus);
    let i = 0;
    for (let c = 0; c < cpus; c++) {
      const share = Math.floor(n / cpus) + (c < n % cpus ? 1 : 0);
      this.base[c] = i;
      for (let k = share - 1; k >= 0; k--) this.adopt(frames[i + k]!, c);
      i += share;
    }
    this.stats = new NtaStats(n);
  }

  get inUse(): number {
    return this.used;
  }

  /** Free pages over all CPUs, semi-free included. */
  get freePages(): number {
    return this.managedPages - this.used;
  }

  /** Free pages CPU `cpu` can hand out (its free and semi-free stacks). */
  freeOn(cpu: number): number {
    return this.freeCount[cpu]! + this.semiCount[cpu]!;
  }

  allocPage(_gfp: number): number {
    const cpu = this.ctx.cpu;
    if (!(cpu < this.cpus)) throw new InvalidArgument(`NtaAllocator: CPU ${cpu} has no pool (${this.cpus} CPUs)`);
    if (this.freeCount[cpu] === 0 && this.semiCount[cpu]! > 0) this.drainSemi(cpu);
    const count = this.freeCount[cpu]!;
    if (count === 0) {
      this.stats.failures++;
      return -1;
    }
    this.freeCount[cpu] = count - 1;
    const f = this.free[this.base[cpu]! + count - 1]!;
    this.mem.refcount[f] = 1;
    this.mem.flags[f]! &= ~PG_pfmemalloc;
    this.used++;
    this.stats.allocs++;
    const free = this.managedPages - this.used;
    if (free < this.stats.minFreeSeen) this.stats.minFreeSeen = free;
    return f;
  }

  getPage(frame: number): void {
    getPageRef(this.mem, frame, this.home[frame]! >= 0);
  }

  putPage(frame: number): void {
    const home = this.home[frame]!;
    if (putPageRef(this.mem, this.domid, frame, home >= 0)) this.release(frame, home);
  }

  isPfmemalloc(frame: number): boolean {
    return (this.mem.flags[frame]! & PG_pfmemalloc) !== 0;
  }

  /** True if `frame` belongs to this pool. */
  manages(frame: number): boolean {
    return this.home[frame]! >= 0;
  }

  /** Teardown audit: empty when every page is back. */
  audit(): string[] {
    return this.used === 0 ? [] : [`dom${this.domid} network pool: ${this.used} pages still allocated`];
  }

  private adopt(f: number, cpu: number): void {
    if (this.mem.owner[f] !== this.domid) throw new InvalidArgument(`NtaAllocator: frame ${f} is not owned by dom${this.domid}`);
    if (this.home[f]! >= 0) throw new InvalidArgument(`NtaAllocator: frame ${f} given twice`);
    if (this.mem.refcount[f] !== 0) throw new InvalidArgument(`NtaAllocator: frame ${f} has refcount ${this.mem.refcount[f]}`);
    this.home[f] = cpu;
    this.free[this.base[cpu]! + this.freeCount[cpu]!++] = f;
  }

  private release(f: number, home: number): void {
    this.used--;
    if (home === this.ctx.cpu) {
      this.free[this.base[home]! + this.freeCount[home]!++] = f;
      this.stats.freesLocal++;
    } else {
      this.semi[this.base[home]! + this.semiCount[home]!++] = f;
      this.stats.freesRemote++;
    }
  }

  private drainSemi(cpu: number): void {
    const b = this.base[cpu]!;
    const n = this.semiCount[cpu]!;
    const at = b + this.freeCount[cpu]!;
    for (let i = 0; i < n; i++) this.free[at + i] = this.semi[b + i]!;
    this.freeCount[cpu]! += n;
    this.semiCount[cpu] = 0;
    this.stats.semiDrains++;
  }
}
