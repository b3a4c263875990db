import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Prng } from '../../src/sim/prng.ts';
import { DropInjector, NullDevice } from '../../src/net/index.ts';
import { end, frameBytes, netWorld, rxSkb } from './fixtures.ts';

function run(seed: number, n: number): { pattern: boolean[]; inj: DropInjector; w: ReturnType<typeof netWorld> } {
  const w = netWorld();
  const lower = new NullDevice('eth0', 2);
  const inj = new DropInjector(lower, new Prng(seed), 0.3);
  const pattern: boolean[] = [];
  for (let i = 0; i < n; i++) {
    const before = lower.stats.txPackets;
    inj.ndoStartXmit(rxSkb(w.a.stack, frameBytes()));
    pattern.push(lower.stats.txPackets === before);
  }
  return { pattern, inj, w };
}

test('fault: the drop injector drops at its seeded rate, the same packets for the same seed, and frees what it drops', () => {
  const a = run(7, 200);
  const b = run(7, 200);
  assert.equal(a.pattern, b.pattern);
  assert.is(a.inj.dropped, a.pattern.filter(Boolean).length);
  assert.ok(a.inj.dropped > 30 && a.inj.dropped < 90);
  end(a.w);
  end(b.w);
});

test('fault: named transmit indices are dropped exactly; the wrapper shows the lower device', () => {
  const w = netWorld();
  const lower = new NullDevice('eth7', 9, 0x1234);
  const inj = new DropInjector(lower);
  inj.dropIndices.add(1);
  for (let i = 0; i < 3; i++) inj.ndoStartXmit(rxSkb(w.a.stack, frameBytes()));
  assert.is(lower.stats.txPackets, 2);
  assert.is(inj.dropped, 1);
  assert.is(inj.name, 'eth7');
  assert.is(inj.mac, 0x1234);
  inj.up = false;
  assert.not.ok(lower.up);
  end(w);
});

test.run();
