import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  EVTCHN_2L_NR_CHANNELS, EVTCHNSTAT_closed, EVTCHNSTAT_interdomain, EVTCHNSTAT_unbound,
} from '../../src/abi/event_channel.ts';
import { DOMID_SELF } from '../../src/abi/xen.ts';
import { InvalidArgument, UseAfterDestroy } from '../../src/errors.ts';
import { EINVAL, ENOSPC, EPERM, ESRCH } from '../../src/hv/errno.ts';
import { Hypervisor } from '../../src/hv/hypervisor.ts';
import { throwsType } from '../support/assert.ts';
import { testMachine, type TestMachine } from '../support/machine.ts';

/** A machine whose delivered events are logged as "dom:port". */
function machine(): TestMachine & { events: string[] } {
  const events: string[] = [];
  const t = testMachine({ onEvent: (d, p) => events.push(`${d}:${p}`) });
  return Object.assign(t, { events });
}

/** Guest allocates for dom0, dom0 binds; returns [guest port, dom0 port]. Clears the bind-time event. */
function connect(t: ReturnType<typeof machine>, lateEoi = false): [number, number] {
  const gport = t.hv.evtchn.evtchnAllocUnbound(t.guest, DOMID_SELF, 0);
  const bport = t.hv.evtchn.evtchnBindInterdomain(t.dom0, 1, gport, lateEoi);
  t.hv.evtchn.evtchnClearPending(t.dom0, bport);
  if (lateEoi) t.hv.evtchn.evtchnEoi(t.dom0, bport);
  t.events.length = 0;
  return [gport, bport];
}

test('evtchn: alloc_unbound then bind_interdomain connects both ends; port 0 is never handed out', () => {
  const t = machine();
  const gport = t.hv.evtchn.evtchnAllocUnbound(t.guest, DOMID_SELF, 0);
  assert.is(gport, 1);
  assert.equal(t.hv.evtchn.evtchnStatus(t.guest, DOMID_SELF, gport), { status: EVTCHNSTAT_unbound, remoteDom: 0, remotePort: 0 });
  const bport = t.hv.evtchn.evtchnBindInterdomain(t.dom0, 1, gport);
  assert.ok(bport > 0);
  assert.equal(t.hv.evtchn.evtchnStatus(t.guest, DOMID_SELF, gport), { status: EVTCHNSTAT_interdomain, remoteDom: 0, remotePort: bport });
  assert.equal(t.hv.evtchn.evtchnStatus(t.dom0, 1, gport), { status: EVTCHNSTAT_interdomain, remoteDom: 0, remotePort: bport });
  t.hv.evtchn.evtchnClose(t.guest, gport);
  t.hv.evtchn.evtchnClose(t.dom0, bport);
  t.audit();
});

test('evtchn: a send reaches the peer through the injected notifier', () => {
  const t = machine();
  const [gport, bport] = connect(t);
  assert.is(t.hv.evtchn.evtchnSend(t.guest, gport), 0);
  assert.equal(t.events, [`0:${bport}`]);
  assert.ok(t.dom0.ports.isPending(bport));
  assert.is(t.guest.cost.evtchnSends, 1);
  t.hv.evtchn.evtchnSend(t.dom0, bport);
  assert.equal(t.events, [`0:${bport}`, `1:${gport}`]);
  t.audit();
});

test('evtchn: repeated sends coalesce into one pending bit until the receiver clears it', () => {
  const t = machine();
  const [gport, bport] = connect(t);
  for (let i = 0; i < 5; i++) t.hv.evtchn.evtchnSend(t.guest, gport);
  assert.equal(t.events, [`0:${bport}`]);
  assert.is(t.dom0.ports.coalesced, 4);
  assert.ok(t.hv.evtchn.evtchnClearPending(t.dom0, bport));
  assert.not.ok(t.hv.evtchn.evtchnClearPending(t.dom0, bport));
  t.hv.evtchn.evtchnSend(t.guest, gport);
  assert.is(t.events.length, 2);
  t.audit();
});

test('evtchn: a send before the bind is dropped, and the bind leaves the new port pending', () => {
  const t = machine();
  const gport = t.hv.evtchn.evtchnAllocUnbound(t.guest, DOMID_SELF, 0);
  assert.is(t.hv.evtchn.evtchnSend(t.guest, gport), 0, 'a send on an unbound port is not an error');
  assert.equal(t.events, []);
  const bport = t.hv.evtchn.evtchnBindInterdomain(t.dom0, 1, gport);
  assert.ok(t.dom0.ports.isPending(bport));
  assert.equal(t.events, [`0:${bport}`]);
  t.audit();
});

test('evtchn: a masked port collects the event and delivers it at unmask', () => {
  const t = machine();
  const [gport, bport] = connect(t);
  t.hv.evtchn.evtchnMask(t.dom0, bport);
  t.hv.evtchn.evtchnSend(t.guest, gport);
  t.hv.evtchn.evtchnSend(t.guest, gport);
  assert.equal(t.events, []);
  assert.ok(t.dom0.ports.isPending(bport));
  t.hv.evtchn.evtchnUnmask(t.dom0, bport);
  assert.equal(t.events, [`0:${bport}`]);
  t.audit();
});

