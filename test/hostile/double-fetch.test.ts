/**
 * XSA-155 under real concurrency. The guest's hostile vCPU is a worker thread (support/workers/slot-hammer.mjs) that
 * rewrites the gref, offset, flags and size of the TX slots netback is consuming, as fast as it can, through
 * the machine's SharedArrayBuffer; netback runs on this thread. Every field alternates between two values
 * that differ in one byte, so whenever a byte-wise copy of the slot happens, each field reads as one of its
 * two values, and every snapshot is a legal request:
 *
 * | field  | values              | meaning                                                            |
 * |--------|---------------------|--------------------------------------------------------------------|
 * | gref   | A, B                | two pages whose bytes name the page and the offset they sit at     |
 * | offset | 0, 2816             | both leave room for 1034 bytes                                      |
 * | size   | 1034, 10            | 1034: a valid packet; 10: shorter than ETH_HLEN, dropped with ERROR |
 * | flags  | 0, data_validated   | no chain, no extra                                                 |
 *
 * Each slot snapshot netback takes is recorded as it is taken (the TX request codec's read, wrapped for the
 * run), with the id the guest gave the slot (the worker never touches ids). Then every decision is checked
 * against that snapshot: each slot read exactly once; answered exactly once, ERROR if the snapshot's size is
 * 10 and OKAY if 1034; the packets reaching the stack are, in order, exactly page(gref)[offset, +1034) of the
 * snapshots that passed; every map names the snapshot's gref for the snapshot's length, every copy stays in
 * the page; no fatal error, nothing thrown, the audits clean.
 *
 * The deliberately double-fetching variant (NetbackOptions.faults.doubleFetchFirstSlot: the first slot read
 * again after validation) must be caught by the same checks. Under the worker it is, once a rewrite lands
 * between its two reads, which on a loaded machine may take a while; so the same run is also made with the
 * guest that wins every race: right after each snapshot (inside the recording hook) it flips every field of
 * the slots in flight. The real netback must pass that run too; the variant cannot.
 *
 * A second part hammers the GSO extra after each request (size 1400 / 1500, type TCPv4 / TCPv6): each
 * packet's gso fields must be those of its extra's one snapshot.
 *
 * Bounded: each run stops after a wall-clock budget or a packet count; the assertions are on outcomes only.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Worker } from 'node:worker_threads';
import { GNTCOPY_source_gref, GNTST_okay } from '../../src/abi/grant_table.ts';
import {
  NETTXF_extra_info, XEN_NETIF_EXTRA_TYPE_GSO, XEN_NETIF_GSO_TYPE_TCPV4, XEN_NETIF_RSP_ERROR, XEN_NETIF_RSP_OKAY,
  netifExtraInfoCodec, netifTxRequestCodec, type NetifExtraInfo, type NetifTxRequest,
} from '../../src/abi/netif.ts';
import type { NetbackFaults } from '../../src/drivers/netback/faults.ts';
import type { TxStrategy } from '../../src/drivers/netback/index.ts';
import { SKB_GSO_TCPV4, SKB_GSO_TCPV6, kfreeSkb } from '../../src/skb/index.ts';
import { Prng } from '../../src/sim/prng.ts';
import { TestGuest, frame, nbWorld, run, teardown } from './support/fixtures.ts';

const SIZE_OK = 0x040a;
const SIZE_RUNT = 0x000a;
const OFFSETS = [0, 0x0b00] as const;
const FLAGS = [0, 2] as const;

/** Page `p`'s byte at offset `o`: names both. */
function pattern(p: number, o: number): number {
  return (o * 7 + p * 101 + (o >> 8) * 29) & 0xff;
}

/** Call `onRead` with every snapshot `codec.read` makes until the returned function restores it. */
function recordReads<T>(codec: { read(v: DataView, o: number, out: T): T }, onRead: (snap: T) => void): () => void {
  const orig = codec.read;
  codec.read = function (v, o, out) {
    const r = orig.call(this, v, o, out);
    onRead(r);
    return r;
  };
  return () => {
    codec.read = orig;
  };
}

