import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  GNTCOPY_dest_gref, GNTCOPY_source_gref, GNTST_bad_copy_arg, GNTST_bad_domain, GNTST_bad_gntref, GNTST_bad_page,
  GNTST_general_error, GNTST_okay, GNTST_permission_denied, GTF_permit_access, GTF_reading, GTF_sub_page, GTF_writing,
} from '../../src/abi/grant_table.ts';
import { DOMID_SELF } from '../../src/abi/xen.ts';
import { newGnttabCopy, type GnttabCopy } from '../../src/hv/grant-ops.ts';
import { testMachine, type TestMachine } from '../support/machine.ts';
import { busyFlags, mapOne, unmapOne } from './grant-helpers.ts';

/** A copy op from guest grant `ref` at `srcOff` into dom0's own `frame` at `dstOff`. */
function fromGrant(ref: number, srcOff: number, frame: number, dstOff: number, len: number): GnttabCopy {
  const op = newGnttabCopy();
  op.source.u.ref = ref;
  op.source.domid = 1;
  op.source.offset = srcOff;
  op.dest.u.gmfn = frame;
  op.dest.domid = DOMID_SELF;
  op.dest.offset = dstOff;
  op.len = len;
  op.flags = GNTCOPY_source_gref;
  return op;
}

/** A copy op between two guest grants (len 10). */
function grantToGrant(sref: number, dref: number): GnttabCopy {
  const op = newGnttabCopy();
  op.source.u.ref = sref;
  op.source.domid = 1;
  op.dest.u.ref = dref;
  op.dest.domid = 1;
  op.len = 10;
  op.flags = GNTCOPY_source_gref | GNTCOPY_dest_gref;
  return op;
}

function fill(t: TestMachine, domid: number, frame: number, byte: number): void {
  t.hv.mem.fill(domid, frame, 0, 4096, byte);
}

function byteAt(t: TestMachine, frame: number, off: number): number {
  return t.hv.mem.bytes[frame * 4096 + off]!;
}

test('copy: bytes move from a guest grant into a dom0 frame; the pin lasts only for the call', () => {
  const t = testMachine();
  const src = t.guest.frames[0]!;
  const dst = t.dom0.frames[0]!;
  fill(t, 1, src, 0x11);
  const ref = t.guest.gnttab.gnttabGrantForeignAccess(0, src, true);
  const op = fromGrant(ref, 100, dst, 200, 1000);
  t.hv.gnttabCopy(t.dom0, [op], 1);
  assert.is(op.status, GNTST_okay);
  assert.is(byteAt(t, dst, 199), 0);
  assert.is(byteAt(t, dst, 200), 0x11);
  assert.is(byteAt(t, dst, 1199), 0x11);
  assert.is(byteAt(t, dst, 1200), 0);
  assert.is(busyFlags(t.guest, ref), 0);
  assert.ok(t.guest.gnttab.gnttabTryEndForeignAccess(ref));
  t.audit();
});

test('copy: into a writable guest grant works; into a read-only grant gives GNTST_general_error', () => {
  const t = testMachine();
  const own = t.dom0.frames[1]!;
  fill(t, 0, own, 0x22);
  const rw = t.guest.gnttab.gnttabGrantForeignAccess(0, t.guest.frames[1]!, false);
  const ro = t.guest.gnttab.gnttabGrantForeignAccess(0, t.guest.frames[2]!, true);
  const ops = [newGnttabCopy(), newGnttabCopy()];
  for (const [i, ref] of [rw, ro].entries()) {
    const op = ops[i]!;
    op.source.u.gmfn = own;
    op.source.domid = DOMID_SELF;
    op.dest.u.ref = ref;
    op.dest.domid = 1;
    op.len = 64;
    op.flags = GNTCOPY_dest_gref;
  }
  t.hv.gnttabCopy(t.dom0, ops, 2);
  assert.equal(ops.map((o) => o.status), [GNTST_okay, GNTST_general_error]);
  assert.is(byteAt(t, t.guest.frames[1]!, 63), 0x22);
  assert.is(byteAt(t, t.guest.frames[2]!, 0), 0);
  assert.is(busyFlags(t.guest, rw) | busyFlags(t.guest, ro), 0);
  assert.ok(t.guest.gnttab.gnttabTryEndForeignAccess(rw));
  assert.ok(t.guest.gnttab.gnttabTryEndForeignAccess(ro));
  t.audit();
});

