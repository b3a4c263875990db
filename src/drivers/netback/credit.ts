/**
 * Credit shaping of guest TX (REFERENCE.md §5.6; netback.c tx_credit_exceeded, tx_add_credit,
 * xenvif_tx_credit_callback; xenbus.c xen_net_read_rate, xen_net_rate_changed).
 *
 * The `rate` key "<bytes>,<usec>" grants `credit_bytes` every `credit_usec`. A packet is charged whole,
 * up front, before it is consumed (multicast control requests too). When a packet does not fit the
 * remaining credit, a new window opens if the old one is over; if it still does not fit, the queue is
 * rate-limited and a timer at the end of the window adds credit and restarts the poll. The window length is
 * msecs_to_jiffies(credit_usec / 1000) with 1 ms jiffies (HZ = 1000): sub-millisecond parts are dropped as
 * Linux's integer division drops them. "Unlimited" (no key, or a key that fails to parse) is Infinity.
 *
 * State lives on the queue (creditBytes, creditUsec, remainingCredit, creditWindowStart, creditTimer,
 * rateLimited); only this file writes it.
 */

import { NSEC_PER_MSEC } from '../../hv/clock.ts';
import { CREDIT_MIN_BURST } from './constants.ts';
import { xenvifNapiScheduleOrEnableEvents } from './interface.ts';
import type { XenvifQueue } from './queue.ts';

export interface Rate {
  bytes: number;
  usec: number;
}

/** xen_net_read_rate: parse the `rate` value; unlimited when absent or malformed (Linux warns and goes on). */
export function xenNetParseRate(value: string | undefined): Rate {
  const unlimited = { bytes: Infinity, usec: 0 };
  if (value === undefined) return unlimited;
  const m = /^([0-9]+),([0-9]+)$/.exec(value);
  if (m === null) return unlimited;
  const bytes = Number(m[1]);
  const usec = Number(m[2]);
  if (!Number.isSafeInteger(bytes) || !Number.isSafeInteger(usec)) return unlimited;
  return { bytes, usec };
}

/** Set a queue's rate at connect: remaining credit starts full. */
export function xenvifInitCredit(q: XenvifQueue, rate: Rate): void {
  q.creditBytes = rate.bytes;
  q.creditUsec = rate.usec;
  q.remainingCredit = rate.bytes;
  q.creditWindowStart = q.vif.nb.clock.now();
  q.rateLimited = false;
}

/** tx_add_credit: one window's worth, saturating, capped at max(128 KiB, credit_bytes). */
export function txAddCredit(q: XenvifQueue): void {
  const maxBurst = Math.max(CREDIT_MIN_BURST, q.creditBytes);
  const maxCredit = q.remainingCredit + q.creditBytes;
  q.remainingCredit = Math.min(maxCredit, maxBurst);
  q.rateLimited = false;
}

function nextCredit(q: XenvifQueue): number {
  return q.creditWindowStart + Math.floor(q.creditUsec / 1000) * NSEC_PER_MSEC;
}

/** tx_credit_exceeded: may a packet of `size` bytes go now? True means stop (the queue is rate-limited). */
export function txCreditExceeded(q: XenvifQueue, size: number): boolean {
  const clock = q.vif.nb.clock;
  const now = clock.now();
  const next = nextCredit(q);
  if (q.creditTimer !== 0) {
    q.rateLimited = true;
    return true;
  }
  if (now >= next) {
    q.creditWindowStart = now;
    txAddCredit(q);
  }
  if (size > q.remainingCredit) {
    q.creditTimer = clock.setTimer(Math.max(0, next - now), q.creditCb);
    q.creditWindowStart = next;
    q.rateLimited = true;
    return true;
  }
  return false;
}

/** xenvif_tx_credit_callback: the window ended; add credit and let the poll run again. */
export function xenvifTxCreditCallback(q: XenvifQueue): void {
  q.creditTimer = 0;
  txAddCredit(q);
  xenvifNapiScheduleOrEnableEvents(q);
}

/**
 * xen_net_rate_changed for one queue: take the new rate; a pending credit timer fires now (mod_timer_pending
 * to jiffies), otherwise the remaining credit is clamped to the new window size.
 */
export function xenvifRateChanged(q: XenvifQueue, rate: Rate): void {
  q.creditBytes = rate.bytes;
  q.creditUsec = rate.usec;
  const clock = q.vif.nb.clock;
  if (q.creditTimer !== 0) {
    clock.cancel(q.creditTimer);
    q.creditTimer = clock.setTimer(0, q.creditCb);
  } else if (q.remainingCredit > q.creditBytes) {
    q.remainingCredit = q.creditBytes;
  }
}