function startHammer(memory: SharedArrayBuffer, init: number[]): { ctrl: Int32Array; worker: Worker } {
  const ctrl = new Int32Array(new SharedArrayBuffer(16 * 4));
  ctrl.set(init);
  const worker = new Worker(new URL('./support/workers/slot-hammer.mjs', import.meta.url), { workerData: { memory, ctrlBuffer: ctrl.buffer } });
  for (let i = 0; i < 500 && Atomics.load(ctrl, 9) === 0; i++) Atomics.wait(ctrl, 9, 0, 10);
  assert.ok(Atomics.load(ctrl, 9) > 0, 'the hammering worker started');
  return { ctrl, worker };
}

async function stopHammer(h: { ctrl: Int32Array; worker: Worker }): Promise<number> {
  Atomics.store(h.ctrl, 0, 1);
  const passes = Atomics.load(h.ctrl, 9);
  await h.worker.terminate();
  return passes;
}

interface RunOptions {
  readonly strategy: TxStrategy;
  readonly faults?: NetbackFaults;
  /** The guest that wins every race: flip the slots in flight right after each snapshot. */
  readonly flipAfterRead: boolean;
  readonly budgetMs: number;
  readonly maxPackets: number;
  /** Slots published (and hammered) per round. */
  readonly batch: number;
}

interface Outcome {
  packets: number;
  /** Slots read more than once (the real netback: never). */
  rereads: number;
  okay: number;
  errors: number;
  passes: number;
  /** (page, offset) pairs of the packets delivered. */
  seen: Set<string>;
  violations: string[];
}

