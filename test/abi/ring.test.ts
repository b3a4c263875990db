import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { InvalidArgument } from '../../src/errors.ts';
import { allocStandalonePage, pageRefOf, type PageRef } from '../../src/abi/page.ts';
import {
  SIZEOF_SRING_HEADER, backRingAttach, backRingInit, defineRingTypes, frontRingAttach, frontRingInit,
  ringCopyRequest, ringCopyResponse, ringFinalCheckForRequests, ringFinalCheckForResponses, ringFreeRequests,
  ringFull, ringGetRequest, ringGetResponse, ringHasUnconsumedRequests, ringHasUnconsumedResponses,
  ringNrUnconsumedRequests, ringNrUnconsumedResponses, ringPushRequests, ringPushRequestsAndCheckNotify,
  ringPushResponses, ringPushResponsesAndCheckNotify, ringPutRequest, ringPutResponse, ringRequestConsOverflow,
  ringRequestProdOverflow, ringResponseProdOverflow, ringSize, sharedRingInit, xenFrontRingInit,
  type BackRing, type FrontRing, type RingBarrierPoint, type SlotCodec,
} from '../../src/abi/ring.ts';
import { throwsType } from '../support/assert.ts';

// A toy ring type, unrelated to netif: the ring must work for any entry size.
interface Req { a: number; b: number }
interface Rsp { a: number }
const reqCodec: SlotCodec<Req> = {
  name: 'toy_request', size: 12, align: 4,
  create: () => ({ a: 0, b: 0 }),
  read(v, o, out) { out.a = v.getUint32(o, true); out.b = v.getUint32(o + 8, true); return out; },
  write(x, v, o) { v.setUint32(o, x.a, true); v.setUint32(o + 4, 0, true); v.setUint32(o + 8, x.b, true); },
};
const rspCodec: SlotCodec<Rsp> = {
  name: 'toy_response', size: 4, align: 4,
  create: () => ({ a: 0 }),
  read(v, o, out) { out.a = v.getUint32(o, true); return out; },
  write(x, v, o) { v.setUint32(o, x.a, true); },
};
const toy = defineRingTypes('toy', reqCodec, rspCodec);
const SIZE = ringSize(12); // 256

function poisoned(): PageRef {
  const page = allocStandalonePage();
  page.bytes.fill(0xa5);
  return page;
}

/** A fresh page initialised by the front, with a front and a back ring on it. */
function pair(): { page: PageRef; front: FrontRing<Req, Rsp>; back: BackRing<Req, Rsp> } {
  const page = poisoned();
  const front = xenFrontRingInit(toy, page);
  const back = backRingInit(toy, page);
  return { page, front, back };
}

/** Front and back attached at index `start` (both producers at `start`, events at start + 1). */
function pairAt(start: number) {
  const page = poisoned();
  sharedRingInit(page);
  const front = frontRingAttach(toy, page, start);
  const back = backRingAttach(toy, page, start);
  front.sring.reqProd = start;
  front.sring.rspProd = start;
  front.sring.reqEvent = (start + 1) >>> 0;
  front.sring.rspEvent = (start + 1) >>> 0;
  return { page, front, back };
}

function produce(front: FrontRing<Req, Rsp>, n: number, tag = 0): void {
  for (let i = 0; i < n; i++) {
    ringPutRequest(front, front.reqProdPvt, { a: (front.reqProdPvt + tag) >>> 0, b: 0xb0b0 + i });
    front.reqProdPvt++;
  }
}

// ---- sizes and layout --------------------------------------------------------------------------------

test('ring: RING_SIZE is the largest power of two of entries fitting after the 64-byte header', () => {
  assert.is(ringSize(12), 256);
  assert.is(ringSize(8), 256);
  assert.is(ringSize(16), 128);
  assert.is(ringSize(1), 2048);
  assert.is(ringSize(4032), 1);
  assert.is(ringSize(64, 8192), 64);
  throwsType(() => ringSize(4033), InvalidArgument);
  throwsType(() => ringSize(0), InvalidArgument);
  throwsType(() => ringSize(2.5), InvalidArgument);
});

