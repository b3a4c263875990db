/**
 * A short soak in CI (the long one is `npm run soak`, test/hostile/support/soak/cli.ts): four netfront guests at full
 * rate with random strategies, taps, clones, forwarding and reconnects, beside a hostile guest that is
 * disabled, dies mid-stream and comes back; every step checks that each foreign mapping dom0 holds is one
 * netback accounts for, and the final audits are clean.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { soak } from './support/soak/soak.ts';

test('soak: good guests keep being served while a hostile one is disabled and dies; nothing leaked, every mapping accounted for', () => {
  const r = soak({ seed: 0x50a4, steps: 700, seconds: 300, goodGuests: 4 });
  assert.is(r.failure, null, r.failure ?? '');
  assert.equal(r.findings, []);
  assert.is(r.steps, 700);
  assert.is(r.goodDelivered, r.goodSent, 'every good packet reached the stack');
  assert.ok(r.goodDeliveredWhileHostileDown > 1000, 'served while the hostile guest was down');
  assert.ok(r.hostileDeaths >= 5 && r.hostileDisabled >= 5 && r.hostileSessions >= 5);
  assert.ok(r.clones > 100 && r.forwards > 100 && r.reconnects >= 1);
});

test.run();
