/**
 * Credit shaping of guest TX from the `rate` key (REFERENCE.md §5.6): whole packets charged up front, a
 * window of credit_usec, a timer that adds credit at its end, the 128 KiB burst floor.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NSEC_PER_MSEC } from '../../../src/hv/clock.ts';
import { xenNetParseRate } from '../../../src/drivers/netback/index.ts';
import { nbWorld, TestGuest, run, frame, teardown } from './support.ts';

test('netback: the rate key parses as "<bytes>,<usec>"; anything else is unlimited', () => {
  assert.equal(xenNetParseRate('10000,20000'), { bytes: 10000, usec: 20000 });
  for (const bad of [undefined, '', '10000', '10000,', ',5', '10000,20000,1', '0x10,5', '-1,5', '1 ,5']) {
    assert.equal(xenNetParseRate(bad), { bytes: Infinity, usec: 0 }, String(bad));
  }
});

test('netback: credit limits guest TX to credit_bytes per credit_usec window, in virtual time', () => {
  const w = nbWorld({ hold: false });
  const g = new TestGuest(w, { rate: '10000,100000' });
  g.connect();
  for (let i = 0; i < 10; i++) g.sendPacket(frame(3000, i), { push: false });
  g.pushTx();
  run(w, 1_000_000);
  assert.is(w.frames.length, 3, '9000 of 10000 bytes in the first window');
  const q = g.vif.queues[0]!;
  assert.ok(q.rateLimited);
  assert.ok(q.stats.creditStalls >= 1);
  run(w, 100 * NSEC_PER_MSEC);
  assert.is(w.frames.length, 6, 'one more window: 1000 left + 10000 new');
  run(w, 100 * NSEC_PER_MSEC);
  assert.is(w.frames.length, 10);
  assert.is(g.txResponses().length, 10);
  teardown(w, g);
});

test('netback: a packet larger than credit_bytes still goes (burst floor of 128 KiB)', () => {
  const w = nbWorld({ hold: false });
  const g = new TestGuest(w, { rate: '1000,10000' });
  g.connect();
  g.sendPacket(frame(9000, 1));
  run(w, 200 * NSEC_PER_MSEC);
  assert.is(w.frames.length, 1);
  teardown(w, g);
});

test('netback: the request held back for credit is not read again (the guest rewriting it changes nothing)', () => {
  const w = nbWorld({ hold: false });
  const g = new TestGuest(w, { rate: '5000,100000' });
  g.connect();
  g.sendPacket(frame(3000, 1));
  const p = g.sendPacket(frame(3000, 2));
  run(w, 1_000_000);
  assert.is(w.frames.length, 1);
  // Hostile: after netback has read slot p.start, shrink its size under 14.
  const tx = g.tx[0]!;
  tx.page.view.setUint16(tx.entries + (p.start & 255) * tx.entrySize + 10, 5, true);
  run(w, 150 * NSEC_PER_MSEC);
  assert.is(w.frames.length, 2, 'netback went on with its own copy of the request');
  assert.equal([...w.frames[1]!], [...frame(3000, 2)]);
  teardown(w, g);
});

test('netback: a rate change while the credit timer is pending fires it at once', () => {
  const w = nbWorld({ hold: false });
  const g = new TestGuest(w, { rate: '4000,1000000' });
  g.connect();
  g.sendPacket(frame(3000, 1));
  g.sendPacket(frame(3000, 2));
  run(w, 1_000_000);
  assert.is(w.frames.length, 1);
  w.t.hv.xs.write(0, 0, `${g.bePath}/rate`, '100000,1000000');
  run(w, 1_000_000);
  assert.is(w.frames.length, 2);
  teardown(w, g);
});

test.run();