test('ring: the entry size is the larger struct rounded up to the stricter alignment', () => {
  assert.is(toy.entrySize, 12);
  const odd: SlotCodec<number> = { name: 'odd', size: 6, align: 2, create: () => 0, read: (_v, _o, x) => x, write() {} };
  const wide: SlotCodec<number> = { name: 'wide', size: 4, align: 4, create: () => 0, read: (_v, _o, x) => x, write() {} };
  assert.is(defineRingTypes('odd', odd, wide).entrySize, 8);
  throwsType(() => defineRingTypes('huge', { ...odd, size: 5000 }, wide), InvalidArgument);
});

test('ring: SHARED_RING_INIT sets producers 0, events 1, zeroes pvt and padding, and leaves entries alone', () => {
  const page = poisoned();
  sharedRingInit(page);
  const expected = new Uint8Array(64);
  expected[4] = 1;
  expected[12] = 1;
  assert.equal([...page.bytes.subarray(0, 64)], [...expected]);
  assert.ok(page.bytes.subarray(SIZEOF_SRING_HEADER).every((b) => b === 0xa5));
});

test('ring: FRONT_RING_INIT and BACK_RING_INIT start the private indices at 0 and leave the shared page alone', () => {
  const page = poisoned();
  const front = frontRingInit(toy, page);
  const back = backRingInit(toy, page);
  assert.is(front.reqProdPvt, 0);
  assert.is(front.rspCons, 0);
  assert.is(back.rspProdPvt, 0);
  assert.is(back.reqCons, 0);
  assert.is(front.nrEnts, SIZE);
  assert.ok(page.bytes.every((b) => b === 0xa5));
});

test('ring: attach resumes both private indices at the given index', () => {
  const page = allocStandalonePage();
  const front = frontRingAttach(toy, page, 0xfffffff0);
  const back = backRingAttach(toy, page, 7);
  assert.is(front.reqProdPvt, 0xfffffff0);
  assert.is(front.rspCons, 0xfffffff0);
  assert.is(back.rspProdPvt, 7);
  assert.is(back.reqCons, 7);
});

test('ring: a slot is idx & (RING_SIZE - 1), and index 2^32 - 1 maps to the last slot', () => {
  const { front, back, page } = pair();
  assert.is(ringGetRequest(front, 0), page.base + 64);
  assert.is(ringGetRequest(front, 1), page.base + 64 + 12);
  assert.is(ringGetRequest(front, SIZE), page.base + 64);
  assert.is(ringGetRequest(front, 0xffffffff), page.base + 64 + 12 * (SIZE - 1));
  assert.is(ringGetResponse(back, 0xffffffff), page.base + 64 + 12 * (SIZE - 1));
});

test('ring: the shared indices are little-endian u32 words at 0, 4, 8 and 12', () => {
  const { front, page } = pair();
  front.sring.reqProd = 0x01020304;
  front.sring.reqEvent = 0xfffffffe;
  front.sring.rspProd = 5;
  front.sring.rspEvent = 6;
  assert.equal([...page.bytes.subarray(0, 16)], [4, 3, 2, 1, 0xfe, 0xff, 0xff, 0xff, 5, 0, 0, 0, 6, 0, 0, 0]);
  assert.is(front.sring.reqEvent, 0xfffffffe);
});

test('ring: a ring works at any 4-aligned page inside a larger buffer', () => {
  const buf = new ArrayBuffer(3 * 4096);
  const page = pageRefOf(buf, 4096);
  const front = xenFrontRingInit(toy, page);
  const back = backRingInit(toy, page);
  produce(front, 1);
  ringPushRequests(front);
  assert.is(new DataView(buf).getUint32(4096, true), 1);
  assert.is(ringCopyRequest(back, 0, reqCodec.create()).a, 0);
  assert.is(new Uint8Array(buf, 0, 4096).every((b) => b === 0), true);
});

// ---- one front and one back on one page ---------------------------------------------------------------

test('ring: requests and responses travel front to back and back on one page', () => {
  const { front, back } = pair();
  produce(front, 3);
  assert.is(ringFreeRequests(front), SIZE - 3);
  assert.is(ringNrUnconsumedRequests(back), 0, 'nothing is visible before the push');
  assert.is(ringPushRequestsAndCheckNotify(front), true);
  assert.is(ringNrUnconsumedRequests(back), 3);
  assert.ok(ringHasUnconsumedRequests(back));
  const req = reqCodec.create();
  for (let i = 0; i < 3; i++) {
    ringCopyRequest(back, back.reqCons, req);
    assert.equal(req, { a: i, b: 0xb0b0 + i });
    back.reqCons++;
    ringPutResponse(back, back.rspProdPvt, { a: 100 + i });
    back.rspProdPvt++;
  }
  assert.is(ringHasUnconsumedRequests(back), false);
  assert.is(ringNrUnconsumedResponses(front), 0);
  assert.is(ringPushResponsesAndCheckNotify(back), true);
  assert.is(ringNrUnconsumedResponses(front), 3);
  const rsp = rspCodec.create();
  for (let i = 0; i < 3; i++) {
    assert.is(ringCopyResponse(front, front.rspCons, rsp).a, 100 + i);
    front.rspCons++;
  }
  assert.is(ringHasUnconsumedResponses(front), false);
  assert.is(ringFreeRequests(front), SIZE);
});

