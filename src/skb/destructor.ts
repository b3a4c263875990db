/**
 * Campbell's per-frag destructor (REFERENCE.md §9.1): the design that was proposed in 2011-12 and not merged.
 *
 * A FragDestructor is a reference count, a destroy callback and a data slot. A frag slot that carries one
 * counts on it instead of on its frame: skbFragRef / skbFragUnref move the destructor's count, never the
 * frame's. Every operation that copies a frag descriptor into another shared info takes a reference, so the
 * count is "producer's own reference + one per slot pointing here, in every shinfo anywhere", and `destroy`
 * runs exactly once, at the moment the last of those lets go. That is the property netback (unmap the grant,
 * then answer the guest) and sunrpc (complete the RPC only when the stack no longer reads the page) need.
 *
 * The idiom, as in the patch series: fill the page descriptor (no page reference), set the destructor on the
 * slot, take the slot's reference with skbFragRef; when the skb is built, drop the producer's reference.
 *
 * Ownership: fragDestructorAlloc hands the producer one reference. The object belongs to its SkbEnv pool:
 * after `destroy` returns it goes back to the pool and its generation changes. Touching it afterwards through
 * the API, or reading a slot that still names it, throws UseAfterDestroy. Freed destructors are reused oldest
 * first, after a quarantine of QUARANTINE others, so a stale handle is caught as long as possible.
 */

import { UseAfterDestroy } from '../errors.ts';
import { captureSite, type SkbEnv } from './env.ts';

/** The destroy callback. Campbell's returned an int that nobody used; this one returns nothing. */
export type FragDestroyFn = (d: FragDestructor) => void;

/** How many destroyed destructors wait before one is reused. */
const QUARANTINE = 64;

export class FragDestructor {
  readonly env: SkbEnv;
  readonly id: number;
  /** The reference count (atomic_t ref in the patch). */
  ref = 0;
  destroy: FragDestroyFn | null = null;
  /** The producer's data slot (e.g. a pending-slot index, an RPC request). */
  data: unknown = null;
  /** Changes every time the object is handed out; slots remember it. */
  gen = 0;
  live = false;
  /** Times `destroy` ran for the current generation (0 or 1). */
  destroyed = 0;
  /** Tracking mode: where it was allocated and every ref / unref since. */
  allocSite: string | null = null;
  trace: string[] | null = null;

  constructor(env: SkbEnv, id: number) {
    this.env = env;
    this.id = id;
  }
}

/**
 * A destructor with one reference, held by the producer. `destroy` runs once when the count reaches zero.
 */
export function fragDestructorAlloc(env: SkbEnv, destroy: FragDestroyFn, data: unknown = null): FragDestructor {
  const ring = env.freeDestructors;
  let d: FragDestructor;
  if (ring.count > QUARANTINE) {
    d = ring.shift();
  } else {
    d = new FragDestructor(env, env.allDestructors.length);
    env.allDestructors.push(d);
  }
  d.ref = 1;
  d.destroy = destroy;
  d.data = data;
  d.gen++;
  d.live = true;
  d.destroyed = 0;
  env.liveDestructors++;
  if (env.tracking) {
    d.allocSite = captureSite();
    d.trace = [];
  }
  return d;
}

/** skb_frag_destructor_ref: one more holder. */
export function skbFragDestructorRef(d: FragDestructor): void {
  if (!d.live) throw destroyedError(d, 'skb_frag_destructor_ref');
  d.ref++;
  if (d.trace !== null) traceDestructor(d, 'ref');
}

/** skb_frag_destructor_unref: one holder fewer; the last one runs `destroy` and recycles the object. */
export function skbFragDestructorUnref(d: FragDestructor): void {
  if (!d.live) throw destroyedError(d, 'skb_frag_destructor_unref');
  if (d.trace !== null) traceDestructor(d, 'unref');
  if (--d.ref === 0) destroyDestructor(d);
}

/** The error for touching a destructor (or a slot naming it) after its destroy ran. */
export function destroyedError(d: FragDestructor, what: string): UseAfterDestroy {
  return new UseAfterDestroy(`${what}: frag destructor #${d.id} has already been destroyed`);
}

/** Tracking mode: remember where a reference was taken or dropped (the count is the one after the change). */
export function traceDestructor(d: FragDestructor, what: 'ref' | 'unref'): void {
  d.trace!.push(`${what} -> ${what === 'ref' ? d.ref : d.ref - 1}\n${captureSite()}`);
}

/** The last reference is gone: run `destroy` once, then recycle the object with a new generation. */
export function destroyDestructor(d: FragDestructor): void {
  const env = d.env;
  const destroy = d.destroy;
  d.live = false;
  d.destroyed++;
  env.liveDestructors--;
  if (destroy !== null) destroy(d);
  d.destroy = null;
  d.data = null;
  d.gen++;
  env.freeDestructors.push(d);
}

/** Throws UseAfterDestroy if `d` is no longer the generation a slot recorded (its destroy already ran). */
export function checkDestructorGen(d: FragDestructor, gen: number, what: string): void {
  if (d.gen !== gen) throw destroyedError(d, what);
}
