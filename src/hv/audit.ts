/**
 * The hypervisor's teardown audit (DESIGN.md principle 8): what must be true when a test is over.
 *
 * `snapshot(hv)` records a baseline (usually right after the machine is built); `auditHypervisor(hv,
 * baseline)` lists, in words, everything that is still live and was not at the baseline:
 * - a foreign mapping still held, a maptrack handle still in use;
 * - a pinned grant: an active entry with pins, or GTF_reading / GTF_writing still set in a shared entry;
 * - a grant still granted (type not GTF_invalid) or a ref still handed out by the guest side (optional,
 *   `grants: false` turns it off for suites that keep grants on purpose);
 * - a deferred end-access entry, or a grant leaked on purpose by the deferred path;
 * - a frame whose owner differs from the baseline (grant-table growth excepted), a domain created or gone
 *   since the baseline, a domain still dying;
 * - an open xenstore transaction.
 * An empty list means clean. The audit only reads; it never repairs.
 */

import { GTF_reading, GTF_type_mask, GTF_writing, GTF_invalid } from '../abi/grant_table.ts';
import { DOMID_INVALID } from '../abi/xen.ts';
import type { Domain } from './domain.ts';
import type { Hypervisor } from './hypervisor.ts';
import { FRAME_GRANT_TABLE } from './memory.ts';

export interface AuditBaseline {
  /** Owner of every frame. */
  readonly owner: Uint16Array;
  /** Per live domain at the baseline: refs granted then (type ≠ GTF_invalid). */
  readonly granted: ReadonlyMap<number, ReadonlySet<number>>;
  /** Per domain: foreign mappings held, maptrack handles in use, deferred entries, leaked grants. */
  readonly mappings: ReadonlyMap<number, number>;
  readonly maptrack: ReadonlyMap<number, number>;
  readonly deferred: ReadonlyMap<number, number>;
  readonly leaked: ReadonlyMap<number, number>;
  readonly transactions: number;
}

export interface AuditOptions {
  /** Check that every ref granted since the baseline was ended (default true). */
  readonly grants?: boolean;
  /** At most this many findings per kind are listed one by one (default 8). */
  readonly maxPerKind?: number;
}

/** Record what the machine looks like now. */
export function snapshot(hv: Hypervisor): AuditBaseline {
  const granted = new Map<number, Set<number>>();
  const mappings = new Map<number, number>();
  const maptrack = new Map<number, number>();
  const deferred = new Map<number, number>();
  const leaked = new Map<number, number>();
  for (const d of hv.domains()) {
    granted.set(d.domid, new Set(grantedRefs(d)));
    mappings.set(d.domid, hv.mem.mappingsHeldBy(d.domid));
    maptrack.set(d.domid, d.grantTable.maptrackInUse);
    deferred.set(d.domid, d.gnttab.deferredCount);
    leaked.set(d.domid, d.gnttab.leakedCount);
  }
  return { owner: hv.mem.owner.slice(), granted, mappings, maptrack, deferred, leaked, transactions: hv.xs.openTransactions };
}

