import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InvalidArgument } from '../../src/errors.ts';
import { GFP_KERNEL, __GFP_MEMALLOC } from '../../src/mm/gfp.ts';
import { Prng } from '../../src/sim/prng.ts';
import {
  allocSkb,
  consumeSkb,
  fragDestructorAlloc,
  skbAddRxFrag,
  skbFragDestructorUnref,
  skbFragRef,
  skbFragSetDestructor,
  skbReserve,
  skbToBytes,
  type SkBuff,
} from '../../src/skb/index.ts';
import {
  DevQueue,
  DropInjector,
  RT_FRAMING_TCP,
  RT_FRAMING_UDP,
  RT_HEADROOM,
  SOCK_MEMALLOC,
  rtAllocSkb,
  rtClose,
  rtEndpointOpen,
  rtSendSkb,
  sockFlag,
  wireLink,
  type NetDevice,
  type RtEndpoint,
  type RtEndpointOptions,
} from '../../src/net/index.ts';
import { throwsType } from '../support/assert.ts';
import { end, IP_A, IP_B, MAC_A, MAC_B, netWorld, type NetWorld } from './fixtures.ts';

const MS = 1_000_000;

interface Pair {
  readonly w: NetWorld;
  readonly nicA: DevQueue;
  readonly nicB: DevQueue;
  readonly a: RtEndpoint;
  readonly b: RtEndpoint;
  readonly got: number[][];
  readonly acked: number[];
}

interface PairOptions {
  readonly framing?: number;
  readonly delayNs?: number;
  /** B's NIC delay, if different. */
  readonly delayBNs?: number;
  readonly wrapA?: (d: DevQueue) => NetDevice;
  readonly wrapB?: (d: DevQueue) => NetDevice;
  readonly a?: Partial<RtEndpointOptions>;
  readonly b?: Partial<RtEndpointOptions>;
}

function pair(o: PairOptions = {}): Pair {
  const w = netWorld();
  const delayNs = o.delayNs ?? 100_000;
  const nicA = new DevQueue({ name: 'eth0', ifindex: 2, mac: MAC_A, clock: w.clock, delayNs });
  const nicB = new DevQueue({ name: 'eth0', ifindex: 2, mac: MAC_B, clock: w.clock, delayNs: o.delayBNs ?? delayNs });
  wireLink(nicA, w.a.stack, nicB, w.b.stack);
  const got: number[][] = [];
  const acked: number[] = [];
  const framing = o.framing ?? RT_FRAMING_UDP;
  const common = { framing, rtoNs: 2 * MS, ackDelayNs: 0 };
  const a = rtEndpointOpen({
    stack: w.a.stack, dev: o.wrapA ? o.wrapA(nicA) : nicA, localMac: MAC_A, localAddr: IP_A, localPort: 700, peerMac: MAC_B, peerAddr: IP_B, peerPort: 2049,
    onAcked: (seq) => acked.push(seq), ...common, ...o.a,
  });
  const b = rtEndpointOpen({
    stack: w.b.stack, dev: o.wrapB ? o.wrapB(nicB) : nicB, localMac: MAC_B, localAddr: IP_B, localPort: 2049, peerMac: MAC_A, peerAddr: IP_A, peerPort: 700,
    onDeliver: (skb: SkBuff) => { got.push([...skbToBytes(skb)]); consumeSkb(skb); }, ...common, ...o.b,
  });
  return { w, nicA, nicB, a, b, got, acked };
}

function finish(p: Pair): void {
  rtClose(p.a);
  rtClose(p.b);
  p.w.clock.runUntilIdle(100_000);
  end(p.w);
}

function payload(i: number, n = 100): Uint8Array {
  return new Uint8Array(n).fill(i & 0xff);
}

function sendN(p: Pair, n: number, size = 100): void {
  for (let i = 0; i < n; i++) {
    const skb = rtAllocSkb(p.a, payload(i, size))!;
    if (!rtSendSkb(p.a, skb)) throw new Error(`send ${i} refused`);
  }
}

for (const framing of [RT_FRAMING_UDP, RT_FRAMING_TCP]) {
  const name = framing === RT_FRAMING_UDP ? 'UDP' : 'TCP';
  test(`transport (${name} framing): segments are delivered in order, exactly once, and every retransmit clone is freed by its ack`, () => {
    const p = pair({ framing });
    sendN(p, 20);
    p.w.clock.runUntilIdle(100_000);
    assert.equal(p.got, Array.from({ length: 20 }, (_, i) => [...payload(i)]));
    assert.is(p.a.stats.sent, 20);
    assert.is(p.a.stats.acked, 20);
    assert.is(p.a.stats.retransmitted, 0);
    assert.is(p.a.rtxQueue.qlen, 0, 'no clone left on the retransmit queue');
    assert.equal(p.acked, Array.from({ length: 20 }, (_, i) => i));
    finish(p);
  });
}

test('transport: a lost segment is retransmitted after the RTO as a fresh clone; the receiver holds what came after it', () => {
  let inj: DropInjector | null = null;
  const p = pair({ wrapA: (d) => (inj = new DropInjector(d)) });
  inj!.dropIndices.add(2);
  sendN(p, 5);
  p.w.clock.runUntil(1 * MS);
  assert.equal(p.got.length, 2, 'segments 3 and 4 wait behind the gap');
  assert.is(p.b.stats.outOfOrder, 2);
  assert.is(p.a.rtxQueue.qlen, 3);
  p.w.clock.runUntilIdle(100_000);
  assert.is(p.a.stats.retransmitted, 1);
  assert.is(p.a.stats.timeouts, 1);
  assert.equal(p.got.map((g) => g[0]), [0, 1, 2, 3, 4]);
  assert.is(p.a.rtxQueue.qlen, 0);
  finish(p);
});

