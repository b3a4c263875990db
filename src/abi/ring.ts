/**
 * The Xen shared ring (xen/include/public/io/ring.h; REFERENCE.md §1), over any entry size.
 *
 * The ring knows nothing of netif: a user describes its request and response structs with two `SlotCodec`s
 * and `defineRingTypes` (the counterpart of DEFINE_RING_TYPES) derives the entry size. netif.ts supplies the
 * TX, RX and control rings this way.
 *
 * One shared page, written by both ends. Byte layout (indices are u32, little-endian):
 *
 * ```
 *    0          4           8          12          16         20                       64
 *    | req_prod | req_event | rsp_prod | rsp_event | pvt      | __pad (44 bytes)       | ring[0] ring[1] ...
 *      front      back        back       front       front zeroes both at init          both (see below)
 * ```
 *
 * - `req_prod`: the frontend's published request producer. Only the frontend writes it.
 * - `rsp_prod`: the backend's published response producer. Only the backend writes it.
 * - `req_event` / `rsp_event`: the index whose publication should raise an event. The consumer of that
 *   direction writes it (the backend arms `req_event`, the frontend arms `rsp_event`); the producer reads it.
 * - `pvt`: a 4-byte union (netif's `smartpoll_active`, tapif's `msg`), then 44 bytes of padding.
 * - `ring[]`: RING_SIZE entries, each the union of one request and one response. A request is answered
 *   in place: the backend writes response k into the slot of the k-th request it consumed.
 *
 * Each end also keeps private indices that never leave its memory: the front ring owns `req_prod_pvt`
 * (requests written, maybe not yet pushed) and `rsp_cons` (responses consumed); the back ring owns
 * `rsp_prod_pvt` and `req_cons`. Every index runs freely and wraps at 2^32; slot = idx & (RING_SIZE - 1).
 * All index arithmetic here is done modulo 2^32 (`>>> 0`), exactly as C's unsigned RING_IDX does it.
 *
 * Trust and concurrency:
 * - The four shared indices are read and written through `Atomics` on the page's 32-bit words, so a guest
 *   worker and a backend worker may race on one page; Atomics are sequentially consistent, which is at least
 *   what xen_wmb/xen_mb give. The barriers of a push and of a final check are also scheduling points: a
 *   ring end's optional `onBarrier` hook runs there, so a test can run the peer at exactly that moment.
 * - A peer can write anything into the shared page at any time. The less-trusted side's entries are read
 *   only through `ringCopyRequest` / `ringCopyResponse`: one copy of the slot bytes into the ring end's
 *   private scratch, decoded from there (XSA-155, REFERENCE.md §1.7). The API follows suit: ringGetRequest
 *   (a slot to write in place) takes only a front ring and ringGetResponse only a back ring, so neither end
 *   is handed the peer's slot to read in place.
 * - The overflow checks and the cap in `ringNrUnconsumedRequests` bound what a hostile producer can claim.
 *   Nothing here throws on peer data; only misuse by the calling code throws (InvalidArgument).
 * - No function allocates: snapshots go into objects the caller created once with `codec.create()`.
 */

import { InvalidArgument } from '../errors.ts';
import { f, type LayoutTable } from './layout.ts';
import { XEN_PAGE_SIZE, type PageRef } from './page.ts';

/** RING_IDX: an unsigned 32-bit ring index, kept as a JS number in [0, 2^32). */
export type RingIdx = number;

// ---- shared header layout -----------------------------------------------------------------------------

/** The `<name>_sring` header: the same for every ring type. */
export const SRING_HEADER = {
  req_prod: f(0, 'u32'),
  req_event: f(4, 'u32'),
  rsp_prod: f(8, 'u32'),
  rsp_event: f(12, 'u32'),
  pvt: {
    netif: { smartpoll_active: f(16, 'u8') },
    tapif_user: { msg: f(16, 'u8') },
    pvt_pad: f(16, 'u8', 4),
  },
  __pad: f(20, 'u8', 44),
} as const satisfies LayoutTable;

/** Bytes before `ring[0]`: offsetof(struct <name>_sring, ring). */
export const SIZEOF_SRING_HEADER = 64;

// Word indices of the shared indices, relative to the page's first word.
const W_REQ_PROD = 0;
const W_REQ_EVENT = 1;
const W_RSP_PROD = 2;
const W_RSP_EVENT = 3;

