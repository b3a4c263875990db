import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  GNTCOPY_dest_gref, GNTCOPY_source_gref, GNTMAP_host_map, GNTMAP_readonly, GNTST_bad_handle, GNTST_general_error,
  GNTST_okay, GTF_reading, GTF_writing,
} from '../../src/abi/grant_table.ts';
import { DOMID_SELF } from '../../src/abi/xen.ts';
import { NSEC_PER_SEC } from '../../src/hv/clock.ts';
import {
  gnttabSetMapOp, newGnttabCopy, newMapGrantRef, type GnttabMapGrantRef,
} from '../../src/hv/grant-ops.ts';
import { GNTPIN_WRITABLE, GNTPIN_hstr_inc, GNTPIN_hstw_inc } from '../../src/hv/grant-table.ts';
import { testMachine, type TestMachine } from '../support/machine.ts';
import { unmapOpsFor } from './grant-helpers.ts';

type Cmd =
  | { k: 'grant'; frame: number; readonly: boolean }
  | { k: 'map'; pick: number; writable: boolean }
  | { k: 'unmap'; picks: number[]; stale: boolean }
  | { k: 'copy'; pick: number; toGuest: boolean; off: number; len: number }
  | { k: 'end'; pick: number }
  | { k: 'endDeferred'; pick: number }
  | { k: 'tick' };

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  fc.record({ k: fc.constant('grant' as const), frame: fc.nat(31), readonly: fc.boolean() }),
  fc.record({ k: fc.constant('map' as const), pick: fc.nat(), writable: fc.boolean() }),
  fc.record({ k: fc.constant('unmap' as const), picks: fc.array(fc.nat(), { maxLength: 40 }), stale: fc.boolean() }),
  fc.record({ k: fc.constant('copy' as const), pick: fc.nat(), toGuest: fc.boolean(), off: fc.nat(4095), len: fc.nat(4200) }),
  fc.record({ k: fc.constant('end' as const), pick: fc.nat() }),
  fc.record({ k: fc.constant('endDeferred' as const), pick: fc.nat() }),
  fc.constant({ k: 'tick' as const }),
);

interface Grant {
  readonly readonly: boolean;
  deferred: boolean;
}

/** The model: refs the guest has granted (and not yet freed), and dom0's live mappings. */
class Model {
  readonly grants = new Map<number, Grant>();
  readonly handles: GnttabMapGrantRef[] = [];

  pinOf(ref: number): number {
    let pin = 0;
    for (const h of this.handles) if (h.ref === ref) pin += (h.flags & GNTMAP_readonly) !== 0 ? GNTPIN_hstr_inc : GNTPIN_hstw_inc;
    return pin;
  }

  pickGrant(i: number): number | undefined {
    const refs = [...this.grants.keys()];
    return refs.length === 0 ? undefined : refs[i % refs.length];
  }
}

