/**
 * SkbEnv: one domain kernel's sk_buff context.
 *
 * Everything an skb operation needs beyond its arguments lives here, passed in rather than held in module
 * state, so two domains in one process each have their own: the machine memory and the domain id that frag
 * reads are checked against, the domain's PageAllocator (heads and copies are allocated through it, frag page
 * references are taken and dropped through it), MAX_SKB_FRAGS, the object pools, and the audit state.
 *
 * Pools (DESIGN.md principle 7): SkBuff, SkbSharedInfo, FragDestructor and UbufInfo objects are recycled
 * through free lists, and frag descriptors live in typed arrays preallocated per SkbSharedInfo, so steady-state
 * packet processing allocates no JS objects. Every object ever created stays listed in `all*`, which is how the
 * leak audit finds the live ones without a registry on the hot path.
 *
 * The memory-reserve hooks default to "no memalloc socket, __GFP_MEMALLOC alone entitles"; mm/ and net/
 * replace them with the real predicates (REFERENCE.md §11.1, §11.5).
 */

import type { MachineMemory } from '../hv/memory.ts';
import type { PageAllocator } from '../mm/page-allocator.ts';
import { __GFP_MEMALLOC, __GFP_NOMEMALLOC } from '../mm/gfp.ts';
import { InvalidArgument } from '../errors.ts';
import type { FragDestructor } from './destructor.ts';
import type { UbufInfo } from './ubuf.ts';
import { MAX_SKB_FRAGS, skbShinfoSize } from './constants.ts';
import { SkBuff, SkbSharedInfo } from './skbuff.ts';

export interface SkbEnvOptions {
  /** MAX_SKB_FRAGS for this kernel (default 17; 1..64 accepted so tests can hit the limit cheaply). */
  readonly maxSkbFrags?: number;
  /** sk_memalloc_socks(): true while a SOCK_MEMALLOC socket exists. */
  readonly memallocSocks?: () => boolean;
  /** gfp_pfmemalloc_allowed(gfp): may this allocation dip into the emergency reserve? */
  readonly pfmemallocAllowed?: (gfp: number) => boolean;
  /** Record allocation sites and destructor ref/unref call sites (Netty's paranoid level). */
  readonly tracking?: boolean;
}

function defaultPfmemallocAllowed(gfp: number): boolean {
  return (gfp & __GFP_MEMALLOC) !== 0 && (gfp & __GFP_NOMEMALLOC) === 0;
}

export class SkbEnv {
  readonly pages: PageAllocator;
  readonly mem: MachineMemory;
  readonly domid: number;
  readonly maxSkbFrags: number;
  /** SKB_DATA_ALIGN(sizeof(struct skb_shared_info)) for this MAX_SKB_FRAGS. */
  readonly shinfoSize: number;
  readonly memallocSocks: () => boolean;
  readonly pfmemallocAllowed: (gfp: number) => boolean;
  /** Capture `new Error().stack` at allocations and destructor ref/unref (slow; tests only). */
  tracking: boolean;

  /** Placeholder head of a freed SkBuff, so `skb.shinfo` is never null. */
  readonly noHead: SkbSharedInfo;

  readonly allSkbs: SkBuff[] = [];
  readonly freeSkbs: SkBuff[] = [];
  readonly allShinfos: SkbSharedInfo[] = [];
  readonly freeShinfos: SkbSharedInfo[] = [];
  readonly allDestructors: FragDestructor[] = [];
  /** Destroyed destructors, reused oldest first. */
  readonly freeDestructors = new FifoRing<FragDestructor>();
  readonly allUbufs: UbufInfo[] = [];
  /** Completed completion objects, reused oldest first. */
  readonly freeUbufs = new FifoRing<UbufInfo>();
  /** Scratch frame list for skb_copy_ubufs (at most MAX_SKB_FRAGS pages). */
  readonly scratchFrames = new Int32Array(64);

  liveSkbs = 0;
  liveShinfos = 0;
  liveDestructors = 0;
  liveUbufs = 0;
  /** kfree_skb vs consume_skb: packets dropped and packets consumed, for the net layer's statistics. */
  dropped = 0;
  consumed = 0;

