/**
 * The SharedArrayBuffer plumbing between two domain threads: a doorbell a thread sleeps on, a
 * single-producer single-consumer queue of fixed 16-byte records (posted hypercalls, event deliveries), a
 * queue of short text messages (xenstore watch events), and a one-slot synchronous call (the hypercalls
 * whose answer the caller waits for).
 *
 * Every index and state word moves with Atomics (sequentially consistent): whatever a producer wrote into a
 * record before publishing its tail is seen by the consumer that read the tail. Nothing here allocates on
 * the record path; text messages and calls encode JSON (setup and teardown only).
 */

import { InvalidArgument } from '../../errors.ts';

// ---- doorbell ---------------------------------------------------------------------------------------------

const BELL_SEQ = 0;
const BELL_SLEEPING = 1;

/**
 * A thread's wake-up word. The owner takes `seq()` before it looks for work and, finding none, `sleep`s on
 * that value; a producer that has published work `ring`s. A ring between the look and the sleep changes the
 * sequence, so the sleep returns at once: no wake-up is lost. `ring` calls Atomics.notify only while the
 * owner says it sleeps.
 */
export class Doorbell {
  readonly sab: SharedArrayBuffer;
  private readonly w: Int32Array;

  constructor(sab: SharedArrayBuffer = new SharedArrayBuffer(8)) {
    this.sab = sab;
    this.w = new Int32Array(sab);
  }

  seq(): number {
    return Atomics.load(this.w, BELL_SEQ);
  }

  ring(): void {
    Atomics.add(this.w, BELL_SEQ, 1);
    if (Atomics.load(this.w, BELL_SLEEPING) !== 0) Atomics.notify(this.w, BELL_SEQ);
  }

  /** The owner is sleeping (or about to): what a peer deciding whether to keep spinning looks at. */
  sleeping(): boolean {
    return Atomics.load(this.w, BELL_SLEEPING) !== 0;
  }

  /** Sleep until rung after `seq` was read, or `timeoutMs` passed. */
  sleep(seq: number, timeoutMs: number): void {
    Atomics.store(this.w, BELL_SLEEPING, 1);
    Atomics.wait(this.w, BELL_SEQ, seq, timeoutMs);
    Atomics.store(this.w, BELL_SLEEPING, 0);
  }
}

// ---- record queue -----------------------------------------------------------------------------------------

const Q_HEAD = 0;
const Q_TAIL = 1;
const Q_HDR_WORDS = 4;
/** Words per record. */
export const RECORD_WORDS = 4;

/**
 * SPSC queue of records of four int32 words. `capacity` is a power of two. One thread pushes, one pops.
 * Indices run freely and wrap at 2^32, as ring.h's do.
 */
export class RecordQueue {
  readonly sab: SharedArrayBuffer;
  readonly capacity: number;
  private readonly w: Int32Array;

  static create(capacity: number): RecordQueue {
    if (!Number.isInteger(capacity) || capacity < 2 || (capacity & (capacity - 1)) !== 0) {
      throw new InvalidArgument(`RecordQueue: capacity must be a power of two ≥ 2, got ${capacity}`);
    }
    return new RecordQueue(new SharedArrayBuffer((Q_HDR_WORDS + capacity * RECORD_WORDS) * 4));
  }

  constructor(sab: SharedArrayBuffer) {
    this.sab = sab;
    this.w = new Int32Array(sab);
    this.capacity = (this.w.length - Q_HDR_WORDS) / RECORD_WORDS;
  }

  /** Records waiting. */
  get length(): number {
    return (Atomics.load(this.w, Q_TAIL) - Atomics.load(this.w, Q_HEAD)) >>> 0;
  }

  /** Append one record; false if the queue is full. */
  push(a: number, b: number, c: number, d: number): boolean {
    const w = this.w;
    const tail = Atomics.load(w, Q_TAIL);
    if (((tail - Atomics.load(w, Q_HEAD)) >>> 0) >= this.capacity) return false;
    const at = Q_HDR_WORDS + (tail & (this.capacity - 1)) * RECORD_WORDS;
    w[at] = a;
    w[at + 1] = b;
    w[at + 2] = c;
    w[at + 3] = d;
    Atomics.store(w, Q_TAIL, (tail + 1) | 0);
    return true;
  }

  /** Take the oldest record into `out[0..3]`; false if there is none. */
  pop(out: Int32Array): boolean {
    const w = this.w;
    const head = Atomics.load(w, Q_HEAD);
    if (head === Atomics.load(w, Q_TAIL)) return false;
    const at = Q_HDR_WORDS + (head & (this.capacity - 1)) * RECORD_WORDS;
    out[0] = w[at]!;
    out[1] = w[at + 1]!;
    out[2] = w[at + 2]!;
    out[3] = w[at + 3]!;
    Atomics.store(w, Q_HEAD, (head + 1) | 0);
    return true;
  }
}

