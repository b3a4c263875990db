/**
 * The dealloc step (REFERENCE.md §4.5, §5.3 steps 7-9, §9.4): completions close together share one unmap
 * hypercall, the hypervisor flushes the TLB once per 32 unmaps, and every slot of the batch is unmapped
 * before any of them is answered.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GTF_reading } from '../../../src/abi/grant_table.ts';
import { XEN_NETIF_RSP_OKAY } from '../../../src/abi/netif.ts';
import { kfreeSkb } from '../../../src/skb/index.ts';
import type { NetbackTraceEvent } from '../../../src/drivers/netback/index.ts';
import { nbWorld, TestGuest, run, frame, teardown } from './support.ts';

for (const strategy of ['map', 'hybrid', 'zerocopy'] as const) {
  test(`netback (${strategy}): 40 packets released together: one unmap hypercall, one TLB flush per 32`, () => {
    const trace: NetbackTraceEvent[] = [];
    const w = nbWorld({ strategy, onTrace: (e) => trace.push({ ...e }) });
    const g = new TestGuest(w);
    g.connect();
    for (let i = 0; i < 40; i++) g.sendPacket(frame(1000, i), { push: false });
    g.pushTx();
    run(w);
    assert.is(w.held.length, 40);
    const flushes: number[] = [];
    w.t.hv.testHooks.onTlbFlush = (d, n) => {
      if (d === 0) flushes.push(n);
    };
    const q = g.vif.queues[0]!;
    const before = q.stats.unmapHypercalls;
    for (const skb of w.held.splice(0)) kfreeSkb(skb);
    assert.equal(g.txResponses(), [], 'nothing answered before the dealloc step runs');
    assert.is(q.stats.deallocQueued, 40);
    run(w);
    assert.is(q.stats.unmapHypercalls - before, 1);
    assert.equal(flushes, [32, 8]);
    const rsp = g.txResponses();
    assert.is(rsp.length, 40);
    assert.ok(rsp.every((r) => r.status === XEN_NETIF_RSP_OKAY));
    // Within the batch every unmap precedes every answer.
    const tail = trace.filter((e) => e.kind === 'unmapped' || e.kind === 'answered');
    const lastUnmap = tail.map((e) => e.kind).lastIndexOf('unmapped');
    const firstAnswer = tail.map((e) => e.kind).indexOf('answered');
    assert.ok(lastUnmap < firstAnswer);
    delete w.t.hv.testHooks.onTlbFlush;
    teardown(w, g);
  });
}

test('netback: releases far apart in time are unmapped in separate batches', () => {
  const w = nbWorld({ strategy: 'map' });
  const g = new TestGuest(w);
  g.connect();
  for (let i = 0; i < 3; i++) g.sendPacket(frame(800, i));
  run(w);
  const q = g.vif.queues[0]!;
  const before = q.stats.unmapHypercalls;
  for (const skb of w.held.splice(0)) {
    kfreeSkb(skb);
    run(w, 100_000);
  }
  assert.is(q.stats.unmapHypercalls - before, 3);
  assert.is(g.txResponses().length, 3);
  teardown(w, g);
});

test('netback: the guest sees GTF_reading fall only with the answer, never before the flush', () => {
  const w = nbWorld({ strategy: 'map' });
  const g = new TestGuest(w);
  g.connect();
  const p = g.sendPacket(frame(800, 1));
  run(w);
  let flagsAtFlush = -1;
  w.t.hv.testHooks.onTlbFlush = () => {
    flagsAtFlush = g.grantBusy(p.grefs[0]!);
  };
  kfreeSkb(w.held.pop()!);
  assert.is(g.grantBusy(p.grefs[0]!) & GTF_reading, GTF_reading);
  run(w);
  assert.is(flagsAtFlush & GTF_reading, GTF_reading, 'still set while the flush runs');
  assert.is(g.grantBusy(p.grefs[0]!), 0);
  assert.is(g.txResponses().length, 1);
  delete w.t.hv.testHooks.onTlbFlush;
  teardown(w, g);
});

test('netback: the dealloc step wakes the poll when requests waited for pending slots', () => {
  const w = nbWorld({ strategy: 'map' });
  const g = new TestGuest(w);
  g.connect();
  // 240 one-slot packets: building stops while fewer than 19 pending slots (one packet's worth) are free.
  for (let i = 0; i < 240; i++) g.sendPacket(frame(60, i), { push: false });
  g.pushTx();
  run(w);
  assert.is(w.held.length, 238);
  for (const skb of w.held.splice(0, 10)) kfreeSkb(skb);
  run(w);
  assert.is(w.held.length, 230);
  assert.is(g.vif.queueStats.txPackets, 240);
  teardown(w, g);
});

test.run();
