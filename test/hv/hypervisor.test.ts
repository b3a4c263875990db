import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  GNTMAP_host_map, GNTMAP_readonly, GNTST_bad_domain, GNTST_bad_virt_addr, GNTST_general_error, GNTST_okay, GNTST_permission_denied, GNTTABOP_copy,
  GNTTABOP_map_grant_ref, GNTTABOP_query_size, GNTTABOP_setup_table, GNTTABOP_transfer, GNTTABOP_unmap_grant_ref,
  GTF_reading,
} from '../../src/abi/grant_table.ts';
import { DOMID_INVALID, DOMID_SELF } from '../../src/abi/xen.ts';
import { InvalidArgument, OutOfResources } from '../../src/errors.ts';
import { EINVAL, ENOSYS } from '../../src/hv/errno.ts';
import {
  gnttabSetMapOp, gnttabSetUnmapOp, newGnttabCopy, newMapGrantRef, newQuerySize, newSetupTable, newUnmapGrantRef,
} from '../../src/hv/grant-ops.ts';
import { Hypervisor } from '../../src/hv/hypervisor.ts';
import { priceOf } from '../../src/hv/cost.ts';
import { FRAME_GRANT_TABLE } from '../../src/hv/memory.ts';
import { throwsType } from '../support/assert.ts';
import { testMachine } from '../support/machine.ts';
import { busyFlags, mapOne, unmapOne, unmapOpsFor } from './grant-helpers.ts';

test('hypervisor: the first domain is dom0 (privileged), later ones take the lowest free id', () => {
  const hv = new Hypervisor({ frames: 64 });
  const d0 = hv.createDomain({ frames: 4 });
  const d1 = hv.createDomain({ frames: 4 });
  assert.is(d0.domid, 0);
  assert.ok(d0.privileged);
  assert.is(d1.domid, 1);
  assert.not.ok(d1.privileged);
  assert.is(hv.mem.ownedBy(1), 5, 'four frames plus one grant-table frame');
  throwsType(() => hv.createDomain({ domid: 1, frames: 1 }), InvalidArgument);
  throwsType(() => hv.createDomain({ domid: DOMID_SELF, frames: 1 }), InvalidArgument);
  throwsType(() => hv.createDomain({ frames: 1000 }), OutOfResources);
  hv.destroyDomain(d1);
  assert.is(hv.createDomain({ frames: 1 }).domid, 1);
});

test('hypervisor: two hypervisors in one process share nothing', () => {
  const a = testMachine();
  const b = testMachine();
  const ref = a.guest.gnttab.gnttabGrantForeignAccess(0, a.guest.frames[0]!, true);
  assert.is(mapOne(b.hv, b.dom0, b.guest, ref).status, GNTST_general_error, 'b\'s guest granted nothing');
  assert.ok(a.guest.gnttab.gnttabTryEndForeignAccess(ref));
  a.audit();
  b.audit();
});

test('hypervisor: destroying a domain returns its frames, grant-table frames included', () => {
  const t = testMachine();
  const free = t.hv.mem.freeFrames;
  const d = t.hv.createDomain({ frames: 8 });
  const ref = d.gnttab.gnttabGrantForeignAccess(0, d.frames[0]!, true);
  assert.ok(ref > 0);
  t.hv.destroyDomain(d);
  assert.is(d.state, 'dead');
  assert.is(t.hv.mem.freeFrames, free);
  assert.not.ok(t.hv.mem.isRegistered(d.domid));
  t.audit();
});

test('hypervisor: a destroyed guest whose page dom0 still maps stays dying until the unmap', () => {
  const t = testMachine();
  const d = t.hv.createDomain({ domid: 2, frames: 4 });
  const frame = d.frames[2]!;
  const ref = d.gnttab.gnttabGrantForeignAccess(0, frame, true);
  const m = mapOne(t.hv, t.dom0, d, ref);
  t.hv.destroyDomain(d);
  assert.is(d.state, 'dying');
  assert.is(t.hv.mem.owner[frame], 2, 'the mapped page outlives its domain');
  assert.ok(t.hv.mem.canRead(0, frame));
  assert.is(t.hv.domain(2), undefined, 'a dying domain is no target for new maps');
  assert.is(mapOne(t.hv, t.dom0, d, ref).status, GNTST_bad_domain);
  assert.throws(() => t.audit(), /dying/);
  assert.is(unmapOne(t.hv, t.dom0, m), GNTST_okay);
  assert.is(d.state, 'dead');
  assert.is(t.hv.mem.owner[frame], DOMID_INVALID);
  t.audit();
});

test('hypervisor: destroying the backend releases its mappings so the guest can end access', () => {
  const t = testMachine();
  const be = t.hv.createDomain({ domid: 3, frames: 2 });
  const ref = t.guest.gnttab.gnttabGrantForeignAccess(3, t.guest.frames[0]!, false);
  const m = mapOne(t.hv, be, t.guest, ref, true);
  assert.is(m.status, GNTST_okay);
  t.hv.destroyDomain(be);
  assert.is(be.state, 'dead');
  assert.is(busyFlags(t.guest, ref), 0);
  assert.ok(t.guest.gnttab.gnttabTryEndForeignAccess(ref));
  t.audit();
});

