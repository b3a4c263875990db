/**
 * EventStorm: a peer that signals its event channels as fast as it likes (XSA-332 from a guest, XSA-391 from
 * a backend), as a wrapper around ports the peer owns. `burst(n)` sends n events at once, round-robin over
 * the ports; `start()` sends `perTick` events every `periodNs` of virtual time for at most `maxTicks` ticks.
 *
 * Sends go through the real EVTCHNOP_send of the storming domain, so coalescing, masking and late EOI in the
 * hypervisor decide what the receiver sees. A send the hypervisor refuses (a closed port: the channel was
 * torn down under the storm) is counted, never thrown. Off until started; `stop()` cancels the timer.
 */

import type { Clock } from '../../hv/clock.ts';
import type { Domain } from '../../hv/domain.ts';
import type { EventChannelSwitch } from '../../hv/event-channel.ts';
import { Ticker } from './ticker.ts';

export class EventStorm {
  private readonly evtchn: EventChannelSwitch;
  private readonly dom: Domain;
  ports: number[];
  private next = 0;
  private readonly ticker = new Ticker();
  /** Sends made, and sends the hypervisor refused. */
  sent = 0;
  refused = 0;

  constructor(evtchn: EventChannelSwitch, dom: Domain, ports: readonly number[]) {
    this.evtchn = evtchn;
    this.dom = dom;
    this.ports = [...ports];
  }

  /** Send `n` events now, round-robin over the ports. Stops early if the domain is gone. */
  burst(n: number): number {
    let done = 0;
    for (let i = 0; i < n && this.ports.length > 0 && this.dom.state === 'alive'; i++) {
      const port = this.ports[this.next++ % this.ports.length]!;
      if (this.evtchn.evtchnSend(this.dom, port) < 0) this.refused++;
      this.sent++;
      done++;
    }
    return done;
  }

  /** Every `periodNs`, send `perTick` events, for at most `maxTicks` ticks. */
  start(clock: Clock, periodNs: number, perTick: number, maxTicks: number): void {
    this.ticker.start(clock, periodNs, maxTicks, () => this.burst(perTick));
  }

  stop(): void {
    this.ticker.stop();
  }

  get running(): boolean {
    return this.ticker.running;
  }
}
