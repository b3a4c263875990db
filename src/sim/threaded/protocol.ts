/**
 * What the guest thread and the hypervisor thread say to each other, and the shared buffers they say it
 * through (channel.ts). One `LinkParts` per guest, created by the main thread and posted to both workers.
 *
 * ```
 *   guest thread                                   hypervisor thread (dom0's: netback runs here)
 *   posted   ── evtchn send, EOI, shutdown ───────▶  executed in order, before any call that follows
 *   call     ── alloc_unbound, close, xenstore,    ▶  executed, answered; the guest waits
 *               setup_table, query_size, marks
 *   events   ◀── event delivered on a guest port ──  onEvent for the guest's domid; one record per port at
 *                                                    most (the `upcall` bits: Xen's upcall-pending flag)
 *   watches  ◀── xenstore watch fired ─────────────  a watch the guest registered
 *   hvBell / guestBell: each side rings the other's after publishing
 * ```
 */

import { EVTCHN_2L_NR_CHANNELS } from '../../abi/event_channel.ts';
import { CallSlot, Doorbell, MessageQueue, RecordQueue } from './channel.ts';

/** Posted hypercalls (guest → hypervisor), record word 0. */
export const OP_EVTCHN_SEND = 1;
export const OP_EVTCHN_EOI = 2;
/** The guest is done: the hypervisor thread tears the backend down and reports. */
export const OP_SHUTDOWN = 3;

/** Deliveries (hypervisor → guest), record word 0. */
export const EV_EVENT = 1;

/** A synchronous call: the name of what to run on the hypervisor thread, and its JSON arguments. */
export interface CallRequest {
  readonly op: string;
  readonly args: readonly unknown[];
}

export type CallAnswer = { readonly ok: unknown } | { readonly error: string };

/** A watch event for the guest: the path that changed, the token, and the watch's own path. */
export interface WatchMessage {
  readonly path: string;
  readonly token: string;
  readonly watched: string;
}

export interface LinkParts {
  readonly hvBell: SharedArrayBuffer;
  readonly guestBell: SharedArrayBuffer;
  readonly posted: SharedArrayBuffer;
  readonly events: SharedArrayBuffer;
  readonly watches: { index: SharedArrayBuffer; data: SharedArrayBuffer };
  readonly call: SharedArrayBuffer;
  readonly upcall: SharedArrayBuffer;
}

/** The channels of one guest, as either side holds them. */
export class Link {
  readonly hvBell: Doorbell;
  readonly guestBell: Doorbell;
  readonly posted: RecordQueue;
  readonly events: RecordQueue;
  readonly watches: MessageQueue;
  readonly call: CallSlot;
  /**
   * One bit per guest port: a delivery for it is queued and not yet taken by the guest thread. A further
   * delivery while the bit is set adds nothing (as a second event for a vCPU whose upcall is already pending
   * raises no second upcall), so the event queue holds at most one record per port.
   */
  readonly upcall: Int32Array;

  static create(): Link {
    return new Link({
      hvBell: new Doorbell().sab,
      guestBell: new Doorbell().sab,
      posted: RecordQueue.create(4096).sab,
      events: RecordQueue.create(4096).sab,
      watches: MessageQueue.create(256).parts,
      call: CallSlot.create().sab,
      upcall: new SharedArrayBuffer(EVTCHN_2L_NR_CHANNELS / 8),
    });
  }

  constructor(readonly parts: LinkParts) {
    this.hvBell = new Doorbell(parts.hvBell);
    this.guestBell = new Doorbell(parts.guestBell);
    this.posted = new RecordQueue(parts.posted);
    this.events = new RecordQueue(parts.events);
    this.watches = new MessageQueue(parts.watches);
    this.call = new CallSlot(parts.call);
    this.upcall = new Int32Array(parts.upcall);
  }
}
