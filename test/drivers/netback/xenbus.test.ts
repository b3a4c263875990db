/**
 * The backend half of the vif handshake (REFERENCE.md §1.3, §3.2-3.7): the keys netback writes, how it reads
 * the frontend's, its state machine, refusals and fatal errors, ring attach, late-EOI channels, disconnect
 * and reconnect, multi-queue.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  XenbusStateClosed, XenbusStateClosing, XenbusStateConnected, XenbusStateInitialising, XenbusStateInitWait,
  XenbusStateReconfigured, XenbusStateReconfiguring,
} from '../../../src/abi/xenbus.ts';
import { XEN_NETIF_RSP_OKAY } from '../../../src/abi/netif.ts';
import { EVTCHNSTAT_closed, EVTCHNSTAT_interdomain, EVTCHNSTAT_unbound } from '../../../src/abi/event_channel.ts';
import { backendPath, xenbusCreateDevice, xenbusRead } from '../../../src/hv/xenbus.ts';
import { XBT_NIL } from '../../../src/hv/xenstore.ts';
import { kfreeSkb } from '../../../src/skb/index.ts';
import { EOPNOTSUPP, RX_DRAIN_TIMEOUT_NO_NOTIFY_NS, netbackRemove } from '../../../src/drivers/netback/index.ts';
import { GUEST, MAC, nbWorld, TestGuest, run, frame, teardown } from './support.ts';

const BE = backendPath(0, 'vif', GUEST, 0);

function read(w: ReturnType<typeof nbWorld>, key: string): string | undefined {
  return xenbusRead(w.t.hv.xs, 0, XBT_NIL, BE, key);
}

test('netback: probe writes the feature keys, the listed ones in one transaction', () => {
  const w = nbWorld();
  xenbusCreateDevice(w.t.hv.xs, 0, { type: 'vif', frontendId: GUEST, backendId: 0, devid: 0, backendKeys: { mac: MAC } });
  const xs = w.t.hv.xs;
  const writes: [string, number][] = [];
  const orig = xs.write.bind(xs);
  xs.write = (d: number, tx: number, path: string, value: string) => {
    writes.push([path.slice(BE.length + 1), tx]);
    return orig(d, tx, path, value);
  };
  w.nb.probe(GUEST, 0);
  xs.write = orig;
  const inTx = ['feature-sg', 'feature-gso-tcpv4', 'feature-gso-tcpv6', 'feature-ipv6-csum-offload', 'feature-rx-copy',
    'feature-rx-flip', 'feature-multicast-control', 'feature-dynamic-multicast-control'];
  const txOf = new Map(writes);
  const tx = txOf.get('feature-sg')!;
  assert.ok(tx !== XBT_NIL);
  for (const k of inTx) assert.is(txOf.get(k), tx, `${k} in the transaction`);
  assert.is(txOf.get('feature-split-event-channels'), XBT_NIL);
  assert.is(txOf.get('multi-queue-max-queues'), XBT_NIL);
  const expect: Record<string, string> = {
    'feature-sg': '1', 'feature-gso-tcpv4': '1', 'feature-gso-tcpv6': '1', 'feature-ipv6-csum-offload': '1',
    'feature-rx-copy': '1', 'feature-rx-flip': '0', 'feature-multicast-control': '1',
    'feature-dynamic-multicast-control': '1', 'feature-split-event-channels': '1', 'multi-queue-max-queues': '4',
  };
  for (const [k, v] of Object.entries(expect)) assert.is(read(w, k), v, k);
  netbackRemove([...w.nb.backends.values()][0]!);
  w.t.hv.xs.processWatches();
});

test('netback: InitWait once the frontend is Initialising; Connected after the handshake', () => {
  const w = nbWorld();
  const g = new TestGuest(w);
  assert.is(g.backendState(), XenbusStateInitWait);
  g.connect();
  assert.is(g.backendState(), XenbusStateConnected);
  assert.is(read(w, 'hotplug-status'), 'connected');
  const q = g.vif.queues[0]!;
  const ports = w.t.dom0.ports;
  assert.is(ports.lateEoi[q.txIrq], 1, 'TX channel bound late-EOI');
  assert.is(ports.lateEoi[q.rxIrq], 1, 'RX channel bound late-EOI');
  assert.ok(q.txIrq !== q.rxIrq);
  assert.is(g.vif.up, true, 'carrier on');
  teardown(w, g);
});

for (const [what, value] of [['missing', null], ['0', 0]] as const) {
  test(`netback: a frontend whose request-rx-copy is ${what} is refused (-EOPNOTSUPP) and nothing is mapped`, () => {
    const w = nbWorld();
    const g = new TestGuest(w, { rxCopy: value });
    g.connect();
    assert.is(g.be.refused?.err, -EOPNOTSUPP);
    assert.is(g.backendState(), XenbusStateInitWait);
    assert.is(w.t.hv.mem.mappingsHeldBy(0), 0);
    assert.is(g.vif.numQueues, 0);
    teardown(w, g);
  });
}

test('netback: a TX ring whose req_prod − rsp_prod exceeds RING_SIZE is refused (-EIO): fatal, nothing kept', () => {
  const w = nbWorld();
  const g = new TestGuest(w);
  g.connect({ settle: false });
  g.tx[0]!.sring.reqProd = 257;
  run(w, 200_000);
  assert.is(g.be.fatalError?.err, -5);
  assert.match(g.be.fatalError!.message, /mapping shared-frames/);
  assert.is(g.backendState(), XenbusStateClosing);
  assert.is(w.t.hv.mem.mappingsHeldBy(0), 0, 'both rings unmapped');
  const err = xenbusRead(w.t.hv.xs, 0, XBT_NIL, '/local/domain/0/error/backend/vif/1/0', 'error');
  assert.match(err ?? '', /^5 mapping shared-frames/);
  g.tx[0]!.sring.reqProd = 0;
  teardown(w, g);
});

test('netback: an RX ring claiming more than RING_SIZE requests is refused the same way', () => {
  const w = nbWorld();
  const g = new TestGuest(w);
  g.connect({ settle: false });
  g.rx[0]!.sring.reqProd = 1000;
  run(w, 200_000);
  assert.is(g.be.fatalError?.err, -5);
  assert.is(w.t.hv.mem.mappingsHeldBy(0), 0);
  g.rx[0]!.sring.reqProd = 0;
  teardown(w, g);
});

test('netback: multi-queue-num-queues above the maximum is fatal on the device', () => {
  const w = nbWorld({ maxQueues: 2 });
  const g = new TestGuest(w, { writeNumQueues: 3 });
  g.connect();
  assert.match(g.be.fatalError?.message ?? '', /guest requested 3 queues, exceeding the maximum of 2/);
  assert.is(g.backendState(), XenbusStateClosing);
  assert.is(w.t.hv.mem.mappingsHeldBy(0), 0);
  teardown(w, g);
});

test('netback: a frontend showing InitWait is an unexpected state: fatal', () => {
  const w = nbWorld();
  const g = new TestGuest(w);
  g.switchState(XenbusStateInitWait);
  run(w, 100_000);
  assert.match(g.be.fatalError?.message ?? '', /saw state 2 at frontend/);
  assert.is(g.backendState(), XenbusStateClosing);
  teardown(w, g);
});

test('netback: Reconfiguring is answered Reconfigured after re-reading xdp-headroom', () => {
  const w = nbWorld();
  const g = new TestGuest(w);
  g.connect();
  g.write('xdp-headroom', 256);
  g.switchState(XenbusStateReconfiguring);
  run(w, 100_000);
  assert.is(g.backendState(), XenbusStateReconfigured);
  assert.is(g.vif.xdpHeadroom, 256);
  g.switchState(XenbusStateConnected);
  run(w, 100_000);
  teardown(w, g);
});

test('netback: frontend Closing → Closing and Closed → Closed; rings unmapped, channels closed', () => {
  const w = nbWorld();
  const g = new TestGuest(w);
  g.connect();
  const q = g.vif.queues[0]!;
  const ports = [q.txIrq, q.rxIrq];
  g.switchState(XenbusStateClosing);
  run(w, 100_000);
  assert.is(g.backendState(), XenbusStateClosing);
  assert.is(w.t.hv.mem.mappingsHeldBy(0), 0);
  for (const p of ports) assert.is(w.t.dom0.ports.state[p], EVTCHNSTAT_closed);
  for (const p of g.txPort) assert.is(g.dom.ports.state[p], EVTCHNSTAT_unbound, 'the guest end is unbound again');
  g.switchState(XenbusStateClosed);
  run(w, 100_000);
  assert.is(g.backendState(), XenbusStateClosed);
  assert.ok(w.nb.backends.size === 1, 'online: the device stays');
  teardown(w, g);
});

test('netback: a frontend in state Unknown closes the backend and removes the device', () => {
  const w = nbWorld();
  const g = new TestGuest(w);
  g.connect();
  w.t.hv.xs.rm(GUEST, XBT_NIL, `${g.fe}/state`);
  run(w, 100_000);
  assert.is(g.backendState(), XenbusStateClosed);
  assert.is(w.nb.backends.size, 0);
  assert.is(g.be.removed, true);
  g.write('state', XenbusStateClosed);
  teardown(w, g);
});

test('netback: Closed while the device is offline removes it', () => {
  const w = nbWorld();
  const g = new TestGuest(w);
  g.connect();
  w.t.hv.xs.write(0, XBT_NIL, `${BE}/online`, '0');
  g.switchState(XenbusStateClosing);
  g.switchState(XenbusStateClosed);
  run(w, 100_000);
  assert.is(w.nb.backends.size, 0);
  teardown(w, g);
});

test('netback: a disconnect waits for packets still in the stack, then completes', () => {
  const w = nbWorld({ strategy: 'map' });
  const g = new TestGuest(w);
  g.connect();
  g.sendPacket(frame(2000, 1));
  run(w);
  assert.is(w.held.length, 1);
  g.switchState(XenbusStateClosing);
  run(w, 1_000_000);
  assert.is(g.backendState(), XenbusStateConnected, 'still connected: the dealloc thread waits');
  assert.ok(w.t.hv.mem.mappingsHeldBy(0) > 0);
  kfreeSkb(w.held.pop()!);
  run(w, 1_000_000);
  assert.is(g.backendState(), XenbusStateClosing);
  assert.equal(g.txResponses().map((r) => r.status), [XEN_NETIF_RSP_OKAY], 'the slot was answered before the ring went');
  assert.is(w.t.hv.mem.mappingsHeldBy(0), 0);
  teardown(w, g);
});

test('netback: reconnect after Closed: InitWait, Connected, and traffic flows again', () => {
  const w = nbWorld({ hold: false });
  const g = new TestGuest(w);
  g.connect();
  g.sendPacket(frame(500, 1));
  run(w);
  g.close();
  assert.is(g.backendState(), XenbusStateClosed);
  g.switchState(XenbusStateInitialising);
  run(w, 100_000);
  assert.is(g.backendState(), XenbusStateInitWait);
  g.connect();
  assert.is(g.backendState(), XenbusStateConnected);
  g.sendPacket(frame(600, 2));
  run(w);
  assert.is(w.frames.length, 2);
  teardown(w, g);
});

test('netback: without feature-rx-notify the drain timeout is 30 ms and stall detection is off', () => {
  const w = nbWorld();
  const g = new TestGuest(w, { rxNotify: false });
  g.connect();
  assert.is(g.vif.drainTimeoutNs, RX_DRAIN_TIMEOUT_NO_NOTIFY_NS);
  assert.is(g.vif.stallTimeoutNs, 0);
  teardown(w, g);
});

test('netback: the rate key sets each queue\'s credit; a change through the watch clamps it', () => {
  const w = nbWorld();
  const g = new TestGuest(w, { rate: '10000,20000' });
  g.connect();
  const q = g.vif.queues[0]!;
  assert.is(q.creditBytes, 10000);
  assert.is(q.creditUsec, 20000);
  assert.is(q.remainingCredit, 10000);
  w.t.hv.xs.write(0, XBT_NIL, `${BE}/rate`, '5000,20000');
  run(w, 100_000);
  assert.is(q.creditBytes, 5000);
  assert.is(q.remainingCredit, 5000);
  w.t.hv.xs.write(0, XBT_NIL, `${BE}/rate`, 'garbage');
  run(w, 100_000);
  assert.is(q.creditBytes, Infinity, 'a rate that does not parse is unlimited');
  teardown(w, g);
});

test('netback: two queues use their own rings and channels under queue-N/', () => {
  const w = nbWorld({ hold: false });
  const g = new TestGuest(w, { queues: 2 });
  g.connect();
  assert.is(g.vif.numQueues, 2);
  const [q0, q1] = g.vif.queues;
  assert.ok(q0!.txIrq !== q1!.txIrq);
  g.sendPacket(frame(300, 1), { qi: 1 });
  g.sendPacket(frame(400, 2), { qi: 0 });
  run(w);
  assert.is(q1!.stats.txPackets, 1);
  assert.is(q0!.stats.txPackets, 1);
  assert.is(g.txResponses(1).length, 1);
  assert.is(g.txResponses(0).length, 1);
  teardown(w, g);
});

test('netback: one event channel for both directions is served by the common handler', () => {
  const w = nbWorld({ hold: false });
  const g = new TestGuest(w, { split: false });
  g.connect();
  const q = g.vif.queues[0]!;
  assert.is(q.txIrq, q.rxIrq);
  assert.is(w.t.dom0.ports.state[q.txIrq], EVTCHNSTAT_interdomain);
  g.sendPacket(frame(300, 1));
  run(w);
  assert.is(w.frames.length, 1);
  teardown(w, g);
});

test('netback: an event with no work is acknowledged with a spurious late EOI', () => {
  const w = nbWorld();
  const g = new TestGuest(w);
  g.connect();
  const before = w.t.dom0.ports.spuriousEois;
  for (let i = 0; i < 5; i++) {
    w.t.hv.evtchn.evtchnSend(g.dom, g.txPort[0]!);
    run(w, 100_000);
  }
  assert.is(w.t.dom0.ports.spuriousEois - before, 5);
  assert.is(g.vif.queues[0]!.stats.spuriousEois >= 5, true);
  teardown(w, g);
});

test('netback: an event storm stays bounded: late EOI holds the channel until the handler is done', () => {
  const w = nbWorld();
  const g = new TestGuest(w);
  g.connect();
  const inv = w.irq.invocations;
  for (let i = 0; i < 1000; i++) w.t.hv.evtchn.evtchnSend(g.dom, g.txPort[0]!);
  run(w, 100_000);
  assert.ok(w.irq.invocations - inv <= 2, `handler ran ${w.irq.invocations - inv} times for 1000 sends`);
  teardown(w, g);
});

test.run();
