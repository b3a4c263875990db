/**
 * FrameFifo: a bounded FIFO of page frames (or any small integers) in an Int32Array ring, for the scenario's
 * page lists (the anonymous LRU, the written-back list, the swap device's request queue). No allocation after
 * construction.
 *
 * Owns nothing but the numbers: whoever pushes a frame keeps the page reference it stands for until it shifts it
 * out again. Dies with its owner.
 */

import { InvalidArgument } from '../../errors.ts';

export class FrameFifo {
  readonly capacity: number;
  private readonly ring: Int32Array;
  private head = 0;
  count = 0;

  constructor(capacity: number) {
    if (!(Number.isInteger(capacity) && capacity > 0)) throw new InvalidArgument(`FrameFifo: bad capacity ${capacity}`);
    this.capacity = capacity;
    this.ring = new Int32Array(capacity);
  }

  get full(): boolean {
    return this.count === this.capacity;
  }

  /** Append; a push on a full FIFO is a programming error. */
  push(v: number): void {
    if (this.count === this.capacity) throw new InvalidArgument(`FrameFifo: push on a full FIFO of ${this.capacity}`);
    this.ring[(this.head + this.count) % this.capacity] = v;
    this.count++;
  }

  /** Remove and return the oldest value; the caller checks `count` first. */
  shift(): number {
    if (this.count === 0) throw new InvalidArgument('FrameFifo: shift on an empty FIFO');
    const v = this.ring[this.head]!;
    this.head = (this.head + 1) % this.capacity;
    this.count--;
    return v;
  }

  /** The oldest value without removing it; the caller checks `count` first. */
  peek(): number {
    return this.ring[this.head]!;
  }
}
