import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { Scheduler } from '../../src/sim/scheduler.ts';
import { InvalidArgument } from '../../src/errors.ts';
import { throwsType } from '../support/assert.ts';

test('scheduler: events run in due-time order, ties in scheduling order (any schedule)', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.boolean()), { maxLength: 300 }), (plan) => {
      const s = new Scheduler();
      const ran: number[] = [];
      const handles: number[] = [];
      plan.forEach(([t], i) => handles.push(s.at(t, () => ran.push(i))));
      plan.forEach(([, cancel], i) => cancel && s.cancel(handles[i]!));
      s.runUntilIdle();
      const expected = plan
        .map(([t, cancel], i) => ({ t, i, cancel }))
        .filter((e) => !e.cancel)
        .sort((a, b) => a.t - b.t || a.i - b.i)
        .map((e) => e.i);
      assert.equal(ran, expected);
      assert.is(s.pending, 0);
    }),
    { numRuns: 300 },
  );
});

test('scheduler: the clock advances to each event and events scheduled from events keep order', () => {
  const s = new Scheduler();
  const seen: string[] = [];
  s.setTimer(100, () => {
    seen.push(`a@${s.now()}`);
    s.defer(() => seen.push(`c@${s.now()}`));
    s.setTimer(5, () => seen.push(`d@${s.now()}`));
  });
  s.setTimer(100, () => seen.push(`b@${s.now()}`));
  s.runUntilIdle();
  assert.equal(seen, ['a@100', 'b@100', 'c@100', 'd@105']);
});

test('scheduler: runUntil stops at the horizon and moves the clock there', () => {
  const s = new Scheduler();
  let n = 0;
  s.at(10, () => n++);
  s.at(30, () => n++);
  assert.is(s.runUntil(20), 1);
  assert.is(s.now(), 20);
  assert.is(n, 1);
});

test('scheduler: scheduling in the past or with a negative delay is a typed error', () => {
  const s = new Scheduler();
  s.runUntil(50);
  throwsType(() => s.at(10, () => {}), InvalidArgument);
  throwsType(() => s.setTimer(-1, () => {}), InvalidArgument);
});

test.run();