/**
 * __CONST_RING_SIZE: the number of entries of `entrySize` bytes that fit after the 64-byte header in an
 * area of `areaBytes` (one page by default), rounded down to a power of two so that an index masks to a slot.
 */
export function ringSize(entrySize: number, areaBytes: number = XEN_PAGE_SIZE): number {
  if (!Number.isInteger(entrySize) || entrySize < 1) {
    throw new InvalidArgument(`ringSize: entry size ${entrySize} is not a positive integer`);
  }
  if (!Number.isInteger(areaBytes) || areaBytes < SIZEOF_SRING_HEADER + entrySize || areaBytes > 2 ** 31) {
    throw new InvalidArgument(`ringSize: a ${areaBytes}-byte area holds no ${entrySize}-byte entry after the header`);
  }
  const fit = Math.floor((areaBytes - SIZEOF_SRING_HEADER) / entrySize);
  let size = 1;
  while (size * 2 <= fit) size *= 2;
  return size;
}

// ---- ring types ---------------------------------------------------------------------------------------

/**
 * How one struct is laid out in a slot: its C size and alignment, and a raw copy of its fields between bytes
 * and a plain object. A codec never judges content (parse/emit functions do that; see abi/index.ts).
 */
export interface SlotCodec<T> {
  /** C struct name, for messages (e.g. "netif_tx_request"). */
  readonly name: string;
  /** sizeof the struct. */
  readonly size: number;
  /** alignof the struct (its largest member). */
  readonly align: number;
  /** A fresh object to copy slots into; create it once and reuse it. */
  create(): T;
  /** Copy the struct at `offset` of `view` into `out`; returns `out`. */
  read(view: DataView, offset: number, out: T): T;
  /** Store every field of `value` at `offset` of `view` (each truncated to its C type). */
  write(value: T, view: DataView, offset: number): void;
}

/** DEFINE_RING_TYPES: a ring whose entries are the union of `request` and `response`. */
export interface RingType<Req, Rsp> {
  /** The C prefix (`netif_tx` names `struct netif_tx_sring`). */
  readonly name: string;
  readonly request: SlotCodec<Req>;
  readonly response: SlotCodec<Rsp>;
  /** sizeof(union <name>_sring_entry): the larger struct, rounded up to the stricter alignment. */
  readonly entrySize: number;
}

export function defineRingTypes<Req, Rsp>(
  name: string, request: SlotCodec<Req>, response: SlotCodec<Rsp>,
): RingType<Req, Rsp> {
  const align = Math.max(request.align, response.align);
  const largest = Math.max(request.size, response.size);
  const entrySize = Math.ceil(largest / align) * align;
  ringSize(entrySize); // rejects an entry that does not fit a page
  return Object.freeze({ name, request, response, entrySize });
}

// ---- the shared page ----------------------------------------------------------------------------------

/**
 * The four shared indices of one ring page, each read and written with Atomics. Both ends hold one; tests
 * playing a hostile peer write through it too. Setters store the value modulo 2^32.
 */
export class SharedRing {
  readonly page: PageRef;
  /** Index in `page.words` of `req_prod`. */
  private readonly w: number;

  constructor(page: PageRef, areaBytes: number = XEN_PAGE_SIZE) {
    checkPage(page, areaBytes);
    this.page = page;
    this.w = page.base >>> 2;
  }

  get reqProd(): RingIdx {
    return Atomics.load(this.page.words, this.w + W_REQ_PROD) >>> 0;
  }
  set reqProd(v: RingIdx) {
    Atomics.store(this.page.words, this.w + W_REQ_PROD, v | 0);
  }
  get reqEvent(): RingIdx {
    return Atomics.load(this.page.words, this.w + W_REQ_EVENT) >>> 0;
  }
  set reqEvent(v: RingIdx) {
    Atomics.store(this.page.words, this.w + W_REQ_EVENT, v | 0);
  }
  get rspProd(): RingIdx {
    return Atomics.load(this.page.words, this.w + W_RSP_PROD) >>> 0;
  }
  set rspProd(v: RingIdx) {
    Atomics.store(this.page.words, this.w + W_RSP_PROD, v | 0);
  }
  get rspEvent(): RingIdx {
    return Atomics.load(this.page.words, this.w + W_RSP_EVENT) >>> 0;
  }
  set rspEvent(v: RingIdx) {
    Atomics.store(this.page.words, this.w + W_RSP_EVENT, v | 0);
  }
}

