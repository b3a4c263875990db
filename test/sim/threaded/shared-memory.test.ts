/**
 * What the worker runtime relies on in hv/: a second view of machine memory (another thread's) sees the same
 * bytes, owners and counts but cannot change ownership; memmove copies at any alignment and overlap; a port
 * table built over another table's bitmaps tests and clears the same pending bits.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InvalidArgument } from '../../../src/errors.ts';
import { PortTable } from '../../../src/hv/event-channel.ts';
import { MachineMemory } from '../../../src/hv/memory.ts';
import { throwsType } from '../../support/assert.ts';

test('machine memory: an attached view shares bytes, owner, refcount and flags, and cannot change ownership', () => {
  const mem = new MachineMemory(64);
  mem.registerDomain(1);
  const frames = mem.populate(1, 4);
  const view = MachineMemory.attach(mem.shared);
  const f = frames[2]!;
  view.write(1, f, 10, new Uint8Array([1, 2, 3]), 0, 3);
  const back = new Uint8Array(3);
  mem.read(1, f, 10, back, 0, 3);
  assert.equal([...back], [1, 2, 3]);
  assert.is(view.owner[f], 1);
  Atomics.add(view.refcount, f, 5);
  assert.is(mem.refcount[f], 5);
  assert.ok(view.attached);
  throwsType(() => view.allocFrame(1), InvalidArgument);
  throwsType(() => view.releaseFrame(f), InvalidArgument);
  throwsType(() => view.transferFrame(f, 1), InvalidArgument);
});

test('machine memory: memmove copies exactly at every relative alignment, and overlapping ranges like memmove', () => {
  const mem = new MachineMemory(4);
  const b = mem.bytes;
  for (let s = 0; s < 8; s++) {
    for (let d = 0; d < 8; d++) {
      for (let i = 0; i < b.length; i++) b[i] = (i * 13 + 5) & 0xff;
      const src = 100 + s;
      const dst = 8192 + d;
      mem.memmove(dst, src, 3000);
      for (let i = 0; i < 3000; i++) if (b[dst + i] !== ((src + i) * 13 + 5 & 0xff)) assert.unreachable(`s ${s} d ${d} byte ${i}`);
    }
  }
  for (let i = 0; i < 64; i++) b[i] = i;
  mem.memmove(8, 0, 32);
  assert.equal([...b.subarray(8, 40)], Array.from({ length: 32 }, (_, i) => i), 'forward overlap');
  for (let i = 0; i < 64; i++) b[i] = i;
  mem.memmove(0, 8, 32);
  assert.equal([...b.subarray(0, 32)], Array.from({ length: 32 }, (_, i) => i + 8), 'backward overlap');
  throwsType(() => mem.memmove(4 * 4096 - 2, 0, 4), InvalidArgument);
});

test('machine memory: copyOut and copyIn move small and large spans to and from private arrays', () => {
  const mem = new MachineMemory(4);
  for (const n of [1, 63, 64, 65, 4000]) {
    const src = Uint8Array.from({ length: n + 7 }, (_, i) => (i * 31 + n) & 0xff);
    mem.copyIn(4096 + 3, src, 7, n);
    const out = new Uint8Array(n + 5);
    mem.copyOut(4096 + 3, out, 5, n);
    assert.equal([...out.subarray(5)], [...src.subarray(7)], `n ${n}`);
  }
});

test('port table: a table over another table\'s bitmaps sees and clears the same pending bits', () => {
  const a = new PortTable();
  const b = new PortTable(a.bitmaps);
  Atomics.or(a.pending, 0, 1 << 5);
  assert.ok(b.isPending(5));
  Atomics.and(b.pending, 0, ~(1 << 5));
  assert.not.ok(a.isPending(5));
  Atomics.or(b.mask, 1, 1 << 3);
  assert.ok(a.isMasked(35));
});

test.run();
