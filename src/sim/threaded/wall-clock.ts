/**
 * The clock of a domain thread in the worker runtime: the deterministic Scheduler, driven by the wall clock
 * instead of by "the next event". The thread's loop calls `run()`, which runs every timer due by now (in due
 * order, ties in the order they were set, as the Scheduler always does) and moves virtual time up to the
 * elapsed real time; `nextDue()` says how long the thread may sleep. Time is nanoseconds since the runtime's
 * common origin (an epochMs() value every thread agrees on), so two threads' clocks read the same instant
 * alike.
 *
 * Reading the wall clock costs a system call and, in Node 20, a small allocation (performance.now() goes
 * through process.hrtime()), so an idle thread spinning on `run(false)` reads it only when a timer is due
 * soon after the last reading, and otherwise once every WALL_EVERY calls; `run(true)` (after a round that did
 * work, and time has passed) always reads it. Timers due at the current virtual time (the zero delays of
 * upcalls and NAPI polls) run without any reading.
 *
 * `nextDue` is conservative: a cancelled timer may still be counted, which only wakes the thread early.
 */

import type { Clock, TimerHandle } from '../../hv/clock.ts';
import { Scheduler } from '../scheduler.ts';

/** performance.timeOrigin + performance.now(), in ms: comparable across threads. */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

/** run() calls between two wall-clock readings when no timer is due soon. */
const WALL_EVERY = 64;
/** A timer due within this many ns of the last reading makes every run() read the wall clock. */
const SOON_NS = 50_000;

export class WallClock implements Clock {
  private readonly s = new Scheduler();
  /** performance.now() + offsetMs = ms since the origin. */
  private readonly offsetMs: number;
  /** Due times of timers not yet known to have run: a binary min-heap. */
  private dues = new Float64Array(64);
  private nDues = 0;
  private calls = 0;

  constructor(originMs: number = epochMs()) {
    this.offsetMs = performance.timeOrigin - originMs;
    this.s.runUntil(this.wallNs());
  }

  /** Real nanoseconds since the origin. */
  wallNs(): number {
    return Math.round((performance.now() + this.offsetMs) * 1e6);
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

  /** Run every timer due by now (`moved`: time has surely passed since the last call). Returns the number run. */
  run(moved = true): number {
    const s = this.s;
    let n = 0;
    if (this.nDues > 0 && this.dues[0]! <= s.now()) {
      n += s.runUntil(s.now());
      this.dropRun();
    }
    const soon = this.nDues > 0 && this.dues[0]! - s.now() < SOON_NS;
    if (moved || soon || ++this.calls >= WALL_EVERY) {
      this.calls = 0;
      const now = this.wallNs();
      if (now > s.now()) {
        n += s.runUntil(now);
        this.dropRun();
      }
    }
    return n;
  }

  /** Virtual time of the earliest timer that may still be pending, or Infinity. */
  nextDue(): number {
    return this.nDues > 0 ? this.dues[0]! : Infinity;
  }

  private dropRun(): void {
    const now = this.s.now();
    while (this.nDues > 0 && this.dues[0]! <= now) this.popDue();
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
