/**
 * XenstoreFlapper: a guest rewriting a key of its own xenstore directory in a loop (XSA-349: a frontend
 * flooding the backend's watch with `state` or `request-multicast-control` changes), as a wrapper around
 * the guest's xenstore connection. Each write picks the next value (in order, or at random with a Prng).
 *
 * Writes go through XS_WRITE as the guest; a refused write (the directory is gone with the domain) is
 * counted. `start()` repeats on the clock for at most `maxTicks` ticks; off until then.
 */

import type { Clock } from '../../hv/clock.ts';
import { XBT_NIL, type XenStore } from '../../hv/xenstore.ts';
import type { Prng } from '../prng.ts';
import { Ticker } from './ticker.ts';

export class XenstoreFlapper {
  private readonly xs: XenStore;
  private readonly domid: number;
  readonly path: string;
  readonly values: readonly string[];
  private readonly prng: Prng | null;
  private i = 0;
  private readonly ticker = new Ticker();
  writes = 0;
  refused = 0;

  /** Flap `dir/key` through `values` as domain `domid`. */
  constructor(xs: XenStore, domid: number, dir: string, key: string, values: readonly string[], prng: Prng | null = null) {
    this.xs = xs;
    this.domid = domid;
    this.path = `${dir}/${key}`;
    this.values = values;
    this.prng = prng;
  }

  /** Write the key `n` times now. */
  flap(n: number): void {
    for (let k = 0; k < n; k++) {
      const v = this.prng !== null ? this.prng.pick(this.values) : this.values[this.i++ % this.values.length]!;
      if (this.xs.write(this.domid, XBT_NIL, this.path, v) < 0) this.refused++;
      this.writes++;
    }
  }

  start(clock: Clock, periodNs: number, perTick: number, maxTicks: number): void {
    this.ticker.start(clock, periodNs, maxTicks, () => this.flap(perTick));
  }

  stop(): void {
    this.ticker.stop();
  }
}
