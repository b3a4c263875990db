import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runRingWalkthrough } from '../../src/sim/ring-walkthrough.ts';

test('walkthrough: every slot is answered, every grant ended, bytes arrive intact, audit clean', () => {
  const r = runRingWalkthrough([60, 1514, 9000, 4096]);
  assert.is(r.packets, 4);
  assert.is(r.slots, 1 + 1 + 3 + 1);
  assert.is(r.copyOps, r.slots);
  assert.is(r.grantsEnded, r.slots);
  assert.is(r.badBytes, 0);
  assert.equal(r.auditFindings, []);
  assert.ok(r.modelledNs > 0);
});

test('walkthrough: one push of several packets notifies the backend once (event index semantics)', () => {
  const r = runRingWalkthrough([60, 60, 60]);
  assert.is(r.notifiesToBackend, 1);
  assert.ok(r.notifiesToGuest >= 1);
});

test('walkthrough: the same inputs give the same trace (deterministic scheduler)', () => {
  assert.equal(runRingWalkthrough().log, runRingWalkthrough().log);
});

test('walkthrough: many multi-page packets (50 x 3 pages) fit the guest: frames are sized to the slots', () => {
  const r = runRingWalkthrough(Array.from({ length: 50 }, () => 3 * 4096));
  assert.is(r.slots, 150);
  assert.is(r.grantsEnded, 150);
  assert.equal(r.auditFindings, []);
});

test.run();