  constructor(pages: PageAllocator, opts: SkbEnvOptions = {}) {
    const maxFrags = opts.maxSkbFrags ?? MAX_SKB_FRAGS;
    if (!Number.isInteger(maxFrags) || maxFrags < 1 || maxFrags > 64) {
      throw new InvalidArgument(`SkbEnv: maxSkbFrags must be an integer in 1..64, got ${maxFrags}`);
    }
    this.pages = pages;
    this.mem = pages.mem;
    this.domid = pages.domid;
    this.maxSkbFrags = maxFrags;
    this.shinfoSize = skbShinfoSize(maxFrags);
    this.memallocSocks = opts.memallocSocks ?? (() => false);
    this.pfmemallocAllowed = opts.pfmemallocAllowed ?? defaultPfmemallocAllowed;
    this.tracking = opts.tracking ?? false;
    this.noHead = new SkbSharedInfo(this, -1, 1);
  }
}

/** A FIFO of pooled objects (a ring buffer that grows; no allocation once warm). */
export class FifoRing<T> {
  private items: (T | undefined)[] = new Array<T | undefined>(256);
  private head = 0;
  count = 0;

  push(x: T): void {
    if (this.count === this.items.length) this.grow();
    this.items[(this.head + this.count) % this.items.length] = x;
    this.count++;
  }

  /** The oldest item; the caller checks `count` first. */
  shift(): T {
    const x = this.items[this.head] as T;
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.items.length;
    this.count--;
    return x;
  }

  private grow(): void {
    const old = this.items;
    const next = new Array<T | undefined>(old.length * 2);
    for (let i = 0; i < this.count; i++) next[i] = old[(this.head + i) % old.length];
    this.items = next;
    this.head = 0;
  }
}

/** A call site for tracking mode: the stack without this helper's own frames. */
export function captureSite(): string {
  const stack = new Error().stack ?? '';
  return stack.split('\n').slice(3, 9).join('\n');
}

// ---- SkBuff and SkbSharedInfo pools ------------------------------------------------------------------------

/** Take an SkBuff object from the pool (kmem_cache_alloc(skbuff_cache)); fields are reset by the caller. */
export function skbStructAlloc(env: SkbEnv): SkBuff {
  const skb = env.freeSkbs.pop() ?? newSkb(env);
  skb.live = true;
  skb.gen++;
  env.liveSkbs++;
  if (env.tracking) skb.allocSite = captureSite();
  return skb;
}

function newSkb(env: SkbEnv): SkBuff {
  const skb = new SkBuff(env, env.allSkbs.length, env.noHead);
  env.allSkbs.push(skb);
  return skb;
}

/** Return an SkBuff object to the pool (kmem_cache_free). */
export function skbStructFree(skb: SkBuff): void {
  const env = skb.env;
  skb.live = false;
  skb.shinfo = env.noHead;
  skb.next = null;
  skb.prev = null;
  skb.groLast = null;
  skb.sk = null;
  skb.destructor = null;
  skb.allocSite = null;
  env.liveSkbs--;
  env.freeSkbs.push(skb);
}

/** Take an SkbSharedInfo from the pool, reset as __alloc_skb leaves it (dataref 1, no frags, no head). */
export function shinfoAlloc(env: SkbEnv): SkbSharedInfo {
  const sh = env.freeShinfos.pop() ?? newShinfo(env);
  sh.reset();
  sh.live = true;
  env.liveShinfos++;
  return sh;
}

function newShinfo(env: SkbEnv): SkbSharedInfo {
  const sh = new SkbSharedInfo(env, env.allShinfos.length, env.maxSkbFrags);
  env.allShinfos.push(sh);
  return sh;
}

/** Return an SkbSharedInfo to the pool. The caller has already released or handed over what it owned. */
export function shinfoFree(sh: SkbSharedInfo): void {
  const env = sh.env;
  for (let i = 0; i < sh.nrFrags; i++) sh.fragDtor[i] = null;
  sh.live = false;
  sh.nrFrags = 0;
  sh.fragList = null;
  sh.destructorArg = null;
  sh.nrHeadFrames = 0;
  env.liveShinfos--;
  env.freeShinfos.push(sh);
}
