import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  GNTMAP_device_map, GNTMAP_host_map, GNTMAP_readonly, GNTST_bad_domain, GNTST_bad_gntref, GNTST_bad_handle,
  GNTST_bad_page, GNTST_general_error, GNTST_no_device_space, GNTST_okay, GTF_PWT, GTF_permit_access, GTF_reading,
  GTF_sub_page, GTF_writing,
} from '../../src/abi/grant_table.ts';
import { InvalidArgument, PageFault, UseAfterDestroy } from '../../src/errors.ts';
import { gnttabSetMapOp, gnttabSetUnmapOp, newMapGrantRef, newUnmapGrantRef } from '../../src/hv/grant-ops.ts';
import { Hypervisor } from '../../src/hv/hypervisor.ts';
import { throwsType } from '../support/assert.ts';
import { testMachine } from '../support/machine.ts';
import { addrOf, busyFlags, mapOne, unmapOne, unmapOpsFor } from './grant-helpers.ts';

test('map: a read-only map reports the frame, lets dom0 read it, faults writes, and sets only GTF_reading', () => {
  const t = testMachine();
  const frame = t.guest.frames[3]!;
  t.hv.mem.fill(1, frame, 0, 16, 0x5a);
  const ref = t.guest.gnttab.gnttabGrantForeignAccess(0, frame, true);
  const op = mapOne(t.hv, t.dom0, t.guest, ref);
  assert.is(op.status, GNTST_okay);
  assert.is(op.dev_bus_addr, frame * 4096);
  assert.is(t.hv.mem.bytes[frame * 4096 + 7], 0x5a);
  assert.ok(t.hv.mem.canRead(0, frame));
  throwsType(() => t.hv.mem.checkWrite(0, frame), PageFault);
  assert.is(busyFlags(t.guest, ref), GTF_reading);
  assert.is(unmapOne(t.hv, t.dom0, op), GNTST_okay);
  assert.is(busyFlags(t.guest, ref), 0);
  throwsType(() => t.hv.mem.checkRead(0, frame), PageFault);
  assert.ok(t.guest.gnttab.gnttabTryEndForeignAccess(ref));
  t.audit();
});

test('map: a writable map sets GTF_reading|GTF_writing and dom0 writes land in the guest frame', () => {
  const t = testMachine();
  const frame = t.guest.frames[0]!;
  const ref = t.guest.gnttab.gnttabGrantForeignAccess(0, frame, false);
  const op = mapOne(t.hv, t.dom0, t.guest, ref, true);
  assert.is(op.status, GNTST_okay);
  assert.is(busyFlags(t.guest, ref), GTF_reading | GTF_writing);
  t.hv.mem.fill(0, frame, 100, 4, 0xee);
  const got = new Uint8Array(4);
  t.hv.mem.read(1, frame, 100, got, 0, 4);
  assert.equal([...got], [0xee, 0xee, 0xee, 0xee]);
  assert.is(unmapOne(t.hv, t.dom0, op), GNTST_okay);
  assert.ok(t.guest.gnttab.gnttabTryEndForeignAccess(ref));
  t.audit();
});

test('map: a grant ref past the table gives GNTST_bad_gntref', () => {
  const t = testMachine();
  const nr = t.guest.grantTable.nrEntries;
  assert.is(mapOne(t.hv, t.dom0, t.guest, nr).status, GNTST_bad_gntref);
  assert.is(mapOne(t.hv, t.dom0, t.guest, 0xffffffff).status, GNTST_bad_gntref);
  assert.is(mapOne(t.hv, t.dom0, t.guest, nr - 1).status, GNTST_general_error, 'in range but never granted');
  t.audit();
});

test('map: an op with neither GNTMAP_host_map nor GNTMAP_device_map gives GNTST_bad_gntref', () => {
  const t = testMachine();
  const ref = t.guest.gnttab.gnttabGrantForeignAccess(0, t.guest.frames[0]!, true);
  const op = newMapGrantRef();
  gnttabSetMapOp(op, addrOf(ref), GNTMAP_readonly, ref, 1);
  t.hv.gnttabMapGrantRef(t.dom0, [op], 1);
  assert.is(op.status, GNTST_bad_gntref);
  assert.is(busyFlags(t.guest, ref), 0);
  t.guest.gnttab.gnttabEndForeignAccess(ref, -1);
  t.audit();
});

