/**
 * The main loop of a domain thread in the worker runtime: do whatever work is there (the link's queues, the
 * clock's due timers, the workload), and when a round found nothing, spin a little, then sleep on the
 * thread's doorbell until it is rung or the next timer falls due. A timer due sooner than `minSleepMs` is
 * spun for, not slept for: a futex wait shorter than the kernel's timer slack (50 µs by default) oversleeps.
 * A loop that makes no progress for `stallMs` throws: a lost wake-up or a stuck peer fails loudly instead of
 * hanging a benchmark.
 */

import { InvalidArgument } from '../../errors.ts';
import type { Doorbell } from './channel.ts';
import type { WallClock } from './wall-clock.ts';

export interface LoopOptions {
  readonly bell: Doorbell;
  readonly clock: WallClock;
  /** What the loop waits for, for the stall message. */
  readonly what: string;
  /** Busy-poll this long after the last work before sleeping (ms; default 0.05). */
  readonly spinMs?: number;
  /** Never sleep for less than this: spin instead (ms; default 0.2). */
  readonly minSleepMs?: number;
  /** Longest stretch without any work before giving up (ms; default 30 000). */
  readonly stallMs?: number;
  /** Counters to add to. */
  readonly stats?: LoopStats;
}

/** Where a thread's time went. */
export class LoopStats {
  /** Rounds that found work, rounds that did not, and the time spent in each kind (ms). */
  busyRounds = 0;
  idleRounds = 0;
  busyMs = 0;
  idleMs = 0;
  /** Sleeps on the doorbell and their total length (ms; part of idleMs). */
  sleeps = 0;
  sleptMs = 0;
}

/** Idle rounds between two looks at the time (the spin, stall and sleep decisions). */
const IDLE_CHECK_EVERY = 64;

/** Run `step` (returns the work it did) and the clock until `done()`. */
export function runLoop(done: () => boolean, step: () => number, o: LoopOptions): void {
  const spinMs = o.spinMs ?? 0.05;
  const minSleepMs = o.minSleepMs ?? 0.2;
  const stallMs = o.stallMs ?? 30_000;
  const st = o.stats ?? new LoopStats();
  // The time is read only when the loop turns busy or idle, and every IDLE_CHECK_EVERY idle rounds: a
  // reading costs a system call and an allocation (see wall-clock.ts).
  let busy = true;
  let mark = performance.now();
  let idleSince = mark;
  let idleRounds = 0;
  while (!done()) {
    const seq = o.bell.seq();
    const work = step();
    if (work + o.clock.run(work > 0) > 0) {
      st.busyRounds++;
      idleRounds = 0;
      if (!busy) {
        const t = performance.now();
        st.idleMs += t - mark;
        mark = t;
        busy = true;
      }
      continue;
    }
    st.idleRounds++;
    if (busy) {
      const t = performance.now();
      st.busyMs += t - mark;
      mark = t;
      idleSince = t;
      busy = false;
    }
    if (++idleRounds % IDLE_CHECK_EVERY !== 0) continue;
    const now = performance.now();
    const idle = now - idleSince;
    if (idle > stallMs) throw new InvalidArgument(`${o.what}: no progress for ${Math.round(idle)} ms`);
    if (idle < spinMs) continue;
    const dueMs = (o.clock.nextDue() - o.clock.wallNs()) / 1e6;
    if (dueMs < minSleepMs) continue;
    st.sleeps++;
    o.bell.sleep(seq, Math.min(dueMs, 20));
    st.sleptMs += performance.now() - now;
  }
  const t = performance.now();
  if (busy) st.busyMs += t - mark;
  else st.idleMs += t - mark;
}
