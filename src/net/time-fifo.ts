/**
 * TimeFifo: a FIFO of virtual times in a growable Float64Array ring, kept parallel to an skb queue (the time a
 * tap's reader will read each packet, the time each packet leaves a device). No allocation once warm.
 */
export class TimeFifo {
  private items = new Float64Array(64);
  private head = 0;
  count = 0;

  push(t: number): void {
    if (this.count === this.items.length) this.grow();
    this.items[(this.head + this.count) % this.items.length] = t;
    this.count++;
  }

  /** The oldest time; the caller checks `count` first. */
  peek(): number {
    return this.items[this.head]!;
  }

  /** Remove and return the oldest time; the caller checks `count` first. */
  shift(): number {
    const t = this.items[this.head]!;
    this.head = (this.head + 1) % this.items.length;
    this.count--;
    return t;
  }

  clear(): void {
    this.head = 0;
    this.count = 0;
  }

  private grow(): void {
    const old = this.items;
    const next = new Float64Array(old.length * 2);
    for (let i = 0; i < this.count; i++) next[i] = old[(this.head + i) % old.length]!;
    this.items = next;
    this.head = 0;
  }
}