async function hammerDataFields(o: RunOptions): Promise<Outcome> {
  const out: Outcome = { packets: 0, rereads: 0, okay: 0, errors: 0, passes: 0, seen: new Set(), violations: [] };
  const answers = new Map<number, number[]>();
  const maps: { id: number; gref: number; bytes: number }[] = [];
  const w = nbWorld({
    strategy: o.strategy, hold: true, ...(o.faults !== undefined ? { faults: o.faults } : {}),
    onTrace: (e) => {
      if (e.kind === 'answered') answers.set(e.id, [...(answers.get(e.id) ?? []), e.status]);
      else if (e.kind === 'mapped') maps.push({ id: e.id, gref: e.gref, bytes: e.bytes });
      else if (e.kind === 'fatal') out.violations.push('a legal snapshot disabled the vif');
    },
  });
  const g = new TestGuest(w);
  g.connect();
  const pages = [1, 2].map((p) => {
    const bytes = new Uint8Array(4096);
    for (let i = 0; i < 4096; i++) bytes[i] = pattern(p, i);
    return g.grantData(bytes, 0);
  });
  const [A, B] = pages.map((p) => p.ref) as [number, number];
  assert.ok((A ^ B) < 256, 'the two grefs differ in their low byte only');
  const pageOf = (gref: number) => (gref === A ? 1 : gref === B ? 2 : 0);
  const hv = w.t.hv;
  const copy = hv.gnttabCopy.bind(hv);
  hv.gnttabCopy = (c, ops, n) => {
    const rc = copy(c, ops, n);
    for (let i = 0; i < n; i++) {
      const op = ops[i]!;
      if ((op.flags & GNTCOPY_source_gref) === 0) continue;
      if (pageOf(op.source.u.ref) === 0) out.violations.push(`copy from gref ${op.source.u.ref}, never a snapshot's`);
      else if (op.status !== GNTST_okay) out.violations.push(`copy of [${op.source.offset}, +${op.len}) failed (${op.status})`);
    }
    return rc;
  };
  const tx = g.tx[0]!;
  const mem = hv.mem;
  const i16 = new Int16Array(mem.buffer);
  const i32 = new Int32Array(mem.buffer);
  const slotAt = (idx: number) => tx.entries + (idx & (tx.nrEnts - 1)) * tx.entrySize;
  let window: number[] = [];
  const snaps = new Map<number, NetifTxRequest[]>();
  const restore = recordReads(netifTxRequestCodec, (s) => {
    snaps.set(s.id, [...(snaps.get(s.id) ?? []), { ...s }]);
    if (!o.flipAfterRead) return;
    for (const idx of window) {
      const at = slotAt(idx);
      Atomics.xor(i32, at >> 2, A ^ B);
      Atomics.xor(i16, (at + 4) >> 1, OFFSETS[0] ^ OFFSETS[1]);
      Atomics.xor(i16, (at + 6) >> 1, FLAGS[0] ^ FLAGS[1]);
      Atomics.xor(i16, (at + 10) >> 1, SIZE_OK ^ SIZE_RUNT);
    }
  });
  const h = startHammer(mem.buffer, [0, tx.entries, tx.nrEnts, tx.entrySize, tx.reqProdPvt, 0, 1, A, B]);
  const prng = new Prng(155);
  const deadline = Date.now() + o.budgetMs;
  let nextId = 1;
  try {
    while (Date.now() < deadline && out.packets < o.maxPackets && out.violations.length === 0) {
      const first = tx.reqProdPvt;
      const ids: number[] = [];
      window = [];
      for (let k = 0; k < o.batch; k++) {
        // The guest's own write is one of the legal values too; the worker takes over from there.
        const at = slotAt(first + k);
        const r = prng.nextU32();
        Atomics.store(i32, at >> 2, (r & 1) !== 0 ? A : B);
        Atomics.store(i16, (at + 4) >> 1, OFFSETS[(r >> 1) & 1]!);
        Atomics.store(i16, (at + 6) >> 1, FLAGS[(r >> 2) & 1]!);
        Atomics.store(i16, (at + 10) >> 1, (r & 8) !== 0 ? SIZE_OK : SIZE_RUNT);
        const id = nextId++ & 0x7fff;
        Atomics.store(i16, (at + 8) >> 1, id);
        ids.push(id);
        window.push((first + k) >>> 0);
      }
      Atomics.store(h.ctrl, 4, first);
      Atomics.store(h.ctrl, 5, o.batch);
      tx.reqProdPvt = (first + o.batch) >>> 0;
      g.pushTx();
      run(w, 60_000);
      out.packets += o.batch;
      for (const skb of w.held.splice(0)) kfreeSkb(skb);
      run(w, 60_000);
      window = [];
      // Judge each slot by the one snapshot netback took of it.
      const expected: Uint8Array[] = [];
      for (const id of ids) {
        const taken = snaps.get(id) ?? [];
        snaps.delete(id);
        if (taken.length === 0) {
          out.violations.push(`slot of id ${id} never read`);
          continue;
        }
        // A second read is itself the bug, but what must be shown is its effect: judge every decision
        // against the first snapshot, the one validation saw.
        if (taken.length > 1) out.rereads++;
        const s = taken[0]!;
        const want = s.size === SIZE_OK ? XEN_NETIF_RSP_OKAY : XEN_NETIF_RSP_ERROR;
        const got = answers.get(id) ?? [];
        answers.delete(id);
        if (got.length !== 1 || got[0] !== want) {
          out.violations.push(`id ${id}: snapshot (gref ${s.gref}, offset ${s.offset}, size ${s.size}) answered [${got.join(', ')}], want ${want}`);
          continue;
        }
        if (want === XEN_NETIF_RSP_ERROR) {
          out.errors++;
          continue;
        }
        out.okay++;
        const p = pageOf(s.gref);
        expected.push(Uint8Array.from({ length: SIZE_OK }, (_, i) => pattern(p, s.offset + i)));
        out.seen.add(`${p}@${s.offset}`);
        for (const m of maps.filter((x) => x.id === id)) {
          const len = o.strategy === 'map' ? s.size : s.size - 128;
          if (m.gref !== s.gref || m.bytes !== len) out.violations.push(`id ${id}: mapped gref ${m.gref} for ${m.bytes} bytes, snapshot says gref ${s.gref} for ${len}`);
        }
      }
      maps.length = 0;
      const delivered = w.frames.splice(0);
      if (delivered.length !== expected.length) {
        out.violations.push(`${delivered.length} packets reached the stack, ${expected.length} snapshots passed`);
      } else {
        delivered.forEach((d, i) => {
          if (d.length !== SIZE_OK || d.some((b, j) => b !== expected[i]![j])) out.violations.push('a delivered packet is not its snapshot\'s bytes');
        });
      }
    }
  } catch (e) {
    out.violations.push(`exception: ${(e as Error).message}`);
  } finally {
    restore();
    out.passes = await stopHammer(h);
  }
  if (o.faults === undefined) {
    teardown(w, g);
  } else {
    try {
      teardown(w, g);
    } catch {
      // The deliberately broken variant may leave anything behind; only the real netback must be clean.
    }
  }
  return out;
}

