/**
 * Scenario `ring-walkthrough`: the foundation end to end (src/sim/ring-walkthrough.ts) as a scenario, with
 * packet sizes drawn from the seed.
 */
import { Prng } from '../prng.ts';
import { runRingWalkthrough } from '../ring-walkthrough.ts';
import { check, scenarioResult, type Scenario } from './registry.ts';

export const ringWalkthroughScenario: Scenario = {
  name: 'ring-walkthrough',
  summary: 'the netif TX ring, grants and event channels end to end, with grant copy (no driver, no sk_buff)',
  modes: ['copy'],
  defaultMode: 'copy',
  knobs: { packets: 'number of packets (default 8, at most 50)' },
  run(opts) {
    const prng = new Prng(opts.seed);
    const n = Math.min(50, Math.max(1, opts.knobs['packets'] ?? 8));
    const sizes = Array.from({ length: n }, () => prng.int(14, 3 * 4096));
    const r = runRingWalkthrough(sizes);
    for (const line of r.log) opts.trace?.({ t: Number(line.trim().split(' ')[0]), kind: 'log', text: line });
    return scenarioResult(this, opts, {
      packets: r.packets, slots: r.slots, bytes: r.bytes, copyOps: r.copyOps, grantsEnded: r.grantsEnded,
      notifiesToBackend: r.notifiesToBackend, notifiesToGuest: r.notifiesToGuest, virtualNs: r.virtualNs,
      modelledNs: r.modelledNs,
    }, [
      check('every slot answered and its grant ended', r.grantsEnded === r.slots, `${r.grantsEnded}/${r.slots}`),
      check('bytes arrive as the guest wrote them', r.badBytes === 0, `${r.badBytes} slot(s) differ`),
      check('teardown audit clean', r.auditFindings.length === 0, r.auditFindings.join('; ')),
    ]);
  },
};
