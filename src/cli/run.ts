/**
 * `pvnet scenarios` and `pvnet run NAME [--mode M] [--seed N] [--json] [--trace FILE] [--set knob=N ...]`.
 */
import { writeFileSync } from 'node:fs';
import { PcapWriter } from '../report/pcap.ts';
import { timelineSpec } from '../report/timeline.ts';
import { specToSvg } from '../report/vega.ts';
import { allScenarios, scenarioByName, type TraceEvent } from '../sim/scenarios/index.ts';
import { intFlag, parseCommandArgs, UsageError, type Command } from './common.ts';

/**
 * Scenario knobs may also be given as flags of their own (`--flood 100`, `--flood=100`): rewrite those into
 * `--set flood=100` for the scenario named by the first positional, before strict parsing.
 */
function knobFlagsToSet(argv: string[]): string[] {
  const s = scenarioByName(argv.find((a) => !a.startsWith('-')) ?? '');
  if (s === undefined) return argv;
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-zA-Z][\w-]*)(?:=(.*))?$/.exec(argv[i]!);
    if (m !== null && m[1]! in s.knobs) {
      const value = m[2] ?? argv[++i];
      if (value === undefined) throw new UsageError(`--${m[1]} takes a number`);
      out.push('--set', `${m[1]}=${value}`);
    } else {
      out.push(argv[i]!);
    }
  }
  return out;
}

/** Write a result file, turning an unwritable path into a one-line usage error. */
function writeOut(flag: string, path: string, data: string | Uint8Array): void {
  try {
    writeFileSync(path, data);
  } catch (e) {
    throw new UsageError(`cannot write ${flag} file '${path}': ${(e as Error).message}`);
  }
}

export const scenariosCommand: Command = {
  name: 'scenarios',
  summary: 'list the scenarios with their modes',
  usage: 'usage: pvnet scenarios [--json]\n\nLists every scenario `pvnet run` knows, its modes and knobs.',
  async run(argv, io) {
    const { values } = parseCommandArgs(argv, { json: { type: 'boolean' } }, 0);
    if (values.help) {
      io.out(this.usage);
      return 0;
    }
    const list = allScenarios();
    if (values.json) {
      io.out(JSON.stringify(list.map((s) => ({ name: s.name, summary: s.summary, modes: s.modes, knobs: s.knobs })), null, 2));
      return 0;
    }
    const w = Math.max(...list.map((s) => s.name.length));
    for (const s of list) io.out(`${s.name.padEnd(w)}  ${s.summary}\n${' '.repeat(w)}  modes: ${s.modes.join(', ')}`);
    return 0;
  },
};

export const runCommand: Command = {
  name: 'run',
  summary: 'run a scenario (deterministic; exit 1 if an invariant failed)',
  usage: [
    'usage: pvnet run NAME [--mode MODE] [--seed N] [--json] [--trace FILE] [--pcap FILE] [--set KNOB=N ...]',
    '',
    'Runs scenario NAME on the deterministic scheduler and prints its counters and invariant checks.',
    "See 'pvnet scenarios' for names and modes.",
    '',
    'options:',
    '  --mode MODE     the scenario mode (default: the scenario\'s first mode)',
    '  --seed N        PRNG seed (default 1)',
    '  --json          print the result as JSON',
    '  --trace FILE    write the lifecycle trace as JSON lines; FILE.svg: the lifecycle timeline chart instead',
    '  --pcap FILE     write every frame crossing a vif or the bridge as a pcap (Ethernet, virtual time)',
    '  --set KNOB=N    set a scenario knob (repeatable); --KNOB N is the same (e.g. --flood 100)',
    '  --reserve MODE  the same as --mode (the swap-over-network scenario\'s reserve mode)',
    '  -h, --help',
  ].join('\n'),
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(knobFlagsToSet(argv), {
      mode: { type: 'string' },
      reserve: { type: 'string' },
      seed: { type: 'string' },
      json: { type: 'boolean' },
      trace: { type: 'string' },
      pcap: { type: 'string' },
      set: { type: 'string', multiple: true },
    }, 1);
    if (values.help) {
      io.out(this.usage);
      return 0;
    }
    const name = positionals[0];
    if (name === undefined) throw new UsageError("missing scenario name (see 'pvnet scenarios')");
    const s = scenarioByName(name);
    if (s === undefined) throw new UsageError(`unknown scenario '${name}' (see 'pvnet scenarios')`);
    if (values.mode !== undefined && values.reserve !== undefined && values.mode !== values.reserve) {
      throw new UsageError('--mode and --reserve name the same thing; give one');
    }
    const mode = values.mode ?? values.reserve ?? s.defaultMode;
    if (!s.modes.includes(mode)) throw new UsageError(`scenario '${name}' has no mode '${mode}' (modes: ${s.modes.join(', ')})`);
    const seed = intFlag('seed', values.seed, 1);
    const knobs: Record<string, number> = {};
    for (const kv of values.set ?? []) {
      const m = /^([a-zA-Z][\w-]*)=(\d+)$/.exec(kv);
      if (m === null) throw new UsageError(`--set takes KNOB=N, got '${kv}'`);
      if (!(m[1]! in s.knobs)) throw new UsageError(`scenario '${name}' has no knob '${m[1]}' (knobs: ${Object.keys(s.knobs).join(', ') || 'none'})`);
      knobs[m[1]!] = Number(m[2]);
    }
    const events: TraceEvent[] = [];
    const pcap = values.pcap !== undefined ? new PcapWriter() : undefined;
    const result = s.run({
      mode, seed, knobs,
      ...(values.trace !== undefined ? { trace: (e: TraceEvent) => events.push({ ...e }) } : {}),
      ...(pcap !== undefined ? { pcap: (t: number, f: Uint8Array, off: number, len: number) => pcap.record(t, f, off, len) } : {}),
    });
    if (values.trace !== undefined) {
      const svg = values.trace.endsWith('.svg')
        ? await specToSvg(timelineSpec(events, { title: `Lifecycle of the guest pages, ${s.name}, ${mode} (seed ${seed})` }))
        : null;
      writeOut('--trace', values.trace, svg ?? events.map((e) => JSON.stringify(e)).join('\n') + (events.length ? '\n' : ''));
    }
    if (pcap !== undefined && values.pcap !== undefined) writeOut('--pcap', values.pcap, pcap.toBytes());
    if (values.json) {
      io.out(JSON.stringify(result, null, 2));
    } else {
      io.out(`${result.scenario} (mode ${result.mode}, seed ${result.seed}): ${result.ok ? 'ok' : 'INVARIANT FAILED'}`);
      for (const [k, v] of Object.entries(result.counters)) io.out(`  ${k}: ${v}`);
      for (const c of result.checks) io.out(`  [${c.ok ? 'pass' : 'FAIL'}] ${c.name}${c.detail ? ` (${c.detail})` : ''}`);
    }
    return result.ok ? 0 : 1;
  },
};