test('copy: a copy crossing the page on either side gives GNTST_bad_copy_arg and copies nothing', () => {
  const t = testMachine();
  const src = t.guest.frames[0]!;
  const dst = t.dom0.frames[0]!;
  fill(t, 1, src, 0x33);
  const ref = t.guest.gnttab.gnttabGrantForeignAccess(0, src, true);
  const a = fromGrant(ref, 4000, dst, 0, 97);
  const b = fromGrant(ref, 0, dst, 4000, 97);
  const c = fromGrant(ref, 4000, dst, 0, 96);
  t.hv.gnttabCopy(t.dom0, [a, b, c], 3);
  assert.equal([a.status, b.status, c.status], [GNTST_bad_copy_arg, GNTST_bad_copy_arg, GNTST_okay]);
  assert.is(byteAt(t, dst, 4000), 0);
  assert.is(byteAt(t, dst, 95), 0x33);
  assert.ok(t.guest.gnttab.gnttabTryEndForeignAccess(ref));
  t.audit();
});

test('copy: a frame named with any domid but DOMID_SELF gives GNTST_permission_denied', () => {
  const t = testMachine();
  const op = newGnttabCopy();
  op.source.u.gmfn = t.guest.frames[0]!;
  op.source.domid = 1;
  op.dest.u.gmfn = t.dom0.frames[0]!;
  op.dest.domid = DOMID_SELF;
  op.len = 8;
  t.hv.gnttabCopy(t.dom0, [op], 1);
  assert.is(op.status, GNTST_permission_denied);
  op.source.domid = 0; // even the caller's own id, by number
  op.source.u.gmfn = t.dom0.frames[1]!;
  t.hv.gnttabCopy(t.dom0, [op], 1);
  assert.is(op.status, GNTST_permission_denied);
  t.audit();
});

test('copy: unknown domain, ref past the table, frame not the caller\'s: bad_domain, bad_gntref, bad_page', () => {
  const t = testMachine();
  const dst = t.dom0.frames[0]!;
  const a = fromGrant(8, 0, dst, 0, 8);
  a.source.domid = 9;
  const b = fromGrant(t.guest.grantTable.nrEntries, 0, dst, 0, 8);
  const ref = t.guest.gnttab.gnttabGrantForeignAccess(0, t.guest.frames[0]!, true);
  const c = fromGrant(ref, 0, t.guest.frames[1]!, 0, 8);
  t.hv.gnttabCopy(t.dom0, [a, b, c], 3);
  assert.equal([a.status, b.status, c.status], [GNTST_bad_domain, GNTST_bad_gntref, GNTST_bad_page]);
  assert.is(busyFlags(t.guest, ref), 0);
  assert.ok(t.guest.gnttab.gnttabTryEndForeignAccess(ref));
  t.audit();
});

test('copy: the source is pinned reading and the destination reading|writing for the duration', () => {
  const t = testMachine();
  const sref = t.guest.gnttab.gnttabGrantForeignAccess(0, t.guest.frames[0]!, true);
  const dref = t.guest.gnttab.gnttabGrantForeignAccess(0, t.guest.frames[1]!, false);
  const op = grantToGrant(sref, dref);
  const seen: number[] = [];
  t.hv.testHooks.beforePinCas = (_d, ref) => {
    if (ref === dref) seen.push(busyFlags(t.guest, sref));
  };
  t.hv.gnttabCopy(t.dom0, [op], 1);
  assert.is(op.status, GNTST_okay);
  assert.equal(seen, [GTF_reading]);
  // Observe the destination pin from the next op's source claim: use a second op with a fresh source.
  const sref2 = t.guest.gnttab.gnttabGrantForeignAccess(0, t.guest.frames[2]!, true);
  const op2 = grantToGrant(sref2, dref);
  const dest: number[] = [];
  t.hv.testHooks.beforePinCas = (_d, ref) => {
    if (ref === sref2) dest.push(busyFlags(t.guest, dref));
  };
  t.hv.gnttabCopy(t.dom0, [op, op2], 2);
  delete t.hv.testHooks.beforePinCas;
  assert.equal(dest, [GTF_reading | GTF_writing], 'the dest stays pinned while the source changes');
  for (const r of [sref, dref, sref2]) assert.ok(t.guest.gnttab.gnttabTryEndForeignAccess(r));
  t.audit();
});

