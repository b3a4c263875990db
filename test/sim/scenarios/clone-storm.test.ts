/**
 * clone-storm: two taps and the bridge clone every packet, a slow tap holds its clones. In map and hybrid
 * mode the grants stay mapped (GTF_reading set) until the last clone goes and only then is the guest
 * answered; zerocopy copies on the first clone and answers early; copy answers at once. Every mode: no leak,
 * no unmap while a reference remains (from the counters and from the trace).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cloneStormScenario as s } from '../../../src/sim/scenarios/clone-storm.ts';
import { assertLifecycle, run } from './support.ts';

/** Times of the events of one kind per page, from the trace. */
function times(events: readonly { t: number; kind: string; page?: string }[], kind: string): Map<string, number[]> {
  const m = new Map<string, number[]>();
  for (const e of events) if (e.kind === kind && e.page !== undefined) (m.get(e.page) ?? m.set(e.page, []).get(e.page)!).push(e.t);
  return m;
}

for (const mode of s.modes) {
  test(`clone-storm (${mode}): the slow tap's clones decide when the guest is answered`, () => {
    const x = run(s, mode);
    assertLifecycle(x, mode);
    const n = x.c('packets');
    assert.is(n, 30);
    assert.ok(x.c('fastClones') >= n && x.c('slowClones') > 0 && x.c('bridgeClones') > 0, 'clones everywhere');
    const released = x.events.filter((e) => e.kind === 'tap-released');
    assert.is(released.length, n);
    if (mode === 'map' || mode === 'hybrid') {
      assert.is(x.c('answeredBeforeTapRelease'), 0);
      assert.ok(x.c('slotChecks') > 0);
      assert.is(x.c('pinnedWhileHeld'), x.c('slotChecks'), 'GTF_reading set at every check while held');
      assert.ok(x.c('maxGrantsMapped') > 100, 'the storm keeps many grants mapped at once');
      // From the trace: each page's unmap and answer come after the tap released the packet holding it.
      const unmapped = times(x.events, 'unmapped');
      const answered = times(x.events, 'answered');
      for (const e of released) {
        for (const page of e['pages'] as string[]) {
          const u = unmapped.get(page);
          if (u === undefined) continue; // a header slot copied whole (hybrid)
          assert.ok(u.some((t) => t >= e.t), `${page} unmapped after the release at ${e.t}`);
          assert.ok(answered.get(page)!.some((t) => t >= e.t), `${page} answered after the release`);
        }
      }
    } else {
      assert.is(x.c('answeredBeforeTapRelease'), n, 'every packet answered before the slow tap let go');
      assert.is(x.c('slotChecks'), 0);
      if (mode === 'zerocopy') assert.ok(x.c('maxGrantsMapped') < 40, 'zerocopy released the grants early');
    }
  });
}

test('clone-storm: a longer hold and more packets keep more grants mapped in map mode only', () => {
  const map = run(s, 'map', { packets: 80, hold: 10000, gap: 20 });
  const zc = run(s, 'zerocopy', { packets: 80, hold: 10000, gap: 20 });
  assert.ok(map.r.ok && zc.r.ok);
  assert.ok(map.c('maxGrantsMapped') > 4 * zc.c('maxGrantsMapped'));
  assert.ok(map.c('virtualNs') > 10_000_000);
});

test('clone-storm: the checks fail when responses come before the last clone (plain-ref, not offered)', () => {
  const x = run(s, 'plain-ref');
  assert.not.ok(x.r.ok);
  const bad = x.r.checks.filter((c) => !c.ok).map((c) => c.name);
  assert.ok(bad.includes('no response before the tap released its clones'), bad.join(', '));
  assert.ok(x.c('responsesBeforeUnmap') > 0);
  assert.ok(x.trace.responsesBeforeUnmap > 0, 'the trace shows it too');
});

test.run();
