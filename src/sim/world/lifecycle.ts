/**
 * LifecycleTracer: the life of every guest page lent for TX, from the guest's grant to its end-access, with
 * the backend's steps in between, as one timeline and as the counters the scenarios check.
 *
 * ```
 *   guest (probes, world.ts)     backend (netback onTrace)                        guest
 *   granted ─ requested ──────▶ mapped | copied ─ delivered ─ released ─ unmapped ─ answered ──▶ ended
 *                                (map strategies)                (refs at unmap)  (once per request)
 * ```
 *
 * One `TxSlot` per TX request the guest posted (a data slot: extras are not slots), keyed while open by
 * (guest, queue, request id) and by (guest, grant ref). Each netback event is matched to its slot by the id
 * it carries; each guest end-access by the ref. What is checked as the events arrive:
 *
 * - early unmap: at `unmapped`, the dom0 frame the grant was mapped at must have no live reference left in
 *   any sk_buff of dom0 (head frames and frag slots of every live shared info are counted). The count is part
 *   of the `unmapped` trace event (`refs`), so the check can be redone from the trace alone (`checkTrace`);
 * - response before unmap: an `answered` for a slot that is mapped and not yet unmapped (plain-ref does it
 *   on purpose; the map strategies never may);
 * - answered more than once: an `answered` for an id with no open request, or one already answered;
 * - end-access failures: the guest's end-access returned false (the backend still had the grant pinned).
 *
 * Owns: the slot records and the counters; nothing of the machine. Written only by the world's probes and
 * netback's trace hook; read by the scenarios. The trace sink (`emit`) gets a fresh object per event, safe to
 * keep; without a sink no event object is built.
 */

import type { NetbackTraceEvent } from '../../drivers/netback/index.ts';
import type { TraceEvent } from '../scenarios/registry.ts';

/** One guest TX request (data slot) and what happened to it. Times are virtual ns, -1 = not (yet). */
export class TxSlot {
  readonly domid: number;
  readonly queue: number;
  readonly id: number;
  readonly ref: number;
  /** The guest frame the slot lends, and its page id "domid:frame". */
  readonly frame: number;
  readonly page: string;
  readonly size: number;
  readonly postedAt: number;
  /** The packet this slot belongs to. */
  readonly packet: TxPacket | null;
  mappedAt = -1;
  /** The frame dom0's sk_buffs point at through the mapping (pvnet maps the guest's machine frame itself), or -1. */
  dom0Frame = -1;
  copiedAt = -1;
  releasedAt = -1;
  unmappedAt = -1;
  /** Live sk_buff references to dom0Frame when the unmap ran (must be 0). */
  refsAtUnmap = 0;
  answeredAt = -1;
  status = 0;
  endedAt = -1;
  endOk = false;

  constructor(domid: number, queue: number, id: number, ref: number, frame: number, size: number, t: number, packet: TxPacket | null) {
    this.domid = domid;
    this.queue = queue;
    this.id = id;
    this.ref = ref;
    this.frame = frame;
    this.page = `${domid}:${frame}`;
    this.size = size;
    this.postedAt = t;
    this.packet = packet;
  }

  /** Was the slot's grant mapped (as opposed to only copied)? */
  get mapped(): boolean {
    return this.mappedAt >= 0;
  }
}

/** One packet a guest sent through the world: its slots and when the last of them was answered. */
export class TxPacket {
  readonly tag: number;
  readonly domid: number;
  readonly len: number;
  readonly sentAt: number;
  readonly slots: TxSlot[] = [];
  /** Time of the last slot's response, -1 while any is outstanding. */
  answeredAt = -1;
  /** Time the guest ended the last grant, -1 until then. */
  endedAt = -1;

  constructor(tag: number, domid: number, len: number, t: number) {
    this.tag = tag;
    this.domid = domid;
    this.len = len;
    this.sentAt = t;
  }
}

/** What the tracer needs from the machine. */
export interface LifecycleEnv {
  now(): number;
  /** dom0's frame a netback queue mapped pending slot `pi` at (right after the map), or -1. */
  mappedFrame(domid: number, queue: number, pi: number): number;
  /** Live sk_buff references (head frames + frag slots) to dom0 frame `frame`. */
  liveRefs(frame: number): number;
  /** The guest frame a guest's grant ref names. */
  grantFrame(domid: number, ref: number): number;
}

export class LifecycleTracer {
  readonly slots: TxSlot[] = [];
  readonly packets: TxPacket[] = [];
  /** Guests whose vif netback disabled (their unanswered requests are not findings). */
  readonly disabled = new Set<number>();

  requests = 0;
  responses = 0;
  earlyUnmaps = 0;
  responsesBeforeUnmap = 0;
  doubleAnswers = 0;
  endFailures = 0;
  grantsEnded = 0;
  /** TX grant maps, unmaps and copy ops netback reported. */
  maps = 0;
  unmaps = 0;
  copies = 0;
  mappedNow = 0;
  maxMapped = 0;
  deliveries = 0;
  rxCopied = 0;

