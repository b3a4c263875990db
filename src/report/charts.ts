/**
 * The benchmark's charts (`pvnet bench --svg DIR`), as Vega-Lite specs built from a BenchReport: measured
 * throughput against frame size per strategy, and the cost model's throughput ceiling against frame size per
 * strategy with the copy/map crossover. Pure builders: report/vega.ts's `specToSvg` renders them (the one
 * headless rendering path every report shares).
 */

import type { TopLevelSpec } from 'vega-lite';
import type { BenchReport } from '../sim/bench/harness.ts';

const STRATEGY_ORDER = ['copy', 'map', 'hybrid', 'zerocopy'];
const sizeAxis = () => ({
  field: 'size', type: 'quantitative' as const, title: 'frame size (bytes, log scale)',
  scale: { type: 'log' as const, base: 2, domain: [48, 65535 * 1.25] },
  axis: { values: [64, 256, 1024, 4096, 16384, 65536], labelExpr: "datum.value >= 1024 ? datum.value / 1024 + ' KiB' : datum.value + ' B'" },
});
const strategyColor = () => ({ field: 'strategy', type: 'nominal' as const, title: 'strategy', sort: STRATEGY_ORDER });

function subtitle(r: BenchReport): string {
  const m = r.baselines.machine;
  return `${r.baselines.date.slice(0, 10)} · ${m.cpus} × ${m.cpuModel} · node ${m.node}${r.quick ? ' · --quick' : ''}`;
}

/** Measured: payload throughput of the threaded runtime against frame size, one line per strategy. */
export function benchThroughputSpec(r: BenchReport, tap = false): TopLevelSpec {
  const values = r.results.filter((x) => x.tap === tap).map((x) => ({ strategy: x.strategy, size: x.size, gbps: x.gbps, pps: x.pps }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: `pvnet guest TX, measured (threaded runtime${tap ? ', tap cloning every packet' : ''})`, subtitle: subtitle(r) },
    width: 560,
    height: 320,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: sizeAxis(),
      y: { field: 'gbps', type: 'quantitative', title: 'Gbit/s of frame bytes', scale: { type: 'log' } },
      color: strategyColor(),
      tooltip: [{ field: 'strategy' }, { field: 'size' }, { field: 'gbps', format: '.2f' }, { field: 'pps', format: ',.0f' }],
    },
  };
}

/**
 * Modelled: the throughput the cost model allows when hypervisor work is the only cost (bytes ×
 * 8 / modelled ns), against frame size, one line per strategy; the crossover, if any, as a rule.
 */
export function benchModelSpec(r: BenchReport): TopLevelSpec {
  const values = r.model.map((x) => ({ strategy: x.strategy, size: x.size, gbps: (x.size * 8) / x.ns, ns: x.ns }));
  const cross = r.modelCrossoverBytes;
  const note = cross === null
    ? `map never cheaper than copy up to 64 KiB (it would be above ${r.modelBreakEvenCopyByteNs.toFixed(3)} ns/B of copy)`
    : `map cheaper than copy from ${cross} B (gray rule)`;
  const lines = {
    mark: { type: 'line', strokeWidth: 2 },
    encoding: {
      x: sizeAxis(),
      y: { field: 'gbps', type: 'quantitative', title: 'Gbit/s if hypervisor work were the only cost', scale: { type: 'log' } },
      color: strategyColor(),
      strokeDash: { ...strategyColor() },
      tooltip: [{ field: 'strategy' }, { field: 'size' }, { field: 'ns', format: ',.0f', title: 'modelled ns / packet' }],
    },
  };
  const rule = cross === null ? [] : [{
    data: { values: [{ size: cross }] },
    mark: { type: 'rule', color: 'gray' },
    encoding: { x: { field: 'size', type: 'quantitative' } },
  }];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: 'pvnet guest TX, modelled hypervisor cost (hv/cost.ts)', subtitle: [subtitle(r), note, 'hybrid and zerocopy do the same hypervisor work (one dashed line over the other)'] },
    width: 560,
    height: 320,
    data: { values },
    layer: [lines, ...rule],
  } as TopLevelSpec;
}

/** Every chart of a benchmark report, by file name. */
export function benchCharts(r: BenchReport): Record<string, TopLevelSpec> {
  const out: Record<string, TopLevelSpec> = {
    'bench-throughput.svg': benchThroughputSpec(r, false),
    'bench-model.svg': benchModelSpec(r),
  };
  if (r.results.some((x) => x.tap)) out['bench-throughput-tap.svg'] = benchThroughputSpec(r, true);
  return out;
}
