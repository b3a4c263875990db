/** The wall-driven clock of the worker runtime: timers run in due order once due, and nextDue says when. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WallClock, epochMs } from '../../../src/sim/threaded/wall-clock.ts';

test('wall clock: a timer runs at the first run() after it is due, timers in due order, ties in setting order', () => {
  const c = new WallClock();
  const order: string[] = [];
  c.setTimer(2_000_000, () => order.push('2ms'));
  c.setTimer(0, () => order.push('now-a'));
  c.setTimer(0, () => order.push('now-b'));
  const h = c.setTimer(1_000_000, () => order.push('cancelled'));
  c.cancel(h);
  assert.ok(c.nextDue() <= c.now(), 'a timer is due now');
  c.run();
  assert.equal(order, ['now-a', 'now-b']);
  const until = epochMs() + 3;
  while (epochMs() < until);
  c.run();
  assert.equal(order, ['now-a', 'now-b', '2ms']);
  assert.is(c.nextDue(), Infinity);
});

test('wall clock: two clocks on one origin read the same time', () => {
  const origin = epochMs();
  const a = new WallClock(origin);
  const b = new WallClock(origin);
  a.run();
  b.run();
  assert.ok(Math.abs(a.now() - b.now()) < 50_000_000);
  assert.ok(a.now() >= 0);
});

test.run();
