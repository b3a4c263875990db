/**
 * Allocation watch for a measured window of a thread: the heap in use (process.memoryUsage().heapUsed,
 * after a full collection) at both ends, and the garbage collections that ran in between, by kind, from
 * PerformanceObserver `gc` entries. The collections this watch forces itself are not counted.
 *
 * Forcing a collection needs `gc()`; a worker cannot be started with --expose-gc, so the flag is set at run
 * time and the function taken from a fresh context (the usual way to reach it without the command line).
 */

import { PerformanceObserver, constants } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';

export interface HeapReport {
  /** heapUsed after a full GC, at the start and at the end of the window, in bytes. */
  readonly heapStart: number;
  readonly heapEnd: number;
  readonly growth: number;
  /** Collections in the window: scavenges (minor), mark-compacts (major), incremental marking steps. */
  readonly minorGcs: number;
  readonly majorGcs: number;
  readonly incrementalGcs: number;
  /** Time spent in those collections, ms. */
  readonly gcMs: number;
}

let forceGc: (() => void) | null = null;

/** A full, forced collection. */
export function fullGc(): void {
  if (forceGc === null) {
    v8.setFlagsFromString('--expose-gc');
    forceGc = vm.runInNewContext('gc') as () => void;
  }
  forceGc();
}

interface GcEntry {
  readonly startTime: number;
  readonly duration: number;
  readonly kind: number;
  readonly forced: boolean;
}

export class HeapWatch {
  private readonly entries: GcEntry[] = [];
  private readonly obs: PerformanceObserver;
  private t0 = 0;
  private t1 = 0;
  private heapStart = 0;
  private heapEnd = 0;

  constructor() {
    this.obs = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        const detail = (e as unknown as { detail?: { kind: number; flags: number } }).detail;
        if (detail === undefined) continue;
        const forced = (detail.flags & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED) !== 0;
        this.entries.push({ startTime: e.startTime, duration: e.duration, kind: detail.kind, forced });
      }
    });
    this.obs.observe({ entryTypes: ['gc'] });
  }

  /** Start the window: collect fully, note the heap. */
  start(): void {
    fullGc();
    this.heapStart = process.memoryUsage().heapUsed;
    this.t0 = performance.now();
  }

  /** End the window: note the time, collect fully, note the heap. */
  stop(): void {
    this.t1 = performance.now();
    fullGc();
    this.heapEnd = process.memoryUsage().heapUsed;
  }

  /** The report; awaits one turn of the event loop so the observer has seen every entry. */
  async report(): Promise<HeapReport> {
    await new Promise((r) => setTimeout(r, 10));
    this.obs.disconnect();
    const inWindow = this.entries.filter((e) => !e.forced && e.startTime >= this.t0 && e.startTime <= this.t1);
    const count = (k: number) => inWindow.filter((e) => e.kind === k).length;
    return {
      heapStart: this.heapStart,
      heapEnd: this.heapEnd,
      growth: this.heapEnd - this.heapStart,
      minorGcs: count(constants.NODE_PERFORMANCE_GC_MINOR),
      majorGcs: count(constants.NODE_PERFORMANCE_GC_MAJOR),
      incrementalGcs: count(constants.NODE_PERFORMANCE_GC_INCREMENTAL),
      gcMs: inWindow.reduce((a, e) => a + e.duration, 0),
    };
  }
}
