/**
 * Virtual time for the hypervisor layer.
 *
 * Everything in hv/ that waits (the guest's deferred end-access retry, later the netback timers) asks an
 * injected `Clock`; nothing reads the wall clock. Time is a number of nanoseconds since the clock started.
 * The discrete-event scheduler in sim/ implements `Clock`; tests use `ManualClock`, which moves only when
 * the test calls `advance()`, so a timer fires at a moment the test chose.
 *
 * Timers are one-shot (like Linux's timer_list: a handler that wants to run again re-arms itself). Timers
 * due at the same instant run in the order they were set.
 */

import { InvalidArgument } from '../errors.ts';

export const NSEC_PER_USEC = 1_000;
export const NSEC_PER_MSEC = 1_000_000;
export const NSEC_PER_SEC = 1_000_000_000;

/** An opaque timer id; 0 is never a valid handle. */
export type TimerHandle = number;

export interface Clock {
  /** Current virtual time, in ns. */
  now(): number;
  /** Run `fn` once, `delayNs` from now. */
  setTimer(delayNs: number, fn: () => void): TimerHandle;
  /** Cancel a timer that has not fired yet; cancelling a fired or unknown timer does nothing. */
  cancel(handle: TimerHandle): void;
}

interface PendingTimer {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

/** A clock that moves only when told. Deterministic: same calls, same firing order. */
export class ManualClock implements Clock {
  private t = 0;
  private nextId = 1;
  private timers: PendingTimer[] = [];

  now(): number {
    return this.t;
  }

  setTimer(delayNs: number, fn: () => void): TimerHandle {
    if (!(delayNs >= 0) || !Number.isFinite(delayNs)) throw new InvalidArgument(`setTimer: bad delay ${delayNs}`);
    const timer = { id: this.nextId++, at: this.t + delayNs, fn };
    // Keep the list sorted by (at, id): insert after every timer due at or before `at`.
    let i = this.timers.length;
    while (i > 0 && this.timers[i - 1]!.at > timer.at) i--;
    this.timers.splice(i, 0, timer);
    return timer.id;
  }

  cancel(handle: TimerHandle): void {
    const i = this.timers.findIndex((x) => x.id === handle);
    if (i >= 0) this.timers.splice(i, 1);
  }

  /** Timers not yet fired. */
  get pendingTimers(): number {
    return this.timers.length;
  }

  /** Move time forward by `ns`, firing every timer that falls due, in order, at its own instant. */
  advance(ns: number): void {
    if (!(ns >= 0) || !Number.isFinite(ns)) throw new InvalidArgument(`advance: bad duration ${ns}`);
    const end = this.t + ns;
    for (;;) {
      const next = this.timers[0];
      if (next === undefined || next.at > end) break;
      this.timers.shift();
      this.t = next.at;
      next.fn();
    }
    this.t = end;
  }
}