for (const strategy of ['hybrid', 'copy', 'map'] as const) {
  test(`XSA-155 (concurrent, ${strategy}): a worker rewriting gref, offset, flags and size while netback reads: every decision is its one snapshot's`, async () => {
    const o = await hammerDataFields({ strategy, flipAfterRead: false, budgetMs: 500, maxPackets: 6000, batch: 8 });
    assert.equal(o.violations, [], `after ${o.packets} packets`);
    assert.is(o.rereads, 0, 'each slot read once');
    assert.ok(o.passes > 0, 'the worker ran');
    assert.is(o.okay + o.errors, o.packets, 'every slot answered once');
    assert.ok(o.okay > 0 && o.errors > 0 && o.seen.size === 4, `every kind of snapshot occurred (${o.okay} OKAY, ${o.errors} ERROR, ${[...o.seen].join(' ')})`);
  });
}

test('XSA-155: against a guest that rewrites every field right after each snapshot, the real netback still decides on its snapshots', async () => {
  for (const strategy of ['hybrid', 'copy', 'map'] as const) {
    const o = await hammerDataFields({ strategy, flipAfterRead: true, budgetMs: 300, maxPackets: 1000, batch: 8 });
    assert.equal(o.violations, [], `${strategy} after ${o.packets} packets`);
    assert.is(o.rereads, 0);
    assert.ok(o.okay > 0 && o.errors > 0);
  }
});

test('XSA-155: the same checks catch a backend that re-reads the slot after validating it', async () => {
  // Under the worker alone: caught once a rewrite lands between its two reads (reported, not required).
  const racing = await hammerDataFields({
    strategy: 'hybrid', faults: { doubleFetchFirstSlot: true }, flipAfterRead: false, budgetMs: 1500, maxPackets: 100_000, batch: 1,
  });
  console.log(`    under the worker: ${racing.violations.length > 0 ? `caught after ${racing.packets} packets: ${racing.violations[0]}` : `not caught in ${racing.packets} packets`}`);
  // Against the guest that wins every race: caught, every time.
  for (const strategy of ['hybrid', 'copy', 'map'] as const) {
    const o = await hammerDataFields({
      strategy, faults: { doubleFetchFirstSlot: true }, flipAfterRead: true, budgetMs: 2000, maxPackets: 500, batch: 1,
    });
    assert.ok(o.violations.length > 0, `${strategy}: the double-fetching variant went unnoticed for ${o.packets} packets`);
    console.log(`    ${strategy}, worst-timed guest: caught after ${o.packets} packets: ${o.violations[0]}`);
  }
});

