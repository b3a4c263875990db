/**
 * nfs-retransmit: REFERENCE.md §10 through netback. A retransmission queued behind the original in a slow
 * device queue, the original acked before the retransmission leaves, the guest rewriting its page on its TX
 * response. copy / map / hybrid / zerocopy put no corrupt byte on the wire; plain-ref (completion on the first
 * free, page references only) does.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nfsRetransmitScenario as s } from '../../../src/sim/scenarios/nfs-retransmit.ts';
import { assertLifecycle, failed, run } from './support.ts';

for (const mode of s.modes) {
  test(`nfs-retransmit (${mode}): ${mode === 'plain-ref' ? 'the corruption reproduces' : 'no corrupt byte leaves the wire'}`, () => {
    const x = run(s, mode);
    assertLifecycle(x, mode);
    // The race itself, the same in every mode.
    assert.is(x.c('retransmitted'), 1);
    assert.is(x.c('dataFrames'), 2);
    const first = x.c('firstDepartNs');
    const ack = x.c('ackNs');
    const again = x.c('retransmitDepartNs');
    assert.ok(first < ack && ack < again, 'acked between the two departures');
    assert.ok(again - first < 50_000_000, 'the retransmission was queued before the original left');
    assert.is(x.c('rewrites'), 1);
    const answered = x.c('dataAnsweredNs');
    if (mode === 'plain-ref') {
      assert.ok(x.c('corruptBytesOnWire') > 4000, 'the mapped part of the page went out rewritten');
      assert.ok(x.c('responsesBeforeUnmap') > 0);
      assert.ok(first <= answered && answered < again);
      assert.is(x.r.counters['netfrontBroken'], true, 'netfront saw its end-access fail (XSA-396)');
      assert.is(x.c('guardFaults'), 1, "the world's guard would have refused the rewrite");
      assert.ok(x.trace.responsesBeforeUnmap > 0 && x.trace.endFailures > 0, 'visible in the trace');
    } else {
      assert.is(x.c('corruptBytesOnWire'), 0);
      assert.is(x.c('guardFaults'), 0);
      if (mode === 'map' || mode === 'hybrid') assert.ok(answered > again, 'the response waited for the retransmission');
      else assert.ok(answered < first, 'answered at once from a private copy');
    }
  });
}

test('nfs-retransmit: several writes in flight, other timing, every mode still as expected', () => {
  for (const mode of s.modes) {
    const x = run(s, mode, { writes: 4, delay: 30, rto: 10 }, 3);
    assert.ok(x.r.ok, `${mode}: ${failed(x.r)}`);
    assert.is(x.c('rewrites'), 4);
    assert.is(x.c('corruptBytesOnWire') > 0, mode === 'plain-ref');
  }
});

test('nfs-retransmit: without the race (rto above the delay) plain-ref corrupts nothing, and says the race is missing', () => {
  const x = run(s, 'plain-ref', { rto: 200 });
  assert.is(x.c('corruptBytesOnWire'), 0);
  assert.is(x.c('retransmitted'), 0);
  assert.not.ok(x.r.ok);
  assert.match(failed(x.r), /retransmitted while the first copy/);
});

test.run();