test('ring: the front is full after RING_SIZE unanswered requests', () => {
  const { front } = pair();
  produce(front, SIZE - 1);
  assert.is(ringFull(front), false);
  produce(front, 1);
  assert.is(ringFreeRequests(front), 0);
  assert.is(ringFull(front), true);
});

test('ring: private index setters store modulo 2^32', () => {
  const { front, back } = pair();
  front.reqProdPvt = 0xffffffff;
  front.reqProdPvt++;
  assert.is(front.reqProdPvt, 0);
  back.reqCons = -1;
  assert.is(back.reqCons, 0xffffffff);
});

// ---- notify ---------------------------------------------------------------------------------------------

test('ring: a push notifies iff req_event lies in (old, new] modulo 2^32', () => {
  const cases: Array<[old: number, now: number, event: number, notify: boolean]> = [
    [0, 3, 1, true],
    [0, 3, 3, true],
    [0, 3, 4, false],
    [0, 3, 0, false],
    [5, 6, 5, false],
    [5, 6, 6, true],
    [0xfffffffe, 2, 0xffffffff, true],
    [0xfffffffe, 2, 0, true],
    [0xfffffffe, 2, 2, true],
    [0xfffffffe, 2, 3, false],
    [0xfffffffe, 2, 0xfffffffe, false],
    [0xfffffff0, 0xfffffff8, 0x7fffffff, false],
  ];
  for (const [old, now, event, notify] of cases) {
    const { front, back } = pairAt(old);
    front.reqProdPvt = now;
    front.sring.reqEvent = event;
    assert.is(ringPushRequestsAndCheckNotify(front), notify, `requests old=${old} new=${now} event=${event}`);
    assert.is(front.sring.reqProd, now);
    back.rspProdPvt = now;
    back.sring.rspProd = old;
    back.sring.rspEvent = event;
    assert.is(ringPushResponsesAndCheckNotify(back), notify, `responses old=${old} new=${now} event=${event}`);
    assert.is(back.sring.rspProd, now);
  }
});

test('ring: a push that publishes nothing never notifies, whatever the event', () => {
  for (const event of [0, 1, 5, 6, 0xffffffff]) {
    const { front, back } = pairAt(5);
    front.sring.reqEvent = event;
    back.sring.rspEvent = event;
    assert.is(ringPushRequestsAndCheckNotify(front), false);
    assert.is(ringPushResponsesAndCheckNotify(back), false);
  }
});

test('ring: RING_PUSH_REQUESTS / RING_PUSH_RESPONSES publish the private producers', () => {
  const { front, back } = pair();
  produce(front, 2);
  ringPushRequests(front);
  assert.is(back.sring.reqProd, 2);
  back.rspProdPvt = 2;
  ringPushResponses(back);
  assert.is(front.sring.rspProd, 2);
});

// ---- final check ----------------------------------------------------------------------------------------

test('ring: final check for requests with work pending says so and leaves req_event alone', () => {
  const { front, back } = pair();
  produce(front, 2);
  ringPushRequests(front);
  back.sring.reqEvent = 77;
  assert.is(ringFinalCheckForRequests(back), true);
  assert.is(back.sring.reqEvent, 77);
});

test('ring: final check for requests with no work arms req_event = req_cons + 1, and the next push notifies', () => {
  const { front, back } = pair();
  produce(front, 2);
  ringPushRequests(front);
  back.reqCons = 2;
  back.rspProdPvt = 2;
  front.sring.reqEvent = 100; // the backend was not sleeping
  assert.is(ringFinalCheckForRequests(back), false);
  assert.is(back.sring.reqEvent, 3);
  produce(front, 1);
  assert.is(ringPushRequestsAndCheckNotify(front), true);
});

