/** Small helpers shared by the grant-table suites: one map or unmap op, run as a batch of one. */
import { GNTMAP_host_map, GNTMAP_readonly, GTF_reading, GTF_writing } from '../../src/abi/grant_table.ts';
import type { Domain } from '../../src/hv/domain.ts';
import {
  gnttabSetMapOp, gnttabSetUnmapOp, newMapGrantRef, newUnmapGrantRef, type GnttabMapGrantRef, type GnttabUnmapGrantRef,
} from '../../src/hv/grant-ops.ts';
import type { Hypervisor } from '../../src/hv/hypervisor.ts';

/** The host_addr token a test uses for a mapping of `ref` (any non-zero value will do). */
export function addrOf(ref: number): number {
  return 0x10000000 + ref * 4096;
}

/** Map `ref` of `granter` into `mapper` (host map, read-only unless `writable`). Returns the op. */
export function mapOne(hv: Hypervisor, mapper: Domain, granter: Domain, ref: number, writable = false): GnttabMapGrantRef {
  const op = newMapGrantRef();
  gnttabSetMapOp(op, addrOf(ref), GNTMAP_host_map | (writable ? 0 : GNTMAP_readonly), ref, granter.domid);
  hv.gnttabMapGrantRef(mapper, [op], 1);
  return op;
}

/** Unmap ops matching map ops (same host_addr and handle). */
export function unmapOpsFor(maps: readonly GnttabMapGrantRef[]): GnttabUnmapGrantRef[] {
  return maps.map((m) => {
    const u = newUnmapGrantRef();
    gnttabSetUnmapOp(u, m.host_addr, m.flags, m.handle);
    return u;
  });
}

/** Unmap one handle made by mapOne. Returns the status. */
export function unmapOne(hv: Hypervisor, mapper: Domain, map: GnttabMapGrantRef): number {
  const [op] = unmapOpsFor([map]);
  hv.gnttabUnmapGrantRef(mapper, [op!], 1);
  return op!.status;
}

/** GTF_reading | GTF_writing of `ref` as the granting guest sees them. */
export function busyFlags(granter: Domain, ref: number): number {
  return granter.grantTable.flagsOf(ref) & (GTF_reading | GTF_writing);
}