  private readonly env: LifecycleEnv;
  private readonly emit: ((e: TraceEvent) => void) | null;
  private readonly byId = new Map<number, TxSlot>();
  private readonly byRef = new Map<number, TxSlot>();
  private readonly answerListeners: ((p: TxPacket) => void)[] = [];
  private readonly endListeners: ((s: TxSlot) => void)[] = [];
  private readonly slotListeners: ((kind: string, s: TxSlot) => void)[] = [];

  constructor(env: LifecycleEnv, emit: ((e: TraceEvent) => void) | null) {
    this.env = env;
    this.emit = emit;
  }

  /** Call `fn` when every slot of a packet has been answered. */
  onPacketAnswered(fn: (p: TxPacket) => void): void {
    this.answerListeners.push(fn);
  }

  /** Call `fn` when the guest ended a TX slot's grant (ok or not): the moment a guest may reuse the page. */
  onSlotEnded(fn: (s: TxSlot) => void): void {
    this.endListeners.push(fn);
  }

  /** Call `fn` after each backend event that names one of the guest's slots (mapped, copied, released...). */
  onSlotEvent(fn: (kind: string, s: TxSlot) => void): void {
    this.slotListeners.push(fn);
  }

  /** A scenario's own event on the timeline (tap released a clone, a retransmit left the wire...). */
  record(kind: string, fields: Record<string, unknown> = {}): void {
    if (this.emit !== null) this.emit({ t: this.env.now(), kind, ...fields });
  }

  // ---- guest probes ----------------------------------------------------------------------------------------

  granted(domid: number, ref: number, frame: number): void {
    const page = `${domid}:${frame}`;
    if (this.emit !== null) this.emit({ t: this.env.now(), kind: 'granted', page, domid, ref });
  }

  /** The guest posted a data request (read back from its ring right after the push). */
  requested(domid: number, queue: number, id: number, ref: number, size: number, packet: TxPacket | null): TxSlot {
    const t = this.env.now();
    const frame = this.env.grantFrame(domid, ref);
    const s = new TxSlot(domid, queue, id, ref, frame, size, t, packet);
    const k = idKey(domid, queue, id);
    const old = this.byId.get(k);
    if (old !== undefined && old.answeredAt < 0) this.doubleAnswers++; // an id reused before its answer
    this.byId.set(k, s);
    this.byRef.set(refKey(domid, ref), s);
    this.slots.push(s);
    packet?.slots.push(s);
    this.requests++;
    if (this.emit !== null) this.emit({ t, kind: 'requested', page: s.page, domid, queue, id, ref, size, tag: packet?.tag ?? -1 });
    return s;
  }

  /** The guest ended a TX grant: `ok` false when the backend still had it pinned. */
  ended(domid: number, ref: number, ok: boolean, frame: number): void {
    const t = this.env.now();
    const page = `${domid}:${frame}`;
    if (ok) this.grantsEnded++;
    else this.endFailures++;
    const s = this.byRef.get(refKey(domid, ref));
    if (this.emit !== null) this.emit({ t, kind: 'ended', page, domid, ref, ok, id: s?.id ?? -1 });
    if (s === undefined) return;
    this.byRef.delete(refKey(domid, ref));
    s.endedAt = t;
    s.endOk = ok;
    const p = s.packet;
    if (p !== null && p.slots.every((x) => x.endedAt >= 0)) p.endedAt = t;
    for (const fn of this.endListeners) fn(s);
  }

  // ---- backend ------------------------------------------------------------------------------------------------

  /** netback's onTrace (the event object is reused by netback: nothing of it is kept). */
  netback(e: NetbackTraceEvent): void {
    const t = e.time;
    const s = e.id >= 0 ? this.byId.get(idKey(e.domid, e.queue, e.id)) : undefined;
    const page = s !== undefined ? s.page : e.gref >= 0 ? `${e.domid}:${this.env.grantFrame(e.domid, e.gref)}` : undefined;
    let extra: Record<string, unknown> = {};
    switch (e.kind) {
      case 'mapped': {
        const f = this.env.mappedFrame(e.domid, e.queue, e.pendingIdx);
        if (s !== undefined) {
          s.mappedAt = t;
          s.dom0Frame = f;
        }
        this.maps++;
        if (++this.mappedNow > this.maxMapped) this.maxMapped = this.mappedNow;
        extra = { bytes: e.bytes };
        break;
      }
      case 'copied':
        if (e.bytes > 0) this.copies++;
        if (s !== undefined && s.copiedAt < 0) s.copiedAt = t;
        extra = { bytes: e.bytes, status: e.status };
        break;
      case 'released':
        if (s !== undefined) s.releasedAt = t;
        break;
      case 'unmapped': {
        this.unmaps++;
        this.mappedNow--;
        const refs = s !== undefined && s.dom0Frame >= 0 ? this.env.liveRefs(s.dom0Frame) : 0;
        if (s !== undefined) {
          s.unmappedAt = t;
          s.refsAtUnmap = refs;
        }
        if (refs > 0) this.earlyUnmaps++;
        extra = { refs };
        break;
      }
      case 'answered':
        this.answered(s, t, e.status);
        extra = { status: e.status };
        break;
      case 'delivered':
        this.deliveries++;
        extra = { bytes: e.bytes };
        break;
      case 'rx-copied':
        this.rxCopied++;
        extra = { bytes: e.bytes };
        break;
      case 'fatal':
        this.disabled.add(e.domid);
        break;
    }
    if (this.emit !== null) {
      this.emit({ t, kind: e.kind, ...(page !== undefined ? { page } : {}), domid: e.domid, queue: e.queue, id: e.id, pi: e.pendingIdx, ...extra });
    }
    if (s !== undefined) for (const fn of this.slotListeners) fn(e.kind, s);
  }

