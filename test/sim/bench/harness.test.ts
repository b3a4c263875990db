/**
 * The benchmark harness on a tiny run: the report has every field, each ratio is what it says it divides,
 * the targets are the issue's, the model covers the size range. Well-formedness only: no number is judged.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runBench, targetChecks } from '../../../src/sim/bench/harness.ts';

test('harness: a tiny run yields a well-formed report with ratios to its own baselines', async () => {
  const r = await runBench({ quick: true, scale: 0.005, strategies: ['copy', 'map'], sizes: [64, 65535], tap: true, alloc: true, allocPackets: 200 });
  const json = JSON.parse(JSON.stringify(r));
  assert.is(json.tool, 'pvnet bench');
  const b = r.baselines;
  assert.ok(b.ringMsgsPerSec > 0 && Number.isFinite(b.ringMsgsPerSec));
  assert.ok(b.memcpyBytesPerSec > 0);
  assert.equal(Object.keys(b.memcpyBytesPerSecBySize).sort(), ['64', '65535']);
  assert.ok(!Number.isNaN(Date.parse(b.date)));
  assert.is(b.machine.cpus > 0, true);
  assert.is(r.results.length, 2 * 2 * 2);
  for (const x of r.results) {
    for (const k of ['pps', 'gbps', 'ratioToRing', 'ratioToMemcpy', 'modelNsPerPacket'] as const) {
      assert.ok(Number.isFinite(x[k]) && x[k] > 0, `${x.strategy} ${x.size} ${k}`);
    }
    assert.ok(Math.abs(x.ratioToRing - x.pps / b.ringMsgsPerSec) < 1e-9 * x.ratioToRing);
    assert.ok(Math.abs(x.ratioToMemcpy - (x.pps * x.size) / b.memcpyBytesPerSecBySize[String(x.size)]!) < 1e-9 * x.ratioToMemcpy);
    assert.ok(Math.abs(x.gbps - (x.pps * x.size * 8) / 1e9) < 1e-9 * x.gbps);
  }
  assert.is(r.modelCrossoverBytes, null, 'default parameters: no crossover');
  assert.ok(r.model.some((m) => m.size === 60) && r.model.some((m) => m.size === 65535));
  assert.equal(r.targets.map((t) => t.name), [
    'copy 64 B vs the bare ring', 'map 64 KiB vs copy 64 KiB', 'hybrid 64 KiB vs copy 64 KiB', 'copy 64 KiB vs memcpy',
    'steady-state heap growth', 'steady-state major GCs',
  ]);
  assert.is(r.targets[2]!.value, null, 'hybrid was not run');
  assert.is(r.allocation!.length, 2);
  for (const a of r.allocation!) assert.ok(a.guest.heapEnd > 0 && a.backend.heapEnd > 0);
});

test('harness: targets compare the measured values with the required ones', () => {
  const rec = (strategy: 'copy' | 'map' | 'hybrid', size: number, gbps: number, ratioToRing = 0, ratioToMemcpy = 0) => ({
    strategy, size, tap: false, pps: 1, gbps, ratioToRing, ratioToMemcpy, modelNsPerPacket: 1, packets: 1, elapsedMs: 1, backendBusy: 1, guestBusy: 1,
  });
  const t = targetChecks([rec('copy', 64, 1, 0.25), rec('copy', 65535, 10, 0, 0.5), rec('map', 65535, 25), rec('hybrid', 65535, 15)], null);
  assert.equal(t.map((x) => x.met), [true, true, false, false]);
  assert.is(t[1]!.value, 2.5);
});

test.run();
