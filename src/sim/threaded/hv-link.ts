/**
 * The hypervisor thread's end of a guest link: it executes what the guest thread posts and calls, and
 * forwards to the guest thread the events and watch events meant for it. Hypercalls therefore execute in one
 * place, the thread that owns the Hypervisor (its active grant entries, maptrack, port states and xenstore
 * are plain JS state), while both threads read and write machine memory directly.
 *
 * Order: posted operations run in the order the guest posted them, and all of those posted before a call
 * run before that call (the guest's program order). A call names its caller implicitly: it is always the
 * guest of this link, so a guest cannot act as another domain through it.
 */

import { InvalidArgument, PvnetError } from '../../errors.ts';
import type { Domain } from '../../hv/domain.ts';
import { newQuerySize, newSetupTable } from '../../hv/grant-ops.ts';
import type { Hypervisor } from '../../hv/hypervisor.ts';
import type { XsPerm } from '../../hv/xenstore.ts';
import type { GuestDomainInfo } from './remote-hv.ts';
import {
  EV_EVENT, Link, OP_EVTCHN_EOI, OP_EVTCHN_SEND, OP_SHUTDOWN, type CallAnswer, type CallRequest,
} from './protocol.ts';

type CallFn = (l: GuestLink, a: readonly unknown[]) => unknown;

const n = (v: unknown): number => v as number;
const s = (v: unknown): string => v as string;

/** What a guest may call, by name. Every xenstore call's first argument is checked to be the guest's domid. */
const CALLS: Readonly<Record<string, CallFn>> = {
  'xs.read': (l, a) => l.hv.xs.read(l.self(a[0]), n(a[1]), s(a[2])),
  'xs.directory': (l, a) => l.hv.xs.directory(l.self(a[0]), n(a[1]), s(a[2])),
  'xs.getPerms': (l, a) => l.hv.xs.getPerms(l.self(a[0]), n(a[1]), s(a[2])),
  'xs.write': (l, a) => l.hv.xs.write(l.self(a[0]), n(a[1]), s(a[2]), s(a[3])),
  'xs.mkdir': (l, a) => l.hv.xs.mkdir(l.self(a[0]), n(a[1]), s(a[2])),
  'xs.rm': (l, a) => l.hv.xs.rm(l.self(a[0]), n(a[1]), s(a[2])),
  'xs.setPerms': (l, a) => l.hv.xs.setPerms(l.self(a[0]), n(a[1]), s(a[2]), a[3] as XsPerm[]),
  'xs.transactionStart': (l, a) => l.hv.xs.transactionStart(l.self(a[0])),
  'xs.transactionEnd': (l, a) => l.hv.xs.transactionEnd(l.self(a[0]), n(a[1]), a[2] === true),
  'xs.watch': (l, a) => {
    const watched = s(a[1]);
    return l.hv.xs.watch(l.self(a[0]), watched, s(a[2]), (path, token) => l.forwardWatch(path, token, watched));
  },
  'xs.unwatch': (l, a) => l.hv.xs.unwatch(l.self(a[0]), s(a[1]), s(a[2])),
  'evtchn.allocUnbound': (l, a) => l.hv.evtchn.evtchnAllocUnbound(l.caller(a[0]), n(a[1]), n(a[2])),
  'evtchn.bindInterdomain': (l, a) => l.hv.evtchn.evtchnBindInterdomain(l.caller(a[0]), n(a[1]), n(a[2]), a[3] === true),
  'evtchn.close': (l, a) => l.hv.evtchn.evtchnClose(l.caller(a[0]), n(a[1])),
  'evtchn.status': (l, a) => l.hv.evtchn.evtchnStatus(l.caller(a[0]), n(a[1]), n(a[2])),
  'evtchn.mask': (l, a) => l.hv.evtchn.evtchnMask(l.caller(a[0]), n(a[1])),
  'evtchn.unmask': (l, a) => l.hv.evtchn.evtchnUnmask(l.caller(a[0]), n(a[1])),
  'gnttab.querySize': (l, a) => {
    const op = newQuerySize(n(a[0]));
    l.hv.gnttabQuerySize(l.guest, op);
    return op;
  },
  // Not a hypercall: a benchmark phase boundary, run between two timer rounds of this thread (the guest waits,
  // so no packet of the next phase is in flight yet).
  'mark': (l, a) => l.onMark(n(a[0])),
  'gnttab.setupTable': (l, a) => {
    const op = newSetupTable(n(a[0]), n(a[2]));
    op.nr_frames = n(a[1]);
    l.hv.gnttabSetupTable(l.guest, op);
    return { status: op.status, frames: Array.from(op.frame_list) };
  },
};