test('map: an unknown granting domain gives GNTST_bad_domain', () => {
  const t = testMachine();
  const op = newMapGrantRef();
  gnttabSetMapOp(op, addrOf(8), GNTMAP_host_map | GNTMAP_readonly, 8, 7);
  t.hv.gnttabMapGrantRef(t.dom0, [op], 1);
  assert.is(op.status, GNTST_bad_domain);
  t.audit();
});

test('map: mapping a read-only grant writable gives GNTST_general_error and leaves no flag behind', () => {
  const t = testMachine();
  const ref = t.guest.gnttab.gnttabGrantForeignAccess(0, t.guest.frames[0]!, true);
  assert.is(mapOne(t.hv, t.dom0, t.guest, ref, true).status, GNTST_general_error);
  assert.is(busyFlags(t.guest, ref), 0);
  // A read-only map of the same grant works, and a writable map on top of it is still refused.
  const ro = mapOne(t.hv, t.dom0, t.guest, ref);
  assert.is(ro.status, GNTST_okay);
  assert.is(mapOne(t.hv, t.dom0, t.guest, ref, true).status, GNTST_general_error);
  assert.is(busyFlags(t.guest, ref), GTF_reading);
  unmapOne(t.hv, t.dom0, ro);
  assert.ok(t.guest.gnttab.gnttabTryEndForeignAccess(ref));
  t.audit();
});

test('map: a sub-page grant is never mappable (GNTST_general_error)', () => {
  const t = testMachine();
  const ref = t.guest.gnttab.gnttabGrantForeignAccess(0, t.guest.frames[0]!, true);
  t.guest.grantTable.u16[t.guest.grantTable.entryOffset(ref) >> 1] = GTF_permit_access | GTF_sub_page;
  assert.is(mapOne(t.hv, t.dom0, t.guest, ref).status, GNTST_general_error);
  assert.is(busyFlags(t.guest, ref), 0);
  assert.ok(t.guest.gnttab.gnttabTryEndForeignAccess(ref));
  t.audit();
});

test('map: a grant made out to another domain gives GNTST_general_error', () => {
  const t = testMachine();
  const ref = t.guest.gnttab.gnttabGrantForeignAccess(5, t.guest.frames[0]!, true);
  assert.is(mapOne(t.hv, t.dom0, t.guest, ref).status, GNTST_general_error);
  assert.ok(t.guest.gnttab.gnttabTryEndForeignAccess(ref));
  t.audit();
});

test('map: an entry pinned by one domain cannot be mapped by another, even after the guest rewrites domid', () => {
  const t = testMachine();
  const dom2 = t.hv.createDomain({ domid: 2, frames: 4 });
  const ref = t.guest.gnttab.gnttabGrantForeignAccess(0, t.guest.frames[0]!, true);
  const op = mapOne(t.hv, t.dom0, t.guest, ref);
  assert.is(op.status, GNTST_okay);
  // Hostile guest: point the pinned entry at dom2.
  t.guest.grantTable.u16[(t.guest.grantTable.entryOffset(ref) >> 1) + 1] = 2;
  assert.is(mapOne(t.hv, dom2, t.guest, ref).status, GNTST_general_error);
  unmapOne(t.hv, t.dom0, op);
  assert.ok(t.guest.gnttab.gnttabTryEndForeignAccess(ref));
  t.hv.destroyDomain(dom2);
  t.audit();
});

test('map: a frame the granting guest does not own gives GNTST_bad_page and clears the flags it set', () => {
  const t = testMachine();
  const ref = t.guest.gnttab.gnttabGrantForeignAccess(0, t.dom0.frames[0]!, true);
  assert.is(mapOne(t.hv, t.dom0, t.guest, ref).status, GNTST_bad_page);
  assert.is(busyFlags(t.guest, ref), 0);
  assert.ok(t.guest.gnttab.gnttabTryEndForeignAccess(ref));
  t.audit();
});

