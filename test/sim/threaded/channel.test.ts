/** The SharedArrayBuffer channels of the worker runtime, exercised from one thread. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Doorbell, MessageQueue, RecordQueue } from '../../../src/sim/threaded/channel.ts';
import { InvalidArgument } from '../../../src/errors.ts';
import { throwsType } from '../../support/assert.ts';

test('channel: a record queue keeps order across its wrap, refuses a push when full, pops nothing when empty', () => {
  const q = RecordQueue.create(4);
  const r = new Int32Array(4);
  assert.not.ok(q.pop(r));
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < 4; i++) assert.ok(q.push(round, i, -i, 7));
    assert.not.ok(q.push(9, 9, 9, 9), 'full');
    assert.is(q.length, 4);
    for (let i = 0; i < 4; i++) {
      assert.ok(q.pop(r));
      assert.equal([...r], [round, i, -i, 7]);
    }
    assert.is(q.length, 0);
  }
});

test('channel: a second view of the same buffer sees what the first pushed (the other thread\'s end)', () => {
  const a = RecordQueue.create(8);
  const b = new RecordQueue(a.sab);
  a.push(1, 2, 3, 4);
  const r = new Int32Array(4);
  assert.ok(b.pop(r));
  assert.equal([...r], [1, 2, 3, 4]);
  assert.not.ok(a.pop(r));
});

test('channel: a record queue capacity must be a power of two', () => {
  throwsType(() => RecordQueue.create(6), InvalidArgument);
});

test('channel: messages arrive whole and in order, across the slots\' wrap', () => {
  const q = MessageQueue.create(2);
  const other = new MessageQueue(q.parts);
  for (let i = 0; i < 5; i++) {
    assert.ok(q.push({ path: `/local/domain/${i}`, token: 't', watched: 'x' }));
    assert.ok(q.push({ n: i }));
    assert.not.ok(q.push({ n: -1 }), 'full');
    assert.equal(other.pop(), { path: `/local/domain/${i}`, token: 't', watched: 'x' });
    assert.equal(other.pop(), { n: i });
    assert.is(other.pop(), undefined);
  }
});

test('channel: a doorbell rung after its sequence was read makes the sleep return at once', () => {
  const bell = new Doorbell();
  const seq = bell.seq();
  new Doorbell(bell.sab).ring();
  const t0 = performance.now();
  bell.sleep(seq, 5_000);
  assert.ok(performance.now() - t0 < 4_000, 'no wake-up was lost');
  assert.is.not(bell.seq(), seq);
});

test.run();