test('ring: final check for responses arms rsp_event = rsp_cons + 1 across the 2^32 wrap', () => {
  const { front, back } = pairAt(0xffffffff);
  assert.is(ringFinalCheckForResponses(front), false);
  assert.is(front.sring.rspEvent, 0);
  back.rspProdPvt = 0;
  assert.is(ringPushResponsesAndCheckNotify(back), true);
  assert.is(ringFinalCheckForResponses(front), true);
});

test('ring: a request published at the final check barrier is seen by the second look', () => {
  const { front, back } = pair();
  back.onBarrier = (point) => {
    if (point !== 'final-check-mb') return;
    produce(front, 1);
    ringPushRequests(front);
  };
  assert.is(ringFinalCheckForRequests(back), true);
});

test('ring: at each barrier of a push, either the push notifies or the backend final check sees the request', () => {
  for (const at of ['push-wmb', 'push-mb'] as RingBarrierPoint[]) {
    const { front, back } = pair();
    back.sring.reqEvent = 1000; // the backend is busy, not armed
    let seen = false;
    front.onBarrier = (point) => {
      if (point === at) seen = ringFinalCheckForRequests(back);
    };
    produce(front, 1);
    const notify = ringPushRequestsAndCheckNotify(front);
    assert.ok(notify || seen, `no wakeup when the backend ran at ${at}`);
    assert.is(notify, at === 'push-wmb', `notify when the backend ran at ${at}`);
  }
});

test('ring: the barrier hook runs at push-wmb then push-mb, and at final-check-mb only when it re-arms', () => {
  const { front, back } = pair();
  const seen: string[] = [];
  front.onBarrier = (p) => seen.push(`front:${p}`);
  back.onBarrier = (p) => seen.push(`back:${p}`);
  assert.is(ringFinalCheckForRequests(back), false);
  produce(front, 1);
  ringPushRequestsAndCheckNotify(front);
  assert.is(ringFinalCheckForRequests(back), true);
  assert.equal(seen, ['back:final-check-mb', 'front:push-wmb', 'front:push-mb']);
});

// ---- hostile producers ----------------------------------------------------------------------------------

test('ring: a frontend claiming more requests than RING_SIZE is flagged by the producer overflow check and capped', () => {
  const { back } = pair();
  back.sring.reqProd = SIZE + 5;
  assert.is(ringRequestProdOverflow(back, back.sring.reqProd), true);
  assert.is(ringRequestProdOverflow(back, SIZE), false);
  assert.is(ringNrUnconsumedRequests(back), SIZE, 'capped at RING_SIZE');
  back.sring.reqProd = 0xffffffff; // "minus one": a huge claim
  assert.is(ringRequestProdOverflow(back, 0xffffffff), true);
  assert.is(ringNrUnconsumedRequests(back), SIZE);
});

test('ring: unconsumed requests are capped by the slots the backend has not answered yet', () => {
  const { front, back } = pair();
  produce(front, 10);
  ringPushRequests(front);
  back.reqCons = 6; // consumed 6, answered none
  back.sring.reqProd = 6 + SIZE; // hostile claim
  assert.is(ringNrUnconsumedRequests(back), SIZE - 6);
  assert.is(ringRequestConsOverflow(back, SIZE - 1), false);
  assert.is(ringRequestConsOverflow(back, SIZE), true, 'consuming index RING_SIZE would overwrite unanswered slot 0');
});

test('ring: a backend claiming more responses than RING_SIZE is flagged by the response overflow check', () => {
  const { front } = pairAt(0xffffff00);
  assert.is(ringResponseProdOverflow(front, (0xffffff00 + SIZE) >>> 0), false);
  assert.is(ringResponseProdOverflow(front, (0xffffff00 + SIZE + 1) >>> 0), true);
  assert.is(ringResponseProdOverflow(front, 0xfffffeff), true, 'a producer behind the consumer is a huge claim');
});

// ---- copy once ------------------------------------------------------------------------------------------

test('ring: a copied request does not change when the frontend rewrites the slot afterwards', () => {
  const { front, back, page } = pair();
  produce(front, 1);
  ringPushRequests(front);
  const snap = ringCopyRequest(back, 0, reqCodec.create());
  page.view.setUint32(ringGetRequest(front, 0), 0xdeadbeef, true);
  page.view.setUint32(ringGetRequest(front, 0) + 8, 0xfeedface, true);
  assert.equal(snap, { a: 0, b: 0xb0b0 });
});

