/**
 * tx-basic: every frame size a vif carries, linear and paged, with and without GSO, guest to guest through
 * netback and the bridge, in every TX strategy: every byte arrives, and the lifecycle invariants hold.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { txBasicScenario as s } from '../../../src/sim/scenarios/tx-basic.ts';
import { assertLifecycle, failed, run } from './support.ts';

for (const mode of s.modes) {
  test(`tx-basic (${mode}): 60 B .. 64 KiB with and without GSO arrive byte for byte; answered once, nothing left`, () => {
    const x = run(s, mode);
    assertLifecycle(x, mode);
    assert.is(x.c('bytesReceived'), x.c('bytes'));
    assert.is(x.c('intact'), x.c('packets'));
    assert.is(x.c('framesReceived'), x.c('packets'));
    assert.ok(x.c('gsoPackets') >= 11, 'every fixed size above one segment also went as GSO');
    assert.is(x.c('dropped'), 0);
    assert.is(x.c('responses'), x.trace.requests);
    // What each strategy does with a slot: copy copies every one, map maps every one, hybrid and zerocopy copy
    // the header (one op per packet at least) and map the rest.
    if (mode === 'copy') assert.is(x.c('grantCopies'), x.c('responses'));
    if (mode === 'map') assert.is(x.c('grantMaps'), x.c('responses'));
    if (mode === 'hybrid' || mode === 'zerocopy') {
      assert.ok(x.c('grantCopies') >= x.c('packets'));
      assert.ok(x.c('grantMaps') < x.c('responses'));
    }
    // The largest frame (64 KiB, 17 slots) went through: some packet used the 17-frag maximum.
    const slots = new Map<number, number>();
    for (const e of x.events) if (e.kind === 'requested') slots.set(e['tag'] as number, (slots.get(e['tag'] as number) ?? 0) + 1);
    assert.ok(Math.max(...slots.values()) >= 17);
  });
}

test('tx-basic: a larger seeded mix (all GSO where possible) in every mode, other seeds', () => {
  for (const mode of s.modes) {
    for (const seed of [1, 2]) {
      const x = run(s, mode, { packets: 60, gso: 100 }, seed);
      assert.ok(x.r.ok, `${mode}/${seed}: ${failed(x.r)}`);
      assert.is(x.c('intact'), x.c('packets'));
    }
  }
});

test('tx-basic: the same seed gives the same result and the same trace', () => {
  const a = run(s, 'hybrid', {}, 11);
  const b = run(s, 'hybrid', {}, 11);
  assert.equal(a.r, b.r);
  assert.equal(a.events, b.events);
  const c = run(s, 'hybrid', {}, 12);
  assert.not.equal(c.r.counters['bytes'], a.r.counters['bytes'], 'another seed, other sizes');
});

test.run();
