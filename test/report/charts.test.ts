/** Benchmark charts: the specs carry the report's data, and render to SVG through vega headless. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { benchCharts, benchModelSpec, benchThroughputSpec } from '../../src/report/charts.ts';
import { specToSvg } from '../../src/report/vega.ts';
import type { BenchReport } from '../../src/sim/bench/harness.ts';

function report(crossover: number | null): BenchReport {
  const rec = (strategy: 'copy' | 'map', size: number, tap: boolean) => ({
    strategy, size, tap, pps: 1000, gbps: size * 8e-6, ratioToRing: 0.1, ratioToMemcpy: 0.1, modelNsPerPacket: 500, packets: 10,
    elapsedMs: 1, backendBusy: 0.5, guestBusy: 0.5,
  });
  return {
    tool: 'pvnet bench', quick: true,
    baselines: {
      ringMsgsPerSec: 1e7, memcpyBytesPerSec: 1e10, memcpyBytesPerSecBySize: { 64: 1e9, 65535: 1e10 }, date: '2026-01-01T00:00:00.000Z',
      machine: { cpus: 2, cpuModel: 'cpu', platform: 'Linux', node: 'v20', totalMemBytes: 1, loadAvg: 0 },
    },
    results: [rec('copy', 64, false), rec('copy', 65535, false), rec('map', 64, false), rec('map', 65535, false), rec('map', 64, true)],
    costParams: { hypercallNs: 1, mapNs: 1, unmapNs: 1, tlbFlushNs: 1, copyOpNs: 1, copyPinNs: 1, copyByteNs: 1, evtchnSendNs: 1 },
    modelCrossoverBytes: crossover, modelBreakEvenCopyByteNs: 0.17,
    model: [{ size: 64, strategy: 'copy', ns: 200 }, { size: 64, strategy: 'map', ns: 900 }, { size: 65535, strategy: 'copy', ns: 13000 }, { size: 65535, strategy: 'map', ns: 16000 }],
    targets: [], allocation: null,
  };
}

test('charts: the throughput spec plots each result of the chosen kind, the model spec each model point', () => {
  const r = report(null);
  const t = benchThroughputSpec(r) as unknown as { data: { values: unknown[] } };
  assert.is(t.data.values.length, 4);
  assert.is((benchThroughputSpec(r, true) as unknown as { data: { values: unknown[] } }).data.values.length, 1);
  const m = benchModelSpec(r) as unknown as { data: { values: { gbps: number }[] }; layer: unknown[] };
  assert.is(m.data.values.length, 4);
  assert.is(m.data.values[0]!.gbps, (64 * 8) / 200);
  assert.is(m.layer.length, 1, 'no crossover, no rule');
  assert.is((benchModelSpec(report(3000)) as unknown as { layer: unknown[] }).layer.length, 2);
  assert.equal(Object.keys(benchCharts(r)).sort(), ['bench-model.svg', 'bench-throughput-tap.svg', 'bench-throughput.svg']);
});

test('charts: every benchmark chart renders to an SVG document', async () => {
  for (const [name, spec] of Object.entries(benchCharts(report(3000)))) {
    const svg = await specToSvg(spec);
    assert.match(svg, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/, name);
    assert.match(svg, /<\/svg>$/, name);
  }
});

test.run();
