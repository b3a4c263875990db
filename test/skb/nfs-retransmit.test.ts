/**
 * The NFS retransmit corruption at the skb level (REFERENCE.md §10).
 *
 * A lender (sunrpc sending WRITE data from an O_DIRECT buffer) lends a page to the stack; a retransmission of
 * the same request is queued; the reply to the first transmission arrives, the first skb is acknowledged and
 * freed, the RPC completes and the application rewrites its buffer. If the retransmission still references the
 * page, it puts the new contents on the wire under the old request. Page reference counts keep the page alive
 * but say nothing about its contents; what decides is when the lender is told it may reuse the page.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  SKBFL_DONT_ORPHAN,
  SKBFL_ZEROCOPY_FRAG,
  SkBuffHead,
  allocUbufInfo,
  fragDestructorAlloc,
  kfreeSkb,
  pskbCopy,
  skbClone,
  skbDequeue,
  skbFragDestructorUnref,
  skbQueueTail,
  skbToBytes,
  skbZcopyInit,
  type FragDestructor,
  type SkBuff,
} from '../../src/skb/index.ts';
import { dataPage, makeSkb, pattern, sameBytes, world, type World } from './world.ts';

/** A quarter of PVNET_PROPERTY_RUNS (default 8000): 2000 sequences. */
const RUNS = Math.max(1, Math.round(Number(process.env.PVNET_PROPERTY_RUNS ?? 8000) / 4));
const HDR = pattern(52, 1);
const V1 = pattern(4096, 11);
const V2 = pattern(4096, 22);

/** The application's buffer: a page it rewrites as soon as the RPC layer says the request is done. */
function lender(w: World) {
  const page = dataPage(w, 0);
  w.mem.write(0, page, 0, V1, 0, 4096);
  return {
    page,
    reuse: () => w.mem.write(0, page, 0, V2, 0, 4096),
  };
}

function wire(skb: SkBuff): Uint8Array {
  return skbToBytes(skb).subarray(HDR.length);
}

test('nfs: plain page refs: completing on the first skb\'s free lets the retransmission send rewritten bytes', () => {
  const w = world();
  const app = lender(w);
  const first = makeSkb(w, HDR, [{ frame: app.page, off: 0, size: 4096 }]);
  first.destructor = () => app.reuse(); // "the request is done" when its transmission is freed
  const rtxq = new SkBuffHead();
  skbQueueTail(rtxq, pskbCopy(first)!); // the retransmission: same page, its own page reference
  kfreeSkb(first); // the reply to the first transmission arrives: ACKed, freed, RPC completes
  const rtx = skbDequeue(rtxq)!;
  sameBytes(wire(rtx), V2, 'the retransmission carries the NEW contents under the OLD request');
  kfreeSkb(rtx);
  w.pa.putPage(app.page);
  w.audit.assertClean();
});

test('nfs: per-frag destructor: completion waits for the retransmission\'s release; the wire keeps V1', () => {
  const w = world();
  const app = lender(w);
  let done = 0;
  const d = fragDestructorAlloc(w.env, () => {
    done++;
    app.reuse();
  });
  const first = makeSkb(w, HDR, [{ frame: app.page, off: 0, size: 4096, dtor: d }]);
  const rtxq = new SkBuffHead();
  skbQueueTail(rtxq, pskbCopy(first)!);
  skbFragDestructorUnref(d); // the RPC layer has handed everything to the stack
  kfreeSkb(first);
  assert.is(done, 0, 'the retransmission still references the page');
  const rtx = skbDequeue(rtxq)!;
  sameBytes(wire(rtx), V1, 'the retransmission sends what the request wrote');
  kfreeSkb(rtx);
  assert.is(done, 1, 'now the request completes, and only now is the buffer reused');
  w.pa.putPage(app.page);
  w.audit.assertClean();
});

/** The first transmission lent by zerocopy: the lender reuses its buffer when the completion fires. */
function zerocopySend(w: World, flags: number) {
  const app = lender(w);
  const results: boolean[] = [];
  const first = makeSkb(w, HDR, [{ frame: app.page, off: 0, size: 4096 }]);
  const done = (_u: unknown, ok: boolean) => {
    results.push(ok);
    app.reuse();
  };
  skbZcopyInit(first, allocUbufInfo(w.env, done, flags));
  return { app, results, first };
}