function checkPage(page: PageRef, areaBytes: number): void {
  if (page.base % 4 !== 0 || page.base < 0 || page.base + areaBytes > page.bytes.length) {
    throw new InvalidArgument(
      `ring: a ${areaBytes}-byte ring at ${page.base} does not fit its ${page.bytes.length}-byte buffer aligned to 4`);
  }
}

/**
 * SHARED_RING_INIT: only the frontend calls this, once, before it advertises the page. Both producers become
 * 0, both events 1, and the private union and the padding are zeroed. Entries are left as they are.
 */
export function sharedRingInit(page: PageRef): void {
  const s = new SharedRing(page);
  s.reqProd = 0;
  s.rspProd = 0;
  s.reqEvent = 1;
  s.rspEvent = 1;
  page.bytes.fill(0, page.base + SRING_HEADER.pvt.pvt_pad.offset, page.base + SIZEOF_SRING_HEADER);
}

// ---- the two ends -------------------------------------------------------------------------------------

/** The point of a push or final check at which a ring end's `onBarrier` hook runs. */
export type RingBarrierPoint =
  /** Push: entries are written, the producer index is not yet published (xen_wmb). */
  | 'push-wmb'
  /** Push: the producer index is published, the peer's event index not yet read (xen_mb). */
  | 'push-mb'
  /** Final check: the event index is re-armed, the producer index not yet read again (xen_mb). */
  | 'final-check-mb';

export type RingBarrierHook = (point: RingBarrierPoint) => void;

/**
 * Keys of the slot and snapshot methods: not exported, so a slot is reached only through ringGetRequest /
 * ringGetResponse (to write) and ringCopyRequest / ringCopyResponse (to read).
 */
const SLOT = Symbol('slot');
const SNAPSHOT = Symbol('snapshot');

/** What both ends share: the page, the ring type, RING_SIZE, private scratch for snapshots. */
abstract class RingEnd<Req, Rsp> {
  readonly type: RingType<Req, Rsp>;
  readonly page: PageRef;
  readonly sring: SharedRing;
  /** RING_SIZE(r): entries in the ring, a power of two. */
  readonly nrEnts: number;
  /** Bytes per entry. */
  readonly entrySize: number;
  /** Byte offset of ring[0] in `page.bytes` / `page.view`. */
  readonly entries: number;
  /** Runs at each barrier of a push or final check (tests use it to interleave the peer). */
  onBarrier: RingBarrierHook | undefined = undefined;
  /** Private memory a slot is copied into before it is decoded. */
  protected readonly scratch: Uint8Array;
  protected readonly scratchView: DataView;

  constructor(type: RingType<Req, Rsp>, page: PageRef, areaBytes: number) {
    this.type = type;
    this.sring = new SharedRing(page, areaBytes);
    this.page = page;
    this.nrEnts = ringSize(type.entrySize, areaBytes);
    this.entrySize = type.entrySize;
    this.entries = page.base + SIZEOF_SRING_HEADER;
    this.scratch = new Uint8Array(type.entrySize);
    this.scratchView = new DataView(this.scratch.buffer);
  }

  /** Byte offset in `page.bytes` of the slot that index `idx` maps to. */
  [SLOT](idx: RingIdx): number {
    return this.entries + (idx & (this.nrEnts - 1)) * this.entrySize;
  }

  /** Copy the slot of `idx` once into private memory and decode it from there with `codec`. */
  [SNAPSHOT]<T>(idx: RingIdx, out: T, codec: SlotCodec<T>): T {
    if (codec.size > this.entrySize) {
      throw tooBig(this.type.name, codec, this.entrySize);
    }
    const src = this[SLOT](idx);
    const bytes = this.page.bytes;
    const dst = this.scratch;
    for (let i = 0; i < codec.size; i++) dst[i] = bytes[src + i]!;
    return codec.read(this.scratchView, 0, out);
  }
}

/** The frontend's end: it produces requests and consumes responses. */
export class FrontRing<Req, Rsp> extends RingEnd<Req, Rsp> {
  private pvt: RingIdx;
  private cons: RingIdx;

  constructor(type: RingType<Req, Rsp>, page: PageRef, index: RingIdx, areaBytes: number = XEN_PAGE_SIZE) {
    super(type, page, areaBytes);
    checkIdx('frontRingAttach', index);
    this.pvt = index;
    this.cons = index;
  }

