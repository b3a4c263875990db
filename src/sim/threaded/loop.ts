/**
 * The main loop of a domain thread in the worker runtime: do whatever work is there (the link's queues, the
 * clock's due timers, the workload), and when a round found nothing, spin, then sleep on the thread's
 * doorbell until it is rung or the next timer falls due. How long to spin depends on the peer thread: while
 * it is awake it is probably producing work for this one, and a futex wake-up costs tens of microseconds, so
 * spin up to `spinMs`; once it sleeps too, nothing will come before a timer or a ring, so sleep after
 * `idleSpinMs`. A timer due sooner than `minSleepMs` is spun for, not slept for: a futex wait shorter than
 * the kernel's timer slack (50 µs by default) oversleeps.
 * A loop that makes no progress for `stallMs` throws: a lost wake-up or a stuck peer fails loudly instead of
 * hanging a benchmark.
 */

import { InvalidArgument } from '../../errors.ts';
import type { Doorbell } from './channel.ts';
import type { WallClock } from './wall-clock.ts';

export interface LoopOptions {
  readonly bell: Doorbell;
  /** The other thread's doorbell (to see whether it sleeps). */
  readonly peer?: Doorbell;
  readonly clock: WallClock;
  /** What the loop waits for, for the stall message. */
  readonly what: string;
  /** Busy-poll this long after the last work while the peer is awake (ms; default 0.5). */
  readonly spinMs?: number;
  /** ... and this long while the peer sleeps, or when there is no peer (ms; default 0.05). */
  readonly idleSpinMs?: number;
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
  /** The stretch in progress (not yet in busyMs / idleMs): busy or idle, since when (performance.now()). */
  busyNow = false;
  since = 0;
}

/** A copy of `st` with the stretch in progress counted up to `now`: a snapshot taken in the middle of a loop. */
export function loopSnapshot(st: LoopStats, now: number): LoopStats {
  const out = Object.assign(new LoopStats(), st);
  if (st.busyNow) out.busyMs += now - st.since;
  else out.idleMs += now - st.since;
  out.since = now;
  return out;
}

/** Idle rounds between two looks at the time (the spin, stall and sleep decisions). */
const IDLE_CHECK_EVERY = 64;

/** Run `step` (returns the work it did) and the clock until `done()`. */
export function runLoop(done: () => boolean, step: () => number, o: LoopOptions): void {
  const spinMs = o.spinMs ?? 0.5;
  const idleSpinMs = o.idleSpinMs ?? 0.05;
  const peer = o.peer;
  const minSleepMs = o.minSleepMs ?? 0.2;
  const stallMs = o.stallMs ?? 30_000;
  const st = o.stats ?? new LoopStats();
  // The time is read when the loop turns idle, every IDLE_CHECK_EVERY idle rounds and after a sleep, never in
  // a busy stretch: a reading costs a system call and an allocation (see wall-clock.ts). A busy stretch is
  // taken to start at the last reading before it (at most IDLE_CHECK_EVERY idle rounds early).
  let busy = true;
  let mark = performance.now();
  let seen = mark;
  st.busyNow = true;
  st.since = mark;
  let idleSince = mark;
  let idleRounds = 0;
  while (!done()) {
    const seq = o.bell.seq();
    const work = step();
    if (work + o.clock.run(work > 0) > 0) {
      st.busyRounds++;
      idleRounds = 0;
      if (!busy) {
        st.idleMs += seen - mark;
        mark = seen;
        busy = true;
        st.busyNow = true;
        st.since = mark;
      }
      continue;
    }
    st.idleRounds++;
    if (busy) {
      seen = performance.now();
      st.busyMs += seen - mark;
      mark = seen;
      idleSince = seen;
      busy = false;
      st.busyNow = false;
      st.since = mark;
    }
    if (++idleRounds % IDLE_CHECK_EVERY !== 0) continue;
    seen = performance.now();
    const idle = seen - idleSince;
    if (idle > stallMs) throw new InvalidArgument(`${o.what}: no progress for ${Math.round(idle)} ms`);
    if (idle < (peer !== undefined && !peer.sleeping() ? spinMs : idleSpinMs)) continue;
    const dueMs = (o.clock.nextDue() - o.clock.wallNs()) / 1e6;
    if (dueMs < minSleepMs) continue;
    st.sleeps++;
    o.bell.sleep(seq, Math.min(dueMs, 20));
    const t = performance.now();
    st.sleptMs += t - seen;
    seen = t;
  }
  const t = performance.now();
  if (busy) st.busyMs += t - mark;
  else st.idleMs += t - mark;
  st.since = t;
}
