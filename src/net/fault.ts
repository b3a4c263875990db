/**
 * Fault injection as a device wrapper (STYLE: injectors live in the code, off unless a test or a scenario
 * installs them). DropInjector sits in front of a device and drops transmitted packets: with a probability
 * drawn from a seeded Prng (so a failing seed replays), or exactly the ones a test names.
 *
 * Owns nothing: a packet it lets through passes to `lower` with ownership; one it drops is freed at once
 * (kfree_skb) and counted. Its receive side is the lower device's: it is only ever a transmit target.
 */

import { kfreeSkb } from '../skb/free.ts';
import type { SkBuff } from '../skb/skbuff.ts';
import { NETDEV_TX_OK, type NetDevice, type NetDeviceStats } from './netdevice.ts';

/** The randomness an injector needs (sim/'s Prng fits; net/ does not import sim/). */
export interface FaultRng {
  /** Uniform in [0, 1). */
  next(): number;
}

export class DropInjector implements NetDevice {
  readonly lower: NetDevice;
  readonly prng: FaultRng | null;
  /** Probability of dropping each packet (needs a Prng). */
  dropRate: number;
  /** Drop the packets whose 0-based transmit index is in this set (checked before the rate). */
  readonly dropIndices = new Set<number>();
  /** Packets seen, and dropped. */
  seen = 0;
  dropped = 0;
  rxHandler: ((skb: SkBuff) => number) | null = null;

  constructor(lower: NetDevice, prng: FaultRng | null = null, dropRate = 0) {
    this.lower = lower;
    this.prng = prng;
    this.dropRate = dropRate;
  }

  get name(): string {
    return this.lower.name;
  }
  get ifindex(): number {
    return this.lower.ifindex;
  }
  get mac(): number {
    return this.lower.mac;
  }
  get mtu(): number {
    return this.lower.mtu;
  }
  set mtu(v: number) {
    this.lower.mtu = v;
  }
  get up(): boolean {
    return this.lower.up;
  }
  set up(v: boolean) {
    this.lower.up = v;
  }
  get stats(): NetDeviceStats {
    return this.lower.stats;
  }

  ndoStartXmit(skb: SkBuff): number {
    const i = this.seen++;
    const drop = this.dropIndices.has(i) || (this.dropRate > 0 && this.prng !== null && this.prng.next() < this.dropRate);
    if (!drop) return this.lower.ndoStartXmit(skb);
    this.dropped++;
    kfreeSkb(skb);
    return NETDEV_TX_OK;
  }
}