  /** req_prod_pvt: requests written so far (published or not). Stored modulo 2^32. */
  get reqProdPvt(): RingIdx {
    return this.pvt;
  }
  set reqProdPvt(v: RingIdx) {
    this.pvt = v >>> 0;
  }
  /** rsp_cons: responses consumed so far. Stored modulo 2^32. */
  get rspCons(): RingIdx {
    return this.cons;
  }
  set rspCons(v: RingIdx) {
    this.cons = v >>> 0;
  }
}

/** The backend's end: it consumes requests and produces responses. */
export class BackRing<Req, Rsp> extends RingEnd<Req, Rsp> {
  private pvt: RingIdx;
  private cons: RingIdx;

  constructor(type: RingType<Req, Rsp>, page: PageRef, index: RingIdx, areaBytes: number = XEN_PAGE_SIZE) {
    super(type, page, areaBytes);
    checkIdx('backRingAttach', index);
    this.pvt = index;
    this.cons = index;
  }

  /** rsp_prod_pvt: responses written so far (published or not). Stored modulo 2^32. */
  get rspProdPvt(): RingIdx {
    return this.pvt;
  }
  set rspProdPvt(v: RingIdx) {
    this.pvt = v >>> 0;
  }
  /** req_cons: requests consumed so far. Stored modulo 2^32. */
  get reqCons(): RingIdx {
    return this.cons;
  }
  set reqCons(v: RingIdx) {
    this.cons = v >>> 0;
  }
}

function tooBig(ring: string, codec: SlotCodec<unknown>, entrySize: number): InvalidArgument {
  return new InvalidArgument(`ring ${ring}: a ${codec.size}-byte ${codec.name} does not fit a ${entrySize}-byte entry`);
}

function checkIdx(what: string, idx: number): void {
  if ((idx >>> 0) !== idx) throw new InvalidArgument(`${what}: ${idx} is not a ring index (an integer in [0, 2^32))`);
}

// ---- init and attach ----------------------------------------------------------------------------------

/** FRONT_RING_ATTACH: a front ring over an existing shared page, resuming at index `index`. */
export function frontRingAttach<Req, Rsp>(
  type: RingType<Req, Rsp>, page: PageRef, index: RingIdx, areaBytes: number = XEN_PAGE_SIZE,
): FrontRing<Req, Rsp> {
  return new FrontRing(type, page, index, areaBytes);
}

/** FRONT_RING_INIT: attach at index 0. It does not touch the shared page (see xenFrontRingInit). */
export function frontRingInit<Req, Rsp>(
  type: RingType<Req, Rsp>, page: PageRef, areaBytes: number = XEN_PAGE_SIZE,
): FrontRing<Req, Rsp> {
  return new FrontRing(type, page, 0, areaBytes);
}

/** XEN_FRONT_RING_INIT: SHARED_RING_INIT then FRONT_RING_INIT, what a frontend does for a new page. */
export function xenFrontRingInit<Req, Rsp>(
  type: RingType<Req, Rsp>, page: PageRef, areaBytes: number = XEN_PAGE_SIZE,
): FrontRing<Req, Rsp> {
  const r = new FrontRing(type, page, 0, areaBytes);
  sharedRingInit(page);
  return r;
}

/** BACK_RING_ATTACH: a back ring resuming at `index` (Linux netback passes the shared rsp_prod). */
export function backRingAttach<Req, Rsp>(
  type: RingType<Req, Rsp>, page: PageRef, index: RingIdx, areaBytes: number = XEN_PAGE_SIZE,
): BackRing<Req, Rsp> {
  return new BackRing(type, page, index, areaBytes);
}

/** BACK_RING_INIT: attach at index 0. */
export function backRingInit<Req, Rsp>(
  type: RingType<Req, Rsp>, page: PageRef, areaBytes: number = XEN_PAGE_SIZE,
): BackRing<Req, Rsp> {
  return new BackRing(type, page, 0, areaBytes);
}

// ---- accounting ---------------------------------------------------------------------------------------

// Ring ends whose entry types do not matter to an operation.
type AnyFront = FrontRing<unknown, unknown>;
type AnyBack = BackRing<unknown, unknown>;

/** RING_FREE_REQUESTS: slots the frontend may still fill before it must wait for responses. */
export function ringFreeRequests(r: AnyFront): number {
  return (r.nrEnts - ((r.reqProdPvt - r.rspCons) >>> 0)) >>> 0;
}

/** RING_FULL: no free request slot. */
export function ringFull(r: AnyFront): boolean {
  return ringFreeRequests(r) === 0;
}

