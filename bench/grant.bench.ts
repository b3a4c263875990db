/**
 * Hypervisor hot paths: grant map/unmap in netback-sized batches of 32, grant copy batches, event sends.
 * Registers benches only; run with `npx tsx bench/run.ts grant`. Every op record is allocated once here and
 * reused, as netback does, so the numbers are the hypercall paths themselves.
 */
import { bench, do_not_optimize, group } from 'mitata';
import { GNTCOPY_source_gref, GNTMAP_host_map, GNTMAP_readonly } from '../src/abi/grant_table.ts';
import { DOMID_SELF } from '../src/abi/xen.ts';
import { gnttabSetMapOp, gnttabSetUnmapOp, newGnttabCopy, newMapGrantRef, newUnmapGrantRef } from '../src/hv/grant-ops.ts';
import { Hypervisor } from '../src/hv/hypervisor.ts';

const BATCH = 32;
const hv = new Hypervisor({ frames: 512 });
const dom0 = hv.createDomain({ frames: 64, name: 'dom0' });
const guest = hv.createDomain({ frames: 64, name: 'guest' });
const refs = Array.from({ length: BATCH }, (_, i) => guest.gnttab.gnttabGrantForeignAccess(0, guest.frames[i]!, true));

const maps = refs.map((r, i) => {
  const op = newMapGrantRef();
  gnttabSetMapOp(op, 0x10000000 + i * 4096, GNTMAP_host_map | GNTMAP_readonly, r, guest.domid);
  return op;
});
const unmaps = maps.map(() => newUnmapGrantRef());

function copyOps(len: number) {
  return refs.map((r, i) => {
    const op = newGnttabCopy();
    op.source.u.ref = r;
    op.source.domid = guest.domid;
    op.source.offset = 0;
    op.dest.u.gmfn = dom0.frames[i]!;
    op.dest.domid = DOMID_SELF;
    op.dest.offset = 0;
    op.len = len;
    op.flags = GNTCOPY_source_gref;
    return op;
  });
}
const headerCopies = copyOps(128);
const fullCopies = copyOps(1500);

const gport = hv.evtchn.evtchnAllocUnbound(guest, DOMID_SELF, dom0.domid);
const bport = hv.evtchn.evtchnBindInterdomain(dom0, guest.domid, gport);

group('grant map/unmap', () => {
  bench('map + unmap, batch of 32 read-only host maps', () => {
    hv.gnttabMapGrantRef(dom0, maps, BATCH);
    for (let i = 0; i < BATCH; i++) {
      const m = maps[i]!;
      gnttabSetUnmapOp(unmaps[i]!, m.host_addr, m.flags, m.handle);
    }
    do_not_optimize(hv.gnttabUnmapGrantRef(dom0, unmaps, BATCH));
  });
});

group('grant copy', () => {
  bench('copy batch of 32 × 128 B (netback header copy)', () => {
    do_not_optimize(hv.gnttabCopy(dom0, headerCopies, BATCH));
  });
  bench('copy batch of 32 × 1500 B (full frames)', () => {
    do_not_optimize(hv.gnttabCopy(dom0, fullCopies, BATCH));
  });
});

group('event channel', () => {
  bench('evtchn send + receiver clears the pending bit', () => {
    hv.evtchn.evtchnSend(guest, gport);
    do_not_optimize(hv.evtchn.evtchnClearPending(dom0, bport));
  });
});
