/**
 * The discrete-event scheduler: virtual time and the order in which things happen.
 *
 * Everything deterministic in pvnet runs on one thread under one `Scheduler`: event-channel upcalls, timers
 * (retransmits, deferred grant end-access, drain timeouts), device queues with delays, workload arrivals. An
 * event is a callback due at a virtual time in nanoseconds; events due at the same time run in the order
 * they were scheduled (a sequence number breaks ties), so the same seed gives the same trace.
 *
 * Storage: a binary min-heap over parallel arrays (due time, sequence, callback slot); cancelled events are
 * tombstoned by handle and skipped when popped. Handles are positive integers, never reused within a run.
 *
 * The scheduler implements the hypervisor's clock interface (now / setTimer / cancel), so hv timers run on it.
 */

import { InvalidArgument } from '../errors.ts';
import type { Clock } from '../hv/clock.ts';

export type Callback = () => void;

export class Scheduler implements Clock {
  private time = 0;
  private seq = 0;
  private size = 0;
  private dueAt = new Float64Array(256);
  private order = new Float64Array(256);
  private handles = new Float64Array(256);
  private fns: (Callback | undefined)[] = new Array(256);
  private readonly cancelled = new Set<number>();
  private nextHandle = 1;
  /** Events run so far. */
  executed = 0;

  /** Current virtual time in nanoseconds. */
  now(): number {
    return this.time;
  }

  /** Run `fn` at virtual time `when` (≥ now). Returns a handle for cancel(). */
  at(when: number, fn: Callback): number {
    if (!(when >= this.time)) throw new InvalidArgument(`Scheduler.at: ${when} is in the past (now ${this.time})`);
    if (this.size === this.dueAt.length) this.grow();
    const h = this.nextHandle++;
    let i = this.size++;
    const s = this.seq++;
    // sift up
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.less(when, s, p)) {
        this.move(p, i);
        i = p;
      } else break;
    }
    this.dueAt[i] = when;
    this.order[i] = s;
    this.handles[i] = h;
    this.fns[i] = fn;
    return h;
  }

  /** Run `fn` `delay` ns from now. */
  setTimer(delay: number, fn: Callback): number {
    if (!(delay >= 0)) throw new InvalidArgument(`Scheduler.setTimer: negative delay ${delay}`);
    return this.at(this.time + delay, fn);
  }

  /** Run `fn` now, after the events already due now. */
  defer(fn: Callback): number {
    return this.at(this.time, fn);
  }

  /** Cancel a pending event; cancelling one that already ran or was cancelled is a no-op. */
  cancel(handle: number): void {
    if (handle > 0 && handle < this.nextHandle) this.cancelled.add(handle);
  }

  /** Events scheduled and not yet run (cancelled ones included until they are popped). */
  get pending(): number {
    return this.size;
  }

  /** Run the next event. Returns false when there is none. */
  step(): boolean {
    while (this.size > 0) {
      const when = this.dueAt[0]!;
      const h = this.handles[0]!;
      const fn = this.fns[0]!;
      this.pop();
      if (this.cancelled.delete(h)) continue;
      this.time = when;
      this.executed++;
      fn();
      return true;
    }
    return false;
  }

  /** Run events until none is left or `maxEvents` have run. Returns the number run. */
  runUntilIdle(maxEvents = Number.MAX_SAFE_INTEGER): number {
    let n = 0;
    while (n < maxEvents && this.step()) n++;
    return n;
  }

  /** Run every event due at or before `when`, then set the clock to `when`. */
  runUntil(when: number): number {
    let n = 0;
    while (this.size > 0 && this.dueAt[0]! <= when) if (this.step()) n++;
    if (when > this.time) this.time = when;
    return n;
  }

  private less(when: number, s: number, j: number): boolean {
    const dj = this.dueAt[j]!;
    return when < dj || (when === dj && s < this.order[j]!);
  }

  private move(from: number, to: number): void {
    this.dueAt[to] = this.dueAt[from]!;
    this.order[to] = this.order[from]!;
    this.handles[to] = this.handles[from]!;
    this.fns[to] = this.fns[from];
  }

  private pop(): void {
    const last = --this.size;
    const when = this.dueAt[last]!;
    const s = this.order[last]!;
    const h = this.handles[last]!;
    const fn = this.fns[last];
    this.fns[last] = undefined;
    if (last === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= last) break;
      const r = l + 1;
      const c = r < last && this.less(this.dueAt[r]!, this.order[r]!, l) ? r : l;
      // Move the smaller child up while it comes before the element being placed.
      if (this.less(when, s, c)) break;
      this.move(c, i);
      i = c;
    }
    this.dueAt[i] = when;
    this.order[i] = s;
    this.handles[i] = h;
    this.fns[i] = fn;
  }

  private grow(): void {
    const n = this.dueAt.length * 2;
    const grow = (a: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> => {
      const b = new Float64Array(n);
      b.set(a);
      return b;
    };
    this.dueAt = grow(this.dueAt);
    this.order = grow(this.order);
    this.handles = grow(this.handles);
    this.fns.length = n;
  }
}
