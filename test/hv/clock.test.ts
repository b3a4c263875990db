import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InvalidArgument } from '../../src/errors.ts';
import { ManualClock } from '../../src/hv/clock.ts';
import { throwsType } from '../support/assert.ts';

test('clock: timers fire in time order, ties in the order they were set, each at its own instant', () => {
  const c = new ManualClock();
  const log: string[] = [];
  c.setTimer(20, () => log.push(`b@${c.now()}`));
  c.setTimer(10, () => log.push(`a@${c.now()}`));
  c.setTimer(20, () => log.push(`c@${c.now()}`));
  c.advance(15);
  assert.equal(log, ['a@10']);
  assert.is(c.now(), 15);
  c.advance(5);
  assert.equal(log, ['a@10', 'b@20', 'c@20']);
});

test('clock: a cancelled timer never fires; a timer set from a timer fires in the same advance if due', () => {
  const c = new ManualClock();
  const log: number[] = [];
  const h = c.setTimer(5, () => log.push(5));
  c.cancel(h);
  c.setTimer(10, () => c.setTimer(10, () => log.push(c.now())));
  c.advance(30);
  assert.equal(log, [20]);
  assert.is(c.pendingTimers, 0);
});

test('clock: negative or non-finite delays are misuse', () => {
  const c = new ManualClock();
  throwsType(() => c.setTimer(-1, () => {}), InvalidArgument);
  throwsType(() => c.advance(Number.NaN), InvalidArgument);
});

test.run();