/** XEN_RING_NR_UNCONSUMED_RESPONSES: published responses the frontend has not consumed. Not capped. */
export function ringNrUnconsumedResponses(r: AnyFront): number {
  return (r.sring.rspProd - r.rspCons) >>> 0;
}

/**
 * XEN_RING_NR_UNCONSUMED_REQUESTS: published requests the backend has not consumed, capped at the slots the
 * backend has not yet answered, so a frontend that claims more than the ring holds gets at most RING_SIZE.
 */
export function ringNrUnconsumedRequests(r: AnyBack): number {
  const req = (r.sring.reqProd - r.reqCons) >>> 0;
  const rsp = (r.nrEnts - ((r.reqCons - r.rspProdPvt) >>> 0)) >>> 0;
  return req < rsp ? req : rsp;
}

/** RING_HAS_UNCONSUMED_RESPONSES, as a boolean (XEN_RING_HAS_UNCONSUMED_IS_BOOL). */
export function ringHasUnconsumedResponses(r: AnyFront): boolean {
  return ringNrUnconsumedResponses(r) !== 0;
}

/** RING_HAS_UNCONSUMED_REQUESTS, as a boolean (XEN_RING_HAS_UNCONSUMED_IS_BOOL). */
export function ringHasUnconsumedRequests(r: AnyBack): boolean {
  return ringNrUnconsumedRequests(r) !== 0;
}

/** RING_REQUEST_CONS_OVERFLOW: consuming index `cons` would overrun responses not yet produced. */
export function ringRequestConsOverflow(r: AnyBack, cons: RingIdx): boolean {
  checkIdx('ringRequestConsOverflow', cons);
  return ((cons - r.rspProdPvt) >>> 0) >= r.nrEnts;
}

/** RING_REQUEST_PROD_OVERFLOW: a request producer at `prod` claims more than the ring holds (hostile front). */
export function ringRequestProdOverflow(r: AnyBack, prod: RingIdx): boolean {
  checkIdx('ringRequestProdOverflow', prod);
  return ((prod - r.rspProdPvt) >>> 0) > r.nrEnts;
}

/** RING_RESPONSE_PROD_OVERFLOW: a response producer at `prod` claims more than the ring holds (hostile back). */
export function ringResponseProdOverflow(r: AnyFront, prod: RingIdx): boolean {
  checkIdx('ringResponseProdOverflow', prod);
  return ((prod - r.rspCons) >>> 0) > r.nrEnts;
}

// ---- slot access --------------------------------------------------------------------------------------

/**
 * RING_GET_REQUEST, for the frontend only: the byte offset in `r.page.bytes` / `r.page.view` of the slot
 * it fills for request `idx`. (A backend reads requests only through ringCopyRequest.)
 */
export function ringGetRequest(r: AnyFront, idx: RingIdx): number {
  checkIdx('ringGetRequest', idx);
  return r[SLOT](idx);
}

/** RING_GET_RESPONSE, for the backend only: the byte offset of the slot it fills for response `idx`. */
export function ringGetResponse(r: AnyBack, idx: RingIdx): number {
  checkIdx('ringGetResponse', idx);
  return r[SLOT](idx);
}

/** Write `value` into the slot of request `idx` with the ring's request codec, or with `codec` (an overlay). */
export function ringPutRequest<Req, Rsp>(r: FrontRing<Req, Rsp>, idx: RingIdx, value: Req): void;
export function ringPutRequest<T>(r: AnyFront, idx: RingIdx, value: T, codec: SlotCodec<T>): void;
export function ringPutRequest(r: AnyFront, idx: RingIdx, value: unknown, codec?: SlotCodec<unknown>): void {
  put(r, ringGetRequest(r, idx), value, codec ?? r.type.request);
}

/** Write `value` into the slot of response `idx` with the ring's response codec, or with `codec`. */
export function ringPutResponse<Req, Rsp>(r: BackRing<Req, Rsp>, idx: RingIdx, value: Rsp): void;
export function ringPutResponse<T>(r: AnyBack, idx: RingIdx, value: T, codec: SlotCodec<T>): void;
export function ringPutResponse(r: AnyBack, idx: RingIdx, value: unknown, codec?: SlotCodec<unknown>): void {
  put(r, ringGetResponse(r, idx), value, codec ?? r.type.response);
}

function put(r: AnyFront | AnyBack, offset: number, value: unknown, codec: SlotCodec<unknown>): void {
  if (codec.size > r.entrySize) {
    throw tooBig(r.type.name, codec, r.entrySize);
  }
  codec.write(value, r.page.view, offset);
}

