/**
 * `pvnet bench [--quick] [--json FILE] [--svg DIR] [--alloc] [--cost NAME=NS ...]`: the threaded TX
 * benchmark (sim/bench/harness.ts) with its baselines, cost model and target checks, printed as a Markdown
 * table; optionally the report as JSON and the charts as SVG (specs in report/charts.ts, rendered by
 * report/vega.ts). The harness and the charts are imported when the command runs, so other commands do not
 * load vega.
 */

import { accessSync, constants, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { DEFAULT_COST_PARAMS, type CostParams } from '../hv/cost.ts';
import type { BenchReport } from '../sim/bench/harness.ts';
import { makeOutputDir, parseCommandArgs, UsageError, type Command } from './common.ts';

const USAGE = [
  'usage: pvnet bench [--quick] [--json FILE] [--svg DIR] [--alloc] [--cost NAME=NS ...]',
  '',
  'Measures guest TX through the real netfront and netback with the guest and dom0 in two worker threads,',
  'for every strategy (copy, map, hybrid, zerocopy) at 64 B .. 64 KiB, beside two baselines measured in the',
  'same run (a bare two-thread SharedArrayBuffer ring of 12-byte messages, and memcpy of the same bytes) and',
  'the modelled hypervisor cost per packet (hv/cost.ts), with the modelled copy/map crossover.',
  '',
  'options:',
  '  --quick         fewer packets, one repetition, no tap runs, no allocation check (≤ 60 s on 2 cores)',
  '  --json FILE     write the report as JSON',
  '  --svg DIR       write the charts as SVG into DIR (created if missing)',
  '  --alloc         run the allocation check (1 000 000 packets per strategy) even with --quick',
  '  --cost NAME=NS  override a cost-model parameter (repeatable), e.g. --cost copyByteNs=0.3',
  '  -h, --help',
].join('\n');

/** Fail now, not after a minute of benchmarking: FILE's directory must exist and be writable. */
function checkJsonPath(file: string): string {
  const path = resolve(file);
  try {
    if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`--json ${file}: is a directory`);
    accessSync(dirname(path), constants.W_OK);
    if (statSync(path, { throwIfNoEntry: false }) !== undefined) accessSync(path, constants.W_OK);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`--json ${file}: cannot write there (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return path;
}

/** DIR is created if missing, and must be a writable directory. */
function checkSvgDir(dir: string): string {
  const path = resolve(dir);
  try {
    makeOutputDir(path);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`--svg ${dir}: cannot write there (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return path;
}

function parseCost(items: readonly string[]): Partial<CostParams> {
  const out: Record<string, number> = {};
  for (const item of items) {
    const m = /^([A-Za-z]+)=([0-9]*\.?[0-9]+)$/.exec(item);
    if (m === null) throw new UsageError(`--cost takes NAME=NS, got '${item}'`);
    if (!Object.hasOwn(DEFAULT_COST_PARAMS, m[1]!)) {
      throw new UsageError(`--cost: no parameter '${m[1]}' (one of ${Object.keys(DEFAULT_COST_PARAMS).join(', ')})`);
    }
    out[m[1]!] = Number(m[2]);
  }
  return out as Partial<CostParams>;
}

const fmt = (v: number, digits = 2) => v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const int = (v: number) => Math.round(v).toLocaleString('en-US');

/** A ratio with three decimals; a count or a byte figure as an integer. */
function targetValue(v: number | null): string {
  if (v === null) return 'not measured';
  return Number.isInteger(v) ? int(v) : fmt(v, 3);
}

/** The report as Markdown: the results table, the baselines, the model, the targets. */
export function formatBenchReport(r: BenchReport): string {
  const b = r.baselines;
  const lines = [
    `pvnet bench${r.quick ? ' --quick' : ''} · ${b.date} · ${b.machine.cpus} × ${b.machine.cpuModel} · ${b.machine.platform} · node ${b.machine.node} · load ${fmt(b.machine.loadAvg)}`,
    '',
    '| strategy | size (B) | tap | pps | Gbit/s | × ring | × memcpy | model ns/pkt | busy dom0 / guest |',
    '|---|---:|:-:|---:|---:|---:|---:|---:|---:|',
    ...r.results.map((x) =>
      `| ${x.strategy} | ${x.size} | ${x.tap ? 'yes' : ''} | ${int(x.pps)} | ${fmt(x.gbps)} | ${fmt(x.ratioToRing, 4)} | ${fmt(x.ratioToMemcpy, 3)} | ${int(x.modelNsPerPacket)} | ${Math.round(x.backendBusy * 100)}% / ${Math.round(x.guestBusy * 100)}% |`),
    '',
    `baselines (same run): bare ring ${int(b.ringMsgsPerSec)} msgs/s (12-byte messages, two threads); ` +
      `memcpy ${fmt(b.memcpyBytesPerSec / 1e9)} GB/s at 64 KiB (${Object.entries(b.memcpyBytesPerSecBySize).map(([s, v]) => `${s} B: ${fmt(v / 1e9)}`).join(', ')} GB/s)`,
    `model: copy/map crossover ${r.modelCrossoverBytes === null ? 'none up to 65535 B' : `${r.modelCrossoverBytes} B`} ` +
      `(a full 4 KiB slot maps cheaper than it copies above ${fmt(r.modelBreakEvenCopyByteNs, 3)} ns/B of copy; copyByteNs = ${r.costParams.copyByteNs})`,
    '',
    '| target | required | measured | met |',
    '|---|---|---:|:-:|',
    ...r.targets.map((t) => `| ${t.name} | ${t.target} | ${targetValue(t.value)} | ${t.met === null ? '–' : t.met ? 'yes' : 'no'} |`),
  ];
  if (r.allocation !== null) {
    lines.push('', '| allocation check | packets | heap growth guest / dom0 (B) | minor GCs guest / dom0 | major GCs |', '|---|---:|---:|---:|---:|');
    for (const a of r.allocation) {
      lines.push(`| ${a.strategy} ${a.size} B | ${int(a.packets)} | ${int(a.guest.growth)} / ${int(a.backend.growth)} | ${a.guest.minorGcs} / ${a.backend.minorGcs} | ${a.guest.majorGcs + a.backend.majorGcs} |`);
    }
  }
  return lines.join('\n');
}

export const benchCommand: Command = {
  name: 'bench',
  summary: 'threaded TX throughput per strategy and size, against baselines and the cost model',
  usage: USAGE,
  async run(argv, io) {
    const { values } = parseCommandArgs(argv, {
      quick: { type: 'boolean' },
      json: { type: 'string' },
      svg: { type: 'string' },
      alloc: { type: 'boolean' },
      cost: { type: 'string', multiple: true },
    }, 0);
    if (values.help) {
      io.out(this.usage);
      return 0;
    }
    const cost = parseCost(values.cost ?? []);
    const jsonPath = values.json === undefined ? null : checkJsonPath(values.json);
    const svgDir = values.svg === undefined ? null : checkSvgDir(values.svg);
    // Loaded here, not at start-up: every other command would otherwise pay for vega.
    const { runBench } = await import('../sim/bench/harness.ts');
    const { benchCharts } = await import('../report/charts.ts');
    const { specToSvg } = await import('../report/vega.ts');
    const report = await runBench({
      quick: values.quick === true,
      ...(values.alloc === true ? { alloc: true } : {}),
      ...(Object.keys(cost).length > 0 ? { cost } : {}),
      ...(io.isTTY ? { progress: (line: string) => io.err(`pvnet bench: ${line}`) } : {}),
    });
    io.out(formatBenchReport(report));
    try {
      if (jsonPath !== null) writeFileSync(jsonPath, JSON.stringify(report, null, 2) + '\n');
      if (svgDir !== null) {
        for (const [name, spec] of Object.entries(benchCharts(report))) writeFileSync(join(svgDir, name), await specToSvg(spec));
      }
    } catch (e) {
      throw new UsageError(`cannot write the report: ${(e as Error).message}`);
    }
    return 0;
  },
};
