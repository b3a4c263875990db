/**
 * One end of the bare ring baseline (baselines.ts): a single-producer single-consumer ring of 12-byte
 * messages in a SharedArrayBuffer, nothing else. The producer writes three int32 words per message and
 * publishes its index with Atomics.store after each one (one push per message, as a frontend pushes per
 * packet); the consumer reads the producer index, takes every message published, and publishes its own
 * index. Each end keeps its copy of the other's index and reads the shared one only when it seems to be out
 * of room or of messages. Both spin; neither sleeps. Both sum what they wrote and read, so the main thread
 * can check that every message arrived intact.
 *
 * Role `sink` is a consumer with no message count: it takes whatever is published until the RB_STOP word is
 * set (the mitata bench in bench/baseline.bench.ts produces from the main thread).
 */

import { parentPort, workerData } from 'node:worker_threads';
import { RING_BASELINE_SLOTS, RB_CONS, RB_GO, RB_HDR, RB_PROD, RB_STOP } from './ring-baseline.ts';

interface Data {
  readonly sab: SharedArrayBuffer;
  readonly role: 'producer' | 'consumer' | 'sink';
  readonly messages: number;
}

const d = (workerData as { data: Data }).data;
const w = new Int32Array(d.sab);
const mask = RING_BASELINE_SLOTS - 1;
parentPort!.postMessage({ type: 'ready' });
while (Atomics.load(w, RB_GO) === 0) Atomics.wait(w, RB_GO, 0, 50);
const t0 = performance.timeOrigin + performance.now();
let sum = 0;
if (d.role === 'producer') {
  let cons = 0;
  for (let p = 0; p < d.messages; p++) {
    while (p - cons >= RING_BASELINE_SLOTS) cons = Atomics.load(w, RB_CONS);
    const at = RB_HDR + (p & mask) * 3;
    const a = p;
    const b = (p * 2654435761) | 0;
    const c = p ^ 0x5bd1e995;
    w[at] = a;
    w[at + 1] = b;
    w[at + 2] = c;
    sum = (sum + a + b + c) | 0;
    Atomics.store(w, RB_PROD, p + 1);
  }
} else {
  let prod = 0;
  const sink = d.role === 'sink';
  for (let c = 0; sink ? Atomics.load(w, RB_STOP) === 0 : c < d.messages;) {
    if (c === prod) {
      prod = Atomics.load(w, RB_PROD);
      continue;
    }
    for (; c < prod; c++) {
      const at = RB_HDR + (c & mask) * 3;
      sum = (sum + w[at]! + w[at + 1]! + w[at + 2]!) | 0;
    }
    Atomics.store(w, RB_CONS, c);
  }
}
const t1 = performance.timeOrigin + performance.now();
parentPort!.postMessage({ type: 'done', t0, t1, sum });
