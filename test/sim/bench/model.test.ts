/** The cost model applied to the benchmark's packets: op counts per layout, prices, the crossover. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_COST_PARAMS, priceOf } from '../../../src/hv/cost.ts';
import { ROUND_PACKETS, modelCrossover, modelNs, modelOps, slotSizes } from '../../../src/sim/bench/model.ts';

test('model: a workload frame has one slot up to 1514 B, else a 54-byte header slot and 4 KiB payload slots', () => {
  assert.equal(slotSizes(64), [64]);
  assert.equal(slotSizes(1514), [1514]);
  assert.equal(slotSizes(4096), [54, 4042]);
  const big = slotSizes(65535);
  assert.is(big.length, 17);
  assert.is(big.reduce((a, b) => a + b, 0), 65535);
});

test('model: copy copies every byte, one pin per slot, one op per slot plus one per dom0 frame crossed', () => {
  const c = modelOps('copy', 65535);
  assert.is(c.copyBytes, 65535);
  assert.is(c.copyPins, 17);
  // 66 + 65535 bytes of head span 17 frames: 16 boundaries split 16 of the ops.
  assert.is(c.copyOps, 17 + 16);
  assert.is(c.mapOps, 0);
  assert.is(c.hypercalls, 1 / ROUND_PACKETS);
  assert.is(modelOps('copy', 64).copyOps, 1);
});

test('model: map maps and unmaps every slot, a flush per 32 unmaps; hybrid copies 128 B and maps the rest', () => {
  const m = modelOps('map', 65535);
  assert.is(m.mapOps, 17);
  assert.is(m.unmapOps, 17);
  assert.is(m.tlbFlushes, 17 / 32);
  assert.is(m.copyOps, 0);
  const h = modelOps('hybrid', 65535);
  assert.is(h.copyBytes, 128);
  assert.is(h.copyPins, 2, 'the header slot and the first payload slot');
  assert.is(h.mapOps, 16, 'the header slot is copied whole; the first payload slot is mapped for its rest');
  assert.equal(modelOps('zerocopy', 65535), h, 'zerocopy does the same hypervisor work as hybrid');
  const small = modelOps('hybrid', 100);
  assert.is(small.mapOps, 0);
  assert.is(small.copyBytes, 100);
});

test('model: prices are priceOf of the op counts', () => {
  for (const s of ['copy', 'map', 'hybrid', 'zerocopy'] as const) {
    assert.is(modelNs(DEFAULT_COST_PARAMS, s, 9000), priceOf(modelOps(s, 9000), DEFAULT_COST_PARAMS));
  }
});

test('model: with the default parameters map is never cheaper than copy; with a dearer copy byte it is, from the crossover on', () => {
  const d = modelCrossover();
  assert.is(d.bytes, null);
  const p = DEFAULT_COST_PARAMS;
  assert.ok(Math.abs(d.breakEvenCopyByteNs - (p.mapNs + p.unmapNs + p.tlbFlushNs / 32 - p.copyOpNs - p.copyPinNs) / 4096) < 1e-12);
  const dear = { ...p, copyByteNs: 0.3 };
  const c = modelCrossover(dear);
  assert.ok(c.bytes !== null && c.bytes > 60 && c.bytes < 65535);
  assert.ok(modelNs(dear, 'map', c.bytes) < modelNs(dear, 'copy', c.bytes));
  assert.ok(modelNs(dear, 'map', c.bytes - 1) >= modelNs(dear, 'copy', c.bytes - 1));
});

test.run();
