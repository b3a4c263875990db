/**
 * The clock of a domain thread in the worker runtime: the deterministic Scheduler, driven by the wall clock
 * instead of by "the next event". The thread's loop calls `run()`, which runs every timer due by now (in due
 * order, ties in the order they were set, as the Scheduler always does) and sets virtual time to the
 * elapsed real time; `nextDue()` says how long the thread may sleep. Time is nanoseconds since the runtime's
 * common origin (`origin`, a performance.timeOrigin + performance.now() value every thread agrees on), so
 * two threads' clocks read the same instant alike.
 *
 * `nextDue` is conservative: a cancelled timer may still be counted, which only wakes the thread early.
 */

import type { Clock, TimerHandle } from '../../hv/clock.ts';
import { Scheduler } from '../scheduler.ts';

/** performance.timeOrigin + performance.now(), in ms: comparable across threads. */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

export class WallClock implements Clock {
  private readonly s = new Scheduler();
  private readonly originMs: number;
  /** Due times of timers not yet known to have run: a binary min-heap. */
  private dues = new Float64Array(64);
  private nDues = 0;

  constructor(originMs: number = epochMs()) {
    this.originMs = originMs;
    this.s.runUntil(this.wallNs());
  }

  /** Real nanoseconds since the origin. */
  wallNs(): number {
    return Math.round((epochMs() - this.originMs) * 1e6);
  }

  now(): number {
    return this.s.now();
  }

  setTimer(delayNs: number, fn: () => void): TimerHandle {
    const h = this.s.setTimer(delayNs, fn);
    this.pushDue(this.s.now() + delayNs);
    return h;
  }

  cancel(handle: TimerHandle): void {
    this.s.cancel(handle);
  }

  /** Run every timer due by now. Returns the number run. */
  run(): number {
    const now = this.wallNs();
    const n = this.s.runUntil(now > this.s.now() ? now : this.s.now());
    while (this.nDues > 0 && this.dues[0]! <= this.s.now()) this.popDue();
    return n;
  }

  /** Virtual time of the earliest timer that may still be pending, or Infinity. */
  nextDue(): number {
    return this.nDues > 0 ? this.dues[0]! : Infinity;
  }

  private pushDue(t: number): void {
    if (this.nDues === this.dues.length) {
      const d = new Float64Array(this.dues.length * 2);
      d.set(this.dues);
      this.dues = d;
    }
    const h = this.dues;
    let i = this.nDues++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]! <= t) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = t;
  }

  private popDue(): void {
    const h = this.dues;
    const last = h[--this.nDues]!;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= this.nDues) break;
      const c = l + 1 < this.nDues && h[l + 1]! < h[l]! ? l + 1 : l;
      if (last <= h[c]!) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
  }
}