function run(t: TestMachine, m: Model, c: Cmd): void {
  const g = t.guest.gnttab;
  const hv = t.hv;
  switch (c.k) {
    case 'grant': {
      const ref = g.gnttabGrantForeignAccess(0, t.guest.frames[c.frame]!, c.readonly);
      assert.ok(ref >= 8, 'the table is never full in this test');
      assert.not.ok(m.grants.has(ref));
      m.grants.set(ref, { readonly: c.readonly, deferred: false });
      return;
    }
    case 'map': {
      const ref = m.pickGrant(c.pick);
      if (ref === undefined || m.handles.filter((h) => h.ref === ref).length >= 100) return;
      const op = newMapGrantRef();
      gnttabSetMapOp(op, 0x1000 + m.handles.length, GNTMAP_host_map | (c.writable ? 0 : GNTMAP_readonly), ref, 1);
      hv.gnttabMapGrantRef(t.dom0, [op], 1);
      const expect = c.writable && m.grants.get(ref)!.readonly ? GNTST_general_error : GNTST_okay;
      assert.is(op.status, expect);
      if (op.status === GNTST_okay) m.handles.push(op);
      return;
    }
    case 'unmap': {
      const chosen = new Set<number>();
      for (const p of c.picks) if (m.handles.length > 0) chosen.add(p % m.handles.length);
      const victims = [...chosen].map((i) => m.handles[i]!);
      const ops = unmapOpsFor(victims);
      if (c.stale && victims.length > 0) {
        ops.push(...unmapOpsFor([victims[0]!]));
      }
      hv.gnttabUnmapGrantRef(t.dom0, ops, ops.length);
      for (let i = 0; i < victims.length; i++) assert.is(ops[i]!.status, GNTST_okay);
      if (c.stale && victims.length > 0) assert.is(ops[ops.length - 1]!.status, GNTST_bad_handle);
      for (const v of victims) m.handles.splice(m.handles.indexOf(v), 1);
      return;
    }
    case 'copy': {
      const ref = m.pickGrant(c.pick);
      if (ref === undefined) return;
      const op = newGnttabCopy();
      const own = t.dom0.frames[0]!;
      if (c.toGuest) {
        op.source.u.gmfn = own;
        op.source.domid = DOMID_SELF;
        op.dest.u.ref = ref;
        op.dest.domid = 1;
        op.flags = GNTCOPY_dest_gref;
      } else {
        op.source.u.ref = ref;
        op.source.domid = 1;
        op.dest.u.gmfn = own;
        op.dest.domid = DOMID_SELF;
        op.flags = GNTCOPY_source_gref;
      }
      op.source.offset = c.off;
      op.dest.offset = 0;
      op.len = c.len;
      hv.gnttabCopy(t.dom0, [op], 1);
      if (c.toGuest && m.grants.get(ref)!.readonly) assert.is(op.status, GNTST_general_error);
      else if (c.off + c.len > 4096) assert.ok(op.status < 0);
      else assert.is(op.status, GNTST_okay);
      return;
    }
    case 'end': {
      const ref = m.pickGrant(c.pick);
      if (ref === undefined || m.grants.get(ref)!.deferred) return;
      const ok = g.gnttabEndForeignAccessRef(ref);
      assert.is(ok, m.pinOf(ref) === 0, 'end-access succeeds iff the entry is unpinned');
      if (ok) {
        g.gnttabFreeGrantReference(ref);
        m.grants.delete(ref);
      }
      return;
    }
    case 'endDeferred': {
      const ref = m.pickGrant(c.pick);
      if (ref === undefined || m.grants.get(ref)!.deferred) return;
      const pinned = m.pinOf(ref) !== 0;
      g.gnttabEndForeignAccess(ref, -1);
      if (pinned) m.grants.get(ref)!.deferred = true;
      else m.grants.delete(ref);
      return;
    }
    case 'tick': {
      t.clock.advance(NSEC_PER_SEC);
      const still = new Set(g.deferredRefs());
      for (const [ref, gr] of m.grants) {
        if (!gr.deferred || still.has(ref)) continue;
        assert.is(m.pinOf(ref), 0, 'a deferred ref is freed only once unpinned');
        m.grants.delete(ref);
      }
    }
  }
}

/** Flags reflect pins; pins, maptrack and foreign mappings agree with the model. */
function checkInvariants(t: TestMachine, m: Model): void {
  const gt = t.guest.grantTable;
  for (let ref = 0; ref < gt.nrEntries; ref++) {
    const pin = gt.actPin[ref]!;
    const flags = gt.flagsOf(ref);
    assert.is((flags & GTF_reading) !== 0, pin !== 0, `ref ${ref}: GTF_reading iff pinned`);
    assert.is((flags & GTF_writing) !== 0, (pin & GNTPIN_WRITABLE) !== 0, `ref ${ref}: GTF_writing iff writably pinned`);
    assert.is(pin, m.pinOf(ref), `ref ${ref}: pin`);
  }
  assert.is(t.dom0.grantTable.maptrackInUse, m.handles.length);
  assert.is(t.hv.mem.mappingsHeldBy(0), m.handles.length);
  assert.is(t.guest.gnttab.deferredCount, [...m.grants.values()].filter((g) => g.deferred).length);
}

function teardown(t: TestMachine, m: Model): void {
  run(t, m, { k: 'unmap', picks: m.handles.map((_, i) => i), stale: false });
  t.guest.gnttab.freePerIteration = 0;
  run(t, m, { k: 'tick' });
  for (const ref of [...m.grants.keys()]) {
    assert.ok(t.guest.gnttab.gnttabTryEndForeignAccess(ref));
    m.grants.delete(ref);
  }
}

test('property: random map/unmap/copy/end-access sequences keep flags = pins, and end clean', () => {
  fc.assert(
    fc.property(fc.array(cmd, { maxLength: 80 }), (cmds) => {
      const t = testMachine();
      const m = new Model();
      for (const c of cmds) {
        run(t, m, c);
        checkInvariants(t, m);
      }
      teardown(t, m);
      checkInvariants(t, m);
      t.audit();
    }),
    { numRuns: 150, seed: 0x5eed },
  );
});

test.run();
