import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Watchdog, type WatchedSwapDevice } from '../../../src/sim/swap/watchdog.ts';

function dev(lastCompletion: number, writesInFlight: number, queued = 0): WatchedSwapDevice {
  return { lastCompletion, writesInFlight, queue: { count: queued } };
}

test('watchdog: fires after W steps with writes in flight and no completion, once', () => {
  const wd = new Watchdog(10);
  for (let t = 0; t < 10; t++) assert.not.ok(wd.check(t, dev(0, 16), 96));
  assert.ok(wd.check(10, dev(0, 16, 128), 96));
  assert.is(wd.firedAt, 10);
  assert.match(wd.detail, /no swap completion for 10 steps .* 16 request\(s\) in flight and 128 queued; 96 pages free/);
  assert.not.ok(wd.check(11, dev(0, 16), 96), 'reported once');
});

test('watchdog: a completion inside every window keeps it quiet', () => {
  const wd = new Watchdog(10);
  for (let t = 0; t < 100; t++) assert.not.ok(wd.check(t, dev(t - (t % 9), 16), 500));
  assert.is(wd.longestStall, 8);
});

test('watchdog: nothing in flight is not a stall (an idle swap device)', () => {
  const wd = new Watchdog(10);
  for (let t = 0; t < 100; t++) assert.not.ok(wd.check(t, dev(0, 0, 0), 500));
  assert.is(wd.longestStall, 0);
});

test.run();