/** Everything live that should not be, relative to `baseline` (or to an empty machine if none). */
export function auditHypervisor(hv: Hypervisor, baseline?: AuditBaseline, opts: AuditOptions = {}): string[] {
  const out: string[] = [];
  const max = opts.maxPerKind ?? 8;
  const list = (kind: string, items: string[]): void => {
    for (const s of items.slice(0, max)) out.push(`${kind}: ${s}`);
    if (items.length > max) out.push(`${kind}: ... and ${items.length - max} more`);
  };

  for (const d of hv.domains()) {
    const id = d.domid;
    const gt = d.grantTable;
    if (d.state !== 'alive') list('dying domain', [`${d} is still dying: a grantee still maps its frames`]);
    const mappings = hv.mem.mappingsHeldBy(id);
    if (mappings > (baseline?.mappings.get(id) ?? 0)) list('foreign mapping', [`${d} still holds ${mappings} foreign mapping(s)`]);
    if (gt.maptrackInUse > (baseline?.maptrack.get(id) ?? 0)) {
      list('maptrack', [`${d} has ${gt.maptrackInUse} maptrack handle(s) in use: ${liveHandles(d).join(', ')}`]);
    }
    list('pinned grant', gt.pinnedRefs().map((r) => `${d} ref ${r} pinned by dom${gt.actDomid[r]} (pin ${hex(gt.actPin[r]!)})`));
    const busy: string[] = [];
    for (let r = 0; r < gt.nrEntries; r++) {
      const f = gt.flagsOf(r);
      if ((f & (GTF_reading | GTF_writing)) !== 0) busy.push(`${d} ref ${r} flags ${hex(f)}`);
    }
    list('GTF_reading/GTF_writing set', busy);
    if (opts.grants !== false) {
      const before = baseline?.granted.get(id);
      const still = grantedRefs(d).filter((r) => before === undefined || !before.has(r));
      list('grant not ended', still.map((r) => `${d} ref ${r} granted to dom${gt.domidOf(r)} (flags ${hex(gt.flagsOf(r))})`));
    }
    if (d.gnttab.deferredCount > (baseline?.deferred.get(id) ?? 0)) {
      list('deferred end-access', [`${d} has ${d.gnttab.deferredCount} deferred ref(s): ${d.gnttab.deferredRefs().join(', ')}`]);
    }
    if (d.gnttab.leakedCount > (baseline?.leaked.get(id) ?? 0)) {
      list('leaked grant', [`${d} leaked ${d.gnttab.leakedCount - (baseline?.leaked.get(id) ?? 0)} grant(s) (deferred entry allocation failed)`]);
    }
  }

  if (baseline !== undefined) {
    const now = new Set(hv.domains().map((d) => d.domid));
    for (const id of baseline.granted.keys()) if (!now.has(id)) list('domain', [`dom${id} existed at the baseline and is gone`]);
    for (const id of now) if (!baseline.granted.has(id)) list('domain', [`dom${id} was created after the baseline and still exists`]);
    list('frame owner', ownerChanges(hv, baseline));
  }
  if (hv.xs.openTransactions > (baseline?.transactions ?? 0)) list('xenstore', [`${hv.xs.openTransactions} transaction(s) still open`]);
  return out;
}

/** Refs of `d`'s table whose type is not GTF_invalid. */
function grantedRefs(d: Domain): number[] {
  const gt = d.grantTable;
  const out: number[] = [];
  for (let r = 0; r < gt.nrEntries; r++) if ((gt.flagsOf(r) & GTF_type_mask) !== GTF_invalid) out.push(r);
  return out;
}

function liveHandles(d: Domain): string[] {
  const gt = d.grantTable;
  const out: string[] = [];
  for (let h = 0; h < gt.maptrackLimit && out.length < 8; h++) {
    if (gt.mtFlags[h] !== 0) out.push(`#${h} → dom${gt.mtDomid[h]} ref ${gt.mtRef[h]}`);
  }
  return out;
}

/** Frames whose owner changed, grouped by (from, to); grant-table growth from the free pool is fine. */
function ownerChanges(hv: Hypervisor, baseline: AuditBaseline): string[] {
  const mem = hv.mem;
  const groups = new Map<string, number[]>();
  for (let f = 0; f < mem.nrFrames; f++) {
    const was = baseline.owner[f]!;
    const is = mem.owner[f]!;
    if (was === is) continue;
    if (was === DOMID_INVALID && (mem.flags[f]! & FRAME_GRANT_TABLE) !== 0) continue;
    const key = `${ownerName(was)} → ${ownerName(is)}`;
    let g = groups.get(key);
    if (g === undefined) groups.set(key, (g = []));
    g.push(f);
  }
  return [...groups].map(([k, fs]) => `${fs.length} frame(s) ${k}: ${fs.slice(0, 8).join(', ')}${fs.length > 8 ? ', ...' : ''}`);
}

function ownerName(id: number): string {
  return id === DOMID_INVALID ? 'free pool' : `dom${id}`;
}

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}
