/**
 * `pvnet ring decode|encode`: placeholder until the ring codec lands (issue 2 §3).
 */
import { UsageError, type Command } from './common.ts';

export const ringCommand: Command = {
  name: 'ring',
  summary: 'decode or encode a raw 4096-byte shared ring page',
  usage: 'usage: pvnet ring decode FILE --ring tx|rx | pvnet ring encode FILE.json --ring tx|rx -o PAGE',
  async run(argv, io) {
    if (argv.includes('--help') || argv.includes('-h')) {
      io.out(this.usage);
      return 0;
    }
    throw new UsageError('not implemented yet');
  },
};