// ---- text messages ----------------------------------------------------------------------------------------

const MSG_SLOT_BYTES = 8192;

/** SPSC queue of short JSON messages (at most 8 KiB encoded each), for control traffic. */
export class MessageQueue {
  readonly sab: SharedArrayBuffer;
  private readonly q: RecordQueue;
  private readonly data: Uint8Array;
  private readonly scratch = new Int32Array(RECORD_WORDS);
  /** Messages this instance pushed: the producer's tail (only the producer pushes). */
  private produced = 0;

  static create(slots: number): MessageQueue {
    return new MessageQueue({ index: RecordQueue.create(slots).sab, data: new SharedArrayBuffer(slots * MSG_SLOT_BYTES) });
  }

  constructor(parts: { index: SharedArrayBuffer; data: SharedArrayBuffer }) {
    this.q = new RecordQueue(parts.index);
    this.data = new Uint8Array(parts.data);
    this.sab = parts.data;
  }

  get parts(): { index: SharedArrayBuffer; data: SharedArrayBuffer } {
    return { index: this.q.sab, data: this.data.buffer as SharedArrayBuffer };
  }

  /** Append `msg`; false if the queue is full. */
  push(msg: unknown): boolean {
    if (this.q.length >= this.q.capacity) return false;
    const bytes = new TextEncoder().encode(JSON.stringify(msg));
    if (bytes.length > MSG_SLOT_BYTES) throw new InvalidArgument(`MessageQueue: a ${bytes.length}-byte message exceeds ${MSG_SLOT_BYTES}`);
    const slot = this.produced & (this.q.capacity - 1);
    this.data.set(bytes, slot * MSG_SLOT_BYTES);
    this.produced++;
    return this.q.push(slot, bytes.length, 0, 0);
  }

  /** The oldest message, or undefined. */
  pop(): unknown {
    if (!this.q.pop(this.scratch)) return undefined;
    const at = this.scratch[0]! * MSG_SLOT_BYTES;
    const text = new TextDecoder().decode(this.data.slice(at, at + this.scratch[1]!));
    return JSON.parse(text) as unknown;
  }
}

// ---- synchronous call -------------------------------------------------------------------------------------

const CALL_STATE = 0;
const CALL_LEN = 1;
const CALL_IDLE = 0;
const CALL_ASKED = 1;
const CALL_ANSWERED = 2;
const CALL_BYTES = 65536;

/**
 * One outstanding call from a client thread to a server thread: the client writes a JSON request and waits
 * (Atomics.wait on the state word); the server, polling, answers in the same buffer and notifies. The server
 * never waits for the client, so the two cannot deadlock.
 */
export class CallSlot {
  readonly sab: SharedArrayBuffer;
  private readonly w: Int32Array;
  private readonly data: Uint8Array;

  static create(): CallSlot {
    return new CallSlot(new SharedArrayBuffer(8 + CALL_BYTES));
  }

  constructor(sab: SharedArrayBuffer) {
    this.sab = sab;
    this.w = new Int32Array(sab, 0, 2);
    this.data = new Uint8Array(sab, 8);
  }

  /** Client: ask, ring the server, wait for the answer. */
  call(request: unknown, server: Doorbell): unknown {
    this.write(request);
    Atomics.store(this.w, CALL_STATE, CALL_ASKED);
    server.ring();
    while (Atomics.load(this.w, CALL_STATE) !== CALL_ANSWERED) Atomics.wait(this.w, CALL_STATE, CALL_ASKED, 1000);
    const answer = this.read();
    Atomics.store(this.w, CALL_STATE, CALL_IDLE);
    return answer;
  }

  /** Server: a request is waiting. */
  get asked(): boolean {
    return Atomics.load(this.w, CALL_STATE) === CALL_ASKED;
  }

  /** Server: the waiting request. */
  request(): unknown {
    return this.read();
  }

  /** Server: answer the waiting request and wake the client. */
  answer(value: unknown): void {
    this.write(value);
    Atomics.store(this.w, CALL_STATE, CALL_ANSWERED);
    Atomics.notify(this.w, CALL_STATE);
  }

  private write(value: unknown): void {
    const bytes = new TextEncoder().encode(JSON.stringify(value ?? null));
    if (bytes.length > CALL_BYTES) throw new InvalidArgument(`CallSlot: a ${bytes.length}-byte message exceeds ${CALL_BYTES}`);
    this.data.set(bytes, 0);
    Atomics.store(this.w, CALL_LEN, bytes.length);
  }

  private read(): unknown {
    const len = Atomics.load(this.w, CALL_LEN);
    return JSON.parse(new TextDecoder().decode(this.data.slice(0, len))) as unknown;
  }
}
