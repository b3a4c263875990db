/**
 * `pvnet demo`: the showcase `npm start` runs (src/report/showcase.ts): the ring walkthrough, the four TX
 * strategies on one mixed workload, the lifecycle invariants, the NFS retransmit case with and without
 * destructors, swap over the network per reserve mode. Prints a terminal report and writes the report files
 * (src/report/write.ts) into ./pvnet-report, or --out DIR. Exit 0 if every check passed, 1 otherwise.
 */
import { intFlag, parseCommandArgs, type Command } from './common.ts';
import { showcaseToDir } from './report.ts';
import { resultsJson } from '../report/write.ts';
import { terminalReport } from '../report/terminal.ts';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'run the showcase: what pvnet does, end to end, and write ./pvnet-report (npm start)',
  usage: [
    'usage: pvnet demo [--out DIR] [--no-report] [--json] [--seed N] [--quick]',
    '',
    'Runs the showcase on the deterministic scheduler (about half a minute), prints what it found, and writes',
    'the report (index.html with inline SVG charts, results.json, timelines, capture.pcap) into DIR.',
    '',
    'options:',
    '  --out DIR     where the report goes (default: pvnet-report in the current directory)',
    '  --no-report   write no files',
    '  --json        print results.json to stdout instead of the terminal report',
    '  --seed N      PRNG seed (default 1)',
    '  --quick       fewer frames per size and a smaller swap workload (a few seconds)',
    '  -h, --help',
  ].join('\n'),
  async run(argv, io) {
    const { values } = parseCommandArgs(argv, {
      out: { type: 'string' }, 'no-report': { type: 'boolean' }, json: { type: 'boolean' }, seed: { type: 'string' }, quick: { type: 'boolean' },
    }, 0);
    if (values.help) {
      io.out(this.usage);
      return 0;
    }
    const dir = values['no-report'] === true ? null : values.out ?? 'pvnet-report';
    const seed = intFlag('seed', values.seed, 1);
    const t0 = performance.now();
    const { results } = await showcaseToDir(dir, { seed, quick: values.quick === true }, io);
    if (values.json) {
      io.out(resultsJson(results));
    } else {
      for (const line of terminalReport(results, dir)) io.out(line);
      io.out(`(${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    }
    return results.ok ? 0 : 1;
  },
};
