/**
 * The worker-thread runtime against the deterministic single-thread run of the same workload: the same
 * frames reach dom0's stack, in the same order and with the bytes the guest sent, and the guest reads the
 * same responses for every packet; both runs end with a clean hypervisor audit. Correctness only: nothing
 * here looks at time.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TxMachine } from '../../../src/sim/bench/machine.ts';
import type { TxWorkloadSpec } from '../../../src/sim/bench/workload.ts';
import { runThreadedTx } from '../../../src/sim/threaded/runtime.ts';

const PACKETS = 300;
const WARMUP = 40;

function singleThread(spec: TxWorkloadSpec) {
  const m = new TxMachine(spec);
  m.connect();
  m.send(WARMUP);
  m.send(PACKETS);
  const records = m.guest.gen.log!.records();
  const audit = m.close();
  return { sink: m.back.sink, records, audit, nf: m.guest.nf.netfrontStats() };
}

const CASES: TxWorkloadSpec[] = [
  { strategy: 'copy', size: 64, tap: false, verify: true },
  { strategy: 'map', size: 65535, tap: true, verify: true },
  { strategy: 'hybrid', size: 1500, tap: false, verify: true },
  { strategy: 'zerocopy', size: 16384, tap: true, verify: true },
];

for (const spec of CASES) {
  test(`threaded runtime (${spec.strategy}, ${spec.size} B${spec.tap ? ', tap' : ''}): same frames and same responses as the single-thread run`, async () => {
    const one = singleThread(spec);
    const two = await runThreadedTx({ spec, warmup: WARMUP, packets: PACKETS });
    const total = WARMUP + PACKETS;

    assert.equal(one.audit, [], 'single-thread audit');
    assert.equal(two.backend.audit, [], 'threaded audit');
    assert.is(one.sink.mismatches, 0);
    assert.is(two.backend.mismatches, 0);
    assert.equal(one.sink.seqs, Array.from({ length: total }, (_, i) => i), 'single-thread: every packet, in order');
    assert.equal(two.backend.seqs, one.sink.seqs, 'threaded: the same packets in the same order');
    assert.equal(two.backend.digests, one.sink.digests, 'threaded: the same bytes');

    assert.is(one.records.length, total);
    assert.equal(two.guest.records, one.records, 'the same responses, packet by packet');
    assert.ok(one.records.every((r) => /^0(,0)*\+[01]$/.test(r)), 'every slot answered OKAY');
    assert.is(two.guest.strays, 0);
    assert.is(two.guest.broken, null);
    assert.is(two.guest.netfront.txPackets, one.nf.txPackets);
    assert.is(two.guest.netfront.txErrors, 0);
    assert.is(two.guest.deferred, 0, 'no grant left for the deferred end-access path');
  });
}

test('threaded runtime: the guest reached the hypervisor only through the link (calls at setup, posted sends and EOIs)', async () => {
  const r = await runThreadedTx({ spec: { strategy: 'hybrid', size: 256, tap: false, verify: false }, warmup: 10, packets: 50 });
  assert.ok(r.backend.calls > 0, 'xenstore and event-channel setup went through calls');
  assert.ok(r.guest.posted > 0 && r.backend.posted >= r.guest.posted, 'every posted operation was executed');
  assert.is(r.backend.delivered, 60);
  assert.is(r.backend.marks.length, 2);
  assert.ok(r.modelNsPerPacket > 0, 'the measured window charged hypercalls');
});

test.run();