test('nfs: mainline ubuf_info: a clone copies aside and completes(false) at once; the copy keeps V1', () => {
  const w = world();
  const { app, results, first } = zerocopySend(w, SKBFL_ZEROCOPY_FRAG);
  const rtx = skbClone(first)!;
  assert.equal(results, [false], 'copy-on-share completed the lender early');
  sameBytes(wire(rtx), V1, 'the clone now reads private copies, not the reused page');
  kfreeSkb(first);
  kfreeSkb(rtx);
  w.pa.putPage(app.page);
  w.audit.assertClean();
});

test('nfs: MSG_ZEROCOPY (DONT_ORPHAN): the shared completion fires after the last holder', () => {
  const w = world();
  const { app, results, first } = zerocopySend(w, SKBFL_ZEROCOPY_FRAG | SKBFL_DONT_ORPHAN);
  const rtx = pskbCopy(first)!;
  kfreeSkb(first);
  assert.equal(results, []);
  sameBytes(wire(rtx), V1);
  kfreeSkb(rtx);
  assert.equal(results, [true]);
  w.pa.putPage(app.page);
  w.audit.assertClean();
});

/**
 * The same race at scale: several requests, each lending two page ranges under its own destructor; random
 * sends, retransmissions (clone or pskb_copy), ACKs and releases. The lender rewrites a request's pages the
 * moment its destructor fires. Whatever skb is read, at any step, must show its request's original bytes.
 */
interface Req {
  readonly pages: number[];
  readonly bytes: readonly Uint8Array[];
  d: FragDestructor | null;
  done: number;
}

function runNfs(w: World, ops: readonly number[]): void {
  const reqs: Req[] = [];
  const inflight: { skb: SkBuff; req: Req }[] = [];
  for (let i = 0; i < 3; i++) {
    const pages = [dataPage(w, 30 + i), dataPage(w, 40 + i)];
    const req: Req = { pages, bytes: pages.map((p) => frameBytesOf(w, p)), d: null, done: 0 };
    req.d = fragDestructorAlloc(w.env, () => {
      req.done++;
      for (const p of req.pages) w.mem.write(0, p, 0, V2, 0, 4096);
    });
    reqs.push(req);
  }
  for (const op of ops) {
    const req = reqs[op % reqs.length]!;
    const kind = (op >> 2) % 4;
    if (kind === 0 && req.d !== null && req.done === 0) {
      const skb = makeSkb(w, HDR, req.pages.map((frame) => ({ frame, off: 0, size: 4096, dtor: req.d! })));
      inflight.push({ skb, req });
    } else if (kind === 1 && inflight.length > 0) {
      const f = inflight[op % inflight.length]!;
      const c = op % 2 === 0 ? skbClone(f.skb) : pskbCopy(f.skb);
      if (c !== null) inflight.push({ skb: c, req: f.req });
    } else if (kind === 2 && inflight.length > 0) {
      const f = inflight.splice(op % inflight.length, 1)[0]!;
      kfreeSkb(f.skb);
    } else if (kind === 3 && req.d !== null) {
      skbFragDestructorUnref(req.d); // the RPC layer lets go of its own reference
      req.d = null;
    }
    for (const f of inflight) {
      const got = wire(f.skb);
      sameBytes(got.subarray(0, 4096), f.req.bytes[0]!, 'first page on the wire');
      sameBytes(got.subarray(4096), f.req.bytes[1]!, 'second page on the wire');
      if (f.req.done !== 0) throw new Error('a request completed while an skb still carries its pages');
    }
  }
  for (const f of inflight) kfreeSkb(f.skb);
  for (const req of reqs) {
    if (req.d !== null) skbFragDestructorUnref(req.d);
    if (req.done !== 1) throw new Error(`request completed ${req.done} times`);
    for (const p of req.pages) w.pa.putPage(p);
  }
  w.audit.assertClean();
}

function frameBytesOf(w: World, frame: number): Uint8Array {
  const out = new Uint8Array(4096);
  w.mem.read(0, frame, 0, out, 0, 4096);
  return out;
}

test(`nfs: property (${RUNS} runs): with per-frag destructors no skb ever carries a reused page`, () => {
  let w = world();
  fc.assert(
    fc.property(fc.array(fc.nat({ max: 1 << 16 }), { minLength: 4, maxLength: 40, size: 'max' }), (ops) => {
      try {
        runNfs(w, ops);
      } catch (e) {
        w = world();
        throw e;
      }
    }),
    { numRuns: RUNS },
  );
});

test.run();
