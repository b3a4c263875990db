/**
 * `pvnet report DIR`: run the showcase and write the report files into DIR (src/report/write.ts), without the
 * terminal report. The same runs and files as `pvnet demo`.
 */
import { intFlag, makeOutputDir, parseCommandArgs, UsageError, type CliIO, type Command } from './common.ts';
import { runShowcase, type ShowcaseResults } from '../report/showcase.ts';
import { writeReport } from '../report/write.ts';
import { lineProgress } from '../report/progress.ts';

/** Run the showcase (progress on a TTY) and write its report into `dir`; an unwritable `dir` is a UsageError. */
export async function showcaseToDir(dir: string | null, opts: { seed: number; quick: boolean }, io: CliIO): Promise<{ results: ShowcaseResults; files: string[] }> {
  if (dir !== null) {
    // Checked before the runs, so a bad directory costs no minute of waiting.
    try {
      makeOutputDir(dir);
    } catch (e) {
      throw new UsageError(`cannot write the report to '${dir}': ${(e as Error).message}`);
    }
  }
  const progress = lineProgress(io.isTTY && process.stderr.isTTY === true);
  let run;
  try {
    run = runShowcase({ ...opts, progress: (s, i, t) => progress.step(s, i, t) });
  } finally {
    progress.done();
  }
  if (dir === null) return { results: run.results, files: [] };
  try {
    return { results: run.results, files: await writeReport(dir, run.results, run.pcap) };
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code !== undefined) throw new UsageError(`cannot write the report to '${dir}': ${err.message}`);
    throw e;
  }
}

export const reportCommand: Command = {
  name: 'report',
  summary: 'write the showcase report (HTML with inline SVG charts, JSON, timelines, pcap) to DIR',
  usage: [
    'usage: pvnet report DIR [--seed N] [--quick]',
    '',
    'Runs the showcase (the runs `pvnet demo` prints) and writes into DIR: index.html (charts inline, works',
    'offline), results.json, strategy-cost.svg, strategy-wall.svg, timeline-map.svg, timeline-zerocopy.svg,',
    'timeline-*.jsonl (raw traces) and capture.pcap. Exit 0 if every check passed, 1 otherwise.',
    '',
    'options:',
    '  --seed N   PRNG seed (default 1)',
    '  --quick    fewer frames per size and a smaller swap workload (seconds instead of a minute)',
    '  -h, --help',
  ].join('\n'),
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, { seed: { type: 'string' }, quick: { type: 'boolean' } }, 1);
    if (values.help) {
      io.out(this.usage);
      return 0;
    }
    const dir = positionals[0];
    if (dir === undefined) throw new UsageError('missing the report directory (pvnet report DIR)');
    const { results } = await showcaseToDir(dir, { seed: intFlag('seed', values.seed, 1), quick: values.quick === true }, io);
    io.out(`${dir}: report written; ${results.ok ? 'all checks passed' : `${results.failures.length} check(s) FAILED`}`);
    return results.ok ? 0 : 1;
  },
};