test('map: a pin counter at 0x80 refuses the next map with GNTST_general_error (saturation guard)', () => {
  const t = testMachine();
  const ref = t.guest.gnttab.gnttabGrantForeignAccess(0, t.guest.frames[0]!, true);
  const ops = Array.from({ length: 129 }, () => newMapGrantRef());
  for (const op of ops) gnttabSetMapOp(op, addrOf(ref), GNTMAP_host_map | GNTMAP_readonly, ref, 1);
  t.hv.gnttabMapGrantRef(t.dom0, ops, ops.length);
  assert.ok(ops.slice(0, 128).every((o) => o.status === GNTST_okay));
  assert.is(t.guest.grantTable.actPin[ref], 0x80 << 8);
  assert.is(ops[128]!.status, GNTST_general_error);
  const unmaps = unmapOpsFor(ops.slice(0, 128));
  t.hv.gnttabUnmapGrantRef(t.dom0, unmaps, unmaps.length);
  assert.ok(unmaps.every((u) => u.status === GNTST_okay));
  assert.ok(t.guest.gnttab.gnttabTryEndForeignAccess(ref));
  t.audit();
});

test('map: the pin CAS gives up after 5 attempts against a guest that keeps flipping its flags', () => {
  const t = testMachine();
  const gt = t.guest.grantTable;
  const ref = t.guest.gnttab.gnttabGrantForeignAccess(0, t.guest.frames[0]!, true);
  const attempts: number[] = [];
  t.hv.testHooks.beforePinCas = (_d, r, attempt) => {
    attempts.push(attempt);
    gt.u16[gt.entryOffset(r) >> 1]! ^= GTF_PWT;
  };
  assert.is(mapOne(t.hv, t.dom0, t.guest, ref).status, GNTST_general_error);
  assert.equal(attempts, [0, 1, 2, 3, 4]);
  assert.is(busyFlags(t.guest, ref), 0);
  // A guest that stops after four flips loses the race: the fifth attempt pins.
  attempts.length = 0;
  t.hv.testHooks.beforePinCas = (_d, r, attempt) => {
    attempts.push(attempt);
    if (attempt < 4) gt.u16[gt.entryOffset(r) >> 1]! ^= GTF_PWT;
  };
  const op = mapOne(t.hv, t.dom0, t.guest, ref);
  assert.is(op.status, GNTST_okay);
  assert.equal(attempts, [0, 1, 2, 3, 4]);
  delete t.hv.testHooks.beforePinCas;
  unmapOne(t.hv, t.dom0, op);
  assert.ok(t.guest.gnttab.gnttabTryEndForeignAccess(ref));
  t.audit();
});

test('unmap: GTF_reading clears only after the TLB flush of its batch of 32 (XSA-230)', () => {
  const t = testMachine();
  const n = 40;
  const refs = Array.from({ length: n }, (_, i) => t.guest.gnttab.gnttabGrantForeignAccess(0, t.guest.frames[i % 32]!, true));
  const maps = refs.map((r) => mapOne(t.hv, t.dom0, t.guest, r));
  assert.ok(maps.every((m) => m.status === GNTST_okay));
  const unmaps = unmapOpsFor(maps);
  const seen: { batch: number; ops: number; firstBusy: boolean[] }[] = [];
  t.hv.testHooks.onTlbFlush = (_d, ops) => {
    seen.push({ batch: seen.length, ops, firstBusy: refs.map((r) => busyFlags(t.guest, r) === GTF_reading) });
  };
  t.hv.gnttabUnmapGrantRef(t.dom0, unmaps, n);
  delete t.hv.testHooks.onTlbFlush;
  assert.is(seen.length, 2);
  assert.is(seen[0]!.ops, 32);
  assert.is(seen[1]!.ops, 8);
  // At the first flush every entry is still pinned and flagged, although all 32 mappings are gone.
  assert.ok(seen[0]!.firstBusy.every((b) => b));
  // At the second flush the first batch has completed, the second not yet.
  assert.ok(seen[1]!.firstBusy.slice(0, 32).every((b) => !b));
  assert.ok(seen[1]!.firstBusy.slice(32).every((b) => b));
  assert.ok(refs.every((r) => busyFlags(t.guest, r) === 0));
  assert.is(t.dom0.cost.tlbFlushes, 2);
  for (const r of refs) assert.ok(t.guest.gnttab.gnttabTryEndForeignAccess(r));
  t.audit();
});

