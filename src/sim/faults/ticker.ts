/**
 * A bounded repeating timer for the injectors: `fn` every `periodNs` of virtual time, at most `maxTicks`
 * times. One-shot clock timers re-armed from their own callback (the Clock has no periodic timer).
 */
import type { Clock, TimerHandle } from '../../hv/clock.ts';

export class Ticker {
  private timer: TimerHandle = 0;
  private clock: Clock | null = null;

  start(clock: Clock, periodNs: number, maxTicks: number, fn: () => void): void {
    this.stop();
    this.clock = clock;
    let left = maxTicks;
    const tick = (): void => {
      this.timer = 0;
      if (left-- <= 0) return;
      fn();
      this.timer = clock.setTimer(periodNs, tick);
    };
    this.timer = clock.setTimer(periodNs, tick);
  }

  stop(): void {
    if (this.timer !== 0 && this.clock !== null) this.clock.cancel(this.timer);
    this.timer = 0;
  }

  get running(): boolean {
    return this.timer !== 0;
  }
}