test('transport: with a seeded Prng dropping 25% of segments both ways, everything arrives in order and nothing leaks', () => {
  const prng = new Prng(42);
  const p = pair({
    wrapA: (d) => new DropInjector(d, prng.fork('a'), 0.25),
    wrapB: (d) => new DropInjector(d, prng.fork('b'), 0.25),
    a: { maxInFlight: 4, sndQueueMax: 100 },
  });
  sendN(p, 60);
  p.w.clock.runUntilIdle(1_000_000);
  assert.equal(p.got.map((g) => g[0]), Array.from({ length: 60 }, (_, i) => i));
  assert.ok(p.a.stats.retransmitted > 0);
  assert.ok(p.b.stats.duplicates > 0, 'lost acks made the sender resend what had arrived');
  assert.is(p.a.stats.acked, 60);
  finish(p);
});

test('transport: at most maxInFlight segments are in flight; more wait on the send queue; a full send queue refuses', () => {
  const p = pair({ a: { maxInFlight: 3, sndQueueMax: 2 } });
  sendN(p, 5);
  assert.is(p.a.inFlight, 3);
  assert.is(p.a.sndQueue.qlen, 2);
  const extra = rtAllocSkb(p.a, payload(9))!;
  assert.not.ok(rtSendSkb(p.a, extra), 'refused: the caller keeps it');
  consumeSkb(extra);
  assert.is(p.a.stats.rejected, 1);
  p.w.clock.runUntilIdle(100_000);
  assert.is(p.got.length, 5);
  finish(p);
});

test('transport: sequence numbers wrap at 2^32', () => {
  const isn = 0xfffffff0;
  const p = pair({ a: { isn }, b: { peerIsn: isn }, framing: RT_FRAMING_TCP });
  sendN(p, 40);
  p.w.clock.runUntilIdle(100_000);
  assert.is(p.got.length, 40);
  assert.is(p.acked[16], 0, 'the 17th segment is number 0');
  assert.is(p.a.sndUna, (isn + 40) >>> 0);
  finish(p);
});

test('transport: the NFS retransmit hazard: after the ack, a retransmission still in the slow device queue holds the page and sends what the lender wrote since', () => {
  // A's NIC is slow (10 ms); the RTO (6 ms) fires first, so a retransmission queues behind the original.
  const wire: number[] = [];
  let onAck: (seq: number) => void = () => {};
  const p = pair({ delayNs: 10 * MS, delayBNs: 100_000, a: { rtoNs: 6 * MS, onAcked: (seq) => onAck(seq) } });
  p.nicA.observer = (f, len) => wire.push(f[len - 1]!);
  const env = p.w.a.stack.env;
  const page = env.pages.allocPage(GFP_KERNEL);
  env.mem.write(env.domid, page, 0, new Uint8Array(1000).fill(0xaa), 0, 1000);
  const log = { destroyed: 0, atAck: -1 };
  const d = fragDestructorAlloc(env, () => { log.destroyed++; env.pages.putPage(page); });
  const skb = allocSkb(env, RT_HEADROOM)!;
  skbReserve(skb, RT_HEADROOM);
  skbAddRxFrag(skb, 0, page, 0, 1000, 1000);
  skbFragSetDestructor(skb, 0, d);
  skbFragRef(skb, 0);
  skbFragDestructorUnref(d);
  const acked: number[] = [];
  onAck = (seq) => {
    acked.push(seq);
    log.atAck = log.destroyed;
    env.mem.write(env.domid, page, 0, new Uint8Array(1000).fill(0xbb), 0, 1000); // the RPC completed: reuse
  };
  assert.ok(rtSendSkb(p.a, skb));
  p.w.clock.runUntil(7 * MS);
  assert.is(p.a.stats.retransmitted, 1);
  assert.is(p.nicA.queue.qlen, 2, 'original and retransmission both wait in the device queue');
  p.w.clock.runUntilIdle(100_000);
  assert.equal(acked, [0]);
  assert.is(log.atAck, 0, 'at the ack the page was still referenced (by the queued retransmission)');
  assert.equal(wire, [0xaa, 0xbb], 'the retransmission carried the rewritten bytes');
  assert.is(log.destroyed, 1, 'the destructor fired once, when the last copy left the wire');
  assert.is(p.b.stats.duplicates, 1);
  finish(p);
});

test('transport: after maxRetries expirations in a row the endpoint aborts and frees everything', () => {
  let aborted = 0;
  const p = pair({ wrapA: (d) => new DropInjector(d, { next: () => 0 }, 1), a: { maxRetries: 3, onAbort: () => aborted++ } });
  sendN(p, 4);
  p.w.clock.runUntilIdle(100_000);
  assert.is(aborted, 1);
  assert.is(p.a.stats.timeouts, 3);
  assert.ok(p.a.closed);
  assert.is(p.a.rtxQueue.qlen, 0);
  const skb = rtAllocSkb(p.b, payload(1))!;
  throwsType(() => rtSendSkb(p.a, skb), InvalidArgument);
  consumeSkb(skb);
  finish(p);
});

test('transport: a memalloc endpoint marks its socket SOCK_MEMALLOC and allocates with __GFP_MEMALLOC', () => {
  const p = pair({ b: { memalloc: true } });
  assert.ok(sockFlag(p.b.sk, SOCK_MEMALLOC));
  assert.is(p.w.b.stack.memallocSocks, 1);
  assert.is(p.b.sk.skAllocation & __GFP_MEMALLOC, __GFP_MEMALLOC);
  sendN(p, 3);
  p.w.clock.runUntilIdle(100_000);
  assert.is(p.got.length, 3);
  finish(p);
  assert.is(p.w.b.stack.memallocSocks, 0, 'closing clears it');
});

test.run();
