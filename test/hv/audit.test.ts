import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AuditFailure } from '../../src/errors.ts';
import { auditHypervisor } from '../../src/hv/audit.ts';
import { XBT_NIL } from '../../src/hv/xenstore.ts';
import { throwsType } from '../support/assert.ts';
import { testMachine } from '../support/machine.ts';
import { mapOne, unmapOne } from './grant-helpers.ts';

test('audit: a fresh machine is clean', () => {
  const t = testMachine();
  assert.equal(auditHypervisor(t.hv, t.baseline), []);
  t.audit();
});

test('audit: a live mapping is reported as foreign mapping, maptrack, pin and GTF flags', () => {
  const t = testMachine();
  const ref = t.guest.gnttab.gnttabGrantForeignAccess(0, t.guest.frames[0]!, true);
  const m = mapOne(t.hv, t.dom0, t.guest, ref);
  const err = throwsType(() => t.audit(), AuditFailure);
  const kinds = err.findings.map((f) => f.slice(0, f.indexOf(':')));
  for (const k of ['foreign mapping', 'maptrack', 'pinned grant', 'GTF_reading/GTF_writing set', 'grant not ended']) {
    assert.ok(kinds.includes(k), k);
  }
  unmapOne(t.hv, t.dom0, m);
  assert.ok(t.guest.gnttab.gnttabTryEndForeignAccess(ref));
  t.audit();
});

test('audit: a grant never ended is reported unless grant checking is off', () => {
  const t = testMachine();
  const ref = t.guest.gnttab.gnttabGrantForeignAccess(0, t.guest.frames[0]!, true);
  assert.throws(() => t.audit(), new RegExp(`ref ${ref} granted to dom0`));
  t.audit({ grants: false });
  assert.ok(t.guest.gnttab.gnttabTryEndForeignAccess(ref));
  t.audit();
});

test('audit: a deferred end-access entry is reported until the timer frees it', () => {
  const t = testMachine();
  const ref = t.guest.gnttab.gnttabGrantForeignAccess(0, t.guest.frames[0]!, true);
  const m = mapOne(t.hv, t.dom0, t.guest, ref);
  t.guest.gnttab.gnttabEndForeignAccess(ref, -1);
  unmapOne(t.hv, t.dom0, m);
  assert.throws(() => t.audit(), /deferred end-access/);
  t.clock.advance(1e9);
  t.audit();
});

test('audit: frames that changed owner, domains created or gone, open transactions are reported', () => {
  const t = testMachine();
  t.hv.mem.transferFrame(t.guest.frames[0]!, 0);
  const d = t.hv.createDomain({ frames: 1 });
  const tx = t.hv.xs.transactionStart(0);
  const f = auditHypervisor(t.hv, t.baseline);
  assert.ok(f.some((x) => x.includes('1 frame(s) dom1 → dom0')));
  assert.ok(f.some((x) => x.includes('created after the baseline')));
  assert.ok(f.some((x) => x.includes('transaction(s) still open')));
  t.hv.mem.transferFrame(t.guest.frames[0]!, 1);
  t.hv.destroyDomain(d);
  t.hv.xs.transactionEnd(0, tx, false);
  t.audit();
});

test('audit: grant-table growth after the baseline is not an ownership change', () => {
  const t = testMachine();
  const refs = Array.from({ length: 600 }, (_, i) => t.guest.gnttab.gnttabGrantForeignAccess(0, t.guest.frames[i % 32]!, true));
  assert.is(t.guest.grantTable.nrFrames, 2);
  for (const r of refs) assert.ok(t.guest.gnttab.gnttabTryEndForeignAccess(r));
  t.audit();
});

test('audit: many findings of one kind are capped with a count', () => {
  const t = testMachine();
  const refs = Array.from({ length: 20 }, (_, i) => t.guest.gnttab.gnttabGrantForeignAccess(0, t.guest.frames[i]!, true));
  const f = auditHypervisor(t.hv, t.baseline, { maxPerKind: 3 });
  assert.is(f.length, 4);
  assert.match(f[3]!, /and 17 more/);
  for (const r of refs) t.guest.gnttab.gnttabEndForeignAccess(r, -1);
  assert.is(t.hv.xs.read(0, XBT_NIL, '/local/domain/1/name'), 'guest');
  t.audit();
});

test.run();
