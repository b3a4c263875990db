import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PcapWriter, readPcap, PCAP_MAGIC_NSEC } from '../../src/report/pcap.ts';

test('pcap: the global header is the nanosecond classic format with Ethernet link type', () => {
  const b = new PcapWriter().toBytes();
  const v = new DataView(b.buffer);
  assert.is(b.length, 24);
  assert.is(v.getUint32(0, true), PCAP_MAGIC_NSEC);
  assert.is(v.getUint16(4, true), 2);
  assert.is(v.getUint16(6, true), 4);
  assert.is(v.getUint32(20, true), 1);
});

test('pcap: records keep virtual time to the nanosecond and the frame bytes', () => {
  const w = new PcapWriter();
  w.record(1_500_000_123, Uint8Array.of(1, 2, 3, 4, 5), 1, 3);
  w.record(7, Uint8Array.of(9));
  const r = readPcap(w.toBytes());
  assert.is(r.length, 2);
  assert.is(r[0]!.timeNs, 1_500_000_123);
  assert.equal([...r[0]!.data], [2, 3, 4]);
  assert.is(r[1]!.origLen, 1);
  assert.is(w.frames, 2);
});

test('pcap: a frame beyond the snap length is truncated in the file but keeps its original length', () => {
  const w = new PcapWriter(64);
  w.record(0, new Uint8Array(100).fill(7));
  const r = readPcap(w.toBytes());
  assert.is(r[0]!.data.length, 64);
  assert.is(r[0]!.origLen, 100);
});

test.run();
