/**
 * `pvnet demo`: the showcase `npm start` runs.
 *
 * Today it runs the ring-and-grant walkthrough (src/sim/ring-walkthrough.ts): the foundation end to end on
 * the deterministic scheduler, printed step by step, then the teardown audit. Later sections (the four TX
 * strategies, lifecycle checks, NFS retransmit, swap over network) join it as they land.
 */
import { parseCommandArgs, type Command } from './common.ts';
import { runRingWalkthrough } from '../sim/ring-walkthrough.ts';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'run the showcase: what pvnet does, end to end (npm start)',
  usage: [
    'usage: pvnet demo [--json]',
    '',
    'Runs the showcase on the deterministic scheduler and prints what it did.',
    '',
    'options:',
    '  --json   print the results as JSON instead of the report',
    '  -h, --help',
  ].join('\n'),
  async run(argv, io) {
    const { values } = parseCommandArgs(argv, { json: { type: 'boolean' } }, 0);
    if (values.help) {
      io.out(this.usage);
      return 0;
    }
    const r = runRingWalkthrough();
    const ok = r.auditFindings.length === 0 && r.badBytes === 0 && r.grantsEnded === r.slots;
    if (values.json) {
      const { log, ...rest } = r;
      io.out(JSON.stringify({ walkthrough: rest, ok }, null, 2));
      return ok ? 0 : 1;
    }
    io.out('pvnet: Xen paravirtual networking, emulated byte for byte\n');
    io.out('1. Ring and grant walkthrough (guest dom1 -> backend dom0, netif TX ring, grant copy)\n');
    for (const line of r.log) io.out(`   ${line}`);
    io.out('');
    io.out(`   ${r.packets} packets, ${r.slots} slots, ${r.bytes} bytes; ${r.copyOps} grant-copy ops; ` +
      `${r.notifiesToBackend} event(s) to dom0, ${r.notifiesToGuest} to the guest`);
    io.out(`   bytes checked in dom0: ${r.badBytes === 0 ? 'all equal to what the guest wrote' : `${r.badBytes} slot(s) differ`}`);
    io.out(`   virtual time ${r.virtualNs} ns; modelled hypervisor cost ${r.modelledNs} ns`);
    io.out(`   teardown audit: ${r.auditFindings.length === 0 ? 'clean' : r.auditFindings.join('; ')}`);
    return ok ? 0 : 1;
  },
};