test('unmap: the mapping is gone at once, before the flush (the backend can no longer read)', () => {
  const t = testMachine();
  const frame = t.guest.frames[1]!;
  const ref = t.guest.gnttab.gnttabGrantForeignAccess(0, frame, true);
  const op = mapOne(t.hv, t.dom0, t.guest, ref);
  let readable = true;
  t.hv.testHooks.onTlbFlush = () => {
    readable = t.hv.mem.canRead(0, frame);
  };
  unmapOne(t.hv, t.dom0, op);
  delete t.hv.testHooks.onTlbFlush;
  assert.not.ok(readable);
  assert.ok(t.guest.gnttab.gnttabTryEndForeignAccess(ref));
  t.audit();
});

test('unmap: a stale, a double and an out-of-range handle give GNTST_bad_handle', () => {
  const t = testMachine();
  const ref = t.guest.gnttab.gnttabGrantForeignAccess(0, t.guest.frames[0]!, true);
  const op = mapOne(t.hv, t.dom0, t.guest, ref);
  // The same handle twice in one batch: the second sees the tracking entry already cleared.
  const u1 = newUnmapGrantRef();
  const u2 = newUnmapGrantRef();
  gnttabSetUnmapOp(u1, op.host_addr, op.flags, op.handle);
  gnttabSetUnmapOp(u2, op.host_addr, op.flags, op.handle);
  t.hv.gnttabUnmapGrantRef(t.dom0, [u1, u2], 2);
  assert.is(u1.status, GNTST_okay);
  assert.is(u2.status, GNTST_bad_handle);
  assert.is(unmapOne(t.hv, t.dom0, op), GNTST_bad_handle, 'stale: already unmapped');
  const far = newUnmapGrantRef();
  gnttabSetUnmapOp(far, 1, 0, t.dom0.grantTable.maptrackLimit);
  t.hv.gnttabUnmapGrantRef(t.dom0, [far], 1);
  assert.is(far.status, GNTST_bad_handle);
  assert.ok(t.guest.gnttab.gnttabTryEndForeignAccess(ref));
  t.audit();
});

test('map: a full maptrack gives GNTST_no_device_space', () => {
  const t = testMachine({ maxMaptrackFrames: 1 });
  const ref = t.guest.gnttab.gnttabGrantForeignAccess(0, t.guest.frames[0]!, true);
  const refs = [ref];
  const maps = [];
  // 256 handles: two refs pinned 128 times each stay under the saturation guard.
  const ref2 = t.guest.gnttab.gnttabGrantForeignAccess(0, t.guest.frames[1]!, true);
  refs.push(ref2);
  for (let i = 0; i < 256; i++) maps.push(mapOne(t.hv, t.dom0, t.guest, i < 128 ? ref : ref2));
  assert.ok(maps.every((m) => m.status === GNTST_okay));
  const ref3 = t.guest.gnttab.gnttabGrantForeignAccess(0, t.guest.frames[2]!, true);
  refs.push(ref3);
  assert.is(mapOne(t.hv, t.dom0, t.guest, ref3).status, GNTST_no_device_space);
  assert.is(busyFlags(t.guest, ref3), 0);
  for (const m of maps) assert.is(unmapOne(t.hv, t.dom0, m), GNTST_okay);
  for (const r of refs) assert.ok(t.guest.gnttab.gnttabTryEndForeignAccess(r));
  t.audit();
});