test('evtchn: a late-EOI port is not delivered again until eoi(); the EOI delivers what arrived meanwhile', () => {
  const t = machine();
  const [gport, bport] = connect(t, true);
  t.hv.evtchn.evtchnSend(t.guest, gport);
  assert.equal(t.events, [`0:${bport}`]);
  // The handler clears the bit and works; a storm of sends arrives before its EOI.
  t.hv.evtchn.evtchnClearPending(t.dom0, bport);
  for (let i = 0; i < 100; i++) t.hv.evtchn.evtchnSend(t.guest, gport);
  assert.is(t.events.length, 1);
  t.hv.evtchn.evtchnEoi(t.dom0, bport);
  assert.is(t.events.length, 2);
  t.hv.evtchn.evtchnClearPending(t.dom0, bport);
  t.hv.evtchn.evtchnEoi(t.dom0, bport, true);
  assert.is(t.events.length, 2, 'nothing pending: the EOI only re-arms');
  assert.is(t.dom0.ports.spuriousEois, 1);
  t.audit();
});

test('evtchn: closing one end puts the other back to unbound, bindable again by the same domain', () => {
  const t = machine();
  const [gport, bport] = connect(t);
  assert.is(t.hv.evtchn.evtchnClose(t.dom0, bport), 0);
  assert.equal(t.hv.evtchn.evtchnStatus(t.guest, DOMID_SELF, gport), { status: EVTCHNSTAT_unbound, remoteDom: 0, remotePort: 0 });
  assert.is((t.hv.evtchn.evtchnStatus(t.dom0, DOMID_SELF, bport) as { status: number }).status, EVTCHNSTAT_closed);
  assert.is(t.hv.evtchn.evtchnSend(t.dom0, bport), -EINVAL);
  const again = t.hv.evtchn.evtchnBindInterdomain(t.dom0, 1, gport);
  assert.ok(again > 0);
  t.audit();
});

test('evtchn: guest-caused errors are negative errno values, never throws', () => {
  const t = machine();
  const ev = t.hv.evtchn;
  assert.is(ev.evtchnSend(t.guest, 0), -EINVAL);
  assert.is(ev.evtchnSend(t.guest, EVTCHN_2L_NR_CHANNELS), -EINVAL);
  assert.is(ev.evtchnSend(t.guest, 77), -EINVAL, 'closed port');
  assert.is(ev.evtchnClose(t.guest, 77), -EINVAL);
  assert.is(ev.evtchnBindInterdomain(t.dom0, 9, 1), -ESRCH);
  const gport = ev.evtchnAllocUnbound(t.guest, DOMID_SELF, 0);
  const dom2 = t.hv.createDomain({ domid: 2, frames: 1 });
  assert.is(ev.evtchnBindInterdomain(dom2, 1, gport), -EINVAL, 'unbound for dom0, not dom2');
  assert.is(ev.evtchnBindInterdomain(t.dom0, 1, 3000), -EINVAL);
  assert.is(ev.evtchnAllocUnbound(t.guest, 0, 1), -EPERM, 'only a privileged caller allocates for others');
  assert.ok(ev.evtchnAllocUnbound(t.dom0, 1, 0) > 0, 'dom0 may');
  t.hv.destroyDomain(dom2);
  t.audit();
});

test('evtchn: the 2-level ABI runs out at 4095 usable ports with -ENOSPC', () => {
  const t = machine();
  let last = 0;
  for (let i = 1; i < EVTCHN_2L_NR_CHANNELS; i++) last = t.hv.evtchn.evtchnAllocUnbound(t.guest, DOMID_SELF, 0);
  assert.is(last, EVTCHN_2L_NR_CHANNELS - 1);
  assert.is(t.hv.evtchn.evtchnAllocUnbound(t.guest, DOMID_SELF, 0), -ENOSPC);
  assert.is(t.guest.ports.bound, EVTCHN_2L_NR_CHANNELS - 1);
  t.audit();
});

test('evtchn: destroying a domain closes its ports and unbinds its peers', () => {
  const t = machine();
  const dom2 = t.hv.createDomain({ domid: 2, frames: 1 });
  const p2 = t.hv.evtchn.evtchnAllocUnbound(dom2, DOMID_SELF, 0);
  const p0 = t.hv.evtchn.evtchnBindInterdomain(t.dom0, 2, p2);
  t.hv.destroyDomain(dom2);
  assert.equal(t.hv.evtchn.evtchnStatus(t.dom0, DOMID_SELF, p0), { status: EVTCHNSTAT_unbound, remoteDom: 2, remotePort: 0 });
  assert.is(t.hv.evtchn.evtchnSend(t.dom0, p0), 0);
  t.hv.evtchn.evtchnClose(t.dom0, p0);
  t.audit();
});

test('evtchn: a destroyed or foreign caller is misuse and throws', () => {
  const t = machine();
  const dom2 = t.hv.createDomain({ domid: 2, frames: 1 });
  t.hv.destroyDomain(dom2);
  throwsType(() => t.hv.evtchn.evtchnSend(dom2, 1), UseAfterDestroy);
  const stranger = new Hypervisor({ frames: 8 }).createDomain({ frames: 1 });
  throwsType(() => t.hv.evtchn.evtchnAllocUnbound(stranger, DOMID_SELF, 0), InvalidArgument);
  t.audit();
});

test.run();
