/**
 * Typed errors for misuse of the skb API (DESIGN.md principle 2).
 *
 * Outcomes Linux reports as values stay values here: an allocation failure is `null`, a refused operation is a
 * negative errno or `false`. What Linux answers with BUG(), a panic or silent memory corruption (pulling from a
 * shared sk_buff, a frag slot past MAX_SKB_FRAGS, dropping a page reference that is not held) is a programming
 * error of the caller and throws one of these. Touching a freed sk_buff or a destroyed frag destructor throws
 * the common `UseAfterDestroy`; reading a frame that is no longer mapped raises hv's `PageFault`.
 */

import { PvnetError } from '../errors.ts';

/** Linux would BUG() or panic here (skb_over_panic, skb_under_panic, a BUG_ON on the geometry). */
export class SkbBug extends PvnetError {
  constructor(message: string) {
    super('ERR_SKB_BUG', `skb BUG: ${message}`);
  }
}

/** An operation that needs the only `users` reference (pskb_expand_head, __pskb_pull_tail) met a shared skb. */
export class SkbSharedError extends PvnetError {
  readonly users: number;

  constructor(op: string, users: number) {
    super('ERR_SKB_SHARED', `${op}: sk_buff is shared (users = ${users}); the caller must hold the only reference`);
    this.users = users;
  }
}

/** A frag slot index at or past the environment's MAX_SKB_FRAGS. */
export class TooManyFrags extends PvnetError {
  readonly index: number;
  readonly max: number;

  constructor(op: string, index: number, max: number) {
    super('ERR_TOO_MANY_FRAGS', `${op}: frag slot ${index} is past MAX_SKB_FRAGS = ${max}`);
    this.index = index;
    this.max = max;
  }
}

/** A frag slot dropped a page reference the frame does not hold (refcount already 0): a double unref. */
export class FragRefUnderflow extends PvnetError {
  readonly frame: number;

  constructor(frame: number, what: string) {
    super('ERR_FRAG_REF_UNDERFLOW', `frag reference underflow on frame ${frame}: ${what}`);
    this.frame = frame;
  }
}