test('ring: a copy decodes from private memory, so a rewrite racing the decode is not seen', () => {
  const { front, back, page } = pair();
  produce(front, 1);
  ringPushRequests(front);
  const slot = ringGetRequest(front, 0);
  const racing: SlotCodec<Req> = {
    ...reqCodec,
    read(v, o, out) {
      out.a = v.getUint32(o, true);
      page.view.setUint32(slot + 8, 0x666, true); // the peer rewrites between the two field reads
      out.b = v.getUint32(o + 8, true);
      return out;
    },
  };
  assert.equal(ringCopyRequest(back, 0, reqCodec.create(), racing), { a: 0, b: 0xb0b0 });
  assert.is(page.view.getUint32(slot + 8, true), 0x666);
});

test('ring: copy and put accept an overlay codec no larger than the entry', () => {
  const { front, back } = pair();
  ringPutRequest(front, 0, { a: 9 }, rspCodec);
  assert.equal(ringCopyRequest(back, 0, rspCodec.create(), rspCodec), { a: 9 });
  const big: SlotCodec<Req> = { ...reqCodec, size: 16 };
  throwsType(() => ringCopyRequest(back, 0, big.create(), big), InvalidArgument);
  throwsType(() => ringPutRequest(front, 0, { a: 1, b: 2 }, big), InvalidArgument);
});

// ---- misuse ---------------------------------------------------------------------------------------------

test('ring: an index outside [0, 2^32) from the caller throws InvalidArgument', () => {
  const { front, back } = pair();
  for (const bad of [-1, 2 ** 32, 1.5, NaN]) {
    throwsType(() => ringGetRequest(front, bad), InvalidArgument, 'ERR_INVALID_ARGUMENT');
    throwsType(() => ringGetResponse(back, bad), InvalidArgument);
    throwsType(() => ringCopyRequest(back, bad, reqCodec.create()), InvalidArgument);
    throwsType(() => ringCopyResponse(front, bad, rspCodec.create()), InvalidArgument);
    throwsType(() => ringRequestProdOverflow(back, bad), InvalidArgument);
    throwsType(() => ringRequestConsOverflow(back, bad), InvalidArgument);
    throwsType(() => ringResponseProdOverflow(front, bad), InvalidArgument);
    throwsType(() => frontRingAttach(toy, allocStandalonePage(), bad), InvalidArgument);
    throwsType(() => backRingAttach(toy, allocStandalonePage(), bad), InvalidArgument);
  }
});

test('ring: a page that is misaligned or overruns its buffer throws InvalidArgument', () => {
  const buf = new ArrayBuffer(8192);
  const ok = pageRefOf(buf, 0);
  throwsType(() => frontRingInit(toy, { ...ok, base: 2 }), InvalidArgument);
  throwsType(() => backRingInit(toy, { ...ok, base: 4100 }), InvalidArgument);
  throwsType(() => sharedRingInit({ ...ok, base: 6 }), InvalidArgument);
});

// ---- property: index arithmetic across the 2^32 wrap ------------------------------------------------------

type Op = { kind: 'produce'; n: number } | { kind: 'pushReq' } | { kind: 'consume'; n: number } | { kind: 'pushRsp' }
  | { kind: 'collect'; n: number } | { kind: 'finalReq' } | { kind: 'finalRsp' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('produce' as const), n: fc.integer({ min: 0, max: 40 }) }),
  fc.record({ kind: fc.constant('pushReq' as const) }),
  fc.record({ kind: fc.constant('consume' as const), n: fc.integer({ min: 0, max: 40 }) }),
  fc.record({ kind: fc.constant('pushRsp' as const) }),
  fc.record({ kind: fc.constant('collect' as const), n: fc.integer({ min: 0, max: 40 }) }),
  fc.record({ kind: fc.constant('finalReq' as const) }),
  fc.record({ kind: fc.constant('finalRsp' as const) }),
);
const startArb = fc.oneof(fc.integer({ min: 2 ** 32 - 700, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 2 ** 32 - 1 }));

