/**
 * Event-channel interrupt handlers for the emulated domain kernels (Linux drivers/xen/events, reduced).
 *
 * `IrqDispatcher` is installed as the hypervisor's event-delivery hook. A driver binds a handler to one of its
 * domain's ports (`bindEvtchnToIrqhandler`, named after the Linux call); when the hypervisor delivers an event
 * on that port, the dispatcher schedules the handler on the clock `upcallLatencyNs` later (the upcall is
 * asynchronous, as in a real guest), clears the pending bit just before running it (the guest acknowledging
 * its shared-info bit), and runs the handler. Repeated sends while the bit is still set coalesce in the
 * hypervisor, so a handler runs once per delivered event, not once per send.
 *
 * A port bound in late-EOI mode stays quiet after a delivery until the handler calls `eoi` (XSA-332): the
 * dispatcher passes the handler an `eoi(spurious)` function for that.
 *
 * Ownership: one dispatcher per Hypervisor; handlers are owned by the drivers that bound them and must be
 * unbound before the port is closed. Events for ports with no handler are counted in `unhandled`.
 */

import type { Clock } from '../hv/clock.ts';
import type { Domain } from '../hv/domain.ts';
import type { Hypervisor } from '../hv/hypervisor.ts';
import { InvalidArgument } from '../errors.ts';

export type IrqHandler = (port: number) => void;

interface Binding {
  readonly dom: Domain;
  readonly port: number;
  readonly handler: IrqHandler;
  scheduled: boolean;
  /** The upcall, made once per binding (no closure per event). */
  readonly upcall: () => void;
}

export class IrqDispatcher {
  private readonly hv: Hypervisor;
  private readonly clock: Clock;
  private readonly bindings = new Map<number, Binding>();
  /** Virtual time from delivery to the handler running, in ns. */
  upcallLatencyNs: number;
  /** Events delivered to a port with no handler. */
  unhandled = 0;
  /** Handler invocations. */
  invocations = 0;

  constructor(hv: Hypervisor, upcallLatencyNs = 1_000) {
    this.hv = hv;
    this.clock = hv.clock;
    this.upcallLatencyNs = upcallLatencyNs;
    hv.evtchn.onEvent = (domid, port) => this.deliver(domid, port);
  }

  /** Run `handler` for every event delivered to `dom`'s `port`. */
  bindEvtchnToIrqhandler(dom: Domain, port: number, handler: IrqHandler): void {
    const key = keyOf(dom.domid, port);
    if (this.bindings.has(key)) throw new InvalidArgument(`dom${dom.domid} port ${port} already has a handler`);
    const b: Binding = {
      dom, port, handler, scheduled: false,
      upcall: () => {
        b.scheduled = false;
        if (this.bindings.get(key) !== b) return;
        this.hv.evtchn.evtchnClearPending(b.dom, port);
        this.invocations++;
        b.handler(port);
      },
    };
    this.bindings.set(key, b);
    // An event may already be pending (bind leaves the port pending): run the handler for it.
    if (dom.ports.isPending(port)) this.deliver(dom.domid, port);
  }

  unbindFromIrqhandler(dom: Domain, port: number): void {
    this.bindings.delete(keyOf(dom.domid, port));
  }

  /** Acknowledge a late-EOI port; `spurious` when the handler found no work. */
  eoi(dom: Domain, port: number, spurious = false): void {
    this.hv.evtchn.evtchnEoi(dom, port, spurious);
  }

  private deliver(domid: number, port: number): void {
    const b = this.bindings.get(keyOf(domid, port));
    if (b === undefined) {
      this.unhandled++;
      return;
    }
    if (b.scheduled) return;
    b.scheduled = true;
    this.clock.setTimer(this.upcallLatencyNs, b.upcall);
  }
}

function keyOf(domid: number, port: number): number {
  return domid * 65536 + port;
}