/**
 * RING_COPY_REQUEST: the only way a backend reads a request. The slot is copied once into the ring's private
 * memory and decoded from there into `out` (with the request codec, or with `codec` for a struct that
 * overlays a request, such as netif_extra_info). Whatever the frontend writes to the slot afterwards, `out`
 * does not change. Returns `out`.
 */
export function ringCopyRequest<Req, Rsp>(r: BackRing<Req, Rsp>, idx: RingIdx, out: Req): Req;
export function ringCopyRequest<T>(r: AnyBack, idx: RingIdx, out: T, codec: SlotCodec<T>): T;
export function ringCopyRequest(r: AnyBack, idx: RingIdx, out: unknown, codec?: SlotCodec<unknown>): unknown {
  checkIdx('ringCopyRequest', idx);
  return r[SNAPSHOT](idx, out, codec ?? r.type.request);
}

/** RING_COPY_RESPONSE: the frontend's counterpart of ringCopyRequest. Returns `out`. */
export function ringCopyResponse<Req, Rsp>(r: FrontRing<Req, Rsp>, idx: RingIdx, out: Rsp): Rsp;
export function ringCopyResponse<T>(r: AnyFront, idx: RingIdx, out: T, codec: SlotCodec<T>): T;
export function ringCopyResponse(r: AnyFront, idx: RingIdx, out: unknown, codec?: SlotCodec<unknown>): unknown {
  checkIdx('ringCopyResponse', idx);
  return r[SNAPSHOT](idx, out, codec ?? r.type.response);
}

// ---- publish, notify, final check ---------------------------------------------------------------------

/** RING_PUSH_REQUESTS: publish req_prod_pvt (after a write barrier), without a notify decision. */
export function ringPushRequests(r: AnyFront): void {
  r.onBarrier?.('push-wmb');
  r.sring.reqProd = r.reqProdPvt;
}

/** RING_PUSH_RESPONSES: publish rsp_prod_pvt (after a write barrier), without a notify decision. */
export function ringPushResponses(r: AnyBack): void {
  r.onBarrier?.('push-wmb');
  r.sring.rspProd = r.rspProdPvt;
}

/**
 * RING_PUSH_REQUESTS_AND_CHECK_NOTIFY: publish req_prod_pvt and say whether the backend must be notified.
 * It must exactly when its `req_event` lies in the window (old, new] of indices this push published, taken
 * modulo 2^32; a push that publishes nothing never notifies.
 */
export function ringPushRequestsAndCheckNotify(r: AnyFront): boolean {
  const s = r.sring;
  const old = s.reqProd;
  const now = r.reqProdPvt;
  r.onBarrier?.('push-wmb');
  s.reqProd = now;
  r.onBarrier?.('push-mb');
  return ((now - s.reqEvent) >>> 0) < ((now - old) >>> 0);
}

/** RING_PUSH_RESPONSES_AND_CHECK_NOTIFY: the same for responses, against the frontend's `rsp_event`. */
export function ringPushResponsesAndCheckNotify(r: AnyBack): boolean {
  const s = r.sring;
  const old = s.rspProd;
  const now = r.rspProdPvt;
  r.onBarrier?.('push-wmb');
  s.rspProd = now;
  r.onBarrier?.('push-mb');
  return ((now - s.rspEvent) >>> 0) < ((now - old) >>> 0);
}

/**
 * RING_FINAL_CHECK_FOR_REQUESTS: before the backend sleeps. If requests are waiting, true. Otherwise arm
 * `req_event = req_cons + 1` (wake me on the next request), then look once more: a request published between
 * the first look and the arming would otherwise be missed, since its push saw the old event.
 */
export function ringFinalCheckForRequests(r: AnyBack): boolean {
  if (ringNrUnconsumedRequests(r) !== 0) return true;
  r.sring.reqEvent = (r.reqCons + 1) >>> 0;
  r.onBarrier?.('final-check-mb');
  return ringNrUnconsumedRequests(r) !== 0;
}

/** RING_FINAL_CHECK_FOR_RESPONSES: the frontend's counterpart, arming `rsp_event = rsp_cons + 1`. */
export function ringFinalCheckForResponses(r: AnyFront): boolean {
  if (ringNrUnconsumedResponses(r) !== 0) return true;
  r.sring.rspEvent = (r.rspCons + 1) >>> 0;
  r.onBarrier?.('final-check-mb');
  return ringNrUnconsumedResponses(r) !== 0;
}
