/**
 * Workload: the memory hog of the 2006 test and of Mel Gorman's harness (REFERENCE §11.13, §12.1 item 10):
 * D user tasks that between them touch A new anonymous pages a step (GFP_HIGHUSER) until `targetPages` (four
 * times RAM by default) have each been touched once, then exit. Every 64 pages a task also allocates a small
 * kernel object (GFP_KERNEL, a page-table page stand-in) from the same kmalloc class as the swap client's rpc
 * buffers, so that the slab rule (invariant 7) has a non-entitled customer.
 *
 * A task whose allocation fails goes through the allocator's slow path: kswapd is woken; a task found over half
 * the reserve in use is throttled (FAIL_THROTTLED: it is parked on pfmemalloc_wait until kswapd wakes it);
 * otherwise it direct-reclaims (Reclaim's hook) and retries once; if that still fails it waits for the next step.
 * The OOM killer is modelled only where Linux would reach it: reclaim failed and nothing at all is left to
 * reclaim or being written. "Works" (§11.13) = the workload exits normally, no hang and no OOM kill.
 *
 * Owns: the tasks and the kernel objects they hold (the anonymous pages belong to Reclaim's lru). Referenced by
 * the step loop and the checker. Dies at `exit` (normal), `oomKill`, or `teardown`.
 */

import { GFP_HIGHUSER, GFP_KERNEL } from '../../mm/gfp.ts';
import { kfree, kmalloc } from '../../mm/kmalloc.ts';
import type { PageAllocator } from '../../mm/page-allocator.ts';
import type { KmemAllocator } from '../../mm/slab.ts';
import { TaskStruct, type ExecContext } from '../../mm/task.ts';
import { AllocOutcome, type ZonePageAllocator } from '../../mm/zone-allocator.ts';
import type { Prng } from '../prng.ts';
import type { Reclaim } from './reclaim.ts';
import type { SwapClient, TxObserver } from './swap-client.ts';

/** Pages touched per kernel object allocated. */
export const PAGES_PER_OBJECT = 64;

/** What the workload reports to the invariant checker. */
export interface WorkloadObserver extends Pick<TxObserver, 'onSlabObject'> {
  /** Task `i` is about to allocate (it must not be parked on pfmemalloc_wait). */
  onTaskRuns(i: number): void;
}

export class WorkloadStats {
  /** Page allocations that failed (each ends that task's step). */
  allocFailures = 0;
  /** Failures that parked the task (throttled). */
  throttledFailures = 0;
  /** Kernel-object allocations that failed (retried later). */
  objectFailures = 0;
  oomKills = 0;
}

export class Workload {
  readonly tasks: TaskStruct[] = [];
  readonly ctx: ExecContext;
  readonly zone: ZonePageAllocator;
  readonly pages: PageAllocator;
  readonly kmem: KmemAllocator;
  readonly reclaim: Reclaim;
  readonly client: SwapClient;
  readonly perStep: number;
  readonly target: number;
  readonly objectBytes: number;
  readonly cpus: number;
  readonly stats = new WorkloadStats();
  observer: WorkloadObserver | null = null;
  touched = 0;
  /** Exited normally at `exitStep`. */
  done = false;
  killed = false;
  exitStep = -1;
  private readonly order: Int32Array;
  private readonly objs: Float64Array;
  private nObjs = 0;
  private owed = 0;

  constructor(o: {
    ctx: ExecContext; zone: ZonePageAllocator; pages: PageAllocator; kmem: KmemAllocator; reclaim: Reclaim; client: SwapClient;
    tasks: number; perStep: number; target: number; objectBytes: number; cpus: number;
  }) {
    this.ctx = o.ctx;
    this.zone = o.zone;
    this.pages = o.pages;
    this.kmem = o.kmem;
    this.reclaim = o.reclaim;
    this.client = o.client;
    this.perStep = o.perStep;
    this.target = o.target;
    this.objectBytes = o.objectBytes;
    this.cpus = o.cpus;
    for (let i = 0; i < o.tasks; i++) this.tasks.push(new TaskStruct(`usemem/${i}`));
    this.order = new Int32Array(o.tasks);
    this.objs = new Float64Array(Math.ceil(o.target / PAGES_PER_OBJECT) + o.tasks);
  }

  /** Still running (neither exited nor killed). */
  get running(): boolean {
    return !this.done && !this.killed;
  }

  /** Step `t`: each runnable task, in an order drawn from the seed, touches its share of pages. */
  step(t: number, prng: Prng): void {
    if (!this.running) return;
    const n = this.tasks.length;
    const ord = this.order;
    for (let i = 0; i < n; i++) ord[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = prng.nextU32() % (i + 1);
      const x = ord[i]!;
      ord[i] = ord[j]!;
      ord[j] = x;
    }
    const base = Math.floor(this.perStep / n);
    const extra = this.perStep - base * n;
    const ctx = this.ctx;
    const prev = ctx.current;
    const prevCpu = ctx.cpu;
    for (let k = 0; k < n && this.running; k++) {
      const i = ord[k]!;
      if (this.reclaim.isParked(i)) continue;
      ctx.switchTo(this.tasks[i]!);
      ctx.cpu = i % this.cpus;
      this.runTask(i, base + (k < extra ? 1 : 0), t);
    }
    ctx.cpu = prevCpu;
    ctx.switchTo(prev);
  }

  /** Free what the workload still holds (end of run, if it never exited). */
  teardown(): void {
    if (this.running) this.release();
  }

  private runTask(i: number, quota: number, t: number): void {
    this.observer?.onTaskRuns(i);
    for (let k = 0; k < quota; k++) {
      if (this.owed > 0 && !this.allocObject()) {
        if (this.zone.lastOutcome === AllocOutcome.FAIL_THROTTLED) this.reclaim.park(i);
        return;
      }
      const f = this.pages.allocPage(GFP_HIGHUSER);
      if (f < 0) {
        this.stats.allocFailures++;
        const out = this.zone.lastOutcome;
        if (out === AllocOutcome.FAIL_THROTTLED) {
          this.stats.throttledFailures++;
          this.reclaim.park(i);
        } else if (out === AllocOutcome.FAIL_RECLAIM && this.reclaim.nothingReclaimable()) {
          this.oomKill(t);
        }
        return;
      }
      this.reclaim.addAnon(f);
      this.touched++;
      if (this.touched % PAGES_PER_OBJECT === 0) this.owed++;
      if (this.touched >= this.target) {
        this.exit(t);
        return;
      }
    }
  }

  /** A page-table page stand-in from the kmalloc class the rpc buffers use. False if it failed. */
  private allocObject(): boolean {
    const h = kmalloc(this.kmem, this.objectBytes, GFP_KERNEL);
    if (h < 0) {
      this.stats.objectFailures++;
      return false;
    }
    this.observer?.onSlabObject(this.kmem, h, GFP_KERNEL);
    this.objs[this.nObjs++] = h;
    this.owed--;
    return true;
  }

  /** Normal exit: the address space goes away. */
  private exit(t: number): void {
    this.release();
    this.done = true;
    this.exitStep = t;
  }

  private oomKill(t: number): void {
    this.release();
    this.killed = true;
    this.exitStep = t;
    this.stats.oomKills++;
  }

  private release(): void {
    this.reclaim.dropAnon();
    this.client.cancelQueued();
    for (let k = 0; k < this.nObjs; k++) kfree(this.kmem, this.objs[k]!);
    this.nObjs = 0;
    this.owed = 0;
  }
}
