import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Prng } from '../../../src/sim/prng.ts';
import { FloodSource } from '../../../src/sim/swap/flood.ts';
import { endWorld, smallWorld } from './fixtures.ts';

test('flood: nothing before t0; from t0 on, F frames a step of S_flood bytes to floodSock', () => {
  const w = smallWorld();
  const f = new FloodSource(10, 1500, 5, 0);
  const q = w.nic.queues[0]!;
  assert.is(f.arrive(4, w.nic, w.prng), 0);
  assert.is(f.arrive(5, w.nic, w.prng), 10);
  assert.is(q.filled, 10);
  assert.is(q.len[0], 1500);
  assert.is(f.stats.offered, 10);
  endWorld(w);
});

test('flood: the ring takes what it has buffers for; the rest is lost in hardware without work', () => {
  const w = smallWorld();
  const q = w.nic.queues[0]!;
  const f = new FloodSource(100 * q.size, 1500, 0, 0);
  const dropped = w.nic.stats.rxDropped;
  assert.is(f.arrive(0, w.nic, w.prng), q.size);
  assert.is(f.stats.hwDropped, 99 * q.size);
  assert.is(q.missed, 99 * q.size);
  assert.is(w.nic.stats.rxDropped - dropped, 99 * q.size);
  endWorld(w);
});

test('flood: one frame in nonIpEvery is not IP, placed by the seed; the same seed places them alike', () => {
  const w = smallWorld();
  const f = new FloodSource(32, 1500, 0, 8);
  f.arrive(0, w.nic, new Prng(3));
  assert.is(f.stats.nonIp, 4);
  const q = w.nic.queues[0]!;
  const types: number[] = [];
  const mem = w.stack.env.mem.bytes;
  for (let i = 0; i < 32; i++) types.push((mem[q.frame[i]! * 4096 + q.off[i]! + 64 + 12]! << 8) | mem[q.frame[i]! * 4096 + q.off[i]! + 64 + 13]!);
  assert.is(types.filter((t) => t !== 0x0800).length, 4);
  const w2 = smallWorld();
  const f2 = new FloodSource(32, 1500, 0, 8);
  f2.arrive(0, w2.nic, new Prng(3));
  const q2 = w2.nic.queues[0]!;
  const mem2 = w2.stack.env.mem.bytes;
  for (let i = 0; i < 32; i++) assert.is((mem2[q2.frame[i]! * 4096 + q2.off[i]! + 64 + 12]! << 8) | mem2[q2.frame[i]! * 4096 + q2.off[i]! + 64 + 13]!, types[i]);
  endWorld(w);
  endWorld(w2);
});

test.run();