test('map: in a mixed batch only the successful ops get handles and pins (XSA-361)', () => {
  const t = testMachine();
  const good = t.guest.gnttab.gnttabGrantForeignAccess(0, t.guest.frames[0]!, true);
  const ops = [newMapGrantRef(), newMapGrantRef(), newMapGrantRef()];
  gnttabSetMapOp(ops[0]!, addrOf(good), GNTMAP_host_map | GNTMAP_readonly, good, 1);
  gnttabSetMapOp(ops[1]!, addrOf(9999), GNTMAP_host_map | GNTMAP_readonly, 9999, 1);
  gnttabSetMapOp(ops[2]!, addrOf(good), GNTMAP_host_map, good, 1);
  t.hv.gnttabMapGrantRef(t.dom0, ops, 3);
  assert.equal(ops.map((o) => o.status), [GNTST_okay, GNTST_bad_gntref, GNTST_general_error]);
  assert.is(t.dom0.grantTable.maptrackInUse, 1);
  assert.is(t.hv.mem.mappingsHeldBy(0), 1);
  unmapOne(t.hv, t.dom0, ops[0]!);
  assert.ok(t.guest.gnttab.gnttabTryEndForeignAccess(good));
  t.audit();
});

test('map: a read-only pin then a writable pin: GTF_writing comes and goes with the writable pin alone', () => {
  const t = testMachine();
  const ref = t.guest.gnttab.gnttabGrantForeignAccess(0, t.guest.frames[0]!, false);
  const ro = mapOne(t.hv, t.dom0, t.guest, ref);
  assert.is(busyFlags(t.guest, ref), GTF_reading);
  const rw = mapOne(t.hv, t.dom0, t.guest, ref, true);
  assert.is(rw.status, GNTST_okay);
  assert.is(busyFlags(t.guest, ref), GTF_reading | GTF_writing);
  unmapOne(t.hv, t.dom0, rw);
  assert.is(busyFlags(t.guest, ref), GTF_reading);
  unmapOne(t.hv, t.dom0, ro);
  assert.is(busyFlags(t.guest, ref), 0);
  assert.ok(t.guest.gnttab.gnttabTryEndForeignAccess(ref));
  t.audit();
});

test('map: rewriting the frame of a pinned entry does not move the mapping', () => {
  const t = testMachine();
  const gt = t.guest.grantTable;
  const ref = t.guest.gnttab.gnttabGrantForeignAccess(0, t.guest.frames[0]!, true);
  const a = mapOne(t.hv, t.dom0, t.guest, ref);
  gt.words[(gt.entryOffset(ref) >> 2) + 1] = t.guest.frames[5]!;
  const b = mapOne(t.hv, t.dom0, t.guest, ref);
  assert.is(b.dev_bus_addr, a.dev_bus_addr);
  assert.not.ok(t.hv.mem.canRead(0, t.guest.frames[5]!));
  unmapOne(t.hv, t.dom0, a);
  unmapOne(t.hv, t.dom0, b);
  assert.ok(t.guest.gnttab.gnttabTryEndForeignAccess(ref));
  t.audit();
});

test('unmap: a host_addr or dev_bus_addr that does not match the mapping gives GNTST_general_error', () => {
  const t = testMachine();
  const ref = t.guest.gnttab.gnttabGrantForeignAccess(0, t.guest.frames[0]!, true);
  const op = mapOne(t.hv, t.dom0, t.guest, ref);
  const u = newUnmapGrantRef();
  gnttabSetUnmapOp(u, op.host_addr + 4096, op.flags, op.handle);
  t.hv.gnttabUnmapGrantRef(t.dom0, [u], 1);
  assert.is(u.status, GNTST_general_error);
  u.host_addr = op.host_addr;
  u.dev_bus_addr = op.dev_bus_addr + 4096;
  t.hv.gnttabUnmapGrantRef(t.dom0, [u], 1);
  assert.is(u.status, GNTST_general_error);
  assert.is(busyFlags(t.guest, ref), GTF_reading, 'still mapped');
  assert.is(unmapOne(t.hv, t.dom0, op), GNTST_okay);
  assert.ok(t.guest.gnttab.gnttabTryEndForeignAccess(ref));
  t.audit();
});

