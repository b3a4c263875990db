/**
 * `pvnet demo`: the showcase `npm start` runs. Placeholder until the foundation lands.
 */
import { parseCommandArgs, type Command } from './common.ts';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'run the showcase: what pvnet does, end to end (npm start)',
  usage: 'usage: pvnet demo\n\nRuns the showcase and prints what it did.',
  async run(argv, io) {
    const { values } = parseCommandArgs(argv, {}, 0);
    if (values.help) {
      io.out(this.usage);
      return 0;
    }
    io.out('pvnet demo: nothing to show yet');
    return 0;
  },
};
