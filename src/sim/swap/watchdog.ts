/**
 * Watchdog: the liveness check of REFERENCE §12.4 invariant 9, in the hung-task detector's spirit: a swap
 * device that has had requests outstanding for W steps (W = 10 · T_rto by default) without completing a single
 * one is deadlocked. In `off` and `naive` the scenario expects it to fire; in the other modes it must not.
 *
 * Owns only its counters. Fed once a step by the step loop with the swap client's state. Dies with the run.
 */

/** What the watchdog reads of the swap device (SwapClient provides it). */
export interface WatchedSwapDevice {
  /** Step of the last write completion. */
  readonly lastCompletion: number;
  readonly writesInFlight: number;
  readonly queue: { readonly count: number };
}

export class Watchdog {
  readonly window: number;
  /** Step the deadlock was declared at, or -1. */
  firedAt = -1;
  /** Last step that made progress: a completion, or nothing outstanding. */
  lastProgress = 0;
  /** Longest stretch (steps) with work outstanding and no completion. */
  longestStall = 0;
  detail = '';

  constructor(window: number) {
    this.window = window;
  }

  get fired(): boolean {
    return this.firedAt >= 0;
  }

  /**
   * End of step `t`: progress is the client's last write completion, or a step with no write in flight.
   * Returns true the step the watchdog fires.
   */
  check(t: number, client: WatchedSwapDevice, freePages: number): boolean {
    if (this.fired) return false;
    if (client.lastCompletion > this.lastProgress) this.lastProgress = client.lastCompletion;
    if (client.writesInFlight === 0) this.lastProgress = t;
    const stall = t - this.lastProgress;
    if (stall > this.longestStall) this.longestStall = stall;
    if (stall < this.window) return false;
    this.firedAt = t;
    this.detail =
      `no swap completion for ${stall} steps (since step ${this.lastProgress}) with ${client.writesInFlight} request(s) in flight ` +
      `and ${client.queue.count} queued; ${freePages} pages free`;
    return true;
  }
}