export class GuestLink {
  readonly hv: Hypervisor;
  readonly guest: Domain;
  readonly link: Link;
  /** Called for each `mark` call, on this thread. */
  onMark: (label: number) => void = () => {};
  /** The guest posted OP_SHUTDOWN. */
  shutdown = false;
  /** Operations executed (posted and called). */
  posted = 0;
  calls = 0;
  private readonly rec = new Int32Array(4);

  constructor(hv: Hypervisor, guest: Domain, link: Link) {
    this.hv = hv;
    this.guest = guest;
    this.link = link;
  }

  /**
   * Take over delivery for the guest's domain: events for it are forwarded to its thread, every other event
   * goes to the hook that was installed (dom0's IRQ dispatcher). Install after that dispatcher.
   */
  install(): void {
    const local = this.hv.evtchn.onEvent;
    const domid = this.guest.domid;
    this.hv.evtchn.onEvent = (d, port) => (d === domid ? this.forwardEvent(port) : local(d, port));
  }

  /** What the guest thread needs to build its view of its domain. */
  domainInfo(): GuestDomainInfo {
    const g = this.guest;
    return {
      domid: g.domid, name: g.name, frames: Array.from(g.frames), ports: g.ports.bitmaps,
      maxGrantFrames: g.grantTable.maxFrames, maxMaptrackFrames: g.grantTable.maxMaptrackFrames,
    };
  }

  /** Execute everything the guest posted, then its call if one waits. Returns the operations executed. */
  poll(): number {
    let done = this.drainPosted();
    const call = this.link.call;
    if (call.asked) {
      done += this.drainPosted();
      call.answer(this.execute(call.request() as CallRequest));
      this.calls++;
      done++;
    }
    return done;
  }

  /** The guest's domid, checked: a link's calls always act as its guest. */
  self(domid: unknown): number {
    if (domid !== this.guest.domid) throw new InvalidArgument(`dom${this.guest.domid}'s link cannot act as dom${String(domid)}`);
    return domid;
  }

  caller(domid: unknown): Domain {
    this.self(domid);
    return this.guest;
  }

  forwardEvent(port: number): void {
    const bit = 1 << (port & 31);
    if ((Atomics.or(this.link.upcall, port >> 5, bit) & bit) !== 0) return;
    if (!this.link.events.push(EV_EVENT, port, 0, 0)) {
      throw new InvalidArgument(`dom${this.guest.domid}: event queue overflow (port ${port})`);
    }
    this.link.guestBell.ring();
  }

  forwardWatch(path: string, token: string, watched: string): void {
    if (!this.link.watches.push({ path, token, watched })) {
      throw new InvalidArgument(`dom${this.guest.domid}: watch queue overflow (${path})`);
    }
    this.link.guestBell.ring();
  }

  private drainPosted(): number {
    const r = this.rec;
    const q = this.link.posted;
    let k = 0;
    while (q.pop(r)) {
      k++;
      switch (r[0]) {
        case OP_EVTCHN_SEND:
          this.hv.evtchn.evtchnSend(this.guest, r[1]!);
          break;
        case OP_EVTCHN_EOI:
          this.hv.evtchn.evtchnEoi(this.guest, r[1]!, r[2] !== 0);
          break;
        case OP_SHUTDOWN:
          this.shutdown = true;
          break;
        default:
          throw new InvalidArgument(`dom${this.guest.domid}: unknown posted operation ${r[0]}`);
      }
    }
    this.posted += k;
    return k;
  }

  private execute(req: CallRequest): CallAnswer {
    const fn = Object.hasOwn(CALLS, req.op) ? CALLS[req.op] : undefined;
    if (fn === undefined) return { error: `unknown call '${req.op}'` };
    try {
      return { ok: fn(this, req.args) ?? null };
    } catch (e) {
      if (e instanceof PvnetError) return { error: `${e.code}: ${e.message}` };
      throw e;
    }
  }
}