  private answered(s: TxSlot | undefined, t: number, status: number): void {
    this.responses++;
    if (s === undefined || s.answeredAt >= 0) {
      this.doubleAnswers++;
      return;
    }
    s.answeredAt = t;
    s.status = status;
    if (s.mapped && s.unmappedAt < 0) this.responsesBeforeUnmap++;
    const p = s.packet;
    if (p !== null && p.answeredAt < 0 && p.slots.every((x) => x.answeredAt >= 0)) {
      p.answeredAt = t;
      for (const fn of this.answerListeners) fn(p);
    }
  }

  // ---- results ------------------------------------------------------------------------------------------------

  /** Requests never answered (on vifs netback did not disable). */
  unanswered(): TxSlot[] {
    return this.slots.filter((s) => s.answeredAt < 0 && !this.disabled.has(s.domid));
  }

  /** Lifecycle findings for the teardown report, in words. */
  findings(): string[] {
    const out: string[] = [];
    const un = this.unanswered();
    if (un.length > 0) out.push(`lifecycle: ${un.length} TX request(s) never answered (first: dom${un[0]!.domid} id ${un[0]!.id})`);
    if (this.doubleAnswers > 0) out.push(`lifecycle: ${this.doubleAnswers} response(s) for no outstanding request`);
    if (this.earlyUnmaps > 0) out.push(`lifecycle: ${this.earlyUnmaps} unmap(s) while an sk_buff still referenced the page`);
    if (this.mappedNow !== 0) out.push(`lifecycle: ${this.mappedNow} TX grant(s) still mapped`);
    return out;
  }
}

function idKey(domid: number, queue: number, id: number): number {
  return (domid * 16 + queue) * 65536 + id;
}

function refKey(domid: number, ref: number): number {
  return domid * 2 ** 32 + ref;
}

/** What `checkTrace` finds in a recorded timeline. */
export interface TraceCheck {
  requests: number;
  responses: number;
  /** `unmapped` events with live references left. */
  earlyUnmaps: number;
  /** `answered` for a request whose grant was mapped and not yet unmapped. */
  responsesBeforeUnmap: number;
  /** `answered` with no outstanding request, or twice for one. */
  doubleAnswers: number;
  /** Requests with no `answered`. */
  unanswered: number;
  /** `ended` with ok false. */
  endFailures: number;
}

/**
 * Redo the lifecycle checks from a recorded timeline alone (what `--trace` writes): requests are matched to
 * backend events by (domid, queue, id), in time order.
 */
export function checkTrace(events: readonly TraceEvent[]): TraceCheck {
  const r: TraceCheck = { requests: 0, responses: 0, earlyUnmaps: 0, responsesBeforeUnmap: 0, doubleAnswers: 0, unanswered: 0, endFailures: 0 };
  const open = new Map<string, { mapped: boolean; unmapped: boolean; answered: boolean }>();
  for (const e of events) {
    const k = `${String(e['domid'])}/${String(e['queue'])}/${String(e['id'])}`;
    switch (e.kind) {
      case 'requested':
        r.requests++;
        open.set(k, { mapped: false, unmapped: false, answered: false });
        break;
      case 'mapped': {
        const s = open.get(k);
        if (s !== undefined) s.mapped = true;
        break;
      }
      case 'unmapped': {
        const s = open.get(k);
        if (s !== undefined) s.unmapped = true;
        if (Number(e['refs'] ?? 0) > 0) r.earlyUnmaps++;
        break;
      }
      case 'answered': {
        r.responses++;
        const s = open.get(k);
        if (s === undefined || s.answered) r.doubleAnswers++;
        else {
          s.answered = true;
          if (s.mapped && !s.unmapped) r.responsesBeforeUnmap++;
        }
        break;
      }
      case 'ended':
        if (e['ok'] === false) r.endFailures++;
        break;
    }
  }
  for (const s of open.values()) if (!s.answered) r.unanswered++;
  return r;
}
