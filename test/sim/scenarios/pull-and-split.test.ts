/**
 * pull-and-split: dom0 pulls headers into the head, splits datagrams and segments GSO packets, holding each
 * piece for its own time. Every payload byte arrives once and intact; the per-frag destructors let each slot
 * go with its own last reference (map, hybrid), mainline's completion waits for the whole packet (zerocopy).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { pullAndSplitScenario as s } from '../../../src/sim/scenarios/pull-and-split.ts';
import { assertLifecycle, failed, run } from './support.ts';

for (const mode of s.modes) {
  test(`pull-and-split (${mode}): every piece carries the page references; every byte arrives once`, () => {
    const x = run(s, mode);
    assertLifecycle(x, mode);
    assert.is(x.c('payloadOk'), x.c('payloadSent'));
    assert.is(x.c('payloadBad'), 0);
    assert.ok(x.c('splits') > 0 && x.c('segments') > x.c('segmented') && x.c('segmented') > 0);
    assert.ok(x.c('sinkBytes') > 0, 'the split tails were held and checked');
    if (mode === 'copy') assert.is(x.c('pulls'), 0, 'a copied packet is linear');
    else assert.ok(x.c('pulls') > 0);
    if (mode === 'map') assert.ok(x.c('fragsEaten') > 0, 'a pull ate a whole mapped frag');
    // Per-slot completion: in map and hybrid a slot is answered as soon as its last piece goes, before the
    // rest of its packet; mainline's per-packet completion answers a packet's slots together.
    if (mode === 'map' || mode === 'hybrid') assert.ok(x.c('slotsAnsweredBeforeTheirPacket') > 0);
    else assert.is(x.c('slotsAnsweredBeforeTheirPacket'), 0);
  });
}

test('pull-and-split: more packets, deeper pulls, other seeds, every mode', () => {
  for (const mode of s.modes) {
    for (const seed of [1, 2]) {
      const x = run(s, mode, { packets: 60, pull: 9000, hold: 2000 }, seed);
      assert.ok(x.r.ok, `${mode}/${seed}: ${failed(x.r)}`);
      assert.is(x.trace.earlyUnmaps, 0);
    }
  }
});

test('pull-and-split: deterministic', () => {
  assert.equal(run(s, 'map', {}, 5).events, run(s, 'map', {}, 5).events);
});

test.run();
