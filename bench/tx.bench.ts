/**
 * Per-packet cost of guest TX through the real netfront and netback, single-threaded on the deterministic
 * scheduler (src/sim/bench/machine.ts): one iteration is one packet, from the guest building its sk_buff and
 * netfront granting and posting it, through netback's strategy and dom0's stack (with or without a tap that
 * clones it), to the guest's completion (its sk_buff freed once every slot is answered and every grant
 * ended). Every strategy at every size, and again with the tap. The computed parameter is the packet's
 * sequence number: each iteration sends a new packet with its own bytes.
 *
 *   npx tsx bench/run.ts tx
 */
import { bench, do_not_optimize, group, summary } from 'mitata';
import { TxMachine } from '../src/sim/bench/machine.ts';
import { BENCH_SIZES, BENCH_STRATEGIES } from '../src/sim/bench/workload.ts';

for (const tap of [false, true]) {
  for (const size of BENCH_SIZES) {
    group(`tx ${size} B${tap ? ', tap cloning every packet' : ''}`, () => {
      summary(() => {
        for (const strategy of BENCH_STRATEGIES) {
          bench(`${strategy} ${size} B${tap ? ' + tap' : ''}`, function* () {
            const m = new TxMachine({ strategy, size, tap, verify: false });
            m.connect();
            m.send(256);
            let seq = m.guest.gen.sent;
            yield {
              [0]: () => seq++,
              bench(s: number) {
                m.sendPacket(s);
                do_not_optimize(m.guest.gen.completed);
              },
            };
            const audit = m.close();
            if (audit.length > 0) throw new Error(`tx bench ${strategy} ${size}: ${audit.join('; ')}`);
          }).baseline(strategy === 'copy');
        }
      });
    });
  }
}
