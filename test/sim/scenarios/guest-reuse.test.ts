/**
 * guest-reuse: the guest reuses each buffer page the moment its grant ends; the world's lent-page guard
 * faults a store into a page that is still granted or mapped. Correct runs: 0 faults, every datagram intact.
 * earlyReuse=1: every early store faults (right after posting, and while netback maps the page).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { guestReuseScenario as s } from '../../../src/sim/scenarios/guest-reuse.ts';
import { assertLifecycle, run } from './support.ts';

for (const mode of s.modes) {
  test(`guest-reuse (${mode}): pages reused as soon as they may be, no fault, every datagram intact`, () => {
    const x = run(s, mode);
    assertLifecycle(x, mode);
    assert.is(x.c('faults'), 0);
    assert.is(x.c('intact'), 40);
    assert.is(x.c('reuses'), 36);
    // A page is lent until the tap lets go of its clone in the map strategies, a few µs otherwise.
    if (mode === 'map') assert.ok(x.c('lentNsMean') >= 300_000);
    if (mode === 'copy' || mode === 'zerocopy') assert.ok(x.c('lentNsMax') < 10_000);
    // Reuse happened right after the end-access: from the trace, the application page of each datagram (its
    // second slot; the first is the head) is requested again at the very instant its last use was ended.
    const firstSeen = new Set<number>();
    const appPages = new Set<string>();
    for (const e of x.events) {
      if (e.kind !== 'requested') continue;
      if (firstSeen.has(e['tag'] as number)) appPages.add(e.page!);
      else firstSeen.add(e['tag'] as number);
    }
    assert.is(appPages.size, 4);
    const ended = new Map<string, number>();
    let checked = 0;
    for (const e of x.events) {
      if (!appPages.has(e.page!)) continue;
      if (e.kind === 'ended' && e['ok'] === true) ended.set(e.page!, e.t);
      if (e.kind === 'requested' && ended.has(e.page!)) {
        assert.is(e.t, ended.get(e.page!), `${e.page} reused at its end-access`);
        ended.delete(e.page!);
        checked++;
      }
    }
    assert.is(checked, 36);
  });

  test(`guest-reuse (${mode}): earlyReuse=1, every early store faults and nothing arrives damaged`, () => {
    const x = run(s, mode, { earlyReuse: 1 });
    assert.ok(x.r.ok);
    assert.ok(x.c('earlyAttempts') >= 40);
    assert.is(x.c('faults'), x.c('earlyAttempts'));
    assert.is(x.c('intact'), 40);
    if (mode === 'copy') assert.is(x.c('faultsWhileMapped'), 0);
    else assert.ok(x.c('faultsWhileMapped') > 0, 'a store while netback maps the page faults');
    assert.is(x.events.filter((e) => e.kind === 'fault').length, x.c('faults'));
  });
}

test('guest-reuse: one page, many datagrams, long hold: strictly serial reuse', () => {
  const x = run(s, 'hybrid', { pages: 1, packets: 30, hold: 1000 });
  assert.ok(x.r.ok);
  assert.is(x.c('reuses'), 29);
  assert.ok(x.c('virtualNs') > 25 * 1_000_000 * 0.9, 'each reuse waited for the tap (hybrid maps the payload)');
});

test.run();
