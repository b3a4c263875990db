import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  GNTST_general_error, GNTST_okay, GRANT_ENTRIES_PER_FRAME_V1, GNTTAB_NR_RESERVED_ENTRIES, GTF_permit_access,
  GTF_readonly, GTF_reading, GTF_writing,
} from '../../src/abi/grant_table.ts';
import { InvalidArgument } from '../../src/errors.ts';
import { NSEC_PER_SEC } from '../../src/hv/clock.ts';
import { ENOSPC } from '../../src/hv/errno.ts';
import { DEFERRED_WARN_DELAY, GNTTAB_LIST_END, type GrantRefHead } from '../../src/hv/gnttab.ts';
import { FRAME_GRANT_TABLE } from '../../src/hv/memory.ts';
import { throwsType } from '../support/assert.ts';
import { testMachine } from '../support/machine.ts';
import { mapOne, unmapOne } from './grant-helpers.ts';

test('gnttab: a grant is laid out as grant_entry_v1 (flags u16 @0, domid u16 @2, frame u32 @4)', () => {
  const t = testMachine();
  const frame = t.guest.frames[7]!;
  const ref = t.guest.gnttab.gnttabGrantForeignAccess(0x1234, frame, true);
  const off = t.guest.grantTable.entryOffset(ref);
  const b = t.hv.mem.bytes;
  assert.equal([...b.subarray(off, off + 8)], [
    GTF_permit_access | GTF_readonly, 0, 0x34, 0x12, frame & 0xff, (frame >> 8) & 0xff, (frame >> 16) & 0xff, frame >>> 24,
  ]);
  assert.ok((t.hv.mem.flags[t.guest.grantTable.sharedFrames[0]!]! & FRAME_GRANT_TABLE) !== 0);
  assert.is(t.hv.mem.owner[t.guest.grantTable.sharedFrames[0]!], 1);
  assert.ok(t.guest.gnttab.gnttabTryEndForeignAccess(ref));
  assert.equal([...b.subarray(off, off + 2)], [0, 0], 'ending access zeroes the flags');
  t.audit();
});

test('gnttab: refs 0..7 are reserved for the toolstack; the first ref handed out is 8', () => {
  const t = testMachine();
  const ref = t.guest.gnttab.gnttabGrantForeignAccess(0, t.guest.frames[0]!, true);
  assert.is(ref, GNTTAB_NR_RESERVED_ENTRIES);
  throwsType(() => t.guest.gnttab.gnttabEndForeignAccessRef(1), InvalidArgument);
  assert.ok(t.guest.gnttab.gnttabTryEndForeignAccess(ref));
  t.audit();
});

test('gnttab: the table grows through setup_table, and a full table returns -ENOSPC (a normal outcome)', () => {
  const t = testMachine({ maxGrantFrames: 2 });
  const g = t.guest.gnttab;
  const refs: number[] = [];
  const capacity = 2 * GRANT_ENTRIES_PER_FRAME_V1 - GNTTAB_NR_RESERVED_ENTRIES;
  for (let i = 0; i < capacity; i++) refs.push(g.gnttabGrantForeignAccess(0, t.guest.frames[i % 32]!, true));
  assert.ok(refs.every((r) => r >= GNTTAB_NR_RESERVED_ENTRIES));
  assert.is(new Set(refs).size, capacity);
  assert.is(t.guest.grantTable.nrFrames, 2);
  assert.is(g.gnttabGrantForeignAccess(0, t.guest.frames[0]!, true), -ENOSPC);
  for (const r of refs) assert.ok(g.gnttabTryEndForeignAccess(r));
  assert.is(g.freeCount, capacity);
  t.audit();
});

test('gnttab: ending access fails while the grantee maps the page, and succeeds after the unmap', () => {
  const t = testMachine();
  const g = t.guest.gnttab;
  const ref = g.gnttabGrantForeignAccess(0, t.guest.frames[0]!, false);
  const m = mapOne(t.hv, t.dom0, t.guest, ref, true);
  assert.is(g.gnttabQueryForeignAccess(ref), GTF_reading | GTF_writing);
  assert.not.ok(g.gnttabEndForeignAccessRef(ref));
  assert.not.ok(g.gnttabTryEndForeignAccess(ref));
  assert.is(g.refsInUse().length, 1, 'a failed try keeps the ref');
  unmapOne(t.hv, t.dom0, m);
  assert.is(g.gnttabQueryForeignAccess(ref), 0);
  assert.ok(g.gnttabEndForeignAccessRef(ref));
  g.gnttabFreeGrantReference(ref);
  t.audit();
});