test('XSA-155 (concurrent, extras): a worker rewriting the GSO extra after each request: each packet carries its extra\'s one snapshot', async () => {
  const w = nbWorld({ strategy: 'hybrid', hold: true });
  const g = new TestGuest(w);
  g.connect();
  const data = frame(3000, 5, { tcp: true });
  const page = g.grantData(data, 0);
  const tx = g.tx[0]!;
  const mem = w.t.hv.mem;
  const i16 = new Int16Array(mem.buffer);
  const i32 = new Int32Array(mem.buffer);
  const u8 = new Uint8Array(mem.buffer);
  const extras: NetifExtraInfo[] = [];
  const restore = recordReads(netifExtraInfoCodec, (x) => {
    extras.push({ ...x, u: { ...x.u, gso: { ...x.u.gso } } });
  });
  const h = startHammer(mem.buffer, [0, tx.entries, tx.nrEnts, tx.entrySize, tx.reqProdPvt, 0, 2, 0, 0]);
  const pairs = new Set<string>();
  const violations: string[] = [];
  const batch = 16;
  let packets = 0;
  const deadline = Date.now() + 400;
  try {
    while (Date.now() < deadline && packets < 3000 && violations.length === 0) {
      const first = tx.reqProdPvt;
      for (let k = 0; k < batch; k += 2) {
        const slot = tx.entries + ((first + k) & (tx.nrEnts - 1)) * tx.entrySize;
        const ex = tx.entries + ((first + k + 1) & (tx.nrEnts - 1)) * tx.entrySize;
        Atomics.store(i32, slot >> 2, page.ref);
        Atomics.store(i16, (slot + 4) >> 1, 0);
        Atomics.store(i16, (slot + 6) >> 1, NETTXF_extra_info);
        Atomics.store(i16, (slot + 8) >> 1, k);
        Atomics.store(i16, (slot + 10) >> 1, data.length);
        u8[ex] = XEN_NETIF_EXTRA_TYPE_GSO;
        u8[ex + 1] = 0;
        Atomics.store(i16, (ex + 2) >> 1, 1400);
        u8[ex + 4] = XEN_NETIF_GSO_TYPE_TCPV4;
      }
      Atomics.store(h.ctrl, 4, first);
      Atomics.store(h.ctrl, 5, batch);
      tx.reqProdPvt = (first + batch) >>> 0;
      g.pushTx();
      run(w, 60_000);
      packets += batch / 2;
      w.frames.length = 0;
      const held = w.held.splice(0);
      if (held.length !== extras.length) violations.push(`${held.length} packets for ${extras.length} extra snapshots`);
      held.forEach((skb, i) => {
        const x = extras[i];
        const sh = skb.shinfo;
        const type = (sh.gsoType & SKB_GSO_TCPV4) !== 0 ? 1 : (sh.gsoType & SKB_GSO_TCPV6) !== 0 ? 2 : 0;
        if (x !== undefined && (sh.gsoSize !== x.u.gso.size || type !== x.u.gso.type)) {
          violations.push(`packet gso ${sh.gsoSize}/${type}, its extra's snapshot ${x.u.gso.size}/${x.u.gso.type}`);
        } else if (sh.gsoSegs !== Math.ceil((skb.len - 40) / sh.gsoSize)) {
          violations.push(`segs ${sh.gsoSegs} for size ${sh.gsoSize}`);
        }
        pairs.add(`${sh.gsoSize}/${type}`);
        kfreeSkb(skb);
      });
      extras.length = 0;
      run(w, 60_000);
    }
  } catch (e) {
    violations.push(`exception: ${(e as Error).message}`);
  } finally {
    restore();
  }
  const passes = await stopHammer(h);
  assert.equal(violations, []);
  assert.not.ok(g.vif.disabled);
  assert.ok(passes > 0);
  assert.ok(packets > 0);
  console.log(`    extras: ${packets} packets, (size/type) pairs seen: ${[...pairs].join(' ')}`);
  teardown(w, g);
});

test.run();