test('copy: consecutive ops on the same grant pin it once (buffer reuse)', () => {
  const t = testMachine();
  const ref = t.guest.gnttab.gnttabGrantForeignAccess(0, t.guest.frames[0]!, true);
  const ops = [0, 1, 2, 3].map((i) => fromGrant(ref, i * 100, t.dom0.frames[0]!, i * 100, 100));
  t.hv.gnttabCopy(t.dom0, ops, 4);
  assert.ok(ops.every((o) => o.status === GNTST_okay));
  assert.is(t.dom0.cost.copyPins, 1);
  assert.is(t.dom0.cost.copyOps, 4);
  assert.is(t.dom0.cost.copyBytes, 400);
  const p = t.hv.cost.params;
  assert.is(t.dom0.cost.ns, p.hypercallNs + 4 * p.copyOpNs + p.copyPinNs + 400 * p.copyByteNs);
  assert.ok(t.guest.gnttab.gnttabTryEndForeignAccess(ref));
  t.audit();
});

test('copy: a grant mapped by another domain cannot be copied by dom0 (pinned by a different domain)', () => {
  const t = testMachine();
  const dom2 = t.hv.createDomain({ domid: 2, frames: 2 });
  const ref = t.guest.gnttab.gnttabGrantForeignAccess(2, t.guest.frames[0]!, true);
  const m = mapOne(t.hv, dom2, t.guest, ref);
  assert.is(m.status, GNTST_okay);
  const op = fromGrant(ref, 0, t.dom0.frames[0]!, 0, 8);
  t.hv.gnttabCopy(t.dom0, [op], 1);
  assert.is(op.status, GNTST_general_error);
  unmapOne(t.hv, dom2, m);
  assert.ok(t.guest.gnttab.gnttabTryEndForeignAccess(ref));
  t.hv.destroyDomain(dom2);
  t.audit();
});

test('copy: a v1 sub-page entry is copyable over the whole page (no window in v1) yet never mappable', () => {
  const t = testMachine();
  const ref = t.guest.gnttab.gnttabGrantForeignAccess(0, t.guest.frames[0]!, true);
  t.guest.grantTable.u16[t.guest.grantTable.entryOffset(ref) >> 1] = GTF_permit_access | GTF_sub_page;
  const op = fromGrant(ref, 0, t.dom0.frames[0]!, 0, 4096);
  t.hv.gnttabCopy(t.dom0, [op], 1);
  assert.is(op.status, GNTST_okay);
  assert.is(mapOne(t.hv, t.dom0, t.guest, ref).status, GNTST_general_error);
  assert.ok(t.guest.gnttab.gnttabTryEndForeignAccess(ref));
  t.audit();
});

test('copy: outside the grant\'s window gives GNTST_general_error (window narrowed through the active entry)', () => {
  // v1 grants always span the page; narrow the window of a pinned entry the way a v2 sub-page grant would.
  const t = testMachine();
  const ref = t.guest.gnttab.gnttabGrantForeignAccess(0, t.guest.frames[0]!, true);
  const m = mapOne(t.hv, t.dom0, t.guest, ref);
  t.guest.grantTable.actStart[ref] = 512;
  t.guest.grantTable.actLength[ref] = 1024;
  const inside = fromGrant(ref, 512, t.dom0.frames[0]!, 0, 1024);
  const before = fromGrant(ref, 511, t.dom0.frames[0]!, 0, 10);
  const after = fromGrant(ref, 1000, t.dom0.frames[0]!, 0, 600);
  t.hv.gnttabCopy(t.dom0, [inside, before, after], 3);
  assert.equal([inside.status, before.status, after.status], [GNTST_okay, GNTST_general_error, GNTST_general_error]);
  unmapOne(t.hv, t.dom0, m);
  assert.ok(t.guest.gnttab.gnttabTryEndForeignAccess(ref));
  t.audit();
});

test('copy: a zero-length copy succeeds and moves nothing; garbage offsets end as statuses', () => {
  const t = testMachine();
  const ref = t.guest.gnttab.gnttabGrantForeignAccess(0, t.guest.frames[0]!, true);
  const a = fromGrant(ref, 0, t.dom0.frames[0]!, 0, 0);
  const b = fromGrant(ref, 70000, t.dom0.frames[0]!, 0, 8);
  b.len = -1;
  t.hv.gnttabCopy(t.dom0, [a, b], 2);
  assert.is(a.status, GNTST_okay);
  assert.is(b.status, GNTST_bad_copy_arg);
  assert.ok(t.guest.gnttab.gnttabTryEndForeignAccess(ref));
  t.audit();
});

test.run();