test('gnttab: ending a ref that is not in use is misuse and throws', () => {
  const t = testMachine();
  const g = t.guest.gnttab;
  const ref = g.gnttabGrantForeignAccess(0, t.guest.frames[0]!, true);
  assert.ok(g.gnttabTryEndForeignAccess(ref));
  throwsType(() => g.gnttabTryEndForeignAccess(ref), InvalidArgument);
  throwsType(() => g.gnttabGrantForeignAccessRef(ref, 0, t.guest.frames[0]!, true), InvalidArgument);
  t.audit();
});

test('gnttab: deferred end-access retries on a 1 s tick and frees ref and page once the grantee unmaps', () => {
  const t = testMachine();
  const g = t.guest.gnttab;
  const puts: number[] = [];
  g.pageOps = { getPage: () => {}, putPage: (f) => puts.push(f) };
  const frame = t.guest.frames[4]!;
  const ref = g.gnttabGrantForeignAccess(0, frame, true);
  const m = mapOne(t.hv, t.dom0, t.guest, ref);
  g.gnttabEndForeignAccess(ref, frame);
  assert.is(g.deferredCount, 1);
  assert.equal(puts, []);
  t.clock.advance(NSEC_PER_SEC - 1);
  assert.is(g.deferredCount, 1);
  t.clock.advance(1);
  assert.is(g.deferredCount, 1, 'still mapped at the first tick');
  unmapOne(t.hv, t.dom0, m);
  t.clock.advance(NSEC_PER_SEC);
  assert.is(g.deferredCount, 0);
  assert.equal(puts, [frame]);
  assert.is(g.deferredFreed, 1);
  assert.is(t.clock.pendingTimers, 0, 'the timer stops when the list is empty');
  t.audit();
});

test('gnttab: each tick retries at most free_per_iteration entries (default 10)', () => {
  const t = testMachine();
  const g = t.guest.gnttab;
  const refs = Array.from({ length: 25 }, (_, i) => g.gnttabGrantForeignAccess(0, t.guest.frames[i]!, true));
  const maps = refs.map((r) => mapOne(t.hv, t.dom0, t.guest, r));
  for (const r of refs) g.gnttabEndForeignAccess(r, -1);
  assert.is(g.deferredCount, 25);
  for (const m of maps) unmapOne(t.hv, t.dom0, m);
  t.clock.advance(NSEC_PER_SEC);
  assert.is(g.deferredCount, 15);
  t.clock.advance(NSEC_PER_SEC);
  assert.is(g.deferredCount, 5);
  t.clock.advance(NSEC_PER_SEC);
  assert.is(g.deferredCount, 0);
  t.audit();
});

test('gnttab: free_per_iteration 0 means no limit', () => {
  const t = testMachine();
  const g = t.guest.gnttab;
  g.freePerIteration = 0;
  const refs = Array.from({ length: 25 }, (_, i) => g.gnttabGrantForeignAccess(0, t.guest.frames[i]!, true));
  const maps = refs.map((r) => mapOne(t.hv, t.dom0, t.guest, r));
  for (const r of refs) g.gnttabEndForeignAccess(r, -1);
  for (const m of maps) unmapOne(t.hv, t.dom0, m);
  t.clock.advance(NSEC_PER_SEC);
  assert.is(g.deferredCount, 0);
  t.audit();
});

test('gnttab: an entry still pinned after 60 failed ticks is reported once as still pending', () => {
  const t = testMachine();
  const g = t.guest.gnttab;
  const ref = g.gnttabGrantForeignAccess(0, t.guest.frames[0]!, true);
  const m = mapOne(t.hv, t.dom0, t.guest, ref);
  g.gnttabEndForeignAccess(ref, -1);
  t.clock.advance((DEFERRED_WARN_DELAY - 1) * NSEC_PER_SEC);
  assert.is(g.stillPendingWarnings, 0);
  t.clock.advance(NSEC_PER_SEC);
  assert.is(g.stillPendingWarnings, 1);
  t.clock.advance(10 * NSEC_PER_SEC);
  assert.is(g.stillPendingWarnings, 1);
  unmapOne(t.hv, t.dom0, m);
  t.clock.advance(NSEC_PER_SEC);
  assert.is(g.deferredCount, 0);
  t.audit();
});

test('gnttab: without a page the deferred path references the entry\'s frame, and drops it at the end', () => {
  const t = testMachine();
  const g = t.guest.gnttab;
  const log: string[] = [];
  g.pageOps = { getPage: (f) => log.push(`get ${f}`), putPage: (f) => log.push(`put ${f}`) };
  const frame = t.guest.frames[9]!;
  const ref = g.gnttabGrantForeignAccess(0, frame, true);
  const m = mapOne(t.hv, t.dom0, t.guest, ref);
  g.gnttabEndForeignAccess(ref, -1);
  unmapOne(t.hv, t.dom0, m);
  t.clock.advance(NSEC_PER_SEC);
  assert.equal(log, [`get ${frame}`, `put ${frame}`]);
  t.audit();
});

