/**
 * Tasks and the execution context: what Linux reads through `current` and `preempt_count()`.
 *
 * ```
 *   ExecContext (one per domain kernel)          TaskStruct (one per modelled task)
 *   ├─ current ──────────────────────────────▶   ├─ flags   PF_MEMALLOC | PF_KTHREAD | PF_KSWAPD
 *   ├─ cpu          which CPU is running          ├─ memdie  TIF_MEMDIE (the OOM victim)
 *   ├─ hardirq      hard-interrupt nesting        └─ rt      a realtime task
 *   ├─ softirq      softirq being served (SOFTIRQ_OFFSET)
 *   ├─ bh           local_bh_disable() nesting (SOFTIRQ_DISABLE_OFFSET)
 *   └─ reserve      the reservation group allocations are charged to (mm/reserve.ts), or null
 * ```
 *
 * Owns: the ExecContext owns nothing but its counters; tasks are created by whoever models them (the
 * scenario's kswapd, reclaimers, the softirq's borrowed task) and switched in with `switchTo`.
 * Referenced by: the domain's page allocator, slab and NTA read `ctx.current` and the interrupt state on every
 * allocation, exactly as Linux reads `current->flags` and `in_interrupt()`; they never cache them.
 * Dies: with the domain. Nothing here is global: two domains have two contexts (no `current` singleton).
 *
 * Invariants:
 * - hardirq, softirq and bh never go negative (an unbalanced exit throws InvalidArgument);
 * - `softirqEnter` clears PF_MEMALLOC on the borrowed task and `softirqExit` puts the saved bit back, so the
 *   flag neither leaks into nor out of softirq processing (REFERENCE §11.7, `__do_softirq`);
 * - `memallocNoreclaimSave`/`Restore` nest: each restore puts back exactly the PF_MEMALLOC bit its save saw.
 *
 * Deviation: Linux keeps preempt_count per CPU (per task on old kernels); pvnet keeps one set of counters per
 * domain and the simulation runs one CPU at a time, switching `cpu` and `current` between them.
 */

import { InvalidArgument } from '../errors.ts';
import type { MemReserve } from './reserve.ts';

/** PF_MEMALLOC: the task is freeing memory and may use the emergency reserve (3.6 and modern: 0x800). */
export const PF_MEMALLOC = 0x00000800;
/** PF_KSWAPD: the task is kswapd (modern value; 3.6 had 0x00040000). */
export const PF_KSWAPD = 0x00020000;
/** PF_KTHREAD: a kernel thread; never throttled in direct reclaim (REFERENCE §11.8). */
export const PF_KTHREAD = 0x00200000;

/** A modelled task: the flags allocation decisions read through `current`. */
export class TaskStruct {
  readonly comm: string;
  /** PF_* bits. */
  flags: number;
  /** TIF_MEMDIE: chosen by the OOM killer; may use the reserve to exit. */
  memdie = false;
  /** A realtime task: gets ALLOC_HARDER when it may sleep and is not in interrupt context. */
  rt = false;

  constructor(comm: string, flags = 0) {
    this.comm = comm;
    this.flags = flags;
  }

  get isKthread(): boolean {
    return (this.flags & PF_KTHREAD) !== 0;
  }
}

/** A kernel thread (PF_KTHREAD). */
export function kthreadCreate(comm: string): TaskStruct {
  return new TaskStruct(comm, PF_KTHREAD);
}

/** kswapd as Linux starts it: a kernel thread with PF_MEMALLOC | PF_KSWAPD set for its whole life. */
export function kswapdTask(comm = 'kswapd0'): TaskStruct {
  return new TaskStruct(comm, PF_KTHREAD | PF_KSWAPD | PF_MEMALLOC);
}

/** The per-domain view of "what is running now": `current`, its CPU, and the interrupt nesting. */
export class ExecContext {
  current: TaskStruct;
  cpu = 0;
  hardirq = 0;
  softirq = 0;
  bh = 0;
  /** Reservation group that allocations made now are charged to (mm/reserve.ts); null when none. */
  reserve: MemReserve | null = null;

  constructor(current: TaskStruct = new TaskStruct('init')) {
    this.current = current;
  }

  /** Make `task` current; returns the previous one so the caller can switch back. */
  switchTo(task: TaskStruct): TaskStruct {
    const prev = this.current;
    this.current = task;
    return prev;
  }

  /** in_interrupt(): hard irq, serving a softirq, or bottom halves disabled. */
  inInterrupt(): boolean {
    return this.hardirq > 0 || this.softirq > 0 || this.bh > 0;
  }

  /** in_serving_softirq(): a softirq handler is running (even if a hard irq has nested on top of it). */
  inServingSoftirq(): boolean {
    return this.softirq > 0;
  }

  hardirqEnter(): void {
    this.hardirq++;
  }

  hardirqExit(): void {
    if (this.hardirq === 0) throw new InvalidArgument('hardirqExit without hardirqEnter');
    this.hardirq--;
  }

  /** local_bh_disable(): in_interrupt() becomes true, in_serving_softirq() does not. */
  localBhDisable(): void {
    this.bh++;
  }

  localBhEnable(): void {
    if (this.bh === 0) throw new InvalidArgument('localBhEnable without localBhDisable');
    this.bh--;
  }
}

/**
 * memalloc_noreclaim_save(): set PF_MEMALLOC on the current task; returns the bit as it was, for
 * `memallocNoreclaimRestore`. Used around work that frees memory (pageout, the receive path of a tagged skb).
 */
export function memallocNoreclaimSave(ctx: ExecContext): number {
  const task = ctx.current;
  const saved = task.flags & PF_MEMALLOC;
  task.flags |= PF_MEMALLOC;
  return saved;
}

/** memalloc_noreclaim_restore(): put PF_MEMALLOC back to what `memallocNoreclaimSave` saw. */
export function memallocNoreclaimRestore(ctx: ExecContext, saved: number): void {
  const task = ctx.current;
  task.flags = (task.flags & ~PF_MEMALLOC) | (saved & PF_MEMALLOC);
}

/** tsk_restore_flags(): restore the bits in `mask` of `task.flags` from `orig`. */
export function tskRestoreFlags(task: TaskStruct, orig: number, mask: number): void {
  task.flags = (task.flags & ~mask) | (orig & mask);
}

/**
 * The entry half of `__do_softirq`: save the borrowed task's flags, clear PF_MEMALLOC, mark a softirq as
 * being served. Returns the saved flags for `softirqExit`.
 */
export function softirqEnter(ctx: ExecContext): number {
  const task = ctx.current;
  const saved = task.flags;
  task.flags &= ~PF_MEMALLOC;
  ctx.softirq++;
  return saved;
}

/** The exit half of `__do_softirq`: leave softirq context and restore PF_MEMALLOC from `saved`. */
export function softirqExit(ctx: ExecContext, saved: number): void {
  if (ctx.softirq === 0) throw new InvalidArgument('softirqExit without softirqEnter');
  ctx.softirq--;
  tskRestoreFlags(ctx.current, saved, PF_MEMALLOC);
}