test('unmap: host_addr 0 leaves a host mapping in place, as in Xen', () => {
  const t = testMachine();
  const ref = t.guest.gnttab.gnttabGrantForeignAccess(0, t.guest.frames[0]!, true);
  const op = mapOne(t.hv, t.dom0, t.guest, ref);
  const u = newUnmapGrantRef();
  gnttabSetUnmapOp(u, 0, op.flags, op.handle);
  t.hv.gnttabUnmapGrantRef(t.dom0, [u], 1);
  assert.is(u.status, GNTST_okay);
  assert.is(t.dom0.grantTable.maptrackInUse, 1);
  assert.is(busyFlags(t.guest, ref), GTF_reading);
  assert.is(unmapOne(t.hv, t.dom0, op), GNTST_okay);
  assert.ok(t.guest.gnttab.gnttabTryEndForeignAccess(ref));
  t.audit();
});

test('map: a host+device mapping needs both halves unmapped before its pins and handle go', () => {
  const t = testMachine();
  const ref = t.guest.gnttab.gnttabGrantForeignAccess(0, t.guest.frames[0]!, true);
  const op = newMapGrantRef();
  gnttabSetMapOp(op, addrOf(ref), GNTMAP_host_map | GNTMAP_device_map | GNTMAP_readonly, ref, 1);
  t.hv.gnttabMapGrantRef(t.dom0, [op], 1);
  assert.is(op.status, GNTST_okay);
  assert.is(t.guest.grantTable.actPin[ref], (1 << 8) | (1 << 24));
  const u = newUnmapGrantRef();
  gnttabSetUnmapOp(u, op.host_addr, op.flags, op.handle);
  t.hv.gnttabUnmapGrantRef(t.dom0, [u], 1);
  assert.is(t.guest.grantTable.actPin[ref], 1 << 24);
  assert.is(busyFlags(t.guest, ref), GTF_reading);
  u.host_addr = 0;
  u.dev_bus_addr = op.dev_bus_addr;
  t.hv.gnttabUnmapGrantRef(t.dom0, [u], 1);
  assert.is(u.status, GNTST_okay);
  assert.is(busyFlags(t.guest, ref), 0);
  assert.ok(t.guest.gnttab.gnttabTryEndForeignAccess(ref));
  t.audit();
});

test('map: misuse by the caller throws (count past the ops, a foreign or destroyed caller)', () => {
  const t = testMachine();
  throwsType(() => t.hv.gnttabMapGrantRef(t.dom0, [newMapGrantRef()], 2), InvalidArgument);
  throwsType(() => t.hv.gnttabUnmapGrantRef(t.dom0, [], -1), InvalidArgument);
  const other = new Hypervisor({ frames: 16 }).createDomain({ frames: 2 });
  throwsType(() => t.hv.gnttabMapGrantRef(other, [], 0), InvalidArgument);
  const dom2 = t.hv.createDomain({ frames: 2 });
  t.hv.destroyDomain(dom2);
  throwsType(() => t.hv.gnttabCopy(dom2, [], 0), UseAfterDestroy);
  t.audit();
});

test('map: guest-controlled garbage in an op ends as a status, never a throw', () => {
  const t = testMachine();
  const op = newMapGrantRef();
  op.flags = GNTMAP_host_map;
  op.ref = Number.NaN;
  op.dom = -1;
  t.hv.gnttabMapGrantRef(t.dom0, [op], 1);
  assert.is(op.status, GNTST_bad_domain);
  op.dom = 1;
  op.ref = 1.5e12;
  t.hv.gnttabMapGrantRef(t.dom0, [op], 1);
  assert.ok(op.status < 0);
  t.audit();
});

test('map: each hypercall charges the caller: entry once, then per op, one flush per 32 unmaps', () => {
  const t = testMachine();
  const p = t.hv.cost.params;
  const ref = t.guest.gnttab.gnttabGrantForeignAccess(0, t.guest.frames[0]!, true);
  const before = t.dom0.cost.ns;
  const op = mapOne(t.hv, t.dom0, t.guest, ref);
  unmapOne(t.hv, t.dom0, op);
  assert.is(t.dom0.cost.ns - before, 2 * p.hypercallNs + p.mapNs + p.unmapNs + p.tlbFlushNs);
  assert.is(t.dom0.cost.mapOps, 1);
  assert.is(t.dom0.cost.unmapOps, 1);
  assert.ok(t.guest.gnttab.gnttabTryEndForeignAccess(ref));
  t.audit();
});

test.run();