test('gnttab: ending access that succeeds at once frees the ref and drops the page immediately', () => {
  const t = testMachine();
  const g = t.guest.gnttab;
  const puts: number[] = [];
  g.pageOps = { getPage: () => {}, putPage: (f) => puts.push(f) };
  const ref = g.gnttabGrantForeignAccess(0, t.guest.frames[2]!, true);
  g.gnttabEndForeignAccess(ref, t.guest.frames[2]!);
  assert.equal(puts, [t.guest.frames[2]]);
  assert.is(g.deferredCount, 0);
  assert.is(t.clock.pendingTimers, 0);
  t.audit();
});

test('gnttab: when a deferred entry cannot be allocated the grant is leaked on purpose, counted, and audited', () => {
  const t = testMachine();
  const g = t.guest.gnttab;
  const ref = g.gnttabGrantForeignAccess(0, t.guest.frames[0]!, true);
  const m = mapOne(t.hv, t.dom0, t.guest, ref);
  g.faults.deferredAllocFails = true;
  g.gnttabEndForeignAccess(ref, -1);
  assert.is(g.leakedCount, 1);
  assert.is(g.deferredCount, 0);
  unmapOne(t.hv, t.dom0, m);
  assert.throws(() => t.audit(), /leaked 1 grant/);
  assert.throws(() => t.audit(), /grant not ended/);
});

test('gnttab: reservations hand out, take back and free refs (alloc / claim / release / free)', () => {
  const t = testMachine();
  const g = t.guest.gnttab;
  const head: GrantRefHead = { head: GNTTAB_LIST_END };
  assert.is(g.gnttabAllocGrantReferences(4, head), 0);
  const free = g.freeCount;
  const claimed = [g.gnttabClaimGrantReference(head), g.gnttabClaimGrantReference(head)];
  assert.ok(claimed.every((r) => r >= GNTTAB_NR_RESERVED_ENTRIES));
  g.gnttabGrantForeignAccessRef(claimed[0]!, 0, t.guest.frames[0]!, true);
  assert.ok(g.gnttabEndForeignAccessRef(claimed[0]!));
  g.gnttabReleaseGrantReference(head, claimed[0]!);
  g.gnttabReleaseGrantReference(head, claimed[1]!);
  assert.not.ok(g.gnttabEmptyGrantReferences(head));
  g.gnttabFreeGrantReferences(head);
  assert.ok(g.gnttabEmptyGrantReferences(head));
  assert.is(g.freeCount, free + 4);
  const tiny: GrantRefHead = { head: GNTTAB_LIST_END };
  assert.is(g.gnttabClaimGrantReference(tiny), -ENOSPC);
  t.audit();
});

test('gnttab: downgrade to read-only works unless a writable pin holds GTF_writing', () => {
  const t = testMachine();
  const g = t.guest.gnttab;
  const ref = g.gnttabGrantForeignAccess(0, t.guest.frames[0]!, false);
  const rw = mapOne(t.hv, t.dom0, t.guest, ref, true);
  assert.not.ok(g.gnttabGrantDowngradeReadonly(ref));
  unmapOne(t.hv, t.dom0, rw);
  assert.ok(g.gnttabGrantDowngradeReadonly(ref));
  assert.is(mapOne(t.hv, t.dom0, t.guest, ref, true).status, GNTST_general_error);
  const ro = mapOne(t.hv, t.dom0, t.guest, ref);
  assert.is(ro.status, GNTST_okay);
  unmapOne(t.hv, t.dom0, ro);
  assert.ok(g.gnttabTryEndForeignAccess(ref));
  t.audit();
});

test('gnttab: GTF_reading / GTF_writing are never set by the guest side itself', () => {
  const t = testMachine();
  const g = t.guest.gnttab;
  const ref = g.gnttabGrantForeignAccess(0, t.guest.frames[0]!, false);
  assert.is(t.guest.grantTable.flagsOf(ref) & (GTF_reading | GTF_writing), 0);
  assert.ok(g.gnttabTryEndForeignAccess(ref));
  t.audit();
});

test('gnttab: destroying the guest stops its deferred timer and drops the list', () => {
  const t = testMachine();
  const dom2 = t.hv.createDomain({ domid: 2, frames: 4 });
  const ref = dom2.gnttab.gnttabGrantForeignAccess(0, dom2.frames[0]!, true);
  const m = mapOne(t.hv, t.dom0, dom2, ref);
  dom2.gnttab.gnttabEndForeignAccess(ref, -1);
  assert.is(t.clock.pendingTimers, 1);
  t.hv.destroyDomain(dom2);
  assert.is(t.clock.pendingTimers, 0);
  assert.is(dom2.state, 'dying', 'dom0 still maps one of its frames');
  unmapOne(t.hv, t.dom0, m);
  assert.is(dom2.state, 'dead');
  t.audit();
});

test.run();
