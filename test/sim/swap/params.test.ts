import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { initPerZoneWmarkMin, setupPerZoneWmarks } from '../../../src/mm/watermark.ts';
import {
  atomicFloor, defaultSwapParams, mainlineMinFreeKbytes, MODES, reserveDemand, SWAP_MODES,
} from '../../../src/sim/swap/params.ts';

test('params: the defaults are REFERENCE §12.2', () => {
  const p = defaultSwapParams();
  assert.is(p.totalPages, 16384);
  const marks = setupPerZoneWmarks(initPerZoneWmarkMin(p.totalPages * 4), p.totalPages);
  assert.equal(marks, { min: 256, low: 320, high: 384 });
  assert.is(atomicFloor(marks.min), 96);
  assert.is(marks.min >> 1, 128, 'throttle threshold');
  assert.equal([p.cpus, p.napiBudget, p.ringSize, p.maxInFlight], [2, 64, 256, 16]);
  assert.equal([p.rpcHdrBytes, p.replyBytes, p.serverLatency, p.rto], [200, 200, 3, 20]);
  assert.equal([p.floodFrames, p.floodBytes, p.floodRcvbuf, p.fragSize], [128, 1500, 32 << 20, 2048]);
  assert.equal([p.anonPerStep, p.targetPages, p.steps, p.watchdogWindow], [64, 4 * 16384, 20000, 200]);
});

test('params: the v20 reserve sizing (TX = M × 2 + 32, RX = CPUs × B, RPC from the slab estimate)', () => {
  const d = reserveDemand(defaultSwapParams(), 4);
  assert.equal(d, { tx: 64, rxPerCpu: 64, rx: 128, rpc: 4, total: 196 });
});

test('params: the admin-tuned min_free_kbytes puts the GFP_ATOMIC floor just over the demand', () => {
  const kb = mainlineMinFreeKbytes(196);
  const min = kb / 4;
  assert.ok(atomicFloor(min) >= 196);
  assert.ok(atomicFloor(min - 1) < 196);
  assert.is(kb, 2084);
});

test('params: five modes, with §12.3 letters and expectations', () => {
  assert.equal([...SWAP_MODES].sort(), ['groups', 'mainline', 'naive', 'nta', 'off']);
  assert.equal(SWAP_MODES.map((m) => MODES[m].letter), ['B', 'C', 'NTA', 'A', 'A′']);
  assert.equal(SWAP_MODES.filter((m) => MODES[m].expectDeadlock), ['off', 'naive']);
});

test.run();
