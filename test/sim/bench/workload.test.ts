/** The TX workload on the deterministic machine: the frames, the responses the guest reads, the teardown. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { IPPROTO_TCP, parseIpv4, newIpv4Hdr, WIRE_OK } from '../../../src/net/wire.ts';
import { TxMachine } from '../../../src/sim/bench/machine.ts';
import { BENCH_SIZES, BENCH_STRATEGIES, TX_SEQ_OFFSET, expectedFrame, fnv1a } from '../../../src/sim/bench/workload.ts';

test('workload: an expected frame is a TCP/IPv4 frame of its size carrying its sequence number', () => {
  for (const size of BENCH_SIZES) {
    const f = expectedFrame(size, 0x01020304);
    assert.is(f.length, size);
    assert.equal([...f.subarray(TX_SEQ_OFFSET, TX_SEQ_OFFSET + 4)], [1, 2, 3, 4]);
    const ip = newIpv4Hdr();
    assert.is(parseIpv4(f, 14, size - 14, ip), WIRE_OK);
    assert.is(ip.protocol, IPPROTO_TCP);
    assert.is(ip.totLen, size - 14);
  }
  assert.is.not(fnv1a(expectedFrame(1500, 1), 1500), fnv1a(expectedFrame(1500, 2), 1500), 'frames differ by seq');
});

for (const strategy of BENCH_STRATEGIES) {
  test(`workload (${strategy}): dom0 receives every frame as sent, the guest reads OKAY for every slot, the audit is clean`, () => {
    for (const size of [64, 4096, 65535]) {
      const m = new TxMachine({ strategy, size, tap: size === 4096, verify: true });
      m.connect();
      m.send(40);
      assert.is(m.back.sink.mismatches, 0, `${size}`);
      assert.equal(m.back.sink.seqs, Array.from({ length: 40 }, (_, i) => i));
      const recs = m.guest.gen.log!.records();
      const slots = size <= 1514 ? 1 : 1 + Math.ceil((size - 54) / 4096);
      const gso = size > 1514 ? 1 : 0;
      assert.equal(recs, Array.from({ length: 40 }, () => `${Array(slots).fill(0).join(',')}+${gso}`), `${size}`);
      assert.is(m.guest.gen.busy, 0);
      assert.equal(m.close(), [], `${strategy} ${size}: audit`);
    }
  });
}

test('workload: sendPacket refuses a packet that is not the next one', () => {
  const m = new TxMachine({ strategy: 'copy', size: 64, tap: false, verify: false });
  m.connect();
  m.sendPacket(0);
  assert.throws(() => m.sendPacket(5), /not the next/);
  assert.equal(m.close(), []);
});

test.run();