test('ring: index arithmetic across 2^32 agrees with an unbounded-integer model (property)', () => {
  fc.assert(
    fc.property(startArb, fc.array(opArb, { maxLength: 80 }), (start, ops) => {
      const { front, back } = pairAt(start);
      // The model counts with plain integers from `start`, never wrapping.
      const m = { reqProdPvt: start, reqProd: start, reqCons: start, rspProdPvt: start, rspProd: start, rspCons: start,
        reqEvent: start + 1, rspEvent: start + 1 };
      const u32 = (x: number) => x % 2 ** 32;
      const req = reqCodec.create();
      const rsp = rspCodec.create();
      for (const op of ops) {
        switch (op.kind) {
          case 'produce': {
            const n = Math.min(op.n, SIZE - (m.reqProdPvt - m.rspCons));
            for (let i = 0; i < n; i++) {
              ringPutRequest(front, front.reqProdPvt, { a: u32(m.reqProdPvt), b: u32(m.reqProdPvt * 7) });
              front.reqProdPvt++;
              m.reqProdPvt++;
            }
            break;
          }
          case 'pushReq': {
            const notify = ringPushRequestsAndCheckNotify(front);
            const expect = m.reqEvent > m.reqProd && m.reqEvent <= m.reqProdPvt;
            m.reqProd = m.reqProdPvt;
            if (notify !== expect) return false;
            break;
          }
          case 'consume': {
            const n = Math.min(op.n, ringNrUnconsumedRequests(back));
            if (ringNrUnconsumedRequests(back) !== m.reqProd - m.reqCons) return false;
            for (let i = 0; i < n; i++) {
              if (ringRequestConsOverflow(back, back.reqCons)) return false;
              ringCopyRequest(back, back.reqCons, req);
              if (req.a !== u32(m.reqCons) || req.b !== u32(m.reqCons * 7)) return false;
              back.reqCons++;
              m.reqCons++;
              ringPutResponse(back, back.rspProdPvt, { a: u32(m.rspProdPvt + 1) });
              back.rspProdPvt++;
              m.rspProdPvt++;
            }
            break;
          }
          case 'pushRsp': {
            const notify = ringPushResponsesAndCheckNotify(back);
            const expect = m.rspEvent > m.rspProd && m.rspEvent <= m.rspProdPvt;
            m.rspProd = m.rspProdPvt;
            if (notify !== expect) return false;
            break;
          }
          case 'collect': {
            if (ringResponseProdOverflow(front, front.sring.rspProd)) return false;
            if (ringNrUnconsumedResponses(front) !== m.rspProd - m.rspCons) return false;
            const n = Math.min(op.n, ringNrUnconsumedResponses(front));
            for (let i = 0; i < n; i++) {
              if (ringCopyResponse(front, front.rspCons, rsp).a !== u32(m.rspCons + 1)) return false;
              front.rspCons++;
              m.rspCons++;
            }
            break;
          }
          case 'finalReq': {
            const work = ringFinalCheckForRequests(back);
            if (m.reqProd === m.reqCons) m.reqEvent = m.reqCons + 1;
            if (work !== (m.reqProd !== m.reqCons)) return false;
            break;
          }
          case 'finalRsp': {
            const work = ringFinalCheckForResponses(front);
            if (m.rspProd === m.rspCons) m.rspEvent = m.rspCons + 1;
            if (work !== (m.rspProd !== m.rspCons)) return false;
            break;
          }
        }
        if (ringFreeRequests(front) !== SIZE - (m.reqProdPvt - m.rspCons)) return false;
        if (ringRequestProdOverflow(back, back.sring.reqProd)) return false;
        if (front.reqProdPvt !== u32(m.reqProdPvt) || back.reqCons !== u32(m.reqCons)) return false;
        if (back.sring.reqEvent !== u32(m.reqEvent) || front.sring.rspEvent !== u32(m.rspEvent)) return false;
      }
      return true;
    }),
    { numRuns: 300 },
  );
});

test('ring: the notify decision equals "event in (old, new]" for any u32 old, count and event (property)', () => {
  fc.assert(
    fc.property(fc.nat(2 ** 32 - 1), fc.integer({ min: 0, max: SIZE }), fc.integer({ min: -SIZE, max: 2 * SIZE }), (old, count, rel) => {
      const { front } = pairAt(old);
      front.reqProdPvt = (old + count) >>> 0;
      front.sring.reqEvent = (old + rel) >>> 0;
      return ringPushRequestsAndCheckNotify(front) === (rel > 0 && rel <= count);
    }),
    { numRuns: 500 },
  );
});

test.run();
