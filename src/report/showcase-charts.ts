/**
 * The showcase's charts, as Vega-Lite specs built from ShowcaseResults (pure; charts.ts renders them):
 * modelled hypervisor cost and measured wall time per frame against frame size, one line per strategy, and
 * a lifecycle timeline per traced strategy (timeline.ts).
 */

import type { TopLevelSpec } from 'vega-lite';
import type { ShowcaseResults } from './showcase.ts';
import { timelineSpec } from './timeline.ts';

const STRATEGY_ORDER = ['copy', 'map', 'hybrid', 'zerocopy'];

const sizeAxis = () => ({
  field: 'size', type: 'quantitative' as const, title: 'frame size (bytes, log scale)',
  scale: { type: 'log' as const, base: 2, domain: [48, 65535 * 1.25] },
  axis: { values: [64, 256, 1024, 4096, 16384, 65536], labelExpr: "datum.value >= 1024 ? datum.value / 1024 + ' KiB' : datum.value + ' B'" },
});

function perSizeSpec(r: ShowcaseResults, title: string, subtitle: string[], field: string, yTitle: string, values: Record<string, unknown>[]): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: title, subtitle },
    width: 520,
    height: 280,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: sizeAxis(),
      y: { field, type: 'quantitative', title: yTitle, scale: { type: 'log', nice: false } },
      color: { field: 'strategy', type: 'nominal', title: 'strategy', sort: STRATEGY_ORDER },
      strokeDash: { field: 'strategy', type: 'nominal', title: 'strategy', sort: STRATEGY_ORDER },
      tooltip: [{ field: 'strategy' }, { field: 'size' }, { field, format: ',.2f' }],
    },
    config: { legend: { orient: 'right' } },
  } as TopLevelSpec;
}

/** Modelled hypervisor ns per frame, by size and strategy. */
export function costSpec(r: ShowcaseResults): TopLevelSpec {
  const values = r.workload.bySize.map((x) => ({ strategy: x.strategy, size: x.size, ns: x.modelledNsPerPacket / 1000 }));
  return perSizeSpec(r, 'Modelled hypervisor cost per frame (hv/cost.ts)', [
    `mixed workload, ${r.workload.perSize} frames per size, seed ${r.seed}: grant maps, unmaps, TLB flushes, grant copies (TX and RX), events`,
    'the model\'s defaults are estimates; the same seed gives the same numbers everywhere',
  ], 'ns', 'modelled µs per frame (log scale)', values);
}

/** Measured wall time per frame, by size and strategy. */
export function wallSpec(r: ShowcaseResults): TopLevelSpec {
  const values = r.workload.bySize.map((x) => ({ strategy: x.strategy, size: x.size, us: (x.wallMs * 1000) / x.packets }));
  return perSizeSpec(r, 'Measured emulator wall time per frame', [
    `the same runs, timed with performance.now() on this machine (single thread, after a warm-up run)`,
    'measured, not modelled: noisy at small sizes (GC, JIT); see pvnet bench for throughput',
  ], 'us', 'wall µs per frame (log scale)', values);
}

/** Every chart of a showcase, by file name. */
export function showcaseCharts(r: ShowcaseResults): Record<string, TopLevelSpec> {
  const out: Record<string, TopLevelSpec> = {
    'strategy-cost.svg': costSpec(r),
    'strategy-wall.svg': wallSpec(r),
  };
  for (const t of r.timelines) {
    out[`timeline-${t.strategy}.svg`] = timelineSpec(t.events, {
      title: `Lifecycle of the guest pages, clone-storm, ${t.strategy} (3 packets, tap hold 20 µs, seed ${r.seed})`,
      subtitle: t.strategy === 'zerocopy'
        ? 'zerocopy copies the frags aside when the tap clones, completes at once: the tap holds a copy, not the guest page'
        : 'a tap clone holds each packet (black bar): the grant stays mapped until the last clone is freed, then unmap, then answer',
    });
  }
  return out;
}
