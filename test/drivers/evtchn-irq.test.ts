import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { IrqDispatcher } from '../../src/drivers/evtchn-irq.ts';
import { testMachine } from '../support/machine.ts';

function connected() {
  const t = testMachine();
  const irq = new IrqDispatcher(t.hv, 500);
  const gport = t.hv.evtchn.evtchnAllocUnbound(t.guest, t.guest.domid, 0);
  const bport = t.hv.evtchn.evtchnBindInterdomain(t.dom0, t.guest.domid, gport);
  assert.ok(gport > 0 && bport > 0);
  return { t, irq, gport, bport };
}

test('irq: a delivered event runs the bound handler once, after the upcall latency', () => {
  const { t, irq, gport, bport } = connected();
  const runs: number[] = [];
  irq.bindEvtchnToIrqhandler(t.guest, gport, (p) => runs.push(p));
  t.hv.evtchn.evtchnSend(t.dom0, bport);
  assert.equal(runs, []);
  t.clock.advance(499);
  assert.equal(runs, []);
  t.clock.advance(1);
  assert.equal(runs, [gport]);
  assert.not.ok(t.guest.ports.isPending(gport));
  irq.unbindFromIrqhandler(t.guest, gport);
  t.hv.evtchn.evtchnClose(t.dom0, bport);
  t.hv.evtchn.evtchnClose(t.guest, gport);
  t.audit();
});

test('irq: sends made before the handler runs coalesce into one invocation', () => {
  const { t, irq, gport, bport } = connected();
  let n = 0;
  irq.bindEvtchnToIrqhandler(t.guest, gport, () => n++);
  for (let i = 0; i < 5; i++) t.hv.evtchn.evtchnSend(t.dom0, bport);
  t.clock.advance(10_000);
  assert.is(n, 1);
  t.hv.evtchn.evtchnSend(t.dom0, bport);
  t.clock.advance(10_000);
  assert.is(n, 2);
  irq.unbindFromIrqhandler(t.guest, gport);
});

test('irq: binding a handler to a port already pending (bind leaves it pending) runs it', () => {
  const { t, irq, bport } = connected();
  let n = 0;
  // The backend's freshly bound port is pending after bind_interdomain.
  irq.bindEvtchnToIrqhandler(t.dom0, bport, () => n++);
  t.clock.advance(1000);
  assert.is(n, 1);
});

test('irq: an event for a port without a handler is counted, not lost silently', () => {
  const { t, irq, bport } = connected();
  const before = irq.unhandled;
  t.hv.evtchn.evtchnSend(t.dom0, bport);
  assert.is(irq.unhandled, before + 1);
});

test.run();