test('hypervisor: setup_table grows the table to nr_frames and lists its frames', () => {
  const t = testMachine({ maxGrantFrames: 4 });
  const op = newSetupTable(DOMID_SELF, 3);
  assert.is(t.hv.gnttabSetupTable(t.guest, op), 0);
  assert.is(op.status, GNTST_okay);
  assert.is(t.guest.grantTable.nrFrames, 3);
  for (const f of op.frame_list) {
    assert.is(t.hv.mem.owner[f], 1);
    assert.ok((t.hv.mem.flags[f]! & FRAME_GRANT_TABLE) !== 0);
  }
  const tooMany = newSetupTable(DOMID_SELF, 5);
  t.hv.gnttabSetupTable(t.guest, tooMany);
  assert.is(tooMany.status, GNTST_general_error);
  const short = { dom: DOMID_SELF, nr_frames: 2, status: 0, frame_list: [0] };
  t.hv.gnttabSetupTable(t.guest, short);
  assert.is(short.status, GNTST_bad_virt_addr);
  const other = newSetupTable(0, 1);
  t.hv.gnttabSetupTable(t.guest, other);
  assert.is(other.status, GNTST_permission_denied, 'a guest may not set up dom0\'s table');
  const byDom0 = newSetupTable(1, 1);
  t.hv.gnttabSetupTable(t.dom0, byDom0);
  assert.is(byDom0.status, GNTST_okay, 'the privileged domain may');
  const nobody = newSetupTable(42, 1);
  t.hv.gnttabSetupTable(t.dom0, nobody);
  assert.is(nobody.status, GNTST_bad_domain);
  t.audit();
});

test('hypervisor: query_size reports the table size and limit', () => {
  const t = testMachine({ maxGrantFrames: 7 });
  const q = newQuerySize(DOMID_SELF);
  t.hv.gnttabQuerySize(t.guest, q);
  assert.equal([q.status, q.nr_frames, q.max_nr_frames], [GNTST_okay, 1, 7]);
  t.audit();
});

test('hypervisor: grantTableOp dispatches, refuses count ≠ 1 for setup/query (-EINVAL), -ENOSYS otherwise', () => {
  const t = testMachine();
  const ref = t.guest.gnttab.gnttabGrantForeignAccess(0, t.guest.frames[0]!, true);
  const map = newMapGrantRef();
  gnttabSetMapOp(map, 0x1000, GNTMAP_host_map | GNTMAP_readonly, ref, 1);
  assert.is(t.hv.grantTableOp(t.dom0, GNTTABOP_map_grant_ref, [map], 1), 0);
  assert.is(map.status, GNTST_okay);
  assert.is(busyFlags(t.guest, ref), GTF_reading);
  const copy = newGnttabCopy();
  assert.is(t.hv.grantTableOp(t.dom0, GNTTABOP_copy, [copy], 0), 0);
  const unmap = newUnmapGrantRef();
  gnttabSetUnmapOp(unmap, 0x1000, map.flags, map.handle);
  assert.is(t.hv.grantTableOp(t.dom0, GNTTABOP_unmap_grant_ref, [unmap], 1), 0);
  assert.is(unmap.status, GNTST_okay);
  const q = newQuerySize(DOMID_SELF);
  assert.is(t.hv.grantTableOp(t.dom0, GNTTABOP_query_size, [q, q], 2), -EINVAL);
  assert.is(t.hv.grantTableOp(t.dom0, GNTTABOP_setup_table, [newSetupTable(DOMID_SELF, 1)], 1), 0);
  assert.is(t.hv.grantTableOp(t.dom0, GNTTABOP_transfer, [], 0), -ENOSYS);
  throwsType(() => t.hv.grantTableOp(t.dom0, GNTTABOP_query_size, [], 1), InvalidArgument);
  assert.ok(t.guest.gnttab.gnttabTryEndForeignAccess(ref));
  t.audit();
});

test('hypervisor: modelled cost follows overridden parameters and re-prices from the counters', () => {
  const t = testMachine({ cost: { hypercallNs: 1000, mapNs: 10, unmapNs: 20, tlbFlushNs: 300 } });
  const refs = Array.from({ length: 33 }, (_, i) => t.guest.gnttab.gnttabGrantForeignAccess(0, t.guest.frames[i % 32]!, true));
  const maps = refs.map(() => newMapGrantRef());
  refs.forEach((r, i) => gnttabSetMapOp(maps[i]!, 0x1000 + i, GNTMAP_host_map | GNTMAP_readonly, r, 1));
  t.hv.gnttabMapGrantRef(t.dom0, maps, 33);
  const unmaps = unmapOpsFor(maps);
  t.hv.gnttabUnmapGrantRef(t.dom0, unmaps, 33);
  assert.is(t.dom0.cost.ns, 2 * 1000 + 33 * 10 + 33 * 20 + 2 * 300);
  assert.is(priceOf(t.dom0.cost, t.hv.cost.params), t.dom0.cost.ns);
  assert.is(t.hv.totalModelledNs(), t.dom0.cost.ns + t.guest.cost.ns);
  for (const r of refs) assert.ok(t.guest.gnttab.gnttabTryEndForeignAccess(r));
  t.audit();
});

test.run();
